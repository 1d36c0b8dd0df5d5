/**
 * Presence: our own (set, stored, published to the contacts allowed to see it, re-published every
 * heartbeat) and our contacts' (`PresenceTracker`: what we know of each, with expiry when a heartbeat
 * stops). The roster (roster.ts) decides who is allowed which; this file only sends and shows.
 */

import { logger } from '@libp2p/logger'
import { Envelope, userIdOf } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { userLog } from '../../protocol/mailbox.js'
import {
  Presence, checkStatus, decodePresence, hasFrom, hasTo, stampOf, stateName, stateOf, type PresenceStateName,
  type RosterItem
} from '../../protocol/roster.js'
import type { Logs, Outbox, Rejections, SessionEvents, SessionState, Signer } from './ports.js'
import { everyTick } from './ticker.js'

const log = logger('chorus:presence')

/** How often an online session re-broadcasts its presence to its contacts (live only). @default 60000 */
export const DEFAULT_HEARTBEAT_MS = 60_000

/** A contact not heard for this long is shown offline. @default 150000 */
export const DEFAULT_PRESENCE_EXPIRY_MS = 150_000

/**
 * How long a stored "online" record stands without a live word from the contact (the answer to our
 * probe): longer, and the contact is shown offline, last seen when it stored the record. @default 15000
 */
export const DEFAULT_PROBE_GRACE_MS = 15_000

/** How often the session looks for contacts whose heartbeat stopped. @default 5000 */
export const DEFAULT_PRESENCE_SWEEP_MS = 5000

/** A contact's presence as shown. */
export interface ContactPresence {
  state: PresenceStateName
  status: string
  /** ms since the epoch: when the contact was last online (its latest heartbeat, while online) */
  lastSeen: number
}

interface Tracked extends ContactPresence {
  /** stamp of the envelope it came from (`stampOf`): older envelopes never override newer ones */
  stamp: string
  /** local ms when it was last heard (or a stand-in, for a stored record) */
  heardAt: number
}

/**
 * What this session knows of its contacts' presence: the newest presence each contact signed (live
 * broadcasts, heartbeats, probe answers, the stored record), and when it was last heard. A contact
 * that is not offline and has not been heard for `expiryMs` is shown offline, last seen at its last
 * heartbeat: its node stopped without saying so (killed, asleep, cut off). No I/O and no timers.
 */
export class PresenceTracker {
  private readonly contacts = new Map<string, Tracked>()

  constructor (private readonly expiryMs = DEFAULT_PRESENCE_EXPIRY_MS) {}

  /**
   * Take a presence the contact signed (envelope stamp `stamp`), heard at `heardAt` (local ms). Returns
   * the presence when its state or status changed (emit it), else undefined; a stale envelope changes
   * nothing, a heartbeat only refreshes lastSeen and the heard time.
   */
  observe (contact: string, p: ContactPresence, stamp: string, heardAt: number): ContactPresence | undefined {
    const had = this.contacts.get(contact)
    if (had != null && stamp <= had.stamp) return undefined
    this.contacts.set(contact, { ...p, stamp, heardAt })
    if (had != null && had.state === p.state && had.status === p.status) return undefined
    return { state: p.state, status: p.status, lastSeen: p.lastSeen }
  }

  /** Contacts not offline and not heard for `expiryMs` before `now`: now shown offline. */
  expire (now: number): Array<[string, ContactPresence]> {
    const out: Array<[string, ContactPresence]> = []
    for (const [contact, t] of this.contacts) {
      if (t.state === 'offline' || now - t.heardAt <= this.expiryMs) continue
      t.state = 'offline'
      out.push([contact, { state: t.state, status: t.status, lastSeen: t.lastSeen }])
    }
    return out
  }

  /** A stand-in heard time for a stored record: it stands for `graceMs` from `now`, then expires. */
  graceFrom (now: number, graceMs: number): number {
    return now - this.expiryMs + graceMs
  }

  get (contact: string): ContactPresence | undefined {
    const t = this.contacts.get(contact)
    return t == null ? undefined : { state: t.state, status: t.status, lastSeen: t.lastSeen }
  }

  forget (contact: string): void { this.contacts.delete(contact) }

  clear (): void { this.contacts.clear() }
}

// ---------------------------------------------------------------------------------------------------

/** How long `stop` waits for the offline presence to be stored and sent. @default 5000 */
export const DEFAULT_PRESENCE_STOP_TIMEOUT_MS = 5000

/** A contact's probes are answered at most this often. @default 1000 */
export const DEFAULT_PROBE_ANSWER_INTERVAL_MS = 1000

/** Contacts' stored presence records read at once when a session opens. */
const STORED_READS_IN_FLIGHT = 16

/** Live envelopes about someone typing older than this are stale. @default 60000 */
export const MAX_TYPING_AGE_MS = 60_000

/** What `Availability` uses: the session's ports (ports.ts) and the roster as it stands. */
export interface AvailabilityComponents {
  signer: Pick<Signer, 'handle' | 'userId' | 'sign'>
  outbox: Pick<Outbox, 'send' | 'publish'>
  /** to read contacts' stored presence records */
  logs: Pick<Logs, 'read'>
  rejections: Rejections
  events: Pick<SessionEvents, 'emit'>
  session: SessionState
  /** the contact's newest roster item (removed or not), if any */
  item: (contact: string) => RosterItem | undefined
  /** the roster: items not removed */
  items: () => RosterItem[]
}

