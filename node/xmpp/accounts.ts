/**
 * XMPP accounts of a gateway node (sublevel `xmpp-accounts`, handle → JSON record).
 *
 * A gateway user is a Chorus user whose identity key this node holds on the user's behalf. The key sits
 * in the node's identity store sealed by the user's vault (session/vault.ts) under a random 32-byte
 * account key (`openUser`'s `vaultKey`). The account key is kept only wrapped (AES-256-GCM) under each SCRAM
 * hash's ClientKey: a secret the node never stores (it keeps H(ClientKey), RFC 5802) and learns only from
 * a successful login, which proves it. So at rest the node cannot open a gateway user's identity; a
 * running gateway can, while the user is logged in. PLAIN logins derive the same ClientKeys from the
 * password. The gateway is trusted by its users for what passes through it while they are online.
 */

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import type { ChorusDb } from '../store/db.js'
import { HANDLE_PATTERN } from '../../protocol/handle.js'
import { deriveCredential, scramKeys, type ScramCredential, type ScramHash } from './sasl.js'

/** One account as stored. */
export interface AccountRecord {
  v: 1
  handle: string
  createdAt: number
  scram: Record<ScramHash, ScramCredential>
  /** the account key, wrapped under each hash's ClientKey: base64(iv | tag | ciphertext) */
  wrapped: Record<ScramHash, string>
}

/** Shortest and longest password the gateway registers (characters). */
export const MIN_PASSWORD_CHARS = 8
export const MAX_PASSWORD_CHARS = 1024

export class AccountError extends Error {
  constructor (readonly condition: 'conflict' | 'not-acceptable' | 'bad-request', message: string) {
    super(message)
    this.name = 'AccountError'
  }
}

export class AccountStore {
  private readonly sub

  constructor (db: ChorusDb) {
    this.sub = db.sublevel<string, string>('xmpp-accounts', { valueEncoding: 'utf8' })
  }

  async get (handle: string): Promise<AccountRecord | undefined> {
    if (!HANDLE_PATTERN.test(handle)) return undefined
    const raw = await this.sub.get(handle)
    return raw == null ? undefined : JSON.parse(raw) as AccountRecord
  }

  /**
   * A new account record for `handle` and `password`, and its account key (not yet stored: the caller
   * claims the handle on the mesh first, then `save`s).
   */
  static create (handle: string, password: string): { record: AccountRecord, accountKey: Buffer } {
    if (!HANDLE_PATTERN.test(handle)) throw new AccountError('not-acceptable', 'a username is 1–64 of a–z, 0–9, ".", "_", "-"')
    const chars = [...password].length
    if (chars < MIN_PASSWORD_CHARS || chars > MAX_PASSWORD_CHARS) throw new AccountError('not-acceptable', `a password has ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters`)
    const accountKey = randomBytes(32)
    const scram = { sha1: deriveCredential('sha1', password), sha256: deriveCredential('sha256', password) }
    const wrapped = {
      sha1: wrap(accountKey, clientKeyOf('sha1', password, scram.sha1)),
      sha256: wrap(accountKey, clientKeyOf('sha256', password, scram.sha256))
    }
    return { record: { v: 1, handle, createdAt: Date.now(), scram, wrapped }, accountKey }
  }

  async save (record: AccountRecord): Promise<void> {
    await this.sub.put(record.handle, JSON.stringify(record), { sync: true } as any)
  }

  async has (handle: string): Promise<boolean> {
    return (await this.sub.get(handle)) != null
  }
}

/** The account key, from the ClientKey a login proved. Throws if it does not open (a corrupt record). */
export function unwrapAccountKey (record: AccountRecord, hash: ScramHash, clientKey: Buffer): Buffer {
  const raw = Buffer.from(record.wrapped[hash], 'base64')
  const d = createDecipheriv('aes-256-gcm', wrapKey(clientKey), raw.subarray(0, 12))
  d.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([d.update(raw.subarray(28)), d.final()])
}

/** The ClientKey of `password` under a stored credential (registration). */
function clientKeyOf (hash: ScramHash, password: string, cred: ScramCredential): Buffer {
  return scramKeys(hash, password, Buffer.from(cred.salt, 'base64'), cred.iterations).clientKey
}

function wrapKey (clientKey: Buffer): Buffer {
  return createHmac('sha256', clientKey).update('chorus xmpp account key wrap').digest()
}

function wrap (accountKey: Buffer, clientKey: Buffer): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', wrapKey(clientKey), iv)
  const body = Buffer.concat([c.update(accountKey), c.final()])
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')
}
