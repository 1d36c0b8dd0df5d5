/**
 * Rooms: ids, control events and the fold of a room's state log (`room.<id>.state`), with no I/O.
 *
 * A room's state is a pure function of the set of ROOM envelopes in its state log: they are applied in
 * (timestamp, id) order and each is checked against the state before it; an event its sender was not
 * allowed to make is skipped (it stays in the log, inert). Every replica and every member folds the
 * same set to the same state, so owners and members agree without coordination.
 *
 * This file keeps the log (`RoomState`): its envelopes in (timestamp, id) order, each judged against the
 * state before it, and what the state tells (members and roles, voice and membership over time,
 * invitations, settings). The rules each event is judged and applied by are room-rules.ts; ids, the event
 * body and its bounds are room-events.ts.
 */

import { Envelope, userIdOf } from './envelope.js'
import { parseMailbox, roomStateMailbox } from './mailbox.js'
import type { RoomEvent } from './pb/chat.js'
import { RoomRuleError, decodeRoomEvent, eventKey, type RoomRole } from './room-events.js'
import { Fold, RANK, type RoomExit, type RoomSettings } from './room-rules.js'

export * from './room-events.js'
export type { RoomExit, RoomInvites, RoomSettings } from './room-rules.js'

/** One current member, as the fold knows it. */
export interface RoomMember {
  userId: string
  /** the handle the member or an admin named it by (a display hint: not verified here) */
  handle: string
  role: RoomRole
}

/** The live verdict on a room envelope: deliver and forward, drop and punish the forwarder, or just drop. */
export type RoomLiveVerdict = 'accept' | 'reject' | 'ignore'

/** A decoded log entry. */
interface Entry { key: string, env: Envelope, ev?: RoomEvent, error?: RoomRuleError }

/**
 * A room's state: the set of its state log's envelopes, kept in (timestamp, id) order, and their fold.
 * `add` takes envelopes in any order (one that lands before the end refolds the log: state logs are
 * small), and an envelope added twice counts once.
 */
export class RoomState {
  private readonly entries: Entry[] = []
  private readonly keys = new Set<string>()
  private fold: Fold

  constructor (readonly id: string) {
    this.fold = new Fold(id)
  }

  /** The fold of `envs`, in any order. */
  static fold (id: string, envs: Iterable<Envelope>): RoomState {
    const s = new RoomState(id)
    for (const env of envs) s.add(env)
    return s
  }

  /** Whether the room's CREATE is in the log. */
  get created (): boolean { return this.fold.created }
  get creator (): string { return this.fold.creator }
  get name (): string { return this.fold.name }
  get subject (): string { return this.fold.subject }
  get public (): boolean { return this.fold.public }
  /** The address the CREATE names ('' for none): the creator's word, to be checked against its claim. */
  get address (): string { return this.fold.address }
  /** Listed in the room directory (and its state readable by anyone). */
  get listed (): boolean { return this.fold.listed }
  /** The room's settings now. */
  get settings (): RoomSettings {
    const f = this.fold
    return {
      name: f.name,
      description: f.description,
      public: f.public,
      listed: f.listed,
      moderated: f.moderated,
      invites: f.invitesBy
    }
  }

  /** Envelopes in the log (applied or skipped). */
  get size (): number { return this.entries.length }
  /** The HLC timestamp of the newest envelope, 0 when empty: an event made now must be stamped after it. */
  get lastTimestamp (): bigint { return this.entries[this.entries.length - 1]?.env.timestamp ?? 0n }
  /** The (timestamp, id) key of the newest envelope, '' when empty. */
  get lastKey (): string { return this.entries[this.entries.length - 1]?.key ?? '' }

  /** Whether this envelope is in the log already. */
  has (env: Pick<Envelope, 'timestamp' | 'id'>): boolean { return this.keys.has(eventKey(env)) }

  /**
   * Add an envelope of the state log. Returns why it was skipped, if it was (it is kept all the same:
   * an event that lands earlier in the log may make it valid). A duplicate returns its earlier outcome.
   */
  add (env: Envelope): RoomRuleError | undefined {
    const key = eventKey(env)
    if (this.keys.has(key)) return this.entries.find((e) => e.key === key)?.error
    const entry = this.decode(env, key)
    this.keys.add(key)
    if (key > this.lastKey) {
      this.entries.push(entry)
      this.applyEntry(this.fold, entry)
      return entry.error
    }
    let i = this.entries.length
    while (i > 0 && this.entries[i - 1].key > key) i--
    this.entries.splice(i, 0, entry)
    this.refold()
    return entry.error
  }

  /**
   * Why `env` would be skipped if added now, judged at its own place in the log; undefined when it
   * would apply. Does not change the state.
   */
  check (env: Envelope): RoomRuleError | undefined {
    const key = eventKey(env)
    if (this.keys.has(key)) return this.entries.find((e) => e.key === key)?.error
    const entry = this.decode(env, key)
    if (entry.error != null) return entry.error
    let at = this.fold
    if (key < this.lastKey) {
      at = new Fold(this.id)
      for (const e of this.entries) {
        if (e.key > key) break
        this.applyEntry(at, e)
      }
    }
    return at.judge(env, entry.ev as RoomEvent)
  }

