/**
 * XMPP accounts, kept on the mesh at the owners of the account's handle (ACCOUNT_PUT / ACCOUNT_GET,
 * servers only; protocol/account.ts), so a Jabber user can log in through any gateway node.
 *
 * A gateway user is a Chorus user whose identity key the gateways hold on the user's behalf. The record
 * holds, per SCRAM hash, the salt, iteration count, StoredKey and ServerKey (never the password); a
 * random 32-byte account key, wrapped (AES-256-GCM) under each hash's ClientKey; and the identity key
 * sealed under the account key. The ClientKey is a secret no server stores (it keeps H(ClientKey),
 * RFC 5802) and learns only from a successful login, which proves it: so no server can open a gateway
 * user's identity at rest, and the gateway a user logs in through can while the user is logged in. On
 * that gateway the identity is kept in the node's identity store sealed by the user's vault under the
 * account key (`openUser`'s `vaultKey`). The record is signed by the identity key and counts only where
 * that key holds the handle's claim at a majority of its owners (`get`): an owner that signs a record of
 * its own can neither log in as the user nor, with a huge version, lock the user out. The gateway is
 * trusted by its users for what passes through it while they are online (docs/xmpp.md).
 */

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { checkAccountAuthority, signAccount, verifyAccount, type GatewayAccount } from '../../protocol/account.js'
import type { IdentityKey } from '../../protocol/envelope.js'
import { HANDLE_PATTERN, agreedClaim, verifyHandleClaim, type HandleClaim } from '../../protocol/handle.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import type { Replication } from '../replication/replication.js'
import { ChorusError } from '../errors.js'
import { QuorumError } from '../replication/errors.js'
import { deriveCredential, scramKeys, type ScramCredential, type ScramHash } from './sasl.js'

/** One account: the JSON inside a signed `GatewayAccount`. */
export interface AccountRecord {
  v: 1
  handle: string
  createdAt: number
  scram: Record<ScramHash, ScramCredential>
  /** the account key, wrapped under each hash's ClientKey: base64(iv | tag | ciphertext) */
  wrapped: Record<ScramHash, string>
  /** the identity key (JSON of base64 keys), sealed under the account key */
  identity: string
}

/** Shortest and longest password the gateway registers (characters). */
export const MIN_PASSWORD_CHARS = 8
export const MAX_PASSWORD_CHARS = 1024

/** A username or password no account can be made of (answered `not-acceptable`: conditions.ts). */
export class InvalidAccountError extends ChorusError {
  static readonly code = 'ERR_INVALID_ACCOUNT'
  override readonly name = 'InvalidAccountError'
  constructor (message: string) { super(message, InvalidAccountError.code) }
}

/** A new account's secrets before it is stored: the record lacks the identity until the handle is claimed. */
export interface NewAccount {
  record: Omit<AccountRecord, 'identity'>
  accountKey: Buffer
}

export class MeshAccounts {
  constructor (private readonly replication: () => Replication) {}

  /**
   * `handle`'s account, or undefined when it has none. The owners are asked for the record and the claim
   * each holds; the key a majority of the owners name as the handle's is the only key whose records count
   * (one owner, or a minority, that lies about the record or the claim changes nothing), and of those the
   * newest whose version is not from the future. Throws `QuorumError` when too few owners answer to tell.
   */
  async get (handle: string): Promise<AccountRecord | undefined> {
    if (!HANDLE_PATTERN.test(handle)) return undefined
    const r = this.replication()
    const owners = r.placement.ownersOfHandle(handle)
    const answers = await Promise.allSettled(
      owners.map(async (o) => await r.call(o, { kind: StoreRequest.Kind.ACCOUNT_GET, handle }))
    )
    const claims: HandleClaim[] = []
    const records: GatewayAccount[] = []
    let answered = 0
    for (const a of answers) {
      if (a.status === 'rejected') continue
      answered++
      const claim = verified(() => verifyHandleClaim(a.value.claim), a.value.claim)
      if (claim?.handle === handle) claims.push(claim)
      const account = verified(() => verifyAccount(a.value.account), a.value.account)
      if (account?.handle === handle) records.push(account)
    }
    // the owners' majority, the same rule by which they settle the claim among themselves
    const agreed = agreedClaim(claims, owners.length)
    if (agreed == null) {
      // no owner holds a claim: the handle has no account (a stranger's record for it counts for nothing)
      if (claims.length === 0 && answered > owners.length / 2) return undefined
      throw new QuorumError(`${answered} of ${owners.length} owners of ${handle} answered; no majority names its key`)
    }
    const now = r.context.now()
    let best: GatewayAccount | undefined
    for (const a of records) {
      const counts = verified(() => checkAccountAuthority(a, agreed.publicKey, now), a)
      if (counts != null && (best == null || a.version > best.version)) best = a
    }
    return best == null ? undefined : parseRecord(best.record, handle)
  }

