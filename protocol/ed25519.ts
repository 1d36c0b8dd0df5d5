/**
 * Ed25519 over raw 32-byte keys. Two backends, one contract (pure Ed25519, RFC 8032):
 *
 * - libsodium through `sodium-native` (prebuilt, loaded when it loads): on this machine a verification
 *   costs ~37 µs and a signature ~14 µs;
 * - node:crypto (OpenSSL), the fallback when the addon does not load (a bundler that drops native
 *   modules, a platform without a prebuild): ~84 µs and ~30 µs.
 *
 * A durable direct message is verified in four to eight processes (relay, owners, recipient), so the
 * backend is a visible share of a send's CPU (docs/benchmarks.md). `CHORUS_ED25519=node` forces the
 * fallback. Both accept every signature an honest signer makes; libsodium also refuses public keys of small
 * order, which OpenSSL takes (no honest key is one). The key-format wrapping (SPKI / PKCS#8 DER prefixes)
 * lives here and nowhere else.
 */

import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'
import { boundedMemo } from './bounded-memo.js'

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
  if (privateKey.byteLength !== 32) throw new RangeError('an Ed25519 private key is 32 bytes')
  const spki = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length))
}

/**
 * A public key ready to verify with (a node:crypto key object, or the raw bytes for libsodium): make it once
 * with `ed25519PublicKeyObject` when verifying many messages of one key.
 */
export type Ed25519PublicKey = KeyObject | Uint8Array

/** The backend: how a signature is made and checked. */
export interface Ed25519Backend {
  readonly name: 'sodium' | 'node'
  publicKey: (raw: Uint8Array) => Ed25519PublicKey
  sign: (privateKey: Uint8Array, message: Uint8Array) => Uint8Array<ArrayBuffer>
  /** false for a mismatch; may throw on malformed input (the caller maps that to false) */
  verify: (publicKey: Ed25519PublicKey, message: Uint8Array, signature: Uint8Array) => boolean
}

/** A public key ready to verify with, from 32 raw bytes. */
export function ed25519PublicKeyObject (publicKey: Uint8Array): Ed25519PublicKey {
  if (publicKey.byteLength !== 32) throw new RangeError('an Ed25519 public key is 32 bytes')
  return backend.publicKey(publicKey)
}

/** Sign `message` with a raw private key: a 64-byte signature. */
export function ed25519Sign (privateKey: Uint8Array, message: Uint8Array): Uint8Array<ArrayBuffer> {
  if (privateKey.byteLength !== 32) throw new RangeError('an Ed25519 private key is 32 bytes')
  return backend.sign(privateKey, message)
}

/** Verify a signature; false for any mismatch or malformed input, never a throw. */
export function ed25519Verify (publicKey: Ed25519PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (signature.byteLength !== 64) return false
    const key = publicKey instanceof Uint8Array ? ed25519PublicKeyObject(publicKey) : publicKey
    return backend.verify(key, message, signature)
  } catch {
    return false
  }
}

/** The name of the backend in use ('sodium' or 'node'), for logs and metrics. */
export function ed25519BackendName (): Ed25519Backend['name'] {
  return backend.name
}

/**
 * Importing a private key costs about three times the signature itself (node:crypto's DER import, or
 * libsodium's expansion of the seed), so the keys a process signs with (a handful: its users') are kept,
 * by the key's bytes. Bounded: the oldest is dropped past SIGNER_CACHE_MAX.
 */
const SIGNER_CACHE_MAX = 1024

function signerCache<T> (make: (privateKey: Uint8Array) => T): (privateKey: Uint8Array) => T {
  return boundedMemo(SIGNER_CACHE_MAX, (privateKey: Uint8Array) => Buffer.from(privateKey).toString('base64'), make)
}

const privateKeyObject = signerCache((privateKey) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' }))

/** node:crypto (OpenSSL). */
export const nodeEd25519: Ed25519Backend = {
  name: 'node',
  publicKey: (raw) => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }),
  sign: (privateKey, message) => new Uint8Array(sign(null, message, privateKeyObject(privateKey))),
  verify: (publicKey, message, signature) => {
    const key = publicKey instanceof Uint8Array ? nodeEd25519.publicKey(publicKey) as KeyObject : publicKey
    return verify(null, message, key, signature)
  }
}

/** What is used of sodium-native (it ships no types). */
interface Sodium {
  crypto_sign_seed_keypair: (pk: Uint8Array, sk: Uint8Array, seed: Uint8Array) => void
  crypto_sign_detached: (sig: Uint8Array, m: Uint8Array, sk: Uint8Array) => void
  crypto_sign_verify_detached: (sig: Uint8Array, m: Uint8Array, pk: Uint8Array) => boolean
}

/** libsodium through sodium-native, or undefined when the addon does not load here. */
export function sodiumEd25519 (): Ed25519Backend | undefined {
  let sodium: Sodium
  try {
    sodium = createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return undefined
  }
  // libsodium signs with the 64-byte expanded key (seed ‖ public key)
  const secretKey = signerCache((seed) => {
    const sk = new Uint8Array(64)
    sodium.crypto_sign_seed_keypair(new Uint8Array(32), sk, seed)
    return sk
  })
  return {
    name: 'sodium',
    publicKey: (raw) => new Uint8Array(raw),
    sign: (privateKey, message) => {
      const sig = new Uint8Array(64)
      sodium.crypto_sign_detached(sig, message, secretKey(privateKey))
      return sig
    },
    verify: (publicKey, message, signature) => {
      const raw = publicKey instanceof Uint8Array ? publicKey : rawPublicKey(publicKey)
      return sodium.crypto_sign_verify_detached(signature, message, raw)
    }
  }
}

function rawPublicKey (key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length))
}

const backend: Ed25519Backend = process.env.CHORUS_ED25519 === 'node'
  ? nodeEd25519
  : sodiumEd25519() ?? nodeEd25519