  /** Whether `userId` was a member at HLC timestamp `t`. */
  isMemberAt (userId: string, t: bigint): boolean {
    for (const i of this.fold.intervals.get(userId) ?? []) if (i.from <= t && (i.to == null || t < i.to)) return true
    return false
  }

  /** Whether `userId` could post at HLC timestamp `t` (a member then, with voice). */
  maySpeakAt (userId: string, t: bigint): boolean {
    for (const i of this.fold.voice.get(userId) ?? []) if (i.from <= t && (i.to == null || t < i.to)) return true
    return false
  }

  /** Whether `userId` may post now. */
  maySpeak (userId: string): boolean { return this.fold.hasVoice(this.fold.roles.get(userId)) }

  /** When `userId` first became a member (HLC), if it ever was. */
  memberSince (userId: string): bigint | undefined {
    let first: bigint | undefined
    for (const i of this.fold.intervals.get(userId) ?? []) if (first == null || i.from < first) first = i.from
    return first
  }

  /** Whether `userId` is a member now (after the last event). */
  isMember (userId: string): boolean { return this.fold.roles.has(userId) }

  /** The current role of `userId`, if a member. */
  roleOf (userId: string): RoomRole | undefined { return this.fold.roles.get(userId) }

  /** Whether `userId` holds an open invitation. */
  isInvited (userId: string): boolean { return this.fold.invited.has(userId) }

  /** Whether `userId` may JOIN now. */
  mayJoin (userId: string): boolean {
    return !this.fold.roles.has(userId) && this.fold.created &&
      (this.fold.invited.has(userId) || (this.fold.public && !this.fold.banned.has(userId)))
  }

  /** Whether the log mentions `userId` as a member, past or present, or an invitee. */
  knows (userId: string): boolean { return this.fold.intervals.has(userId) || this.fold.invited.has(userId) }

  /** How `userId` last stopped being a member, if it did. */
  exitOf (userId: string): RoomExit | undefined { return this.fold.exits.get(userId) }

  /** The handle hint recorded for `userId`. */
  handleOf (userId: string): string | undefined { return this.fold.handles.get(userId) }

  /** Current members, owners first, then admins, then by handle. */
  members (): RoomMember[] {
    return [...this.fold.roles]
      .map(([userId, role]) => ({ userId, handle: this.fold.handles.get(userId) ?? userId, role }))
      .sort((a, b) => RANK[b.role] - RANK[a.role] || (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0))
  }

  /** Users with an open invitation. */
  invitees (): string[] { return [...this.fold.invited.keys()] }

  /**
   * What a relay should do with a live room envelope, judged by this state. A GROUPCHAT post is
   * accepted from a current member with voice who had voice at its timestamp; rejected when its sender
   * is known not to have been one then and cannot be one we have not heard of yet (never invited into a
   * private room, kicked, left, without voice in a moderated room); ignored when this state cannot tell
   * (no CREATE, a JOIN that may be on its way, a post from just before the sender left). A ROOM event is accepted when
   * it applies or is known, else ignored: the owners judge events at write time, and a live copy may race its cause.
   */
  verdict (env: Envelope): RoomLiveVerdict {
    if (!this.fold.created) return 'ignore'
    if (env.kind === Envelope.Kind.ROOM) return this.has(env) || this.check(env) == null ? 'accept' : 'ignore'
    if (env.kind !== Envelope.Kind.GROUPCHAT) return 'reject'
    const sender = userIdOf(env.senderKey)
    const then = this.maySpeakAt(sender, env.timestamp)
    if (then && this.maySpeak(sender)) return 'accept'
    if (then) return 'ignore'
    if (!this.isMember(sender) && this.mayJoin(sender)) return 'ignore'
    return 'reject'
  }

  private decode (env: Envelope, key: string): Entry {
    const entry: Entry = { key, env }
    const name = parseMailbox(env.recipient)
    if (env.kind !== Envelope.Kind.ROOM || env.recipient !== roomStateMailbox(this.id) || name?.log !== 'state') {
      entry.error = new RoomRuleError('malformed', `not an event of room ${this.id}'s state log`)
      return entry
    }
    try {
      entry.ev = decodeRoomEvent(env.body)
    } catch (err: any) {
      entry.error = new RoomRuleError('malformed', err.message)
    }
    return entry
  }

  private applyEntry (fold: Fold, entry: Entry): void {
    if (entry.ev == null) return
    const why = fold.judge(entry.env, entry.ev)
    if (fold === this.fold) entry.error = why
    if (why == null) fold.mutate(entry.env, entry.ev)
  }

  private refold (): void {
    this.fold = new Fold(this.id)
    for (const e of this.entries) {
      if (e.ev == null) continue
      this.applyEntry(this.fold, e)
    }
  }
}
