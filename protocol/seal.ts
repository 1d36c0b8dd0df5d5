/**
 * Sealed bodies of plain direct messages, with no I/O. The text of a chat or headline to a user travels
 * encrypted under the conversation key of its two users, so only they read it: not the other users whose
 * nodes subscribe to the inbox shard it crosses, and not the servers that relay and store it.
 *
 * The conversation key is static: X25519 between the two users' Ed25519 identity keys in Montgomery form
 * (RFC 7748 §4.1's birational map, as libsodium's `crypto_sign_ed25519_pk_to_curve25519`), through
 * HKDF-SHA-256. Either side computes it, so the sender reads its own copy in its two-sided mailbox. It
 * has no forward secrecy: that is what secret chats are for (protocol/secret/).
 *
 * Body: `0x01 ‖ recipient's Ed25519 key (32) ‖ nonce (12) ‖ ChaCha20-Poly1305(text, ad)`, where
 * ad = domain ‖ sender key ‖ recipient key. The envelope's signature covers the sealed body as it is.
 */

import { createHash, randomBytes } from 'node:crypto'
import type { IdentityKey } from './envelope.js'
import { userIdOf } from './envelope.js'
import { ChorusError } from './errors.js'
import { equalBytes } from './secret/codec.js'
import { aeadOpen, aeadSeal, hkdf, x25519, x25519PrivateKeyObject, x25519PublicKey } from './secret/primitives.js'

export const SEAL_VERSION = 1
const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Bytes a sealed body adds to the text. */
export const SEAL_OVERHEAD = 1 + KEY_BYTES + NONCE_BYTES + TAG_BYTES

const AD_DOMAIN = new TextEncoder().encode('chorus/seal/1')
const KEY_INFO = 'chorus/conversation/1'
/** Conversation keys a `Sealer` keeps (one X25519 and one HKDF each), the oldest evicted first. */
const KEYS_MAX = 10_000

/** A sealed body that is malformed, not for this user, or does not decrypt. */
export class SealError extends ChorusError {
  static readonly code = 'ERR_SEAL'
  override readonly name = 'SealError'
  declare readonly reason: 'malformed' | 'bad-key' | 'not-ours' | 'decrypt'
  constructor (reason: SealError['reason'], message: string) { super(message, SealError.code, { reason }) }
}

const P = (1n << 255n) - 19n

function modPow (b: bigint, e: bigint): bigint {
  let r = 1n
  b %= P
  for (; e > 0n; e >>= 1n) {
    if ((e & 1n) === 1n) r = (r * b) % P
    b = (b * b) % P
  }
  return r
}

function leToBigint (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i])
  return n
}

function bigintToLe32 (n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) { out[i] = Number(n & 0xffn); n >>= 8n }
  return out
}

/**
 * An Ed25519 public key's Montgomery u-coordinate: u = (1 + y) / (1 − y) mod p. Throws `SealError`
 * ('bad-key') for a key that is not 32 bytes, has a non-canonical y, or maps to no usable point.
 */
export function ed25519PublicToX25519 (publicKey: Uint8Array): Uint8Array {
  if (publicKey.byteLength !== KEY_BYTES) throw new SealError('bad-key', 'an Ed25519 public key is 32 bytes')
  const bytes = Uint8Array.from(publicKey)
  bytes[31] &= 0x7f // the sign of x: u does not depend on it
  const y = leToBigint(bytes)
  if (y >= P) throw new SealError('bad-key', 'Ed25519 public key with a non-canonical y')
  const denominator = (1n - y + P) % P
  if (denominator === 0n) throw new SealError('bad-key', 'Ed25519 public key at the identity point')
  return bigintToLe32(((1n + y) * modPow(denominator, P - 2n)) % P)
}

/** An Ed25519 seed's X25519 scalar: the first half of SHA-512(seed), clamped (RFC 8032 §5.1.5, RFC 7748 §5). */
export function ed25519SeedToX25519 (seed: Uint8Array): Uint8Array {
  if (seed.byteLength !== KEY_BYTES) throw new SealError('bad-key', 'an Ed25519 seed is 32 bytes')
  const h = new Uint8Array(createHash('sha512').update(seed).digest().subarray(0, 32))
  h[0] &= 248
  h[31] &= 127
  h[31] |= 64
  return h
}