/** Presence timings. */
export interface AvailabilityInit {
  /** @default 60000 */
  heartbeatMs?: number
  /** @default 150000 */
  expiryMs?: number
  /** @default 15000 */
  probeGraceMs?: number
  /** @default 5000 */
  sweepMs?: number
  /** @default 5000 */
  stopTimeoutMs?: number
}

/**
 * The presence half of the roster. Our own presence: each change is stored in `<userId>.presence` (the
 * record anyone may fetch: state, status, last seen) and published live, one envelope per contact
 * allowed to see it (FROM / BOTH); while online it is re-published every heartbeat (live only).
 * Contacts' presence (TO / BOTH): on start, their stored record and a live PROBE, which their session
 * answers with its presence; then whatever they publish. Presence from anyone we have not subscribed
 * to is refused.
 */
export class Availability {
  readonly tracker: PresenceTracker
  private own: { state: PresenceStateName, status: string, since: number } = { state: 'offline', status: '', since: Date.now() }
  /** this session's places in the process's shared ticks (ticker.ts): the heartbeat and the sweep */
  private stopTicks: Array<() => void> = []
  private readonly answered = new Map<string, number>()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly heartbeatMs: number
  private readonly probeGraceMs: number
  private readonly sweepMs: number
  private readonly stopTimeoutMs: number
  private stopped = false

  constructor (private readonly c: AvailabilityComponents, init: AvailabilityInit = {}) {
    this.tracker = new PresenceTracker(init.expiryMs ?? DEFAULT_PRESENCE_EXPIRY_MS)
    this.heartbeatMs = init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    this.probeGraceMs = init.probeGraceMs ?? DEFAULT_PROBE_GRACE_MS
    this.sweepMs = init.sweepMs ?? DEFAULT_PRESENCE_SWEEP_MS
    this.stopTimeoutMs = init.stopTimeoutMs ?? DEFAULT_PRESENCE_STOP_TIMEOUT_MS
  }

  /** Our presence as we last set it. */
  get current (): { state: PresenceStateName, status: string } {
    return { state: this.own.state, status: this.own.status }
  }

  /** Go online (stored and published), learn the contacts' presence, start the heartbeat and the sweep. */
  async start (): Promise<void> {
    this.stopped = false
    try {
      await this.set('online', '')
    } catch (err: any) {
      log('%s: storing the online presence failed: %s', this.c.signer.handle, err.message)
    }
    const now = Date.now()
    const contacts = this.c.items().filter((i) => hasTo(i.subscription)).map((i) => i.contact)
    for (const contact of contacts) this.probe(contact)
    // a large roster reads its contacts' records a few at a time, not all at once
    let next = 0
    await Promise.all(Array.from({ length: Math.min(STORED_READS_IN_FLIGHT, contacts.length) }, async () => {
      while (next < contacts.length) await this.readStored(contacts[next++], now)
    }))
    this.stopTicks = [
      everyTick(this.heartbeatMs, () => { this.beat() }),
      everyTick(this.sweepMs, () => { this.expire() })
    ]
  }

