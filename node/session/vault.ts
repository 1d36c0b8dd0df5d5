/**
 * At-rest encryption of what a device must keep secret: the user's identity key, its secret-chat keys and
 * sessions, and the plaintext history of its secret chats. Opened with a passphrase
 * (`node.openUser(handle, { passphrase })`), those values are sealed with ChaCha20-Poly1305 under a key
 * derived from the passphrase by scrypt (N = 2^15, r = 8, p = 1: about 32 MiB and 0.1 s); without one
 * they are stored as they are, and the device's disk is what protects them (docs/security.md).
 *
 * Sublevel `vault`: handle → JSON `{ salt, check }`. `check` is a sealed constant, so a wrong passphrase
 * is refused before anything is read. Whether a user has a passphrase is fixed when its identity is
 * created: opening it the other way is a `PassphraseError`.
 */

import { randomBytes, scrypt } from 'node:crypto'
import { ChorusError } from '../errors.js'
import type { ChorusDb } from '../store/db.js'
import { aeadOpen, aeadSeal } from '../../protocol/secret/primitives.js'

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const SALT_BYTES = 16
const NONCE_BYTES = 12
const AD = new TextEncoder().encode('chorus/vault/1')
const CHECK = 'chorus vault check'
/** Longest passphrase accepted, in characters. */
export const MAX_PASSPHRASE_CHARS = 1024

/** A passphrase that is wrong, missing, or given for a user stored without one. */
export class PassphraseError extends ChorusError {
  static readonly code = 'ERR_PASSPHRASE'
  override readonly name = 'PassphraseError'
  constructor (readonly reason: 'wrong' | 'required' | 'not-set' | 'invalid', message: string) { super(message, PassphraseError.code) }
}

/** A LevelDB value encoding (abstract-level's shape) that seals on the way in and opens on the way out. */
export interface VaultEncoding { name: string, format: 'utf8', encode: (s: string) => string, decode: (s: string) => string }

/** How one user's secret values are stored: sealed under its key, or as they are. */
export class Vault {
  private constructor (private readonly key?: Uint8Array) {}

  /** Whether values are sealed (the user has a passphrase). */
  get sealed (): boolean { return this.key != null }

  /** The value encoding of the user's secret sublevels. */
  get encoding (): VaultEncoding | 'utf8' {
    const key = this.key
    if (key == null) return 'utf8'
    return { name: 'chorus-vault', format: 'utf8', encode: (s) => seal(key, s), decode: (s) => open(key, s) }
  }

  seal (s: string): string { return this.key == null ? s : seal(this.key, s) }
  open (s: string): string { return this.key == null ? s : open(this.key, s) }

  /**
   * The vault of `handle`. `stored` says whether the user's identity already exists on this device: a new
   * user with a passphrase gets a fresh salt; an existing one must be opened the way it was created.
   */
  static async open (db: ChorusDb, handle: string, passphrase: string | undefined, stored: boolean): Promise<Vault> {
    if (passphrase != null && (typeof passphrase !== 'string' || passphrase.length === 0 || passphrase.length > MAX_PASSPHRASE_CHARS)) {
      throw new PassphraseError('invalid', `a passphrase is 1 to ${MAX_PASSPHRASE_CHARS} characters`)
    }
    const sub = db.sublevel<string, string>('vault', { valueEncoding: 'utf8' })
    const raw = await sub.get(handle)
    if (raw == null) {
      if (passphrase == null) return new Vault()
      if (stored) throw new PassphraseError('not-set', `${handle} was stored on this device without a passphrase`)
      const salt = randomBytes(SALT_BYTES)
      const key = await derive(passphrase, salt)
      await sub.put(handle, JSON.stringify({ salt: salt.toString('base64'), check: seal(key, CHECK) }), { sync: true } as any)
      return new Vault(key)
    }
    if (passphrase == null) throw new PassphraseError('required', `${handle}'s keys on this device are sealed: open it with its passphrase`)
    const record = JSON.parse(raw) as { salt: string, check: string }
    const key = await derive(passphrase, Buffer.from(record.salt, 'base64'))
    try {
      if (open(key, record.check) !== CHECK) throw new Error('check')
    } catch {
      throw new PassphraseError('wrong', `wrong passphrase for ${handle}`)
    }
    return new Vault(key)
  }
}

async function derive (passphrase: string, salt: Uint8Array): Promise<Uint8Array> {
  return await new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFKC'), salt, 32, SCRYPT, (err, key) => { if (err != null) reject(err); else resolve(new Uint8Array(key)) })
  })
}

function seal (key: Uint8Array, s: string): string {
  const nonce = randomBytes(NONCE_BYTES)
  return Buffer.concat([nonce, aeadSeal(key, nonce, Buffer.from(s, 'utf8'), AD)]).toString('base64')
}

function open (key: Uint8Array, s: string): string {
  const b = Buffer.from(s, 'base64')
  return Buffer.from(aeadOpen(key, b.subarray(0, NONCE_BYTES), b.subarray(NONCE_BYTES), AD)).toString('utf8')
}
