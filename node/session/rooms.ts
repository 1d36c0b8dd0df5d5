/**
 * Group chat: the rooms of one session (`user.rooms`). Creating, joining, leaving, inviting and
 * kicking are events in a room's state log (protocol/room-rules.ts holds the rules; the room's owners
 * enforce them); each joined room is a `Room` that receives live from the room's topic and syncs its
 * two logs on every session tick.
 *
 * An invitation reaches the invitee through its own mailbox (room-invitations.ts reads it): the session
 * emits 'room:member' {action: 'invite'}; joining is explicit (`join`). A room's mesh-wide address is
 * claimed, resolved and checked by room-addresses.ts; the directory's list is the node's (room-list.ts).
 *
 * Joined rooms persist in the node's database (sublevel `rooms`, `<userId>!<roomId>` → `{}`), so a
 * session that opens again resubscribes; a room this user left or was kicked from is dropped there.
 */

import { logger } from '@libp2p/logger'
import { Envelope } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { isRoomId, roomStateMailbox } from '../../protocol/mailbox.js'
import {
  RoomEvent, type RoomState, encodeRoomEvent, newRoomNonce, roomIdOf, type RoomExit, type RoomInvites
} from '../../protocol/room.js'
import { ChorusError } from '../errors.js'
import { ForbiddenError, QuorumError } from '../replication/errors.js'
import { UNKNOWN_ROOM } from '../replication/room-guard.js'
import type { Rejections, SessionEvents, Signer, Storage } from './ports.js'
import type { RoomMemberEvent } from './events.js'
import type { RoomAddress } from './directory.js'
import { Room, type RoomComponents, type RoomHost } from './room.js'
import { EVENT_INVITES, loadRoomState, stampAfter } from './room-state-log.js'
import { RoomAddresses, type RoomDirectory } from './room-addresses.js'
import { invitationIn, type RoomInvitation } from './room-invitations.js'
import type { ListedRoom, RoomList } from './room-list.js'
import { CREATE_ROOM_OPTIONS, requireHandle, requireOptions, requireString } from './arguments.js'

export { Room, type RoomEvents, type RoomMemberInfo } from './room.js'

const log = logger('chorus:session:rooms')

/** 'room:member' events held for the session's first listener at most. @default 1000 */
export const DEFAULT_ROOM_EVENTS_HELD = 1000

/** No room with this id exists at its owners (or none of them has its state yet). */
export class UnknownRoomError extends ChorusError {
  static readonly code = 'ERR_UNKNOWN_ROOM'
  override readonly name = 'UnknownRoomError'
  /** @param cause what the owners answered, when they were asked */
  constructor (roomId: string, cause?: unknown) { super(`no room ${roomId}`, UnknownRoomError.code, { cause }) }
}

/** The session is not in this room. */
export class NotInRoomError extends ChorusError {
  static readonly code = 'ERR_NOT_IN_ROOM'
  override readonly name = 'NotInRoomError'
  constructor (roomId: string) { super(`not in room ${roomId}`, NotInRoomError.code) }
}

/** Options of `create`. */
export interface CreateRoomOptions {
  name: string
  /**
   * The room's mesh-wide address (`team`: `team@conference.<domain>` for Jabber users), claimed first
   * come at the owners of the address; `RoomAddressTakenError` when another room has it.
   */
  address?: string
  /** anyone may join a public room; a private one needs an invitation @default false */
  public?: boolean
  /** listed in the room directory (its state readable by anyone) @default the room is public and has an address */
  listed?: boolean
  /** only owners and admins post @default false */
  moderated?: boolean
  /** who may invite @default 'members' in a public room, 'admins' in a private one */
  invites?: RoomInvites
  description?: string
  subject?: string
}

/**
 * What the rooms of a session use (ports.ts): each room's, and the directory and the node's list of it, a
 * sublevel, refusals, listeners.
 */
