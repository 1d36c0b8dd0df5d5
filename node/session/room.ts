/**
 * One room as a session sees it: the fold of the room's state log (kept current by a state feed and by
 * live events), the room's messages (live from the room's gossipsub topic, and a message feed that
 * catches what the live path missed), and the room's operations.
 *
 * The fold is the session's authority on who was a member when: a live post is delivered only when
 * the fold says its sender is a member (relay verdict), a synced or historic one only when its sender
 * was a member at its timestamp. Live state events are not applied as they arrive: they only prompt a
 * sync of the state log from the owners, who judged them at write time, so an event the owners
 * refused can never make this session act (a forged KICK published live by a demoted admin, say).
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { Envelope, userIdOf } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { cursorAt, roomMailbox, roomStateMailbox } from '../../protocol/mailbox.js'
import {
  MAX_ROOM_SUBJECT_LENGTH, RoomEvent, RoomState, encodeRoomEvent, type RoomExit, type RoomLiveVerdict,
  type RoomRole, type RoomSettings
} from '../../protocol/room.js'
import { ForbiddenError } from '../replication/errors.js'
import { DEFAULT_REFETCH_WINDOW_MS } from './feed.js'
import type { LiveRooms, LogFeed, Logs, Lookups, Outbox, SessionEvents, SessionState, Signer } from './ports.js'
import type { Message, RoomMemberEvent, SendResult } from './events.js'
import { EVENT_INVITES, EVENT_ROLES, loadRoomState, memberEventOf, stampAfter } from './room-state-log.js'
import {
  CONFIGURE_ROOM_OPTIONS, HISTORY_OPTIONS, ROOM_ROLES, requireHandle, requireOneOf, requireOptions,
  requireString, requireText
} from './arguments.js'

const log = logger('chorus:session:room')

/** How soon after a live state event (or a post the fold could not judge) the room syncs. */
const RESYNC_DELAY_MS = 30

/** Events of a room. */
export interface RoomEvents {
  message: [Message]
  member: [RoomMemberEvent]
}

/** A current member, its handle verified against its claim (else its userId). */
export interface RoomMemberInfo {
  userId: string
  handle: string
  role: RoomRole
}

/** What a room uses of the session (ports.ts). */
export interface RoomComponents {
  /** the clock too: a state event is stamped after every event of the log it was made from */
  signer: Pick<Signer, 'handle' | 'userId' | 'clock' | 'sign'>
  /** `write`: a post from outside the room is only stored (the owners refuse it), never published */
  outbox: Pick<Outbox, 'send' | 'write'>
  /** the room's two feeds; its history and state log read from the owners */
  logs: Logs
  lookups: Lookups
  live: LiveRooms
  events: Pick<SessionEvents, 'emit'>
  session: SessionState
}

/** What a room needs from the `Rooms` that holds it. */
export interface RoomHost {
  /** The session's own membership ended (it left, or was kicked). */
  parted: (room: Room, exit: RoomExit | undefined) => void
  /** A change of the room to announce ('room:member' on the user, 'member' on the room). */
  announce: (room: Room, event: RoomMemberEvent) => void
  /** `claimed` when it is the address of room `roomId` by its claim; undefined otherwise (never throws). */
  addressOf: (roomId: string, claimed: string) => Promise<string | undefined>
}

export class Room extends EventEmitter<RoomEvents> {
  private state: RoomState
  private loaded = false
  private active = false
  private unsubscribe?: () => void
  private readonly stateFeed: LogFeed
  private readonly messageFeed: LogFeed
  private syncing?: Promise<void>
  private soon?: NodeJS.Timeout
  /** handles checked against their claims: userId → handle */
  private readonly verified = new Map<string, string>()
  /** state envelopes this session made before its first load: folded in again by it */
  private stateEnvelopes: Envelope[] = []
  private address_?: string

  constructor (private readonly c: RoomComponents, readonly id: string, private readonly host: RoomHost) {
    super()
    this.state = new RoomState(id)
    this.stateFeed = c.logs.feed(roomStateMailbox(id), async (env) => { await this.absorb([env], true) })
    this.messageFeed = c.logs.feed(roomMailbox(id), async (env) => this.prepare(env))
  }

  get name (): string { return this.state.name }
  get subject (): string { return this.state.subject }
  get public (): boolean { return this.state.public }
  /** This user's role, or 'none' when not a member. */
  get role (): RoomRole | 'none' { return this.state.roleOf(this.c.signer.userId) ?? 'none' }
  /** Whether this session is in the room (receiving its messages). */
  get joined (): boolean { return this.active }