  /** Store `record` signed by `identity` at the owners of its handle; resolves once W have it. */
  async put (record: AccountRecord, identity: IdentityKey): Promise<void> {
    const r = this.replication()
    const version = BigInt(Math.floor(r.context.now()))
    const account = signAccount(record.handle, identity, version, Buffer.from(JSON.stringify(record)))
    const owners = r.placement.ownersOfHandle(record.handle)
    const answers = await Promise.allSettled(
      owners.map(async (o) => await r.call(o, { kind: StoreRequest.Kind.ACCOUNT_PUT, account }))
    )
    const acks = answers.filter((a) => a.status === 'fulfilled' && a.value.status === StoreResponse.Status.OK).length
    const need = Math.min(r.context.writeQuorum, owners.length)
    if (acks < need) throw new QuorumError(`the account of ${record.handle} is on ${acks} owners, fewer than ${need}`)
  }

  /** A new account for `handle` and `password` (not stored: the caller claims the handle first). */
  static create (handle: string, password: string): NewAccount {
    if (!HANDLE_PATTERN.test(handle)) throw new InvalidAccountError('a username is 1–64 of a–z, 0–9, ".", "_", "-"')
    const chars = [...password].length
    if (chars < MIN_PASSWORD_CHARS || chars > MAX_PASSWORD_CHARS) {
      throw new InvalidAccountError(`a password has ${MIN_PASSWORD_CHARS} to ${MAX_PASSWORD_CHARS} characters`)
    }
    const accountKey = randomBytes(32)
    const scram = { sha1: deriveCredential('sha1', password), sha256: deriveCredential('sha256', password) }
    const wrapped = {
      sha1: seal(wrapKey(clientKeyOf('sha1', password, scram.sha1)), accountKey),
      sha256: seal(wrapKey(clientKeyOf('sha256', password, scram.sha256)), accountKey)
    }
    return { record: { v: 1, handle, createdAt: Date.now(), scram, wrapped }, accountKey }
  }
}

/** The identity sealed for a record. */
export function sealIdentity (accountKey: Buffer, identity: IdentityKey): string {
  return seal(accountKey,
    Buffer.from(
      JSON.stringify({
        publicKey: Buffer.from(identity.publicKey).toString('base64'),
        privateKey: Buffer.from(identity.privateKey).toString('base64')
      })
    ))
}

/** The identity a record holds, opened with the account key. */
export function openIdentity (record: AccountRecord, accountKey: Buffer): IdentityKey {
  const j = JSON.parse(open(accountKey, record.identity).toString('utf8'))
  return {
    publicKey: new Uint8Array(Buffer.from(j.publicKey, 'base64')),
    privateKey: new Uint8Array(Buffer.from(j.privateKey, 'base64'))
  }
}

/** The account key, from the ClientKey a login proved. Throws if it does not open (a corrupt record). */
export function unwrapAccountKey (record: AccountRecord, hash: ScramHash, clientKey: Buffer): Buffer {
  return open(wrapKey(clientKey), record.wrapped[hash])
}

/** The ClientKey of `password` under a stored credential (registration). */
function clientKeyOf (hash: ScramHash, password: string, cred: ScramCredential): Buffer {
  return scramKeys(hash, password, Buffer.from(cred.salt, 'base64'), cred.iterations).clientKey
}

function wrapKey (clientKey: Buffer): Buffer {
  return createHmac('sha256', clientKey).update('chorus xmpp account key wrap').digest()
}

function seal (key: Buffer, plain: Buffer): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(plain), c.final()])
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')
}

function open (key: Buffer, sealed: string): Buffer {
  const raw = Buffer.from(sealed, 'base64')
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
  d.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([d.update(raw.subarray(28)), d.final()])
}

/** `check()`'s value, or undefined when `input` is absent or `check` throws (one owner's bad answer). */
function verified<T> (check: () => T, input: unknown): T | undefined {
  if (input == null) return undefined
  try {
    return check()
  } catch {
    return undefined
  }
}

/** A stored record's JSON, checked for the fields a login reads. */
function parseRecord (bytes: Uint8Array, handle: string): AccountRecord | undefined {
  try {
    const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as AccountRecord
    const credOk = (c: ScramCredential | undefined): boolean =>
      c != null && typeof c.salt === 'string' && typeof c.storedKey === 'string' && typeof c.serverKey === 'string' &&
        Number.isInteger(c.iterations) && c.iterations >= 4096 && c.iterations <= 1_000_000
    if (j.v !== 1 || j.handle !== handle || !credOk(j.scram?.sha1) || !credOk(j.scram?.sha256) ||
        typeof j.identity !== 'string') {
      return undefined
    }
    if (typeof j.wrapped?.sha1 !== 'string' || typeof j.wrapped?.sha256 !== 'string') return undefined
    return j
  } catch {
    return undefined
  }
}