export interface RoomsComponents extends RoomComponents {
  /** the identity and clock too: a room's id and its address claim are the creator's */
  signer: Pick<Signer, 'handle' | 'userId' | 'identity' | 'clock' | 'sign'>
  rejections: Rejections
  /** the joined rooms (sublevel `rooms`) */
  storage: Pick<Storage, 'sublevel'>
  /** listeners too: 'room:member' events wait for the first */
  events: SessionEvents
  directory: RoomDirectory
  /** the node's room directory list, one for every session (room-list.ts) */
  roomList: Pick<RoomList, 'list'>
}

export class Rooms implements RoomHost {
  private readonly joined = new Map<string, Room>()
  /** rooms this session left or was kicked from while open: `get` still finds them, `list` does not */
  private readonly parted_ = new Map<string, Room>()
  private readonly invitations_ = new Map<string, RoomInvitation>()
  private readonly saved
  private isOpen = false
  /**
   * 'room:member' events from before anyone listened: what the catch-up inside `openUser` finds (an
   * invitation, a kick while away) is found before the caller can attach a listener.
   */
  private held: RoomMemberEvent[] | undefined = []

  private readonly addresses: RoomAddresses

  constructor (private readonly c: RoomsComponents) {
    this.saved = c.storage.sublevel<string, string>('rooms', { valueEncoding: 'utf8' })
    this.addresses = new RoomAddresses(c)
    c.events.onListener((event) => { if (event === 'room:member') process.nextTick(() => { this.release() }) })
  }

  /**
   * Resubscribe to the rooms this user had joined and catch them up (in parallel). A room that cannot be
   * reached now stays in `list()` and is retried on every sync.
   */
  async open (): Promise<void> {
    this.isOpen = true
    const prefix = `${this.c.signer.userId}!`
    const rooms: Room[] = []
    for await (const key of this.saved.keys({ gt: prefix, lt: `${prefix}\xff` })) {
      const room = new Room(this.c, key.slice(prefix.length), this)
      this.joined.set(room.id, room)
      rooms.push(room)
    }
    await Promise.all(rooms.map(async (room) => {
      await room.activate().catch((err: Error) => { log('%s: room %s not reached yet: %s', this.c.signer.handle, room.id, err.message) })
      await room.resolveAddress()
    }))
  }

  async close (): Promise<void> {
    this.isOpen = false
    for (const room of [...this.joined.values(), ...this.parted_.values()]) room.deactivate()
  }

  /** Catch up every joined room. */
  async sync (): Promise<void> {
    await this.each(async (room) => { await room.sync() })
  }

  /** Catch up every joined room whose logs changed at their owners (the session calls this on every tick). */
  async poll (): Promise<void> {
    await this.each(async (room) => { await room.poll() })
  }

  /** Would `poll` do nothing now? (Every joined room's feeds are idle.) */
  idle (): boolean {
    if (this.c.session.closed || !this.isOpen) return true
    for (const room of this.joined.values()) if (!room.idle()) return false
    return true
  }

  private async each (step: (room: Room) => Promise<void>): Promise<void> {
    if (this.c.session.closed || !this.isOpen) return
    await Promise.all([...this.joined.values()].map(async (room) => {
      await step(room).catch((err: Error) => { log('%s: sync of room %s failed: %s', this.c.signer.handle, room.id, err.message) })
    }))
  }

  /**
   * Create a room; this user is its owner. With an address, the address is claimed first (so a room
   * never exists under an address it lost: `RoomAddressTakenError`, and nothing is created); a claim whose
   * room then fails to be written is written again by the next `create` of that address by this user.
   */
  async create (o: CreateRoomOptions): Promise<Room> {
    requireOptions('options', o, CREATE_ROOM_OPTIONS)
    const nonce = o.address != null ? await this.addresses.claim(o.address) : newRoomNonce()
    const id = roomIdOf(this.c.signer.identity.publicKey, nonce)
    const isPublic = o.public === true
    const body = encodeRoomEvent({
      action: RoomEvent.Action.CREATE,
      name: o.name,
      public: isPublic,
      subject: o.subject ?? '',
      nonce,
      address: o.address ?? '',
      description: o.description ?? '',
      listed: o.listed ?? (isPublic && o.address != null),
      moderated: o.moderated === true,
      invites: o.invites == null ? RoomEvent.Invites.DEFAULT : EVENT_INVITES[o.invites]
    })
    const env = this.c.signer.sign(Envelope.Kind.ROOM, roomStateMailbox(id), body)
    await this.c.outbox.send(env)
    const room = new Room(this.c, id, this)
    this.joined.set(id, room)
    await this.save(id)
    await room.adopt(env)
    await room.activate()
    await room.resolveAddress()
    return room
  }