  /** Post a message: stored at W of the room's owners (only members may) and published live. */
  async send (text: string): Promise<SendResult> {
    requireText('text', text)
    const env = this.c.signer.sign(Envelope.Kind.GROUPCHAT, roomMailbox(this.id), new TextEncoder().encode(text))
    if (this.active) return this.c.outbox.send(env)
    // out of the room: the owners will say so; publishing live would only get this node scored down
    return this.c.outbox.write(env)
  }

  /**
   * The room's messages, oldest → newest: the newest `limit` before `before`, merged from the owners
   * (who serve them to current members only). Posts whose sender was not a member then are left out.
   */
  async history (o: { limit?: number, before?: string | Message } = {}): Promise<Message[]> {
    requireOptions('options', o, HISTORY_OPTIONS)
    const mailbox = roomMailbox(this.id)
    const before = o.before == null
      ? undefined
      : new Uint8Array(Buffer.from(typeof o.before === 'string' ? o.before : o.before.cursor, 'hex'))
    const page = await this.c.logs.read(mailbox, { limit: o.limit ?? 50, before, newestFirst: true })
    if (this.active) await this.syncState().catch((err: Error) => { log('state sync of %s before history: %s', this.id, err.message) })
    const out: Message[] = []
    for (const env of page.envelopes) {
      if (env.kind !== Envelope.Kind.GROUPCHAT ||
          !this.state.maySpeakAt(userIdOf(env.senderKey), env.timestamp)) continue
      const m = await this.c.lookups.toMessage(env)
      if (m != null) out.push(m)
    }
    return out
  }

  /** Current members with their roles, owners first. */
  async members (): Promise<RoomMemberInfo[]> {
    return Promise.all(
      this.state.members().map(async (m) => ({ userId: m.userId, handle: await this.display(m.userId), role: m.role }))
    )
  }

  /** Invite a user (owners and admins; any member of a public room). The invitee is told through its mailbox. */
  async invite (handle: string): Promise<void> {
    requireHandle('handle', handle)
    const ref = await this.c.lookups.resolve(handle)
    const env = await this.event({
      action: RoomEvent.Action.INVITE,
      target: ref.userId,
      targetHandle: ref.handle.slice(0, 64),
      name: this.state.name,
      address: this.address_ ?? ''
    })
    await this.c.outbox.send(this.c.signer.sign(Envelope.Kind.ROOM, ref.userId, Envelope.encode(env)))
  }

  /** Remove a member (owners and admins; not an owner, and an admin not an admin). */
  async kick (handle: string): Promise<void> {
    requireHandle('handle', handle)
    const ref = await this.c.lookups.resolve(handle)
    await this.event({ action: RoomEvent.Action.KICK, target: ref.userId, targetHandle: ref.handle.slice(0, 64) })
  }

  /** Set a member's role (owners only). */
  async setRole (handle: string, role: RoomRole): Promise<void> {
    requireHandle('handle', handle)
    requireOneOf('role', role, ROOM_ROLES)
    const ref = await this.c.lookups.resolve(handle)
    await this.event({
      action: RoomEvent.Action.ROLE,
      target: ref.userId,
      targetHandle: ref.handle.slice(0, 64),
      role: EVENT_ROLES[role]
    })
  }

  /** Set the subject (owners and admins). */
  async setSubject (subject: string): Promise<void> {
    requireString('subject', subject, { max: MAX_ROOM_SUBJECT_LENGTH })
    await this.event({ action: RoomEvent.Action.SUBJECT, subject })
  }

  /** The room's settings now. */
  get settings (): RoomSettings { return this.state.settings }

  /**
   * The address the room's CREATE names, once `resolveAddress` found its claim names this room; undefined
   * before, or when the room has none.
   */
  get address (): string | undefined { return this.address_ }

  /** Check the room's address against its claim (once; `address` holds the answer). */
  async resolveAddress (): Promise<string | undefined> {
    if (this.address_ == null && this.state.address !== '') {
      this.address_ = await this.host.addressOf(this.id, this.state.address)
    }
    return this.address_
  }

