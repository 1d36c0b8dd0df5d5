/**
 * At-rest encryption of what a device must keep secret: the user's identity key, its secret-chat keys and
 * sessions, and the plaintext history of its secret chats. Opened with a passphrase
 * (`node.openUser(handle, { passphrase })`), those values are sealed with ChaCha20-Poly1305 under a key
 * derived from the passphrase by scrypt (N = 2^17, r = 8, p = 1: 128 MiB and about half a second); without
 * one they are stored as they are, and the device's disk is what protects them (docs/security.md).
 *
 * Each value is sealed bound to where it lives: the associated data names the user, the sublevel and
 * the key, so a value copied to another key (another user's, another session's, an older message's
 * place) does not open (`VaultIntegrityError`). A LevelDB value encoding sees values, not keys, so the
 * `secret` sublevel's values are written and read with their key attached (`bindKey`), by SecretStore
 * (secret-store.ts); a value without one is refused rather than sealed unbound.
 *
 * A program that holds a random key for the user (the XMPP gateway does, per account) passes it instead of
 * a passphrase (`vaultKey`, 32 bytes): it is used through HKDF, without scrypt, and its record says
 * `logN: 0`.
 *
 * A program that holds a random key for the user (the XMPP gateway does, per account) passes it instead of
 * a passphrase (`vaultKey`, 32 bytes): it is used through HKDF, without scrypt, and its record says
 * `logN: 0`.
 *
 * Sublevel `vault`: handle → JSON `{ v: 2, salt, logN, check, from? }`. `check` is a sealed constant, so a
 * wrong passphrase is refused before anything is read. Whether a user has a passphrase is fixed when its
 * identity is created: opening it the other way is a `PassphraseError`.
 *
 * Vaults of the first format (scrypt N = 2^15, one associated data for every value) are migrated when
 * first opened with their passphrase (vault-migration.ts): a new salt and key, every value sealed again
 * bound to its key. `from` holds the old salt until that is done, so a migration cut short resumes.
 */

import { hkdfSync, randomBytes, scrypt } from 'node:crypto'
import { ChorusError } from '../errors.js'
import type { ChorusDb } from '../store/db.js'
import { aeadOpen, aeadSeal } from '../../protocol/secret/primitives.js'
import { LEGACY_CHECK, migrateVault, openLegacy, type LegacyVault } from './vault-migration.js'

/**
 * scrypt cost (log2 N) of new vaults, and of old ones when they are migrated. 2^17 with r = 8 is 128 MiB
 * of memory per guess, the figure OWASP gives for scrypt; 2^15 made a guess four times cheaper.
 * @default 17
 */
export const DEFAULT_SCRYPT_LOG_N = 17
/** scrypt cost of the first vault format. */
const LEGACY_SCRYPT_LOG_N = 15
/** scrypt block size and parallelism (RFC 7914's recommended r = 8, p = 1). */
const SCRYPT_R = 8
const SCRYPT_P = 1
/** A vault key's length in bytes (`openUser`'s `vaultKey`: random, so used without scrypt). */
export const KEY_BYTES = 32
/** The `logN` a vault record carries when it was made from a vault key rather than a passphrase. */
const KEYED_LOG_N = 0
/**
 * Shortest passphrase a new vault takes, in characters (code points after NFKC): scrypt slows each guess,
 * it cannot make a short passphrase long. @default 12
 */
export const MIN_PASSPHRASE_CHARS = 12
/** Longest passphrase accepted, in characters. */
export const MAX_PASSPHRASE_CHARS = 1024
/** Name of the value encoding of a sealed user's `secret` sublevel (SecretStore looks for it). */
export const VAULT_ENCODING_NAME = 'chorus-vault'

const SALT_BYTES = 16
const NONCE_BYTES = 12
const FORMAT = '2.'
const AD_DOMAIN = 'chorus/vault/2'
const CHECK = 'chorus vault check'
const encoder = new TextEncoder()

/** A passphrase that is wrong, missing, too short, or given for a user stored without one. */
export class PassphraseError extends ChorusError {
  static readonly code = 'ERR_PASSPHRASE'
  override readonly name = 'PassphraseError'
  declare readonly reason: 'wrong' | 'required' | 'not-set' | 'invalid' | 'too-short'
  constructor (reason: PassphraseError['reason'], message: string) { super(message, PassphraseError.code, { reason }) }
}

/** A sealed value that does not open where it is: tampered, or moved from another key, sublevel or user. */
export class VaultIntegrityError extends ChorusError {
  static readonly code = 'ERR_VAULT_INTEGRITY'
  override readonly name = 'VaultIntegrityError'
  constructor (readonly slot: VaultSlot, message = `the sealed value at ${slot.sublevel}/${slot.key} does not open there`) {
    super(message, VaultIntegrityError.code)
  }
}

