/**
 * The primitives of secret chats, all from node:crypto's native (OpenSSL) implementations: X25519,
 * HKDF-SHA-256, HMAC-SHA-256 and ChaCha20-Poly1305 (RFC 8439). Nothing here is hand-rolled; this file
 * only adapts raw 32-byte keys to KeyObjects and maps failures to typed errors.
 *
 * Raw X25519 keys are imported as JWK, not DER: on Node 20 / OpenSSL 3 a DER import costs ~0.15 ms
 * (public) and ~0.5 ms (private), a JWK import ~7 µs and ~40 µs. Hot paths keep the KeyObject
 * (`X25519KeyPairWithObject`) instead of re-importing.
 *
 * Key generation does not use generateKeyPairSync. On Node 20.20, exporting a key made by
 * generateKeyPairSync can deadlock: the export holds the key's mutex while allocating, a GC it triggers
 * finalizes the generating job, and the job's destructor takes the same mutex (seen after ~10^5
 * generations, main thread stuck in `~KeyGenJob` under `ExportJWKEdKey`). Instead the private key is 32
 * bytes from the CSPRNG, as RFC 7748 §6.1 prescribes (OpenSSL clamps it on use). It is imported, and its
 * public key read back from OpenSSL.
 */

import {
  createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync,
  KeyObject, randomBytes
} from 'node:crypto'
import { DecryptError, InvalidKeyError } from './errors.js'

/** A raw X25519 key pair: 32-byte public key and 32-byte private scalar. */
export interface X25519KeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

/** An X25519 key pair together with the KeyObject of its private half, for repeated DH without re-import. */
export interface X25519KeyPairWithObject extends X25519KeyPair {
  privateKeyObject: KeyObject
}

/** ChaCha20-Poly1305 key, nonce and tag lengths in bytes. */
export const AEAD_KEY_BYTES = 32
export const AEAD_NONCE_BYTES = 12
export const AEAD_TAG_BYTES = 16

/** Stand-in for `x` when importing a private key whose public half is not known yet (Node reads only `d`). */
const UNKNOWN_X = Buffer.alloc(32).toString('base64url')

/** A fresh X25519 key pair. */
export function x25519Generate (): X25519KeyPair {
  const { publicKey, privateKey } = x25519GenerateWithObject()
  return { publicKey, privateKey }
}

/** A fresh X25519 key pair that keeps its private KeyObject. */
export function x25519GenerateWithObject (): X25519KeyPairWithObject {
  const privateKey = new Uint8Array(randomBytes(32))
  const privateKeyObject = x25519PrivateKeyObject(privateKey)
  return { publicKey: publicOf(privateKeyObject), privateKey, privateKeyObject }
}

/**
 * The private KeyObject of a raw private key. A JWK needs `x` too; Node derives the public key from `d`
 * and does not use `x` for a private key, so an unknown public half is stood in for (and `publicOf`
 * checks that the stand-in was not taken).
 */
export function x25519PrivateKeyObject (privateKey: Uint8Array, publicKey?: Uint8Array): KeyObject {
  checkLength(privateKey, 'private')
  if (publicKey != null) checkLength(publicKey, 'public')
  const x = publicKey == null ? UNKNOWN_X : toBase64url(publicKey)
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: toBase64url(privateKey), x }, format: 'jwk' })
}

/** The public KeyObject of a raw 32-byte X25519 public key. */
export function x25519PublicKeyObject (publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, 'public')
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64url(publicKey) }, format: 'jwk' })
}

/** The public key of a raw private key. */
export function x25519PublicKey (privateKey: Uint8Array): Uint8Array {
  return publicOf(x25519PrivateKeyObject(privateKey))
}

/**
 * X25519(priv, pub): the 32-byte shared secret. Throws `InvalidKeyError` when `pub` is a low-order point
 * (the output would be all zeros, RFC 7748 §6.1); OpenSSL refuses those itself, and we check again.
 */