  /** Change some of the room's settings (owners only); the others stay as they are. */
  async configure (o: Partial<RoomSettings>): Promise<void> {
    requireOptions('options', o, CONFIGURE_ROOM_OPTIONS)
    const s = { ...this.state.settings, ...o }
    await this.event({
      action: RoomEvent.Action.CONFIGURE,
      name: o.name ?? '',
      public: s.public,
      listed: s.listed,
      moderated: s.moderated,
      description: s.description,
      invites: EVENT_INVITES[s.invites]
    })
  }

  /** Leave the room: this session stops receiving it and drops it from `rooms.list()`. */
  async leave (): Promise<void> {
    await this.event({ action: RoomEvent.Action.LEAVE })
  }

  toJSON (): {
    id: string
    address?: string
    name: string
    subject: string
    public: boolean
    role: string
    joined: boolean
    members: Array<{ userId: string, handle: string, role: RoomRole }>
  } {
    return {
      id: this.id,
      ...(this.address_ != null ? { address: this.address_ } : {}),
      name: this.name,
      subject: this.subject,
      public: this.public,
      role: this.role,
      joined: this.active,
      members: this.state.members().map(
        (m) => ({ userId: m.userId, handle: this.verified.get(m.userId) ?? m.userId, role: m.role })
      )
    }
  }

  // used by Rooms

  /** The room's state as this session knows it. */
  get fold (): RoomState { return this.state }

  /** Read the whole state log from the owners and fold it (members, invitees, anyone in a public room may). */
  async load (): Promise<void> {
    const state = await loadRoomState(this.c, this.id)
    for (const env of this.stateEnvelopes) state.add(env)
    this.state = state
    this.stateEnvelopes = []
    this.loaded = true
  }

  /** Take a state envelope this session made (the CREATE, a JOIN) into the fold at once. */
  async adopt (env: Envelope): Promise<void> {
    if (!this.loaded) this.stateEnvelopes.push(env)
    await this.absorb([env], true)
  }

  /** Start receiving: subscribe to the room's topic and catch up. */
  async activate (): Promise<void> {
    if (this.active) return
    this.active = true
    this.unsubscribe = this.c.live.subscribeRoom(this.id, (env) => { this.onLive(env) }, (env) => this.verdict(env))
    await this.sync()
  }

  /** Stop receiving (left, kicked, or the session closes). */
  deactivate (): void {
    this.active = false
    this.unsubscribe?.()
    this.unsubscribe = undefined
    if (this.soon != null) clearTimeout(this.soon)
    this.soon = undefined
  }

  /** State first, then messages. Concurrent calls share one run. */
  async sync (): Promise<void> {
    return await this.run(false)
  }

  /** `sync`, each log only if it changed at its owners (Feed.poll); joins a run in progress. */
  async poll (): Promise<void> {
    return await this.run(true)
  }

  /** Would `poll` do nothing now (both logs' feeds idle, no run in progress)? */
  idle (): boolean {
    return this.syncing == null && this.loaded && this.stateFeed.idle() && this.messageFeed.idle()
  }

  private async run (poll: boolean): Promise<void> {
    this.syncing ??= this.syncOnce(poll).finally(() => { this.syncing = undefined })
    return await this.syncing
  }

  private async syncOnce (poll: boolean): Promise<void> {
    if (!this.active || this.c.session.closed) return
    if (!this.loaded) {
      await this.load()
      // kicked (or left on another device) while this session was away
      if (!this.state.isMember(this.c.signer.userId)) {
        this.host.parted(this, this.state.exitOf(this.c.signer.userId))
        return
      }
    }
    await this.syncState(poll)
    if (!this.active) return
    // a first sync need not page through posts from before this user joined: none of them is shown
    const since = this.state.memberSince(this.c.signer.userId)
    const refetchWindow = hlcPack(DEFAULT_REFETCH_WINDOW_MS, 0)
    if (since != null && since > refetchWindow) await this.messageFeed.startAt(cursorAt(since - refetchWindow))
    try {
      await this.syncMessages(poll)
    } catch (err) {
      // refused: most likely this user is out of the room; the state log (still readable) says why
      if (err instanceof ForbiddenError) await this.syncState()
      throw err
    }
  }

  private async syncState (poll = false): Promise<void> {
    await (poll ? this.stateFeed.poll() : this.stateFeed.sync())
  }

  /** The room's posts, live and synced, go out through the message feed's one queue, in order. */
  private async syncMessages (poll: boolean): Promise<void> {
    await (poll ? this.messageFeed.poll() : this.messageFeed.sync())
  }

