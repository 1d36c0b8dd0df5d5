/**
 * SASL for the XMPP gateway, server side: SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802, RFC 7677; no channel
 * binding: the client's gs2 flag must be `n` or `y`) and PLAIN (RFC 4616; offered only over TLS).
 *
 * The gateway keeps no password: an account stores, per hash, the salt, the iteration count and SCRAM's
 * StoredKey and ServerKey (RFC 5802 §3), from which a login is checked and PLAIN is verified too.
 * Passwords are prepared with SASLprep (RFC 4013) before hashing, as both RFCs require.
 */

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import saslprep from 'saslprep'
import { ChorusError } from '../errors.js'

export type ScramHash = 'sha1' | 'sha256'
export const MECHANISMS = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-1': 'sha1' } as const satisfies Record<string, ScramHash>
export type ScramMechanism = keyof typeof MECHANISMS

/** What an account keeps per hash: enough to check a login, not enough to log in. */
export interface ScramCredential {
  salt: string
  iterations: number
  storedKey: string
  serverKey: string
}

/** PBKDF2 rounds for new accounts (RFC 7677 asks for at least 4096). */
export const SCRAM_ITERATIONS = 4096
/** Bounds of what a client may send in one SASL step. */
const MAX_SASL_BYTES = 4096

/** The SASL failure conditions the gateway sends (RFC 6120 §6.5). */
export type SaslCondition =
  | 'not-authorized' | 'malformed-request' | 'invalid-mechanism' | 'encryption-required' | 'aborted'
  | 'incorrect-encoding' | 'temporary-auth-failure'

/** A SASL failure: its condition and a text. */
export class SaslError extends ChorusError {
  static readonly code = 'ERR_SASL'
  override readonly name = 'SaslError'
  constructor (readonly condition: SaslCondition, message: string) { super(message, SaslError.code) }
}

/** Prepare a password or username with SASLprep; a string it forbids is a malformed request. */
export function prep (s: string): string {
  try { return saslprep(s) } catch (err: any) { throw new SaslError('malformed-request', `SASLprep: ${String(err.message)}`) }
}

/** SCRAM's keys of `password` (RFC 5802 §3). */
export function scramKeys (
  hash: ScramHash,
  password: string,
  salt: Buffer,
  iterations: number
): { clientKey: Buffer, storedKey: Buffer, serverKey: Buffer } {
  const salted = pbkdf2Sync(prep(password), salt, iterations, hash === 'sha1' ? 20 : 32, hash)
  const clientKey = hmac(hash, salted, 'Client Key')
  return { clientKey, storedKey: createHash(hash).update(clientKey).digest(), serverKey: hmac(hash, salted, 'Server Key') }
}

/** Derive the stored credential of `password` for one hash. */
export function deriveCredential (
  hash: ScramHash,
  password: string,
  salt = randomBytes(16),
  iterations = SCRAM_ITERATIONS
): ScramCredential {
  const k = scramKeys(hash, password, salt, iterations)
  return { salt: salt.toString('base64'), iterations, storedKey: k.storedKey.toString('base64'), serverKey: k.serverKey.toString('base64') }
}

/** The ClientKey of `password` under a stored credential, if the password is right (PLAIN logins). */
export function clientKeyFor (cred: ScramCredential, hash: ScramHash, password: string): Buffer | undefined {
  const k = scramKeys(hash, password, Buffer.from(cred.salt, 'base64'), cred.iterations)
  return safeEqual(k.storedKey, Buffer.from(cred.storedKey, 'base64')) ? k.clientKey : undefined
}

/** PLAIN's message: `[authzid] NUL authcid NUL passwd`. */
export function parsePlain (msg: Buffer): { authzid: string, username: string, password: string } {
  if (msg.length > MAX_SASL_BYTES) throw new SaslError('malformed-request', 'PLAIN message too long')
  const parts = msg.toString('utf8').split('\u0000')
  if (parts.length !== 3 || parts[1] === '' || parts[2] === '') throw new SaslError('malformed-request', 'PLAIN wants authzid NUL authcid NUL password')
  return { authzid: parts[0], username: parts[1], password: parts[2] }
}

/**
 * One SCRAM exchange, server side. `first(clientFirst)` names the user (the caller then looks up the
 * credential) and returns server-first; `final(clientFinal)` checks the proof and returns server-final.
 */
export class ScramServer {
  private clientFirstBare = ''
  private serverFirst = ''
  private nonce = ''
  private gs2 = ''
  private cred?: ScramCredential
  /** after a successful `final`: the ClientKey the client proved (unwraps the account key) */
  clientKey?: Buffer

  /** `nonceSuffix`: the server's part of the nonce (random; tests give the RFCs' vectors) */
  constructor (readonly hash: ScramHash, private readonly nonceSuffix = randomBytes(18).toString('base64')) {}