/** One user's sealing and opening, with its conversation keys cached. */
export class Sealer {
  private readonly priv
  private readonly userId: string
  private readonly keys = new Map<string, Uint8Array>()

  constructor (private readonly identity: IdentityKey) {
    const scalar = ed25519SeedToX25519(identity.privateKey)
    this.priv = x25519PrivateKeyObject(scalar, x25519PublicKey(scalar))
    this.userId = userIdOf(identity.publicKey)
  }

  /** The body of a chat or headline from this user to the user whose Ed25519 key is `recipientKey`. */
  seal (recipientKey: Uint8Array, text: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES)
    const sealed = aeadSeal(this.key(recipientKey), nonce, text, ad(this.identity.publicKey, recipientKey))
    const out = new Uint8Array(1 + KEY_BYTES + NONCE_BYTES + sealed.byteLength)
    out[0] = SEAL_VERSION
    out.set(recipientKey, 1)
    out.set(nonce, 1 + KEY_BYTES)
    out.set(sealed, 1 + KEY_BYTES + NONCE_BYTES)
    return out
  }

  /**
   * The text of a sealed body, from `senderKey` to `recipient` (a userId): one this user received, or one
   * it sent (its own copy). Throws `SealError`.
   */
  open (env: { senderKey: Uint8Array, recipient: string, body: Uint8Array }): Uint8Array {
    const { body } = env
    if (body.byteLength < SEAL_OVERHEAD || body[0] !== SEAL_VERSION) throw new SealError('malformed', `not a sealed body (version ${body[0] ?? 'none'}, ${body.byteLength} bytes)`)
    const recipientKey = body.subarray(1, 1 + KEY_BYTES)
    if (userIdOf(recipientKey) !== env.recipient) throw new SealError('bad-key', 'the sealed body names another recipient than the envelope')
    let peer: Uint8Array
    if (env.recipient === this.userId) peer = env.senderKey
    else if (equalBytes(env.senderKey, this.identity.publicKey)) peer = recipientKey
    else throw new SealError('not-ours', 'a sealed body between two other users')
    const nonce = body.subarray(1 + KEY_BYTES, 1 + KEY_BYTES + NONCE_BYTES)
    try {
      return aeadOpen(this.key(peer), nonce, body.subarray(1 + KEY_BYTES + NONCE_BYTES),
        ad(env.senderKey, recipientKey))
    } catch (err: any) {
      if (err instanceof SealError) throw err
      throw new SealError('decrypt', `sealed body does not decrypt: ${err.message}`)
    }
  }

  /** The conversation key with `peerKey` (an Ed25519 public key), the same on both sides. */
  private key (peerKey: Uint8Array): Uint8Array {
    const id = Buffer.from(peerKey).toString('base64')
    let k = this.keys.get(id)
    if (k == null) {
      let shared: Uint8Array
      try {
        shared = x25519(this.priv, ed25519PublicToX25519(peerKey))
      } catch (err: any) {
        throw err instanceof SealError ? err : new SealError('bad-key', `no conversation key with this peer: ${err.message}`)
      }
      const [a, b] = [Buffer.from(this.identity.publicKey), Buffer.from(peerKey)].sort(Buffer.compare)
      k = hkdf(shared, Buffer.concat([a, b]), KEY_INFO, 32)
      if (this.keys.size >= KEYS_MAX) this.keys.delete(this.keys.keys().next().value as string)
      this.keys.set(id, k)
    }
    return k
  }
}

function ad (senderKey: Uint8Array, recipientKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(AD_DOMAIN.length + 2 * KEY_BYTES)
  out.set(AD_DOMAIN)
  out.set(senderKey, AD_DOMAIN.length)
  out.set(recipientKey, AD_DOMAIN.length + KEY_BYTES)
  return out
}