  /**
   * One post, from either path, in the room's queue order: judge it and return what shows it. A post the
   * fold cannot accept yet may be one the owners could judge (they stored it, so they knew a JOIN this
   * fold may lack): the state log is synced once more before it is dropped. Later posts wait meanwhile,
   * so a post never overtakes the one before it.
   */
  private async prepare (env: Envelope): Promise<(() => void) | undefined> {
    if (userIdOf(env.senderKey) === this.c.signer.userId) return
    if (!this.accepts(env)) {
      await this.syncState().catch((err: Error) => { log('state sync of %s: %s', this.id, err.message) })
      if (!this.accepts(env)) { log('%s: dropped a post by %s, not a member at its time', this.id, userIdOf(env.senderKey)); return }
    }
    const m = await this.c.lookups.toMessage(env)
    if (m == null) return
    return () => {
      this.emit('message', m)
      this.c.events.emit('message', m)
    }
  }

  /** A post the session shows: a member's, from while this user was in the room too. */
  private accepts (env: Envelope): boolean {
    return env.kind === Envelope.Kind.GROUPCHAT &&
      this.state.maySpeakAt(userIdOf(env.senderKey), env.timestamp) &&
      this.state.isMemberAt(this.c.signer.userId, env.timestamp)
  }

  /** Sign, store and publish a state event, and take it into the fold. */
  private async event (ev: Partial<RoomEvent> & { action: RoomEvent.Action }): Promise<Envelope> {
    stampAfter(this.c.signer.clock, this.state)
    const env = this.c.signer.sign(Envelope.Kind.ROOM, roomStateMailbox(this.id), encodeRoomEvent(ev))
    await this.c.outbox.send(env)
    await this.absorb([env], true)
    return env
  }

  /** Fold state envelopes in; announce the ones that applied; notice when this user is out. */
  private async absorb (envs: Envelope[], announce: boolean): Promise<void> {
    const wasMember = this.state.isMember(this.c.signer.userId)
    const applied: Envelope[] = []
    for (const env of envs) {
      if (this.state.has(env)) continue
      if (this.state.add(env) == null) applied.push(env)
    }
    if (announce) {
      for (const env of applied) {
        const e = await memberEventOf(this.id, env, async (userId) => await this.display(userId))
        // the session's own exit is announced by `parted`, once
        const ownExit = e?.memberId === this.c.signer.userId && (e.action === 'kick' || e.action === 'leave')
        if (e != null && !ownExit) this.host.announce(this, e)
      }
    }
    if (wasMember && !this.state.isMember(this.c.signer.userId)) {
      this.host.parted(this, this.state.exitOf(this.c.signer.userId))
    }
  }

  /** A member's handle, checked against its claim once; its userId when the claim is not its own. */
  async display (userId: string): Promise<string> {
    const known = this.verified.get(userId)
    if (known != null) return known
    if (userId === this.c.signer.userId) {
      this.verified.set(userId, this.c.signer.handle)
      return this.c.signer.handle
    }
    const claimed = this.state.handleOf(userId)
    if (claimed == null || claimed === userId) return userId
    try {
      const ref = await this.c.lookups.resolve(claimed)
      if (ref.userId === userId) { this.verified.set(userId, ref.handle); return ref.handle }
    } catch (err: any) {
      log('handle %s of %s does not resolve: %s', claimed, userId, err.message)
    }
    return userId
  }

  private verdict (env: Envelope): RoomLiveVerdict {
    if (!this.loaded) return 'ignore'
    const v = this.state.verdict(env)
    // the relay keeps one judge per room and node: a room this session left no longer follows its state,
    // so it never has a peer punished on that stale word (the judge of a session still in it would be better)
    if (!this.active) return v === 'reject' ? 'ignore' : v
    // a state event, or a post by someone the fold does not know yet: the owners know more
    if (env.kind === Envelope.Kind.ROOM || v === 'ignore') this.syncSoon()
    return v
  }

  private onLive (env: Envelope): void {
    if (!this.active || env.kind !== Envelope.Kind.GROUPCHAT) return
    // the relay's judge may be another session's on this node (one per room): check by this fold too
    const own = userIdOf(env.senderKey) === this.c.signer.userId
    if (!own && this.state.verdict(env) !== 'accept') { this.syncSoon(); return }
    this.messageFeed.offer(env)
  }

  private syncSoon (): void {
    if (this.soon != null || !this.active) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.sync().catch((err: Error) => { log('sync of room %s failed: %s', this.id, err.message) })
    }, RESYNC_DELAY_MS)
    this.soon.unref()
  }
}
