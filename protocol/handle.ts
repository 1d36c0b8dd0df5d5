/**
 * Handles: human-readable names (`alice`) claimed first-come with a record signed by the claiming user's
 * identity key. The record binds the handle to the public key, and so to the userId.
 *
 * A room's address (`team`, the room of `team@conference.<domain>`) is claimed the same way, at the same
 * owners' machinery, under the key `#team` (a `#` no user handle has): the claim is signed by the room's
 * creator and carries the nonce of the room's CREATE, so it names exactly one room
 * (`roomIdOf(creator key, nonce)`), and only that room's creator can sign it.
 */

import { createHash } from 'node:crypto'
import { ed25519Sign, ed25519Verify, type Ed25519KeyPair } from './ed25519.js'
import { BadSignatureError, ChorusError, MalformedEnvelopeError } from './errors.js'
import type { HandleClaim } from './pb/store.js'
import { ROOM_NONCE_BYTES, looksLikeRoomId, roomIdOf } from './room-events.js'

export type { HandleClaim }

/** Lower-case letters, digits, `.`, `-`, `_`; 1–64 characters. */
export const HANDLE_PATTERN = /^[a-z0-9._-]{1,64}$/

/** A handle that breaks the pattern. */
export class InvalidHandleError extends ChorusError {
  static readonly code = 'ERR_INVALID_HANDLE'
  override readonly name = 'InvalidHandleError'
  constructor (message: string) { super(message, InvalidHandleError.code) }
}

/** Throw `InvalidHandleError` unless `handle` is well formed. */
export function checkHandle (handle: unknown): string {
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) {
    throw new InvalidHandleError(`handle must be 1-64 of a-z 0-9 . - _ (got ${JSON.stringify(handle)})`)
  }
  return handle
}

/** The key under which a room address is claimed. */
export const ROOM_ADDRESS_PREFIX = '#'

/** A room address that breaks the pattern, or looks like a room id. */
export class InvalidRoomAddressError extends ChorusError {
  static readonly code = 'ERR_INVALID_ROOM_ADDRESS'
  override readonly name = 'InvalidRoomAddressError'
  constructor (message: string) { super(message, InvalidRoomAddressError.code) }
}

/**
 * Throw `InvalidRoomAddressError` unless `address` is a room address: the handle pattern, and not shaped
 * like a room id (so a JID's localpart names a room one way only).
 */
export function checkRoomAddress (address: unknown): string {
  if (typeof address !== 'string' || !HANDLE_PATTERN.test(address)) {
    throw new InvalidRoomAddressError(`a room address is 1-64 of a-z 0-9 . - _ (got ${JSON.stringify(address)})`)
  }
  if (looksLikeRoomId(address)) throw new InvalidRoomAddressError(`${address} looks like a room id: pick another address`)
  return address
}

/** Whether `address` is a room address (what `checkRoomAddress` takes), as a test. */
export function isRoomAddress (address: unknown): address is string {
  return typeof address === 'string' && HANDLE_PATTERN.test(address) && !looksLikeRoomId(address)
}

/** Whether a claim is of a room address (`#…`) rather than a user's handle. */
export function isRoomAddressClaim (claim: Pick<HandleClaim, 'handle'>): boolean {
  return claim.handle.startsWith(ROOM_ADDRESS_PREFIX)
}

/** The room a room address claim names. */
export function roomOfClaim (claim: HandleClaim): string {
  return roomIdOf(claim.publicKey, claim.roomNonce)
}

function claimBytes (
  handle: string,
  publicKey: Uint8Array,
  timestamp: bigint,
  roomNonce: Uint8Array = new Uint8Array(0)
): Uint8Array {
  const domain = roomNonce.byteLength > 0 ? 'chorus/room-address/v1' : 'chorus/handle/v1'
  const head = new TextEncoder().encode(`${domain}\0${handle}\0`)
  const out = new Uint8Array(head.length + 32 + 8 + roomNonce.byteLength)
  out.set(head)
  out.set(publicKey, head.length)
  new DataView(out.buffer).setBigUint64(head.length + 32, timestamp)
  out.set(roomNonce, head.length + 40)
  return out
}

/** Sign a claim of `handle` by `identity`. */
export function signHandleClaim (handle: string, identity: Ed25519KeyPair, timestamp: bigint): HandleClaim {
  checkHandle(handle)
  return {
    handle,
    publicKey: new Uint8Array(identity.publicKey),
    timestamp,
    signature: ed25519Sign(identity.privateKey, claimBytes(handle, identity.publicKey, timestamp)),
    roomNonce: new Uint8Array(0)
  }
}

