/**
 * The room guard: the store guard of an owner, enforcing room rules from the room's state log on its
 * own disk (the state log and the message log of a room live at the same owners).
 *
 * - A client's put into `room.<id>.state` must be an event the fold allows at its place in the log
 *   and no older than MAX_EVENT_AGE_MS (so a kicked admin cannot backdate its way into the past);
 *   a room this owner has no CREATE for yet takes only the CREATE. An owner that has no state for a
 *   room (it became an owner when the ring changed, and repair has not reached it yet) first pulls the
 *   state log from the other servers that may hold it, then judges; only when none has it is the put
 *   refused as `unknown-room`, so that the writer goes on to another owner.
 * - A client's put into `room.<id>` must come from a current member with voice who had voice at its
 *   timestamp (every member, or in a moderated room owners and admins).
 * - A FETCH of either log needs a read proof: the message log is served to current members, the state
 *   log also to invitees, to anyone the log ever named (a kicked member learns why), and to anyone
 *   when the room is public or listed.
 * - Puts from other servers (hinted handoff, repair pushes, sloppy-quorum stand-ins) are not judged
 *   again: an owner judged them at the edge, and what a server could slip in is inert anyway, since
 *   the fold skips unauthorised events and members show only posts of members. Repair's pulls never
 *   pass a guard at all, so judging pushes would only make them order-dependent (a CREATE and the
 *   INVITE after it arrive in one all-or-nothing batch).
 *
 * Folded states are cached per room (bounded, LRU): reread incrementally after the last cursor read
 * when older than FRESH_MS, folded again from the whole log every FULL_REFOLD_MS (repair pulls land
 * anywhere in the log), and amended at once with every state event this guard lets through.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { decodeEnvelope, userIdOf, type Envelope, type SenderKeyCache } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { parseMailbox, roomStateMailbox } from '../../protocol/mailbox.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import { verifyReadAuth } from '../../protocol/read-auth.js'
import { RoomState, type RoomLiveVerdict } from '../../protocol/room.js'
import type { Cursor, MailboxStore } from '../store/mailbox-store.js'
import type { StoreGuard } from './context.js'
import { Forbidden, NotNow, Rejection } from './handlers/rejection.js'
import { Periodic } from '../timers/periodic.js'

const log = logger('chorus:replication:rooms')

/** A cached state younger than this is used as is. @default 500 */
export const DEFAULT_FRESH_MS = 500

/** A cached state is folded again from the whole log after this long. @default 10000 */
export const DEFAULT_FULL_REFOLD_MS = 10_000

/** Rooms whose folded state is kept in memory. @default 4096 */
export const DEFAULT_MAX_CACHED_ROOMS = 4096

/** How often the set of rooms with a state log here is rebuilt from the disk. @default 30000 */
export const DEFAULT_RESCAN_MS = 30_000

/**
 * The reason an owner with no state for a room refuses its puts and reads (NotNow, answered ERROR): the
 * asker's typed error carries it, and a join that meets it from the owners fails with `UnknownRoomError`.
 */
export const UNKNOWN_ROOM = 'unknown-room'

/** A client's state event older than this is refused as backdated. @default 600000 */
export const MAX_EVENT_AGE_MS = 10 * 60_000

const STATE_LOG = /^room\.([a-z0-9_-]{1,64})\.state$/

/** What the guard reads. */
export interface RoomGuardComponents {
  selfId: string
  mailboxes: Pick<MailboxStore, 'range' | 'mailboxes'>
  /** whether a peer is a live server (its puts are passed on, not judged again) */
  isServerPeer: (peer: string) => boolean
  /** the mesh's time (ms), for the age of a room event @default Date.now */
  now?: () => number
  /** pull a room's state log (by mailbox) from the other servers that may hold it; absent on a client */
  pullState?: (mailbox: string) => Promise<void>
  /** remembers the read proofs that verified (a member's session reuses one for a minute) */
  keys?: SenderKeyCache
}

/** A room's state is pulled on demand at most this often (an unknown room id costs peers little). @default 2000 */
export const DEFAULT_PULL_INTERVAL_MS = 2000

/** State pulls in flight at once, at most. @default 4 */
export const MAX_STATE_PULLS = 4

/** Guard settings. */
export interface RoomGuardInit {
  /** @default 500 */ freshMs?: number
  /** @default 10000 */ fullRefoldMs?: number
  /** @default 4096 */ maxCachedRooms?: number
  /** @default 30000 */ rescanMs?: number
}

