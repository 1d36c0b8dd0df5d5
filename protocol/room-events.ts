/**
 * Room events: ids, the RoomEvent body and its bounds, the typed errors of rooms, and the order of a
 * state log. The fold of a room's state over these events is protocol/room.ts, by the rules of
 * protocol/room-rules.ts.
 */

import { createHash, randomBytes } from 'node:crypto'
import { base32, type Envelope } from './envelope.js'
import { ChorusError } from './errors.js'
import { isUserId } from './mailbox.js'
import { RoomEvent } from './pb/chat.js'

export { RoomEvent }

/** Bytes of the random nonce in a CREATE. */
export const ROOM_NONCE_BYTES = 16

/** Bytes of the hash kept in a room id (16 base32 characters). */
export const ROOM_ID_BYTES = 10

/** Longest room name, in characters. */
export const MAX_ROOM_NAME_LENGTH = 256

/** Longest subject, in characters. */
export const MAX_ROOM_SUBJECT_LENGTH = 256

/** Longest room description, in characters. */
export const MAX_ROOM_DESCRIPTION_LENGTH = 512

/** Longest handle carried in an event, in characters. */
export const MAX_ROOM_HANDLE_LENGTH = 64

/** Largest encoded RoomEvent body, in bytes. */
export const MAX_ROOM_EVENT_BYTES = 2048

/** A member's role, highest first: owner > admin > member. */
export type RoomRole = 'owner' | 'admin' | 'member'

const ACTIONS = new Set(Object.values(RoomEvent.Action))
const DOMAIN = 'chorus/room/v1'

/** A room event body that does not decode or breaks a bound. */
export class MalformedRoomEventError extends ChorusError {
  static readonly code = 'ERR_MALFORMED_ROOM_EVENT'
  override readonly name = 'MalformedRoomEventError'
  constructor (message: string) { super(message, MalformedRoomEventError.code) }
}

/** Why a room envelope does not apply; `reason` is stable (callers and counters branch on it). */
export type RoomRuleReason =
  | 'malformed'      // not a ROOM envelope of this room's state log, or a body that does not decode
  | 'no-room'        // no CREATE before it
  | 'exists'         // a second CREATE
  | 'forged-create'  // a CREATE whose id does not derive from its signer and nonce
  | 'not-allowed'    // the sender's role does not allow it
  | 'not-member'     // the sender (or target) is not a member
  | 'already-member' // JOIN or INVITE of a current member
  | 'not-invited'    // JOIN of a private room without an invitation (or banned from a public one)
  | 'last-owner'     // the last owner leaving others behind, or stepping down

/** A room envelope that the rules do not allow. */
export class RoomRuleError extends ChorusError {
  static readonly code = 'ERR_ROOM_RULE'
  override readonly name = 'RoomRuleError'
  declare readonly reason: RoomRuleReason
  constructor (reason: RoomRuleReason, message: string) { super(message, RoomRuleError.code, { reason }) }
}

/** The room id for a creator's key and a CREATE nonce: base32 of 10 bytes of sha256(domain ‖ key ‖ nonce). */
export function roomIdOf (creatorKey: Uint8Array, nonce: Uint8Array): string {
  return base32(createHash('sha256').update(DOMAIN).update(creatorKey).update(nonce).digest().subarray(0, ROOM_ID_BYTES))
}

/**
 * The shape of a room id as `roomIdOf` makes it: base32 of ROOM_ID_BYTES (16 characters). No room address
 * has it (`checkRoomAddress`), so a JID's localpart names a room one way only. Narrower than `isRoomId`
 * (mailbox.ts), which takes any room part of a mailbox name.
 */
const ROOM_ID_SHAPE = new RegExp(`^[a-z2-7]{${Math.ceil(ROOM_ID_BYTES * 8 / 5)}}$`)

/** True for a string shaped like a room id Chorus makes (`roomIdOf`). */
export function looksLikeRoomId (s: string): boolean { return ROOM_ID_SHAPE.test(s) }

/** A fresh CREATE nonce. */
export function newRoomNonce (): Uint8Array<ArrayBuffer> {
  return new Uint8Array(randomBytes(ROOM_NONCE_BYTES))
}

/** Encode an event, filling defaults; throws `MalformedRoomEventError` when it breaks a bound. */
export function encodeRoomEvent (ev: Partial<RoomEvent> & { action: RoomEvent.Action }): Uint8Array<ArrayBuffer> {
  const full: RoomEvent = {
    target: '',
    targetHandle: '',
    role: RoomEvent.Role.NONE,
    name: '',
    public: false,
    subject: '',
    nonce: new Uint8Array(0),
    address: '',
    description: '',
    listed: false,
    moderated: false,
    invites: RoomEvent.Invites.DEFAULT,
    ...ev
  }
  checkBounds(full)
  return RoomEvent.encode(full)
}

/** Decode and bound-check an event body. Throws `MalformedRoomEventError`. */
export function decodeRoomEvent (body: Uint8Array): RoomEvent {
  if (body.byteLength > MAX_ROOM_EVENT_BYTES) throw new MalformedRoomEventError(`room event of ${body.byteLength} bytes exceeds ${MAX_ROOM_EVENT_BYTES}`)
  let ev: RoomEvent
  try {
    ev = RoomEvent.decode(body)
  } catch (err: any) {
    throw new MalformedRoomEventError(`room event does not decode: ${err.message}`)
  }
  checkBounds(ev)
  return ev
}

function checkBounds (ev: RoomEvent): void {
  if (!ACTIONS.has(ev.action)) throw new MalformedRoomEventError('unknown room action')
  if (ev.name.length > MAX_ROOM_NAME_LENGTH) throw new MalformedRoomEventError(`room name longer than ${MAX_ROOM_NAME_LENGTH}`)
  if (ev.subject.length > MAX_ROOM_SUBJECT_LENGTH) throw new MalformedRoomEventError(`subject longer than ${MAX_ROOM_SUBJECT_LENGTH}`)
  if (ev.targetHandle.length > MAX_ROOM_HANDLE_LENGTH) throw new MalformedRoomEventError(`handle longer than ${MAX_ROOM_HANDLE_LENGTH}`)
  if (ev.description.length > MAX_ROOM_DESCRIPTION_LENGTH) {
    throw new MalformedRoomEventError(`description longer than ${MAX_ROOM_DESCRIPTION_LENGTH}`)
  }
  if (ev.address.length > MAX_ROOM_HANDLE_LENGTH) throw new MalformedRoomEventError(`address longer than ${MAX_ROOM_HANDLE_LENGTH}`)
  if (!Object.values(RoomEvent.Invites).includes(ev.invites)) throw new MalformedRoomEventError('unknown invitation policy')
  if (ev.target !== '' && !isUserId(ev.target)) throw new MalformedRoomEventError('target is not a user id')
  if (ev.action === RoomEvent.Action.CREATE && ev.nonce.byteLength !== ROOM_NONCE_BYTES) {
    throw new MalformedRoomEventError(`a CREATE nonce is ${ROOM_NONCE_BYTES} bytes`)
  }
  if (ev.nonce.byteLength > ROOM_NONCE_BYTES) throw new MalformedRoomEventError('nonce too long')
}

/** The order of a log: (timestamp, id) as a sortable string (the hex of a mailbox cursor). */
export function eventKey (env: Pick<Envelope, 'timestamp' | 'id'>): string {
  return env.timestamp.toString(16).padStart(16, '0') + Buffer.from(env.id).toString('hex')
}