/** Where a value lives: what its seal is bound to (besides the user). */
export interface VaultSlot { sublevel: string, key: string }

/** A LevelDB value encoding (abstract-level's shape) whose input and output carry the key (`bindKey`). */
export interface VaultEncoding {
  name: string
  format: 'utf8'
  encode: (bound: string) => string
  decode: (bound: string) => string
}

/** A value (stored or to store) with its key attached, for the `secret` sublevel's vault encoding. */
export function bindKey (key: string, value: string): string {
  if (key.includes('\0')) throw new RangeError('a secret key never holds NUL')
  return `${key}\0${value}`
}

/** The vault record's fields (see the header). */
interface VaultRecord { v: 2, salt: string, logN: number, check: string, from?: LegacyVault }

/** How one user's secret values are stored: sealed under its key, or as they are. */
export class Vault {
  private constructor (readonly handle: string, private readonly key?: Uint8Array) {}

  /** Whether values are sealed (the user has a passphrase). */
  get sealed (): boolean { return this.key != null }

  /** The value encoding of the user's `secret` sublevel: bound to each value's key (SecretStore), or plain utf8. */
  get encoding (): VaultEncoding | 'utf8' {
    if (this.key == null) return 'utf8'
    const unbind = (bound: string): { slot: VaultSlot, value: string } => {
      const cut = bound.indexOf('\0')
      if (cut < 0) {
        throw new VaultIntegrityError({ sublevel: 'secret', key: '?' }, 'a secret value must be written and read with its key (SecretStore)')
      }
      return { slot: { sublevel: 'secret', key: bound.slice(0, cut) }, value: bound.slice(cut + 1) }
    }
    return {
      name: VAULT_ENCODING_NAME,
      format: 'utf8',
      encode: (bound) => { const { slot, value } = unbind(bound); return this.seal(value, slot) },
      decode: (bound) => { const { slot, value } = unbind(bound); return this.open(value, slot) }
    }
  }

  /** Seal `s` for `slot` (by default the user's identity record: sublevel `identities`, key its handle). */
  seal (s: string, slot: VaultSlot = this.identitySlot): string {
    return this.key == null ? s : sealValue(this.key, this.handle, slot, s)
  }

  /** Open what `seal` made for `slot`. Throws `VaultIntegrityError` if it was sealed for another place or changed. */
  open (s: string, slot: VaultSlot = this.identitySlot): string {
    return this.key == null ? s : openValue(this.key, this.handle, slot, s)
  }

  private get identitySlot (): VaultSlot { return { sublevel: 'identities', key: this.handle } }