  /** The room an address names. Throws `UnknownRoomAddressError`. */
  async resolve (address: string): Promise<RoomAddress> {
    return await this.addresses.resolve(address)
  }

  /** The address of room `roomId` when `claimed` (its CREATE's word) is confirmed by the address's claim. */
  async addressOf (roomId: string, claimed: string): Promise<string | undefined> {
    return await this.addresses.addressOf(roomId, claimed)
  }

  /**
   * The room directory: the listed rooms that have an address, in address order, as their state logs say
   * (read from their owners). Gathered from every server, so the node keeps one list for all its sessions,
   * for DIRECTORY_TTL_MS (room-list.ts).
   */
  async directoryList (): Promise<ListedRoom[]> {
    return await this.c.roomList.list(async (roomId) => await this.peek(roomId))
  }

  /** A room's state, read from its owners without joining (a room this session is in: its fold). */
  async peek (roomId: string): Promise<RoomState> {
    requireString('roomId', roomId)
    const known = this.get(roomId)
    if (known?.joined === true) return known.fold
    return await loadRoomState(this.c, roomId)
  }

  /**
   * Join a room: public, or one this user is invited to. Throws `UnknownRoomError` for a room its owners
   * do not know and `ForbiddenError` when the owners refuse (not invited, kicked).
   */
  async join (roomId: string): Promise<Room> {
    requireString('roomId', roomId)
    if (!isRoomId(roomId)) throw new UnknownRoomError(roomId)
    const current = this.joined.get(roomId)
    if (current?.joined === true) return current
    const room = current ?? this.parted_.get(roomId) ?? new Room(this.c, roomId, this)
    await room.load().catch((err) => { throw ownersDoNotKnow(err) ? new UnknownRoomError(roomId, err) : err })
    if (!room.fold.created) throw new UnknownRoomError(roomId)
    if (!room.fold.isMember(this.c.signer.userId)) {
      if (!room.fold.mayJoin(this.c.signer.userId)) throw new ForbiddenError(`room ${roomId} needs an invitation to join`)
      const join = encodeRoomEvent({ action: RoomEvent.Action.JOIN })
      stampAfter(this.c.signer.clock, room.fold)
      const env = this.c.signer.sign(Envelope.Kind.ROOM, roomStateMailbox(roomId), join)
      await this.c.outbox.send(env)
      await room.adopt(env)
    }
    this.parted_.delete(roomId)
    this.invitations_.delete(roomId)
    this.joined.set(roomId, room)
    await this.save(roomId)
    await room.activate()
    await room.resolveAddress()
    return room
  }

  /** Leave a room. */
  async leave (roomId: string): Promise<void> {
    requireString('roomId', roomId)
    await this.need(roomId).leave()
  }

  /** Invite a user to a room (by handle or userId). */
  async invite (roomId: string, handle: string): Promise<void> {
    requireString('roomId', roomId)
    requireHandle('handle', handle)
    await this.need(roomId).invite(handle)
  }

  /** Remove a member from a room. */
  async kick (roomId: string, handle: string): Promise<void> {
    requireString('roomId', roomId)
    requireHandle('handle', handle)
    await this.need(roomId).kick(handle)
  }