/** Sign a claim of the room address `address` by the room's creator, for the room made with `nonce`. */
export function signRoomAddressClaim (
  address: string,
  creator: Ed25519KeyPair,
  nonce: Uint8Array,
  timestamp: bigint
): HandleClaim {
  checkRoomAddress(address)
  if (nonce.byteLength !== ROOM_NONCE_BYTES) throw new MalformedEnvelopeError(`a room nonce is ${ROOM_NONCE_BYTES} bytes`)
  const handle = ROOM_ADDRESS_PREFIX + address
  const roomNonce = new Uint8Array(nonce)
  return {
    handle,
    publicKey: new Uint8Array(creator.publicKey),
    timestamp,
    roomNonce,
    signature: ed25519Sign(creator.privateKey, claimBytes(handle, creator.publicKey, timestamp, roomNonce))
  }
}

/** Throw unless the claim is well formed and its signature holds. */
export function verifyHandleClaim (claim: HandleClaim | undefined): HandleClaim {
  if (claim == null) throw new MalformedEnvelopeError('handle claim missing')
  if (isRoomAddressClaim(claim)) {
    checkRoomAddress(claim.handle.slice(ROOM_ADDRESS_PREFIX.length))
    if (claim.roomNonce.byteLength !== ROOM_NONCE_BYTES) throw new MalformedEnvelopeError(`a room address claim carries a ${ROOM_NONCE_BYTES}-byte nonce`)
  } else {
    checkHandle(claim.handle)
    if (claim.roomNonce.byteLength !== 0) throw new MalformedEnvelopeError('a handle claim carries no room nonce')
  }
  if (claim.publicKey.byteLength !== 32) throw new MalformedEnvelopeError('handle claim public key must be 32 bytes')
  if (!ed25519Verify(claim.publicKey, claimBytes(claim.handle, claim.publicKey, claim.timestamp, claim.roomNonce),
    claim.signature)) {
    throw new BadSignatureError(`claim of handle ${claim.handle} does not verify`)
  }
  return claim
}

/**
 * Who a claim binds its handle to, as a string: the key (a user), or the key and the nonce (a room: one
 * creator's two rooms are two claimants).
 */
export function claimantOf (claim: HandleClaim): string {
  return Buffer.from(claim.publicKey).toString('hex') + Buffer.from(claim.roomNonce).toString('hex')
}

/** Whether two claims bind their handle to the same claimant (the same user or room, whatever their timestamps). */
export function sameClaimant (a: HandleClaim, b: HandleClaim): boolean {
  return claimantOf(a) === claimantOf(b)
}

/**
 * An order on claims of one handle: the earlier signed timestamp, then (equal timestamps, different keys)
 * the lower sha256 of the signed bytes; negative when `a` comes first. It picks one claim among copies
 * that name the same claimant. It never decides between claimants: the timestamp is the claimer's word,
 * and an owner of the handle could sign a claim back-dated to come before any real one (`agreedClaim`).
 */
export function compareClaims (a: HandleClaim, b: HandleClaim): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  const ha = createHash('sha256').update(claimBytes(a.handle, a.publicKey, a.timestamp, a.roomNonce)).digest()
  const hb = createHash('sha256').update(claimBytes(b.handle, b.publicKey, b.timestamp, b.roomNonce)).digest()
  return Buffer.compare(ha, hb)
}

/**
 * The claim a strict majority of a handle's `owners` hold, given the claims held (one per owner that holds
 * one; a claimant that signed twice counts once per owner, its first claim standing for it), or undefined
 * when no claimant has a majority. Owners that disagree settle on it: one owner, or a minority, that holds
 * or plants another claim never outvotes the rest, however early its claim is signed.
 */
export function agreedClaim (held: Array<HandleClaim | undefined>, owners: number): HandleClaim | undefined {
  const [top] = claimVotes(held)
  return top != null && top.n >= majorityOf(owners) ? top.claim : undefined
}

/** A strict majority of `owners`. */
export function majorityOf (owners: number): number {
  return Math.floor(owners / 2) + 1
}

/** One claimant among the claims held: how many of them are its, and its first (`firstClaim`), which stands for it. */
export interface ClaimVote { claim: HandleClaim, n: number }

/**
 * The claims held of one handle (one per owner that holds one), grouped by claimant, most held first (in
 * the order first seen among equals). `agreedClaim` asks whether the first is held by a majority of all the
 * owners; a resolver may ask less of it (that it lead the next).
 */
export function claimVotes (held: Array<HandleClaim | undefined>): ClaimVote[] {
  const groups = new Map<string, HandleClaim[]>()
  for (const c of held) {
    if (c == null) continue
    const k = claimantOf(c)
    groups.set(k, [...(groups.get(k) ?? []), c])
  }
  return [...groups.values()]
    .map((claims) => ({ claim: firstClaim(claims) as HandleClaim, n: claims.length }))
    .sort((a, b) => b.n - a.n)
}

/** The first of some claims of one handle by `compareClaims`; `undefined` for none. */
export function firstClaim (claims: Array<HandleClaim | undefined>): HandleClaim | undefined {
  let first: HandleClaim | undefined
  for (const c of claims) if (c != null && (first == null || compareClaims(c, first) < 0)) first = c
  return first
}