  /**
   * The vault of `handle`. `stored` says whether the user's identity already exists on this device: a new
   * user with a passphrase gets a fresh salt; an existing one must be opened the way it was created. A
   * vault of the first format is migrated here (see the header).
   */
  static async open (
    db: ChorusDb,
    handle: string,
    passphrase: string | Uint8Array | undefined,
    stored: boolean
  ): Promise<Vault> {
    if (passphrase instanceof Uint8Array) {
      if (passphrase.length !== KEY_BYTES) throw new PassphraseError('invalid', `a vault key is ${KEY_BYTES} random bytes`)
    } else if (passphrase != null &&
        (typeof passphrase !== 'string' || passphrase.length === 0 || passphrase.length > MAX_PASSPHRASE_CHARS)) {
      throw new PassphraseError('invalid', `a passphrase is 1 to ${MAX_PASSPHRASE_CHARS} characters`)
    }
    const sub = db.sublevel<string, string>('vault', { valueEncoding: 'utf8' })
    const raw = await sub.get(handle)
    if (raw == null) {
      if (passphrase == null) return new Vault(handle)
      if (stored) throw new PassphraseError('not-set', `${handle} was stored on this device without a passphrase`)
      if (typeof passphrase === 'string' && [...passphrase.normalize('NFKC')].length < MIN_PASSPHRASE_CHARS) {
        throw new PassphraseError('too-short', `a new passphrase has at least ${MIN_PASSPHRASE_CHARS} characters`)
      }
      const vault = await Vault.create(handle, passphrase)
      await sub.put(handle, JSON.stringify(vault.record), { sync: true } as any)
      return vault.vault
    }
    if (passphrase == null) throw new PassphraseError('required', `${handle}'s keys on this device are sealed: open it with its passphrase`)
    const parsed = JSON.parse(raw) as VaultRecord | Omit<LegacyVault, 'logN'>
    let record: VaultRecord
    if ((passphrase instanceof Uint8Array) !== ('v' in parsed && parsed.logN === KEYED_LOG_N)) {
      throw new PassphraseError('wrong', `${handle} is sealed with a ${passphrase instanceof Uint8Array ? 'passphrase' : 'key'}, not a ${passphrase instanceof Uint8Array ? 'key' : 'passphrase'}`)
    }
    if (!('v' in parsed)) {
      if (typeof passphrase !== 'string') throw new PassphraseError('wrong', `${handle} is sealed with a passphrase, not a key`)
      // the first format: prove the passphrase against it, then start the migration under a new key
      const legacy: LegacyVault = { salt: parsed.salt, check: parsed.check, logN: LEGACY_SCRYPT_LOG_N }
      const oldKey = await derive(passphrase, Buffer.from(legacy.salt, 'base64'), legacy.logN)
      try {
        if (openLegacy(oldKey, legacy.check) !== LEGACY_CHECK) throw new Error('check')
      } catch {
        throw new PassphraseError('wrong', `wrong passphrase for ${handle}`)
      }
      const fresh = await Vault.create(handle, passphrase)
      record = { ...fresh.record, from: legacy }
      await sub.put(handle, JSON.stringify(record), { sync: true } as any)
    } else {
      record = parsed
    }
    const key = await derive(passphrase, Buffer.from(record.salt, 'base64'), record.logN)
    const vault = new Vault(handle, key)
    try {
      if (vault.open(record.check, checkSlot(handle)) !== CHECK) throw new Error('check')
    } catch {
      throw new PassphraseError('wrong', `wrong passphrase for ${handle}`)
    }
    if (record.from != null) {
      await migrateVault(db, vault, await derive(passphrase, Buffer.from(record.from.salt, 'base64'), record.from.logN))
      const { from: _done, ...migrated } = record
      await sub.put(handle, JSON.stringify(migrated), { sync: true } as any)
    }
    return vault
  }

  private static async create (
    handle: string,
    passphrase: string | Uint8Array
  ): Promise<{ vault: Vault, record: VaultRecord }> {
    const salt = randomBytes(SALT_BYTES)
    const logN = passphrase instanceof Uint8Array ? KEYED_LOG_N : DEFAULT_SCRYPT_LOG_N
    const vault = new Vault(handle, await derive(passphrase, salt, logN))
    return { vault, record: { v: 2, salt: salt.toString('base64'), logN, check: vault.seal(CHECK, checkSlot(handle)) } }
  }
}

function checkSlot (handle: string): VaultSlot { return { sublevel: 'vault', key: handle } }

/**
 * scrypt of the passphrase (NFKC, so the same words typed on two keyboards give the same key); a vault key
 * (random bytes, `logN` 0) needs no stretching: HKDF-SHA256 over it and the salt.
 */
async function derive (passphrase: string | Uint8Array, salt: Uint8Array, logN: number): Promise<Uint8Array> {
  if (passphrase instanceof Uint8Array) return new Uint8Array(hkdfSync('sha256', passphrase, salt, 'chorus vault key', KEY_BYTES))
  const N = 2 ** logN
  const maxmem = 2 * 128 * N * SCRYPT_R
  return await new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFKC'), salt, 32, { N, r: SCRYPT_R, p: SCRYPT_P, maxmem }, (err, key) => {
      if (err != null) reject(err)
      else resolve(new Uint8Array(key))
    })
  })
}

function associatedData (handle: string, slot: VaultSlot): Uint8Array {
  return encoder.encode(`${AD_DOMAIN}\0${handle}\0${slot.sublevel}\0${slot.key}`)
}

function sealValue (key: Uint8Array, handle: string, slot: VaultSlot, s: string): string {
  const nonce = randomBytes(NONCE_BYTES)
  return FORMAT +
    Buffer.concat([nonce, aeadSeal(key, nonce, Buffer.from(s, 'utf8'), associatedData(handle, slot))]).toString('base64')
}

function openValue (key: Uint8Array, handle: string, slot: VaultSlot, s: string): string {
  if (!s.startsWith(FORMAT)) throw new VaultIntegrityError(slot, `the value at ${slot.sublevel}/${slot.key} is not sealed in the current format`)
  const b = Buffer.from(s.slice(FORMAT.length), 'base64')
  try {
    const plain = aeadOpen(key, b.subarray(0, NONCE_BYTES), b.subarray(NONCE_BYTES), associatedData(handle, slot))
    return Buffer.from(plain).toString('utf8')
  } catch {
    throw new VaultIntegrityError(slot)
  }
}