  /** Stop the timers and go offline: last seen now, stored and published (bounded by the stop timeout). */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const stop of this.stopTicks) stop()
    this.stopTicks = []
    await within(this.stopTimeoutMs, this.set('offline', '')).catch((err: Error) => { log('%s: storing the offline presence failed: %s', this.c.signer.handle, err.message) })
    await within(this.stopTimeoutMs, Promise.allSettled([...this.inflight])).catch(() => {})
    this.tracker.clear()
  }

  /**
   * Set our presence: stored in `<userId>.presence` (resolves when W owners have it) and published live
   * to every contact that may see it. Throws `InvalidPresenceError` for an unknown state or a status
   * over 256 characters.
   */
  async set (state: string, status = ''): Promise<void> {
    const wire = stateOf(state)
    checkStatus(status)
    this.own = { state: stateName(wire), status, since: Date.now() }
    const body = this.body()
    const record = this.c.signer.sign(Envelope.Kind.PRESENCE, userLog(this.c.signer.userId, 'presence'), body)
    await Promise.all([this.c.outbox.send(record), this.broadcast(body)])
  }

  /** Publish our current presence live to one contact (after approving them, or answering a probe). */
  async sendTo (contact: string): Promise<void> {
    await this.c.outbox.publish(this.c.signer.sign(Envelope.Kind.PRESENCE, contact, this.body()))
  }

  /** An AVAILABILITY from `sender`: shown if we subscribed to them, refused otherwise. */
  onAvailability (env: Envelope, sender: string, p: Presence): void {
    const item = this.c.item(sender)
    if (item == null || item.removed || !hasTo(item.subscription)) { this.c.rejections.reject('presence-not-subscribed'); return }
    const signedAt = hlcMillis(env.timestamp)
    // last seen is the sender's word, but never later than it signed
    const lastSeen = p.lastSeen > 0n && Number(p.lastSeen) <= signedAt ? Number(p.lastSeen) : signedAt
    this.show(item,
      this.tracker.observe(sender, { state: stateName(p.state), status: p.status, lastSeen }, stampOf(env), Date.now()))
  }

  /** A PROBE from `sender`: answered live if they may see our presence (at most once a second each). */
  onProbe (sender: string): void {
    const item = this.c.item(sender)
    if (item == null || item.removed || !hasFrom(item.subscription)) { this.c.rejections.reject('probe-not-approved'); return }
    const now = Date.now()
    if (now - (this.answered.get(sender) ?? 0) < DEFAULT_PROBE_ANSWER_INTERVAL_MS) return
    if (this.answered.size > 10_000) this.answered.clear()
    this.answered.set(sender, now)
    this.track(this.sendTo(sender))
  }

  /** We now see `contact`'s presence: ask for it. */
  gained (contact: string): void { this.probe(contact) }

  /** We no longer see `contact`'s presence: forget what we knew. */
  lost (contact: string): void { this.tracker.forget(contact) }

  /** Ask `contact` for its presence (live); its answer comes as an AVAILABILITY. */
  probe (contact: string): void {
    const body = Presence.encode({ type: Presence.Type.PROBE, state: Presence.State.OFFLINE, status: '', lastSeen: 0n })
    this.track(this.c.outbox.publish(this.c.signer.sign(Envelope.Kind.PRESENCE, contact, body)))
  }

  /** A contact's stored presence record (the newest entry of `<contact>.presence`, merged from its owners). */
  private async readStored (contact: string, now: number): Promise<void> {
    const mailbox = userLog(contact, 'presence')
    let newest: Envelope | undefined
    try {
      // the owners serve it to the contacts the user approved: our read proof says who asks
      const page = await this.c.logs.read(mailbox, { newestFirst: true, limit: 1 })
      for (const env of page.envelopes) {
        // an owner may not serve what the contact did not sign into that log
        if (userIdOf(env.senderKey) !== contact || env.kind !== Envelope.Kind.PRESENCE || env.recipient !== mailbox) {
          this.c.rejections.reject('bad-presence')
          continue
        }
        if (newest == null || stampOf(env) > stampOf(newest)) newest = env
      }
    } catch (err: any) {
      log('reading the presence of %s failed: %s', contact, err.message)
      return
    }
    if (newest == null) return
    let p: Presence
    try { p = decodePresence(newest.body) } catch { this.c.rejections.reject('bad-presence'); return }
    if (p.type !== Presence.Type.AVAILABILITY) return
    const item = this.c.item(contact)
    if (item == null || item.removed || !hasTo(item.subscription)) return
    const state = stateName(p.state)
    // a stored "online" stands only until the probe's answer is due: a killed node never stores "offline"
    const heardAt = state === 'offline' ? now : this.tracker.graceFrom(now, this.probeGraceMs)
    const signedAt = hlcMillis(newest.timestamp)
    const lastSeen = p.lastSeen > 0n && Number(p.lastSeen) <= signedAt ? Number(p.lastSeen) : signedAt
    this.show(item, this.tracker.observe(contact, { state, status: p.status, lastSeen }, stampOf(newest), heardAt))
  }

  /** Our presence as a body: last seen is now while we are online, else when we went offline. */
  private body (): Uint8Array {
    const lastSeen = this.own.state === 'offline' ? this.own.since : Date.now()
    return Presence.encode({
      type: Presence.Type.AVAILABILITY,
      state: stateOf(this.own.state),
      status: this.own.status,
      lastSeen: BigInt(lastSeen)
    })
  }

  /** One live envelope per contact allowed to see our presence. */
  private async broadcast (body: Uint8Array): Promise<void> {
    const watchers = this.c.items().filter((i) => hasFrom(i.subscription))
    await Promise.all(watchers.map(async (i) =>
      this.c.outbox.publish(this.c.signer.sign(Envelope.Kind.PRESENCE, i.contact, body))
    ))
  }

  private beat (): void {
    if (this.stopped || this.c.session.closed || this.own.state === 'offline') return
    this.track(this.broadcast(this.body()))
  }

  private expire (): void {
    for (const [contact, p] of this.tracker.expire(Date.now())) {
      const item = this.c.item(contact)
      if (item != null) this.show(item, p)
    }
  }

  private show (item: RosterItem, p: ContactPresence | undefined): void {
    if (p == null) return
    this.c.events.emit('presence', {
      from: item.handle,
      fromId: item.contact,
      state: p.state,
      status: p.status,
      lastSeen: p.lastSeen
    })
  }

  private track (p: Promise<unknown>): void {
    const t = p
      .catch((err: Error) => { log('%s: presence send failed: %s', this.c.signer.handle, err.message) })
      .finally(() => { this.inflight.delete(t) })
    this.inflight.add(t)
  }
}

/** `p`, or a rejection after `ms`. */
export async function within<T> (ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer in ${ms} ms`)) }, ms)
    timer.unref()
  })
  try { return await Promise.race([p, timeout]) } finally { clearTimeout(timer) }
}
