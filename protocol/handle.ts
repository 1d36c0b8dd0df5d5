/**
 * Handles: human-readable names (`alice`) claimed first-come with a record signed by the claiming user's
 * identity key. The record binds the handle to the public key, and so to the userId.
 */

import { ed25519Sign, ed25519Verify, type Ed25519KeyPair } from './ed25519.js'
import { BadSignatureError, MalformedEnvelopeError } from './errors.js'
import type { HandleClaim } from './pb/store.js'

export type { HandleClaim }

/** Lower-case letters, digits, `.`, `-`, `_`; 1–64 characters. */
export const HANDLE_PATTERN = /^[a-z0-9._-]{1,64}$/

/** A handle that breaks the pattern. */
export class InvalidHandleError extends Error {
  override readonly name = 'InvalidHandleError'
  readonly code = 'ERR_INVALID_HANDLE'
}

/** Throw `InvalidHandleError` unless `handle` is well formed. */
export function checkHandle (handle: unknown): string {
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) {
    throw new InvalidHandleError(`handle must be 1-64 of a-z 0-9 . - _ (got ${JSON.stringify(handle)})`)
  }
  return handle
}

function claimBytes (handle: string, publicKey: Uint8Array, timestamp: bigint): Uint8Array {
  const head = new TextEncoder().encode(`chorus/handle/v1\0${handle}\0`)
  const out = new Uint8Array(head.length + 32 + 8)
  out.set(head)
  out.set(publicKey, head.length)
  new DataView(out.buffer).setBigUint64(head.length + 32, timestamp)
  return out
}

/** Sign a claim of `handle` by `identity`. */
export function signHandleClaim (handle: string, identity: Ed25519KeyPair, timestamp: bigint): HandleClaim {
  checkHandle(handle)
  return { handle, publicKey: new Uint8Array(identity.publicKey), timestamp, signature: ed25519Sign(identity.privateKey, claimBytes(handle, identity.publicKey, timestamp)) }
}

/** Throw unless the claim is well formed and its signature holds. */
export function verifyHandleClaim (claim: HandleClaim | undefined): HandleClaim {
  if (claim == null) throw new MalformedEnvelopeError('handle claim missing')
  checkHandle(claim.handle)
  if (claim.publicKey.byteLength !== 32) throw new MalformedEnvelopeError('handle claim public key must be 32 bytes')
  if (!ed25519Verify(claim.publicKey, claimBytes(claim.handle, claim.publicKey, claim.timestamp), claim.signature)) {
    throw new BadSignatureError(`claim of handle ${claim.handle} does not verify`)
  }
  return claim
}