/** Events: `room` when a room's state log first appears here (the relay starts relaying its topic). */
export interface RoomGuardEvents {
  room: [string]
}

interface Cached { state: RoomState, after?: Cursor, readAt: number, foldedAt: number }

export class RoomGuard extends EventEmitter<RoomGuardEvents> implements StoreGuard {
  private readonly cache = new Map<string, Cached>()
  private readonly loading = new Map<string, Promise<Cached>>()
  private readonly pulls = new Map<string, { at: number, running?: Promise<void> }>()
  private pullsRunning = 0
  private readonly rooms = new Set<string>()
  private rescans?: Periodic
  private readonly freshMs: number
  private readonly fullRefoldMs: number
  private readonly maxCached: number

  constructor (private readonly c: RoomGuardComponents, private readonly init: RoomGuardInit = {}) {
    super()
    this.freshMs = init.freshMs ?? DEFAULT_FRESH_MS
    this.fullRefoldMs = init.fullRefoldMs ?? DEFAULT_FULL_REFOLD_MS
    this.maxCached = init.maxCachedRooms ?? DEFAULT_MAX_CACHED_ROOMS
  }

  /** Find the rooms with a state log here; rescan now and then (repair pulls bypass the guard). */
  async start (): Promise<void> {
    await this.rescan()
    this.rescans = new Periodic(async () => {
      await this.rescan()
    }, { intervalMs: this.init.rescanMs ?? DEFAULT_RESCAN_MS, log, name: 'rescan' }).start()
  }

  stop (): void {
    this.rescans?.stop()
    this.rescans = undefined
  }

  /** Rooms with a state log on this node (what a server relays, when it also owns them). */
  ownedRooms (): string[] {
    return [...this.rooms]
  }

  /** The folded state of a room from this node's disk (`created` false when it has no CREATE here). */
  async state (roomId: string, fresh = false): Promise<RoomState> {
    return (await this.load(roomId, fresh)).state
  }

  /** The live verdict on a room envelope, for the relay: by the cached state, reread before anything but accept. */
  async policy (env: Envelope): Promise<RoomLiveVerdict> {
    const to = parseMailbox(env.recipient)
    if (to?.kind !== 'room') return 'reject'
    const verdict = (await this.state(to.id)).verdict(env)
    if (verdict === 'accept') return verdict
    return (await this.state(to.id, true)).verdict(env)
  }

  async checkPut (env: Envelope, mailbox: string, from: string): Promise<void> {
    const name = parseMailbox(mailbox)
    if (name?.kind !== 'room') return
    const trusted = from !== this.c.selfId && this.c.isServerPeer(from)
    if (name.log === 'state') {
      if (trusted) { await this.admit(name.id, env); return }
      await this.checkEvent(name.id, env)
      await this.admit(name.id, env)
      return
    }
    if (trusted) return
    const sender = userIdOf(env.senderKey)
    let state = await this.state(name.id)
    if (!state.created) state = await this.known(name.id)
    if (!state.created) throw new NotNow(UNKNOWN_ROOM, `room ${name.id} has no state at this owner yet`)
    const ok = (s: RoomState): boolean => s.maySpeak(sender) && s.maySpeakAt(sender, env.timestamp)
    if (ok(state)) return
    state = await this.state(name.id, true)
    if (ok(state)) return
    if (state.isMember(sender) && state.isMemberAt(sender, env.timestamp)) throw new Forbidden('no-voice', `${sender} may not post in moderated room ${name.id}`)
    throw new Forbidden('not-member', `${sender} is not a member of room ${name.id}`)
  }

  async checkRead (mailbox: string, auth: ReadAuth | undefined, _from: string): Promise<void> {
    const name = parseMailbox(mailbox)
    if (name?.kind !== 'room') return
    if (auth == null) throw new Forbidden('no-read-proof', `reading ${mailbox} needs a read proof`)
    let reader: string
    try {
      reader = verifyReadAuth(auth, mailbox, Date.now(), this.c.keys)
    } catch (err: any) {
      throw new Forbidden('bad-read-proof', err.message)
    }
    let state = await this.state(name.id)
    const may = (s: RoomState): boolean =>
      s.isMember(reader) || (name.log === 'state' && (s.public || s.listed || s.knows(reader)))
    if (may(state)) return
    state = await this.state(name.id, true)
    if (!state.created) state = await this.known(name.id)
    if (!state.created) throw new NotNow(UNKNOWN_ROOM, `room ${name.id} has no state at this owner yet`)
    if (!may(state)) throw new Forbidden('not-member', `${reader} may not read ${mailbox}`)
  }