export function x25519 (
  privateKey: Uint8Array | KeyObject | X25519KeyPair,
  publicKey: Uint8Array | KeyObject
): Uint8Array<ArrayBuffer> {
  const priv = privateKey instanceof KeyObject
    ? privateKey
    : privateKey instanceof Uint8Array
      ? x25519PrivateKeyObject(privateKey)
      : x25519PrivateKeyObject(privateKey.privateKey, privateKey.publicKey)
  const pub = publicKey instanceof KeyObject ? publicKey : x25519PublicKeyObject(publicKey)
  let out: Buffer
  try {
    out = diffieHellman({ privateKey: priv, publicKey: pub })
  } catch (err: any) {
    if (err?.code === 'ERR_OSSL_FAILED_DURING_DERIVATION') throw new InvalidKeyError('X25519 with a low-order public key')
    throw err
  }
  let acc = 0
  for (const b of out) acc |= b
  if (acc === 0) throw new InvalidKeyError('X25519 with a low-order public key')
  return new Uint8Array(out)
}

/** HKDF-SHA-256 (RFC 5869): `length` bytes of output keying material. */
export function hkdf (
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array | string,
  length: number
): Uint8Array<ArrayBuffer> {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length))
}

/** HMAC-SHA-256 (RFC 2104): 32 bytes. */
export function hmacSha256 (key: Uint8Array, data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHmac('sha256', key).update(data).digest())
}

/** ChaCha20-Poly1305 (RFC 8439) seal: ciphertext ‖ 16-byte tag. A key must never see the same nonce twice. */
export function aeadSeal (
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array
): Uint8Array<ArrayBuffer> {
  checkAead(key, nonce)
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  const head = cipher.update(plaintext)
  const tail = cipher.final()
  const tag = cipher.getAuthTag()
  const out = new Uint8Array(head.byteLength + tail.byteLength + AEAD_TAG_BYTES)
  out.set(head)
  out.set(tail, head.byteLength)
  out.set(tag, head.byteLength + tail.byteLength)
  return out
}

/**
 * ChaCha20-Poly1305 open of ciphertext ‖ tag. Throws `DecryptError` unless it authenticates;
 * no plaintext leaks before that.
 */
export function aeadOpen (
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array
): Uint8Array<ArrayBuffer> {
  checkAead(key, nonce)
  if (sealed.byteLength < AEAD_TAG_BYTES) throw new DecryptError('ciphertext shorter than its tag')
  const bodyLength = sealed.byteLength - AEAD_TAG_BYTES
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES })
  decipher.setAuthTag(sealed.subarray(bodyLength))
  decipher.setAAD(ad, { plaintextLength: bodyLength })
  const head = decipher.update(sealed.subarray(0, bodyLength))
  try {
    const tail = decipher.final()
    const out = new Uint8Array(head.byteLength + tail.byteLength)
    out.set(head)
    out.set(tail, head.byteLength)
    return out
  } catch {
    head.fill(0)
    throw new DecryptError()
  }
}

/**
 * The raw public key OpenSSL holds for a private KeyObject (all zeros is impossible: it would be a low-order point).
 */
function publicOf (privateKeyObject: KeyObject): Uint8Array {
  const x = privateKeyObject.export({ format: 'jwk' }).x
  if (x === UNKNOWN_X) throw new Error('node:crypto took the JWK x of a private key instead of deriving it')
  return fromBase64url(x, 'public')
}

function checkAead (key: Uint8Array, nonce: Uint8Array): void {
  if (key.byteLength !== AEAD_KEY_BYTES) throw new RangeError('a ChaCha20-Poly1305 key is 32 bytes')
  if (nonce.byteLength !== AEAD_NONCE_BYTES) throw new RangeError('a ChaCha20-Poly1305 nonce is 12 bytes')
}

function checkLength (key: Uint8Array, kind: string): void {
  if (key.byteLength !== 32) throw new RangeError(`an X25519 ${kind} key is 32 bytes`)
}

function toBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

function fromBase64url (s: string | undefined, kind: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Buffer.from(s ?? '', 'base64url'))
  checkLength(out, kind)
  return out
}
