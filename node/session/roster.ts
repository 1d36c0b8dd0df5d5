/**
 * A session's roster (contacts and subscriptions, as in Jabber) and, through `Availability`
 * (presence.ts), presence.
 *
 * The roster is the fold of the user's roster log `<userId>.roster`: every change is a signed ROSTER
 * envelope holding the contact's whole item, stored at the user's owners, and the newest item per
 * contact wins. The session keeps the fold in memory and a copy on the node's disk (sublevel `roster`,
 * `<userId>!<contact>` → the newest envelope, whether it is stored yet, and the stamps of the contact's
 * newest subscription presences), because the log's feed only returns what is new since its saved
 * cursor. On open it folds in what the feed brings (another device's changes) and re-sends any item
 * whose store had failed.
 *
 * Subscriptions travel as durable PRESENCE envelopes to the contact's mailbox (SUBSCRIBE, SUBSCRIBED,
 * UNSUBSCRIBE, UNSUBSCRIBED), so an offline contact gets them when it comes back. They arrive twice
 * (live, then by sync); the newest stamp per contact and side, kept on disk, makes the second copy
 * (and any older replay) a no-op.
 *
 * Everything that reads and changes the roster runs through one queue, so a live SUBSCRIBED and the
 * AVAILABILITY right behind it are taken in order.
 */

import { logger } from '@libp2p/logger'
import { Envelope, userIdOf } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { userLog } from '../../protocol/mailbox.js'
import {
  InvalidContactError, NoSubscriptionRequestError, Presence, RosterFold, RosterItem, actionOf, decodePresence,
  decodeRosterItem,
  hasTo, sideOf, stampOf, subscriptionName, transition, type RosterAction, type RosterTransition, type SubscriptionName
} from '../../protocol/roster.js'
import type { Logs, Lookups, Signer, Storage } from './ports.js'
import { PRESENCE_STATES, requireHandle, requireOneOf, requireString } from './arguments.js'
import {
  Availability, DEFAULT_PRESENCE_STOP_TIMEOUT_MS, MAX_TYPING_AGE_MS, within, type AvailabilityComponents,
  type AvailabilityInit, type ContactPresence
} from './presence.js'
import { Periodic } from '../timers/periodic.js'

export { DEFAULT_HEARTBEAT_MS, DEFAULT_PRESENCE_EXPIRY_MS, DEFAULT_PROBE_GRACE_MS, type ContactPresence } from './presence.js'

const log = logger('chorus:roster')

/** How often the roster log is synced again (another device's changes) and failed stores retried. @default 60000 */
export const DEFAULT_ROSTER_SYNC_MS = 60_000

/** One contact as `list()` hands it out. */
export interface RosterEntry {
  handle: string
  userId: string
  /** 'to': we see their presence; 'from': they see ours */
  subscription: SubscriptionName
  /** we asked to see their presence; no answer yet */
  pendingOut: boolean
  /** they asked to see ours; we have not answered */
  pendingIn: boolean
  /** their presence, when we see it and know it */
  presence?: ContactPresence
}

/** What the roster uses of the session (ports.ts): presence's ports, and its log, names and disk. */
export interface RosterComponents extends Omit<AvailabilityComponents, 'item' | 'items'> {
  /** the clock too: entries of the roster log move it forward */
  signer: Pick<Signer, 'handle' | 'userId' | 'sign' | 'clock'>
  /** the roster log's feed; contacts' presence records */
  logs: Pick<Logs, 'feed' | 'read'>
  lookups: Lookups
  /** the local copy (sublevel `roster`) */
  storage: Pick<Storage, 'sublevel'>
}

/** Roster settings (presence timings included). */
export interface RosterInit extends AvailabilityInit {
  /** @default 60000 */
  syncMs?: number
}