  /** A client's state event: the rules, at its place in the log. */
  private async checkEvent (roomId: string, env: Envelope): Promise<void> {
    if ((this.c.now ?? Date.now)() - hlcMillis(env.timestamp) > MAX_EVENT_AGE_MS) throw new Rejection('stale', 'a room event is written when it is made, not backdated')
    let state = await this.state(roomId)
    if (state.has(env)) return
    let why = state.check(env)
    if (why == null) return
    state = await this.state(roomId, true)
    why = state.check(env)
    if (why == null) return
    if (why.reason === 'no-room') {
      state = await this.known(roomId)
      why = state.check(env)
      if (why == null) return
    }
    if (why.reason === 'no-room') throw new NotNow(UNKNOWN_ROOM, `room ${roomId} has no state at this owner yet`)
    throw new Forbidden('not-allowed', why.message)
  }

  /**
   * The state of a room this node has no CREATE for: pull the state log from the servers that may hold
   * it (once at a time per room, at most every DEFAULT_PULL_INTERVAL_MS, MAX_STATE_PULLS at once), then
   * fold it again.
   */
  private async known (roomId: string): Promise<RoomState> {
    const pull = this.c.pullState
    if (pull == null) return await this.state(roomId, true)
    let p = this.pulls.get(roomId)
    const now = Date.now()
    if (p?.running == null && (p == null || now - p.at >= DEFAULT_PULL_INTERVAL_MS) &&
        this.pullsRunning < MAX_STATE_PULLS) {
      if (this.pulls.size >= this.maxCached) this.pulls.delete(this.pulls.keys().next().value as string)
      this.pullsRunning++
      const running = pull(roomStateMailbox(roomId))
        .catch((err: Error) => { log('pulling the state of room %s failed: %s', roomId, err.message) })
        .finally(() => { this.pullsRunning--; const q = this.pulls.get(roomId); if (q != null) q.running = undefined })
      p = { at: now, running }
      this.pulls.set(roomId, p)
    }
    await p?.running
    return await this.state(roomId, true)
  }

  /** A state event is let through: amend the cached fold at once, and note a room new here. */
  private async admit (roomId: string, env: Envelope): Promise<void> {
    const cached = await this.load(roomId, false)
    cached.state.add(env)
    if (!this.rooms.has(roomId)) {
      this.rooms.add(roomId)
      this.emit('room', roomId)
    }
  }

  private async load (roomId: string, fresh: boolean): Promise<Cached> {
    const running = this.loading.get(roomId)
    if (running != null) {
      const c = await running
      if (!fresh || Date.now() - c.readAt < 50) return c
    }
    const c = this.cache.get(roomId)
    const now = Date.now()
    if (c != null && !fresh && now - c.readAt < this.freshMs) return this.touch(roomId, c)
    const p = (async () =>
      (c == null || now - c.foldedAt >= this.fullRefoldMs) ? this.foldAll(roomId) : this.readMore(c))()
    this.loading.set(roomId, p)
    try {
      return this.touch(roomId, await p)
    } finally {
      if (this.loading.get(roomId) === p) this.loading.delete(roomId)
    }
  }

  private async foldAll (roomId: string): Promise<Cached> {
    const c: Cached = { state: new RoomState(roomId), readAt: 0, foldedAt: Date.now() }
    return this.readMore(c)
  }

  private async readMore (c: Cached): Promise<Cached> {
    const mailbox = roomStateMailbox(c.state.id)
    c.readAt = Date.now()
    for (;;) {
      const page = await this.c.mailboxes.range(mailbox, { after: c.after, limit: 1000 })
      for (const e of page.entries) {
        c.after = e.cursor
        try {
          // verified when it was stored (store handler or repair pull)
          c.state.add(decodeEnvelope(e.bytes))
        } catch (err: any) {
          log('undecodable entry in %s: %s', mailbox, err.message)
        }
      }
      if (!page.more) break
    }
    return c
  }

  private touch (roomId: string, c: Cached): Cached {
    this.cache.delete(roomId)
    this.cache.set(roomId, c)
    while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value as string)
    return c
  }

  private async rescan (): Promise<void> {
    for await (const mailbox of this.c.mailboxes.mailboxes({ prefix: 'room.' })) {
      const m = STATE_LOG.exec(mailbox)
      if (m == null || this.rooms.has(m[1])) continue
      this.rooms.add(m[1])
      this.emit('room', m[1])
    }
  }
}