  /** Parse client-first; returns the username (SASLprep'd as sent, `=2C`/`=3D` decoded). */
  username (clientFirst: Buffer): string {
    if (clientFirst.length > MAX_SASL_BYTES) throw new SaslError('malformed-request', 'SCRAM client-first too long')
    const text = clientFirst.toString('utf8')
    const m = /^([ny]),(a=[^,]*)?,(n=[^,]+,r=[^,]+(?:,.*)?)$/.exec(text)
    if (m == null) throw new SaslError('malformed-request', 'SCRAM client-first is malformed (channel binding is not offered)')
    this.gs2 = `${m[1]},${m[2] ?? ''},`
    this.clientFirstBare = m[3]
    const attrs = scramAttrs(this.clientFirstBare)
    if (attrs.m != null) throw new SaslError('malformed-request', 'SCRAM extensions are not supported')
    this.nonce = attrs.r + this.nonceSuffix
    const name = attrs.n.replace(/=2C/g, ',').replace(/=3D/g, '=')
    if (/=/.test(attrs.n.replace(/=2C|=3D/g, ''))) throw new SaslError('malformed-request', 'SCRAM username has a bad escape')
    return name
  }

  /**
   * Server-first, with the account's credential, or a decoy's when there is no such account (`Decoys`: so
   * a login attempt does not tell who has an account; the proof then fails as a wrong password does).
   */
  challenge (cred: ScramCredential): Buffer {
    this.cred = cred
    this.serverFirst = `r=${this.nonce},s=${this.cred.salt},i=${this.cred.iterations}`
    return Buffer.from(this.serverFirst)
  }

  /** Check client-final; returns server-final (`v=…`). A wrong proof is `not-authorized`. */
  final (clientFinal: Buffer, known: boolean): Buffer {
    if (clientFinal.length > MAX_SASL_BYTES) throw new SaslError('malformed-request', 'SCRAM client-final too long')
    const text = clientFinal.toString('utf8')
    const at = text.lastIndexOf(',p=')
    if (at < 0) throw new SaslError('malformed-request', 'SCRAM client-final has no proof')
    const withoutProof = text.slice(0, at)
    const attrs = scramAttrs(withoutProof)
    if (attrs.c !== Buffer.from(this.gs2).toString('base64')) throw new SaslError('malformed-request', 'SCRAM channel binding data does not match')
    if (attrs.r !== this.nonce) throw new SaslError('malformed-request', 'SCRAM nonce does not match')
    const cred = this.cred as ScramCredential
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`
    const storedKey = Buffer.from(cred.storedKey, 'base64')
    const signature = hmac(this.hash, storedKey, authMessage)
    const proof = Buffer.from(text.slice(at + 3), 'base64')
    if (proof.length !== signature.length) throw new SaslError('not-authorized', 'wrong password')
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i]
    const ok = safeEqual(createHash(this.hash).update(clientKey).digest(), storedKey)
    if (!ok || !known) throw new SaslError('not-authorized', 'wrong username or password')
    this.clientKey = clientKey
    return Buffer.from(`v=${hmac(this.hash, Buffer.from(cred.serverKey, 'base64'), authMessage).toString('base64')}`)
  }
}

/** `k=v,k=v` attributes of a SCRAM message. */
function scramAttrs (msg: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=')
    if (eq !== 1) throw new SaslError('malformed-request', `SCRAM attribute ${JSON.stringify(part.slice(0, 16))} is malformed`)
    out[part[0]] = part.slice(2)
  }
  return out
}

/** Bytes of the secret decoys are keyed by. */
export const DECOY_SECRET_BYTES = 32

/**
 * Stand-in credentials for accounts that do not exist, so that a login attempt does not tell who has an
 * account. A decoy's salt is HMAC-SHA-256 of a secret, the hash and the username, cut to a real salt's 16
 * bytes: stable for a name, and without the secret as random-looking as a real one. Its keys are random,
 * so no password matches; a PLAIN login checks against it all the same, with the same PBKDF2 work as for a
 * real account. Gateways that share the secret give the same decoys.
 */
export class Decoys {
  /** `secret`: at least DECOY_SECRET_BYTES random bytes (the gateway checks the file it reads them from) */
  constructor (private readonly secret: Buffer) {}

  /** The decoy credential of `username` (SASLprep'd) for `hash`. */
  credential (hash: ScramHash, username: string): ScramCredential {
    const salt = createHmac('sha256', this.secret).update(`${hash}\u0000${username}`).digest().subarray(0, 16)
    const random = (): string => randomBytes(hash === 'sha1' ? 20 : 32).toString('base64')
    return { salt: salt.toString('base64'), iterations: SCRAM_ITERATIONS, storedKey: random(), serverKey: random() }
  }
}

function hmac (hash: ScramHash, key: Buffer, data: string): Buffer {
  return createHmac(hash, key).update(data).digest()
}

function safeEqual (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