/** The local copy of one contact (sublevel `roster`, JSON). */
interface LocalRecord {
  /** the newest ROSTER envelope for the contact, hex */
  env: string
  /** stored at W owners (false: retried) */
  stored: boolean
  /** stamp of the newest SUBSCRIBE / UNSUBSCRIBE taken from the contact */
  inFrom?: string
  /** stamp of the newest SUBSCRIBED / UNSUBSCRIBED taken from the contact */
  inTo?: string
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export class Roster {
  private readonly fold = new RosterFold()
  private readonly records = new Map<string, LocalRecord>()
  private readonly disk
  private readonly availability: Availability
  private readonly rosterLog: string
  private queue: Promise<unknown> = Promise.resolve()
  private loading?: Promise<void>
  private upkeep?: Periodic
  private readonly inflight = new Set<Promise<unknown>>()

  constructor (private readonly c: RosterComponents, private readonly init: RosterInit = {}) {
    this.disk = c.storage.sublevel<string, LocalRecord>('roster', { valueEncoding: 'json' })
    this.rosterLog = userLog(c.signer.userId, 'roster')
    this.availability = new Availability({
      ...c,
      item: (contact) => this.fold.get(contact),
      items: () => this.fold.items()
    }, init)
  }

  /** Load the roster, go online, learn the contacts' presence. */
  async open (): Promise<void> {
    await this.enqueue(() => {})
    await this.availability.start()
    this.upkeep = new Periodic(async () => {
      await this.maintain()
    }, { intervalMs: this.init.syncMs ?? DEFAULT_ROSTER_SYNC_MS, log, name: 'roster upkeep' }).start()
  }

  /** Go offline (stored and published) and stop the timers. Called while the session can still send. */
  async close (): Promise<void> {
    this.upkeep?.stop()
    await this.availability.stop()
    // stores still running are retried on the next open if they do not finish now
    const timeoutMs = this.init.stopTimeoutMs ?? DEFAULT_PRESENCE_STOP_TIMEOUT_MS
    await within(timeoutMs, Promise.allSettled([...this.inflight])).catch(() => {})
  }

  /**
   * Ask to see `handle`'s presence: the item is pending until they answer. Resolves when both the
   * item and the request are stored.
   */
  async add (handle: string): Promise<void> {
    requireHandle('handle', handle)
    await this.act(handle, 'add')
  }

  /**
   * Approve `handle`'s request: they see our presence from now on (and get it at once).
   * Throws `NoSubscriptionRequestError`.
   */
  async accept (handle: string): Promise<void> {
    requireHandle('handle', handle)
    const userId = await this.act(handle, 'accept')
    await this.availability.sendTo(userId)
  }

  /** Refuse `handle`'s request. Throws `NoSubscriptionRequestError`. */
  async deny (handle: string): Promise<void> {
    requireHandle('handle', handle)
    await this.act(handle, 'deny')
  }

  /** Drop `handle` from the roster; their side drops both directions too. */
  async remove (handle: string): Promise<void> {
    requireHandle('handle', handle)
    await this.act(handle, 'remove')
  }

  /** The roster, by handle. */
  list (): RosterEntry[] {
    return this.fold.items().map((i) => {
      const presence = hasTo(i.subscription) ? this.availability.tracker.get(i.contact) : undefined
      return {
        handle: i.handle,
        userId: i.contact,
        subscription: subscriptionName(i.subscription),
        pendingOut: i.pendingOut,
        pendingIn: i.pendingIn,
        ...(presence != null ? { presence } : {})
      }
    }).sort((a, b) => a.handle.localeCompare(b.handle))
  }

  /** Requests to see our presence not yet answered. */
  requests (): RosterEntry[] {
    return this.list().filter((e) => e.pendingIn)
  }

  /**
   * Our presence: stored, and published to the contacts who may see it. An unknown state is an `InvalidOptionError`,
   * too long a status an `InvalidPresenceError`.
   */
  async setPresence (state: string, status = ''): Promise<void> {
    requireOneOf('state', state, PRESENCE_STATES)
    requireString('status', status)
    await this.enqueue(() => {})
    await this.availability.set(state, status)
  }

  /** One PRESENCE envelope addressed to this user (live, or from the mailbox sync). */
  async handle (env: Envelope): Promise<void> {
    const sender = userIdOf(env.senderKey)
    if (env.kind !== Envelope.Kind.PRESENCE || sender === this.c.signer.userId) return
    let p: Presence
    try {
      p = decodePresence(env.body)
    } catch {
      this.c.rejections.reject('bad-presence')
      return
    }
    switch (p.type) {
      case Presence.Type.TYPING: await this.typing(env, sender, p); return
      case Presence.Type.AVAILABILITY: await this.enqueue(() => {
        this.availability.onAvailability(env, sender, p)
      }); return
      case Presence.Type.PROBE: await this.enqueue(() => { this.availability.onProbe(sender) }); return
      default: await this.enqueue(async () => this.subscription(env, sender, actionOf(p.type)!))
    }
  }

  // subscriptions

  /**
   * One of our own actions: change the item, store it, send the contact what the change
   * says. Returns the contact's userId.
   */
  private async act (handleOrId: string, action: RosterAction): Promise<string> {
    const ref = await this.c.lookups.resolve(handleOrId)
    if (ref.userId === this.c.signer.userId) throw new InvalidContactError('a roster holds other users, not its owner')
    const { t, env } = await this.enqueue(async () => {
      const t = transition(this.fold.get(ref.userId), action, ref.userId, ref.handle)
      if (t.refused === 'no-request') throw new NoSubscriptionRequestError(`${ref.handle} has not asked to see ${this.c.signer.handle}'s presence`)
      return { t, env: await this.change(ref.userId, t) }
    })
    await Promise.all([env != null ? this.storeItem(env, true) : undefined, this.sendAll(ref.userId, t.send)])
    return ref.userId
  }

  /** A subscription presence from the contact (in the queue). */
  private async subscription (env: Envelope, sender: string, action: RosterAction): Promise<void> {
    const side = sideOf(action) === 'from' ? 'inFrom' : 'inTo'
    const stamp = stampOf(env)
    const seen = this.records.get(sender)?.[side]
    if (seen != null && stamp <= seen) return
    const from = (await this.c.lookups.toMessage(env))?.from
    if (from == null) return
    const t = transition(this.fold.get(sender), action, sender, from)
    if (t.refused != null) this.c.rejections.reject(`presence-${t.refused}`)
    const env2 = await this.change(sender, t, { [side]: stamp })
    if (t.request) this.c.events.emit('subscription', { from, fromId: sender })
    if (env2 != null) this.track(this.storeItem(env2, false))
    if (t.send.length > 0) this.track(this.sendAll(sender, t.send))
  }

  /**
   * Apply a transition locally (in the queue): a new item is signed, folded in and written to disk
   * (not yet stored at the owners: the caller stores it); `patch` updates the record either way.
   * Returns the new item's envelope.
   */
  private async change (
    contact: string,
    t: RosterTransition,
    patch: Partial<LocalRecord> = {}
  ): Promise<Envelope | undefined> {
    const had = this.fold.get(contact)
    const old = this.records.get(contact)
    let env: Envelope | undefined
    let rec: LocalRecord | undefined
    if (t.item != null) {
      env = this.c.signer.sign(Envelope.Kind.ROSTER, this.rosterLog, RosterItem.encode(t.item))
      this.fold.apply(t.item, stampOf(env))
      rec = { ...old, ...patch, env: hex(Envelope.encode(env)), stored: false }
    } else if (old != null && Object.keys(patch).length > 0) {
      rec = { ...old, ...patch }
    }
    if (rec == null) return undefined
    this.records.set(contact, rec)
    await this.disk.put(this.key(contact), rec)
    if (t.item != null) this.followPresence(contact, had, t.item)
    return env
  }

  /** Presence follows TO: probe a contact we now see, forget one we no longer see. */
  private followPresence (contact: string, before: RosterItem | undefined, after: RosterItem): void {
    const had = before != null && !before.removed && hasTo(before.subscription)
    const has = !after.removed && hasTo(after.subscription)
    if (has && !had) this.availability.gained(contact)
    if (had && !has) this.availability.lost(contact)
  }

  /**
   * Store a roster item at the owners; mark it stored. `strict`: rethrow a failure (it is retried later either way).
   */
  private async storeItem (env: Envelope, strict: boolean): Promise<void> {
    try {
      await this.c.outbox.send(env)
    } catch (err: any) {
      log('%s: roster item not stored (retried later): %s', this.c.signer.handle, err.message)
      if (strict) throw err
      return
    }
    const contact = decodeRosterItem(env.body).contact
    const id = hex(Envelope.encode(env))
    await this.enqueue(async () => {
      const rec = this.records.get(contact)
      if (rec == null || rec.env !== id || rec.stored) return
      const next = { ...rec, stored: true }
      this.records.set(contact, next)
      await this.disk.put(this.key(contact), next)
    })
  }

  /** Send the contact subscription presences, durably, in order of signing. */
  private async sendAll (contact: string, types: Presence.Type[]): Promise<void> {
    const envs = types.map((type) => {
      const body = Presence.encode({ type, state: Presence.State.OFFLINE, status: '', lastSeen: 0n })
      return this.c.signer.sign(Envelope.Kind.PRESENCE, contact, body)
    })
    await Promise.all(envs.map(async (env) => this.c.outbox.send(env)))
  }

  // typing

  private async typing (env: Envelope, sender: string, p: Presence): Promise<void> {
    if (Date.now() - hlcMillis(env.timestamp) > MAX_TYPING_AGE_MS) return
    const item = this.fold.get(sender)
    const from = item != null && !item.removed ? item.handle : (await this.c.lookups.toMessage(env))?.from
    if (from == null) return
    this.c.events.emit('typing', { from, fromId: sender, active: p.state === Presence.State.ONLINE })
  }

  // the local copy and the log

  /** Run `fn` in the queue, after the roster is loaded. */
  private async enqueue<T> (fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(async () => { await this.load(); return await fn() })
    this.queue = run.catch(() => {})
    return run
  }

  private async load (): Promise<void> {
    this.loading ??= (async () => {
      const prefix = `${this.c.signer.userId}!`
      for await (const [, rec] of this.disk.iterator({ gt: prefix, lt: `${prefix}~` })) {
        try {
          const env = Envelope.decode(Buffer.from(rec.env, 'hex'))
          const item = decodeRosterItem(env.body)
          this.fold.apply(item, stampOf(env))
          this.records.set(item.contact, rec)
        } catch (err: any) {
          log.error('%s: a local roster record does not decode: %s', this.c.signer.handle, err.message)
        }
      }
      await this.syncLog()
      this.retry()
    })().catch((err: Error) => { this.loading = undefined; throw err })
    await this.loading
  }

  /**
   * Fold in what is new in the roster log (in the queue, or from `load`); `poll`: only if it changed at
   * its owners (the periodic upkeep: Feed.poll). Best effort: the local copy stands.
   */
  private async syncLog (poll = false): Promise<void> {
    try {
      const feed = this.c.logs.feed(this.rosterLog, async (env) => { await this.foldLogEntry(env) })
      await (poll ? feed.poll() : feed.sync())
    } catch (err: any) {
      log('%s: roster log sync failed: %s', this.c.signer.handle, err.message)
    }
  }

  /** One entry of the roster log, from any device of this user: fold it in and keep it locally. */
  private async foldLogEntry (env: Envelope): Promise<void> {
    let item: RosterItem
    try {
      // an owner may not serve what the user did not sign into the log
      if (userIdOf(env.senderKey) !== this.c.signer.userId || env.kind !== Envelope.Kind.ROSTER ||
          env.recipient !== this.rosterLog) throw new Error('not this roster\'s')
      item = decodeRosterItem(env.body)
    } catch {
      this.c.rejections.reject('bad-roster')
      return
    }
    if (item.contact === this.c.signer.userId) return
    // what we write next must order after what another device wrote
    try { this.c.signer.clock.observe(env.timestamp) } catch {}
    const before = this.fold.get(item.contact)
    if (!this.fold.apply(item, stampOf(env))) return
    const rec: LocalRecord = { ...this.records.get(item.contact), env: hex(Envelope.encode(env)), stored: true }
    this.records.set(item.contact, rec)
    await this.disk.put(this.key(item.contact), rec)
    this.followPresence(item.contact, before, item)
  }

  /** Re-send the items whose store failed. */
  private retry (): void {
    for (const rec of this.records.values()) {
      if (rec.stored) continue
      try {
        this.track(this.storeItem(Envelope.decode(Buffer.from(rec.env, 'hex')), false))
      } catch {}
    }
  }

  private async maintain (): Promise<void> {
    if (this.c.session.closed) return
    await this.enqueue(async () => {
      await this.syncLog(true)
      this.retry()
    }).catch((err: Error) => { log('%s: roster upkeep failed: %s', this.c.signer.handle, err.message) })
  }

  private key (contact: string): string { return `${this.c.signer.userId}!${contact}` }

  private track (p: Promise<unknown>): void {
    const t = p
      .catch((err: Error) => { log('%s: %s', this.c.signer.handle, err.message) })
      .finally(() => { this.inflight.delete(t) })
    this.inflight.add(t)
  }
}