  /** A room this session is in (or left while open: its `send`/`history` then meet the owners' refusal). */
  get (roomId: string): Room | undefined {
    requireString('roomId', roomId)
    return this.joined.get(roomId) ?? this.parted_.get(roomId)
  }

  /** The rooms this session is in. */
  list (): Room[] {
    return [...this.joined.values()]
  }

  /** Invitations received and not yet acted on. */
  invitations (): RoomInvitation[] {
    return [...this.invitations_.values()]
  }

  /**
   * A ROOM envelope from this user's mailbox: an invitation notice. Its body is the INVITE of the room's
   * state log, signed by the inviter; anything else is dropped.
   */
  async handleInvite (env: Envelope): Promise<void> {
    const invitation = await this.invitationIn(env)
    if (invitation == null || this.joined.get(invitation.room)?.joined === true) return
    this.invitations_.set(invitation.room, invitation)
    const { room, address, by, byId, at } = invitation
    this.tell({
      room,
      ...(address != null ? { address } : {}),
      action: 'invite',
      member: this.c.signer.handle,
      memberId: this.c.signer.userId,
      by,
      byId,
      at
    })
  }

  /**
   * The invitation a ROOM envelope of this user's mailbox carries (room-invitations.ts); anything else is
   * refused (counted as `bad-room-invite`) and gives undefined. Reading it changes nothing: the archive
   * (XEP-0313) reads old ones with it.
   */
  async invitationIn (env: Envelope): Promise<RoomInvitation | undefined> {
    return await invitationIn({ ...this.c, addressOf: this.addresses.addressOf.bind(this.addresses) }, env)
  }

  // RoomHost

  announce (room: Room, event: RoomMemberEvent): void {
    room.emit('member', event)
    this.tell(event)
  }

  parted (room: Room, exit: RoomExit | undefined): void {
    room.deactivate()
    this.joined.delete(room.id)
    this.parted_.set(room.id, room)
    void this.saved.del(this.key(room.id)).catch((err: Error) => { log('forgetting room %s: %s', room.id, err.message) })
    void (async () => {
      const byId = exit?.by ?? this.c.signer.userId
      const event: RoomMemberEvent = {
        room: room.id,
        action: exit?.action ?? 'leave',
        member: this.c.signer.handle,
        memberId: this.c.signer.userId,
        by: await room.display(byId),
        byId,
        at: exit != null ? hlcMillis(exit.at) : Date.now()
      }
      this.announce(room, event)
    })()
  }

  /** Emit 'room:member' on the session, or hold it until the first listener (in order). */
  private tell (event: RoomMemberEvent): void {
    if (this.held == null) { this.c.events.emit('room:member', event); return }
    this.held.push(event)
    if (this.listeners() > 0) { this.release(); return }
    if (this.held.length > DEFAULT_ROOM_EVENTS_HELD) { this.held.shift(); log('%s: no room:member listener; dropped the oldest held event', this.c.signer.handle) }
  }

  private release (): void {
    if (this.held == null || this.listeners() === 0) return
    const list = this.held
    this.held = undefined
    for (const e of list) this.c.events.emit('room:member', e)
  }

  private listeners (): number {
    return this.c.events.listenerCount('room:member')
  }

  private need (roomId: string): Room {
    const room = this.joined.get(roomId)
    if (room == null) throw new NotInRoomError(roomId)
    return room
  }

  private key (roomId: string): string { return `${this.c.signer.userId}!${roomId}` }

  private async save (roomId: string): Promise<void> {
    await this.saved.put(this.key(roomId), '{}')
  }
}

/**
 * Did the owners of a room answer a read of its state log that they hold no state of it (`unknown-room`)?
 * Each owner that answered must have said so; one that did not answer (down, timed out) says nothing.
 */
function ownersDoNotKnow (err: unknown): boolean {
  const errors = err instanceof QuorumError ? err.errors : [err]
  const said = errors.filter((e): e is ChorusError => e instanceof ChorusError && e.reason != null)
  return said.length > 0 && said.every((e) => e.reason === UNKNOWN_ROOM)
}
