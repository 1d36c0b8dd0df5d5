/**
 * Mailbox names: which logs exist, who may write an envelope into which, and where an envelope goes.
 *
 *   `<userId>`              a user's mailbox: direct messages to and from the user, receipts, subscription requests
 *   `<userId>.roster`       the user's roster (ROSTER items the user signs about its contacts)
 *   `<userId>.presence`     the user's presence changes (PRESENCE availability the user signs)
 *   `room.<id>`             a room's messages (GROUPCHAT)
 *   `room.<id>.state`       a room's control events (ROOM): creation, membership, roles, subject
 *
 * A sub-log lives at the same owners as its parent (placement hashes the user or room id alone), so a
 * room's owners can check a post against the room's state from their own disk.
 *
 * A position in a mailbox is a cursor: the envelope's 8-byte big-endian hybrid timestamp, then its 16-byte
 * id. Every log is ordered by it, owners page by it on the wire, and readers hand it out (as hex) to page on.
 */

import { userIdOf, Envelope } from './envelope.js'

const USER_ID = /^[a-z2-7]{32}$/
const ROOM_ID = /^[a-z0-9_-]{1,64}$/
/** The sub-logs of a user's mailbox. */
type UserLog = 'roster' | 'presence'
const MAILBOX = /^(?:([a-z2-7]{32})(?:\.(roster|presence))?|room\.([a-z0-9_-]{1,64})(?:\.(state))?)$/

/** What a mailbox name says. */
export interface MailboxName {
  kind: 'user' | 'room'
  /** the user id or the room id (without `room.`) */
  id: string
  /** the sub-log, or '' for the main log */
  log: '' | 'roster' | 'presence' | 'state'
}

/** Parse a mailbox name; `undefined` when it is not one. */
export function parseMailbox (mailbox: string): MailboxName | undefined {
  const m = MAILBOX.exec(mailbox)
  if (m == null) return undefined
  if (m[1] != null) return { kind: 'user', id: m[1], log: (m[2] ?? '') as MailboxName['log'] }
  return { kind: 'room', id: m[3], log: (m[4] ?? '') as MailboxName['log'] }
}

/** True for a user id (32 base32 characters). */
export function isUserId (s: string): boolean { return USER_ID.test(s) }

/** True for a room id (the part after `room.`). */
export function isRoomId (s: string): boolean { return ROOM_ID.test(s) }

/** The message log of a room. */
export function roomMailbox (roomId: string): string { return `room.${roomId}` }

/** The state log of a room. */
export function roomStateMailbox (roomId: string): string { return `room.${roomId}.state` }

/** A user's sub-log. */
export function userLog (userId: string, log: UserLog): string { return `${userId}.${log}` }

/**
 * Kinds that live in both parties' mailboxes: the conversation is the two users'. Secret messages live
 * in the recipient's alone: only the recipient's device can decrypt them, and they are deleted there
 * after delivery.
 */
const TWO_SIDED = new Set([Envelope.Kind.CHAT, Envelope.Kind.ERROR])

/** Which envelope kinds each log holds. */
const LOG_KINDS: Record<MailboxName['log'] | 'room', Set<Envelope.Kind>> = {
  // ROOM here: an invitation notice (the signed INVITE of the room's state log, wrapped for the invitee)
  '': new Set(
    [Envelope.Kind.CHAT, Envelope.Kind.SECRET, Envelope.Kind.ERROR, Envelope.Kind.RECEIPT, Envelope.Kind.PRESENCE,
      Envelope.Kind.ROOM]
  ),
  roster: new Set([Envelope.Kind.ROSTER]),
  presence: new Set([Envelope.Kind.PRESENCE]),
  room: new Set([Envelope.Kind.GROUPCHAT]),
  state: new Set([Envelope.Kind.ROOM])
}

/**
 * The other party of `env` within `mailbox` (the conversation index key), or `undefined` when the
 * envelope does not belong in that mailbox: a direct message belongs to its sender's and recipient's
 * mailboxes; a sub-log or a room log holds only envelopes addressed to it, of its kinds, and a user's
 * sub-log only what the user signed.
 */
export function conversationPeer (env: Pick<Envelope, 'senderKey' | 'recipient' | 'kind'>, mailbox: string): string | undefined {
  const name = parseMailbox(mailbox)
  if (name == null) return undefined
  const sender = userIdOf(env.senderKey)
  if (name.kind === 'user' && name.log === '') {
    if (!LOG_KINDS[''].has(env.kind)) return undefined
    if (mailbox === env.recipient) return sender
    if (mailbox === sender && TWO_SIDED.has(env.kind)) return env.recipient
    return undefined
  }
  if (env.recipient !== mailbox) return undefined
  if (!LOG_KINDS[name.kind === 'room' && name.log === '' ? 'room' : name.log].has(env.kind)) return undefined
  if (name.kind === 'user' && sender !== name.id) return undefined
  return sender
}

/**
 * The mailboxes a stored envelope is written to: both users' for a direct message, else the recipient's
 * alone. Headlines are never stored.
 */
export function mailboxesOf (env: Pick<Envelope, 'senderKey' | 'recipient' | 'kind'>): string[] {
  if (env.kind === Envelope.Kind.HEADLINE) return []
  const sender = userIdOf(env.senderKey)
  if (TWO_SIDED.has(env.kind) && parseMailbox(env.recipient)?.kind === 'user' && sender !== env.recipient) {
    return [env.recipient, sender]
  }
  return [env.recipient]
}

/** A position in a mailbox: 8-byte big-endian timestamp then the 16-byte envelope id. */
export type Cursor = Uint8Array<ArrayBuffer>

/** Cursor length in bytes. */
export const CURSOR_BYTES = 24

/** The cursor of an envelope. */
export function cursorOf (env: Pick<Envelope, 'timestamp' | 'id'>): Cursor {
  const c = new Uint8Array(CURSOR_BYTES)
  new DataView(c.buffer).setBigUint64(0, env.timestamp)
  c.set(env.id.subarray(0, 16), 8)
  return c
}

/** The timestamp inside a cursor. */
export function cursorTimestamp (c: Cursor): bigint {
  return new DataView(c.buffer, c.byteOffset, c.byteLength).getBigUint64(0)
}

/** The lowest cursor with timestamp `t`. */
export function cursorAt (t: bigint): Cursor {
  const c = new Uint8Array(CURSOR_BYTES)
  new DataView(c.buffer).setBigUint64(0, t)
  return c
}
