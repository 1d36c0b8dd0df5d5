/**
 * Ed25519 over raw 32-byte keys, on node:crypto's native implementation. The key-format wrapping
 * (SPKI / PKCS#8 DER prefixes) lives here and nowhere else.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** A raw Ed25519 key pair. */
export interface Ed25519KeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

/** A fresh key pair. */
export function ed25519Generate (): Ed25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  return {
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)),
    privateKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length))
  }
}

/** The public key of a raw 32-byte private key (seed). */
export function ed25519PublicKey (privateKey: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length))
}

/** A node:crypto public key object from 32 raw bytes; reuse it when verifying many messages of one key. */
export function ed25519PublicKeyObject (publicKey: Uint8Array): KeyObject {
  if (publicKey.byteLength !== 32) throw new RangeError('an Ed25519 public key is 32 bytes')
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
}

/** Sign `message` with a raw private key: a 64-byte signature. */
export function ed25519Sign (privateKey: Uint8Array, message: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(sign(null, message, privateKeyObject(privateKey)))
}

/** Verify a signature; false for any mismatch or malformed input, never a throw. */
export function ed25519Verify (publicKey: Uint8Array | KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = publicKey instanceof Uint8Array ? ed25519PublicKeyObject(publicKey) : publicKey
    return signature.byteLength === 64 && verify(null, message, key, signature)
  } catch {
    return false
  }
}

/**
 * Importing a private key from DER costs about three times the signature itself, so the key objects of
 * the keys a process signs with (a handful: its users') are kept, by the key's bytes. Bounded: the
 * oldest is dropped past SIGNER_CACHE_MAX.
 */
const signers = new Map<string, KeyObject>()
const SIGNER_CACHE_MAX = 1024

function privateKeyObject (privateKey: Uint8Array): KeyObject {
  if (privateKey.byteLength !== 32) throw new RangeError('an Ed25519 private key is 32 bytes')
  const id = Buffer.from(privateKey).toString('base64')
  let key = signers.get(id)
  if (key == null) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' })
    if (signers.size >= SIGNER_CACHE_MAX) signers.delete(signers.keys().next().value as string)
    signers.set(id, key)
  }
  return key
}
