/**
 * Handles: human-readable names (`alice`) claimed first-come with a record signed by the claiming user's
 * identity key. The record binds the handle to the public key, and so to the userId.
 */

import { createHash } from 'node:crypto'
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

/** Whether two claims bind their handle to the same key (the same user, whatever their timestamps). */
export function sameClaimant (a: HandleClaim, b: HandleClaim): boolean {
  return Buffer.from(a.publicKey).equals(Buffer.from(b.publicKey))
}

/**
 * An order on claims of one handle: the earlier signed timestamp, then (equal timestamps, different keys)
 * the lower sha256 of the signed bytes; negative when `a` comes first. It picks one claim among copies
 * that name the same claimant. It never decides between claimants: the timestamp is the claimer's word,
 * and an owner of the handle could sign a claim back-dated to come before any real one (`agreedClaim`).
 */
export function compareClaims (a: HandleClaim, b: HandleClaim): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  const ha = createHash('sha256').update(claimBytes(a.handle, a.publicKey, a.timestamp)).digest()
  const hb = createHash('sha256').update(claimBytes(b.handle, b.publicKey, b.timestamp)).digest()
  return Buffer.compare(ha, hb)
}

/**
 * The claim a strict majority of a handle's `owners` hold, given the claims held (one per owner that holds
 * one; a claimant that signed twice counts once per owner, its first claim standing for it), or undefined
 * when no claimant has a majority. Owners that disagree settle on it: one owner, or a minority, that holds
 * or plants another claim never outvotes the rest, however early its claim is signed.
 */
export function agreedClaim (held: Array<HandleClaim | undefined>, owners: number): HandleClaim | undefined {
  const groups = new Map<string, HandleClaim[]>()
  for (const c of held) {
    if (c == null) continue
    const k = Buffer.from(c.publicKey).toString('hex')
    groups.set(k, [...(groups.get(k) ?? []), c])
  }
  const majority = Math.floor(owners / 2) + 1
  for (const claims of groups.values()) if (claims.length >= majority) return firstClaim(claims)
  return undefined
}

/** The first of some claims of one handle by `compareClaims`; `undefined` for none. */
export function firstClaim (claims: Array<HandleClaim | undefined>): HandleClaim | undefined {
  let first: HandleClaim | undefined
  for (const c of claims) if (c != null && (first == null || compareClaims(c, first) < 0)) first = c
  return first
}
