/**
 * A room's state log as a session reads and writes it: loaded whole from the room's owners
 * (`loadRoomState`), written after its newest event (`stampAfter`), its events told as 'room:member'
 * events (`memberEventOf`), and a member's role and a room's invite setting as its events carry them.
 * The fold itself, and the rules, are protocol/room.ts and protocol/room-rules.ts.
 */

import { type Envelope, userIdOf } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { cursorOf, roomStateMailbox, type Cursor } from '../../protocol/mailbox.js'
import { RoomEvent, RoomState, decodeRoomEvent, type RoomInvites, type RoomRole } from '../../protocol/room.js'
import { ROLE_OF } from '../../protocol/room-rules.js'
import type { RoomMemberEvent } from './events.js'
import type { Logs, Signer } from './ports.js'

/** Pages of the state log read at once when a room is loaded whole. */
const STATE_PAGE = 500

const ACTION_NAMES: Record<RoomEvent.Action, RoomMemberEvent['action']> = {
  [RoomEvent.Action.CREATE]: 'create',
  [RoomEvent.Action.INVITE]: 'invite',
  [RoomEvent.Action.JOIN]: 'join',
  [RoomEvent.Action.LEAVE]: 'leave',
  [RoomEvent.Action.KICK]: 'kick',
  [RoomEvent.Action.ROLE]: 'role',
  [RoomEvent.Action.SUBJECT]: 'subject',
  [RoomEvent.Action.CONFIGURE]: 'configure'
}

/** A role as a ROLE event carries it. */
export const EVENT_ROLES: Record<RoomRole, RoomEvent.Role> = {
  member: RoomEvent.Role.MEMBER,
  admin: RoomEvent.Role.ADMIN,
  owner: RoomEvent.Role.OWNER
}

/** Who may invite, as a CREATE or CONFIGURE carries it. */
export const EVENT_INVITES: Record<RoomInvites, RoomEvent.Invites> = {
  admins: RoomEvent.Invites.ADMINS,
  members: RoomEvent.Invites.MEMBERS
}

/**
 * Read a room's whole state log from its owners and fold it: members, invitees, past members, and anyone
 * when the room is public or listed may.
 */
export async function loadRoomState (c: { logs: Pick<Logs, 'read'> }, roomId: string): Promise<RoomState> {
  const mailbox = roomStateMailbox(roomId)
  const state = new RoomState(roomId)
  let after: Cursor | undefined
  for (;;) {
    const page = await c.logs.read(mailbox, { after, limit: STATE_PAGE })
    for (const env of page.envelopes) { state.add(env); after = cursorOf(env) }
    if (!page.more || page.envelopes.length === 0) break
  }
  return state
}

/**
 * Move the clock past the newest event of a room's state log before signing an event made from it: the fold
 * orders events by timestamp, so a JOIN stamped by a clock that lags the inviter's would sort before its
 * INVITE and be refused. A log stamped too far ahead (past the clock's drift bound) moves nothing.
 */
export function stampAfter (clock: Pick<Signer['clock'], 'observe'>, state: RoomState): void {
  try {
    clock.observe(state.lastTimestamp)
  } catch {}
}

/**
 * A state envelope of room `roomId` as a 'room:member' event; `display` names a user (its handle, checked
 * against its claim). Undefined for a body that does not decode.
 */
export async function memberEventOf (
  roomId: string,
  env: Envelope,
  display: (userId: string) => Promise<string>
): Promise<RoomMemberEvent | undefined> {
  let ev: RoomEvent
  try { ev = decodeRoomEvent(env.body) } catch { return undefined }
  const byId = userIdOf(env.senderKey)
  const memberId = ev.target !== '' ? ev.target : byId
  const role = ev.action === RoomEvent.Action.CREATE
    ? 'owner'
    : ev.action === RoomEvent.Action.ROLE ? ROLE_OF[ev.role] : undefined
  const withMember = ev.action !== RoomEvent.Action.SUBJECT && ev.action !== RoomEvent.Action.CONFIGURE
  return {
    room: roomId,
    action: ACTION_NAMES[ev.action],
    ...(withMember ? { member: await display(memberId), memberId } : {}),
    ...(role != null ? { role } : {}),
    by: await display(byId),
    byId,
    at: hlcMillis(env.timestamp)
  }
}
