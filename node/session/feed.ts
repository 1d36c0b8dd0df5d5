/**
 * A feed: one session's exactly-once, in-order view of one log (a user's mailbox, a room's messages or
 * state, a roster log).
 *
 * Envelopes reach a session two ways: live, over gossipsub, the moment they are sent; and by sync, from
 * the log's owners, in (timestamp, id) order after the feed's cursor. Both paths end in one queue per
 * feed, which hands each envelope to the feed's consumer once, in the order the queue got them:
 *
 *   1. `offer` (live) and `sync` take an envelope synchronously in memory (`recent`), so within the
 *      process the two paths cannot both take it;
 *   2. the queue checks the durable seen-mark before anything is shown (a live copy of what was shown
 *      before a restart is dropped here), lets the consumer prepare it (decode, resolve, judge), writes
 *      the seen-marks of a batch in one LevelDB write, and only then lets the consumer show it;
 *   3. the cursor moves only in the same write as the marks of everything before it, so it always means
 *      "everything at or before this was shown (or judged)".
 *
 * What was shown is marked on disk before it was shown, so no restart (clean, or a SIGKILL) shows it
 * again; `close` drains the queue. Marks are kept while their envelope can still come: sync never looks
 * further behind its cursor than the refetch window, and the relay refuses envelopes older than its
 * maximum age, so older marks are pruned.
 *
 * Sublevels (of the node's own database): `cursors` key → cursor hex; `seen` `<key>!<cursor hex>` → ''.
 */

import { logger } from '@libp2p/logger'
import type { Envelope } from '../../protocol/envelope.js'
import { DEFAULT_MAX_DRIFT_MS, hlcPack } from '../../protocol/hlc.js'
import { cursorAt, cursorOf, cursorTimestamp, type Cursor } from '../../protocol/mailbox.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import { MAX_RELAY_AGE_MS } from '../relay/relay.js'
import type { ChangeWatch, PushedChange } from '../replication/change-watch.js'
import type { Reader } from '../replication/reader.js'
import type { ChorusDb } from '../store/db.js'
import { unhex } from '../store/mailbox-store.js'

const log = logger('chorus:session:feed')

/** How far behind its cursor a sync looks again, for messages whose write landed late. @default 5000 */
export const DEFAULT_REFETCH_WINDOW_MS = 5000

/** How often a sync looks back over the refetch window. @default 2000 */
export const DEFAULT_SWEEP_INTERVAL_MS = 2000

/**
 * How often a feed forgets seen-marks that can no longer matter. Pruning is a LevelDB range delete; run
 * on every sync it was one write per idle session and log every second. @default 30000
 */
export const DEFAULT_PRUNE_INTERVAL_MS = 30_000

/**
 * The longest a polled feed goes without a full sync, whatever the owners' change counters say: a
 * backstop, not the way messages arrive (at 30 s it was most of an idle session's cost). @default 120000
 */
export const DEFAULT_FULL_SYNC_MS = 120_000

/** Envelope cursors remembered in memory as taken (the fast path of `offer`). @default 20000 */
export const DEFAULT_RECENT_MAX = 20_000

/** Cursors listed per page by a forward sync. @default 2000 */
export const DEFAULT_LIST_PAGE = 2000

/** Syncs that may fail to fetch an entry the owners listed before the cursor passes it by. @default 3 */
export const DEFAULT_UNFETCHED_TRIES = 3

/** Envelopes prepared and marked in one LevelDB write, at most. @default 256 */
export const DEFAULT_DELIVERY_BATCH = 256

/**
 * How long a live envelope waits for the one its sender sent before it (Envelope.prev) when that one is
 * not here yet: the owners' push or a sync usually brings it within milliseconds. @default 1000
 */
export const DEFAULT_HOLD_MS = 1000

/** Live envelopes held at once for their predecessors, at most (beyond it they are taken at once). @default 1000 */
export const DEFAULT_HELD_MAX = 1000

/** Live envelopes kept, before the first sync, to offer again after it. @default 1000 */
export const DEFAULT_EARLY_MAX = 1000

/** Margin beyond the relay's maximum age for which seen-marks are kept (clock skew between nodes). @default 120000 */
export const DEFAULT_MARK_MARGIN_MS = 120_000

/**
 * Seen-marks of an earlier process read in one range at most (those a live path can still bring again);
 * past it the feed reads the mark of each live envelope instead. @default 20000
 */
export const DEFAULT_EARLIER_MARKS_MAX = 20_000

/**
 * How long a pushed cursor the live path has not brought waits for it before it is fetched: the owner's
 * push can beat the live copy by a hop, and fetching it then would cost a read at every owner. @default 150
 */
export const DEFAULT_PUSH_GRACE_MS = 150

/** Where an envelope came from. */
export type FeedOrigin = 'live' | 'sync'

/**
 * What a feed hands its envelopes to: `prepare` runs in queue order (it may be slow: decode, resolve a
 * handle, judge membership) and returns what shows the envelope, run once its seen-mark is on disk.
 * Returning nothing means "nothing to show" (it is still marked: decided once).
 */
export type FeedConsumer = (env: Envelope, origin: FeedOrigin) => Promise<(() => void) | undefined | void>

/** What a feed reads and where it keeps its place. */
export interface FeedInit {
  db: ChorusDb
  /** lists cursors at the owners, and fetches only the envelopes neither path has taken */
  reader: Pick<Reader, 'listCursors' | 'readCursors' | 'readEntries'>
  /** the log to follow */
  mailbox: string
  /** where the cursor and seen-marks live: unique per (session, log) */
  key: string
  /** a fresh read proof, for logs that demand one */
  auth?: () => ReadAuth
  /**
   * The log's change counters at its owners, as one comparable string, and the owners' pushes of its
   * writes (node/replication/change-watch.ts); without it `poll` is `sync`
   */
  changes?: Pick<ChangeWatch, 'versions'> & Partial<Pick<ChangeWatch, 'follow' | 'known'>>
  /** who gets each envelope once; may be set later (`consume`) */
  consumer?: FeedConsumer
  /** @default Date.now */
  now?: () => number
}

/** A live envelope waiting for its sender's previous one, and its deadline. */
interface Held { env: Envelope, timer: NodeJS.Timeout }

/** One entry of the delivery queue: an envelope, or a cursor to write with the marks before it. */
type Job = { env: Envelope, key: string, origin: FeedOrigin } | { cursor: Cursor }

const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')

export class Feed {
  private readonly cursors
  private readonly seen
  private readonly recent = new Set<string>()
  private readonly unfetched = new Map<string, number>()
  private consumer?: FeedConsumer
  private lastSweep = 0
  private lastPrune = 0
  /** the owners' change counters before the last sync that caught up, and when that sync ran */
  private caughtUpAt?: { key: string, at: number }
  /** the last sync stopped short of what the owners listed */
  private stoppedShort = false
  /** the next sync looks behind the cursor whatever the time (something changed at an owner) */
  private sweepNext = false
  private synced = false
  private isClosed = false
  /** live envelopes that came before the first sync: offered again after it (sync brings the older ones first) */
  private early: Envelope[] = []
  private running?: Promise<void>
  private next?: Promise<void>
  private readonly jobs: Job[] = []
  private readonly waiters: Array<{ after: number, resolve: () => void }> = []
  /** jobs ever queued, and ever finished: a waiter for job n resolves once `finished` passes n */
  private queued = 0
  private finished = 0
  private draining?: Promise<void>
  /** the owners' pushes, taken one after another */
  private pushing: Promise<void> = Promise.resolve()
  /** pushes queued on `pushing` and not yet taken */
  private pushesQueued = 0
  private unfollow?: () => void
  /**
   * Live envelopes stamped after this (HLC) were made after this feed started, beyond any sender's
   * allowed drift and a margin for this node's own: no earlier process can have shown them, so their
   * seen-mark need not be read. @see mayHaveBeenShown
   */
  private readonly freshAfter: bigint
  /** the newest timestamp among cursors `recent` forgot: a live copy at or before it may be one shown here */
  private forgotUpTo = 0n
  /**
   * Live envelopes stamped before this are older than any relay forwards (plus the margin): only those
   * after it can come live again, and their marks are read in one range (`earlierMarks`).
   */
  private readonly earlierFrom: bigint
  /** the seen-marks on disk from `earlierFrom` on, read once at the first need (undefined: too many) */
  private earlierMarks?: Promise<Set<string> | undefined>
  /** live envelopes waiting for their sender's previous one, by its cursor (hex) */
  private readonly held = new Map<string, Held[]>()
  private heldCount = 0

  constructor (private readonly f: FeedInit) {
    this.cursors = f.db.sublevel<string, string>('cursors', { valueEncoding: 'utf8' })
    this.seen = f.db.sublevel<string, string>('seen', { valueEncoding: 'utf8' })
    this.consumer = f.consumer
    this.freshAfter = hlcPack(this.now() + DEFAULT_MAX_DRIFT_MS + DEFAULT_MARK_MARGIN_MS, 0)
    this.earlierFrom = hlcPack(Math.max(0, this.now() - MAX_RELAY_AGE_MS - DEFAULT_MARK_MARGIN_MS), 0)
  }

  get mailbox (): string { return this.f.mailbox }

  /** Set who gets this feed's envelopes (the part of the session that follows the log now). */
  consume (consumer: FeedConsumer): void {
    this.consumer = consumer
  }

  /**
   * Offer an envelope that arrived live: true when this feed takes it (it goes to the consumer once, in
   * queue order, if no earlier session showed it); false when either path took it already.
   */
  offer (env: Envelope, waited = false): boolean {
    if (this.isClosed) return false
    // before the first sync this process knows nothing of what was shown (the marks are on disk) nor of
    // what the user missed: live envelopes wait, so the catch-up comes first, in order
    if (!this.synced) {
      if (this.early.length < DEFAULT_EARLY_MAX) this.early.push(env)
      return false
    }
    const key = hex(cursorOf(env))
    if (this.recent.has(key)) return false
    if (!waited && this.hold(env)) return true
    this.remember(key)
    void this.enqueue([{ env, key, origin: 'live' }])
    return true
  }

  /**
   * Hold a live envelope whose sender's previous one (its `prev`) this feed has not taken: it is taken
   * right after that one, or after DEFAULT_HOLD_MS. So a sender's messages are shown in its order even
   * when the live path lost one and the owners' push or a sync brings it a moment later. A `prev` this
   * process may not remember (older than its start, or forgotten) is looked up on disk meanwhile.
   */
  private hold (env: Envelope): boolean {
    if (env.prev.byteLength !== 24 || this.heldCount >= DEFAULT_HELD_MAX) return false
    const prev = hex(env.prev)
    const at = cursorTimestamp(env.prev)
    if (at >= env.timestamp || this.recent.has(prev)) return false
    const entry: Held = {
      env,
      timer: setTimeout(() => {
        this.unhold(prev, entry)
        this.offer(env, true)
      }, DEFAULT_HOLD_MS)
    }
    let list = this.held.get(prev)
    if (list == null) { list = []; this.held.set(prev, list) }
    list.push(entry)
    this.heldCount++
    if (at <= this.freshAfter || at <= this.forgotUpTo) {
      void this.shownBefore(prev, at).then((shown) => { if (shown) this.release(prev) })
    }
    return true
  }

  private unhold (prev: string, entry: Held): void {
    const list = this.held.get(prev)
    const i = list?.indexOf(entry) ?? -1
    if (list == null || i < 0) return
    list.splice(i, 1)
    this.heldCount--
    if (list.length === 0) this.held.delete(prev)
  }

  /** `key` was taken: what waited for it follows it into the queue. */
  private release (key: string): void {
    const list = this.held.get(key)
    if (list == null) return
    this.held.delete(key)
    for (const e of list) {
      clearTimeout(e.timer)
      this.heldCount--
      this.offer(e.env, true)
    }
  }

  /**
   * Mark an envelope this session wrote itself as taken (in memory): a sync lists its cursor and does not
   * fetch it back. What the session does with its own envelopes it does when it writes them.
   */
  own (env: Envelope): void {
    this.remember(hex(cursorOf(env)))
  }

  /**
   * Start a feed that has never synced at `cursor` instead of the log's beginning (a new room member has
   * no use for what was posted before it joined). Does nothing once the feed has a cursor.
   */
  async startAt (cursor: Cursor): Promise<void> {
    if (await this.cursor() != null) return
    await this.cursors.put(this.f.key, hex(cursor))
  }

  /**
   * Hand everything new in the log to the consumer, oldest first, each envelope once; resolves when it
   * has all been shown. One sync runs at a time: a call during a run starts one more run after it (what
   * it wants may have come after the running one listed), and concurrent calls share that one.
   */
  async sync (): Promise<void> {
    if (this.isClosed) return
    // the first sync of a log whose counters can be asked reads them first, as a poll does: the next poll
    // then finds nothing changed instead of syncing the whole log again
    if (!this.synced && this.f.changes != null) return await this.poll()
    return await this.syncNow()
  }

  private async syncNow (): Promise<void> {
    if (this.isClosed) return
    if (this.running == null) {
      this.running = this.syncOnce().finally(() => { this.running = undefined })
      return this.running
    }
    this.next ??= this.running.catch(() => {}).then(async () => {
      this.next = undefined
      await this.syncNow()
    })
    return this.next
  }

  /**
   * The periodic sync: ask whether the log changed at its owners since the last sync that caught up, and
   * sync only when it did, when they cannot tell, before the first sync, and at least every
   * DEFAULT_FULL_SYNC_MS. The feed follows the log's pushes (node/replication/change-watch.ts): once the
   * owners watch it for this node, the answer comes from what they pushed, without a frame, and a push
   * this feed took moves its caught-up answer along, so a write costs no sync. A change also makes the
   * sync look behind the cursor, for a write that landed late. The counters are read before the sync
   * lists anything, so whatever they count is in what it lists.
   */
  async poll (): Promise<void> {
    if (this.isClosed) return
    const changes = this.f.changes
    this.follow()
    if (changes == null) { await this.syncNow(); return }
    // the pushes already here first: the table's answer includes them
    await this.pushing
    const key = await changes.versions(this.f.mailbox, this.f.auth?.())
    const last = this.caughtUpAt
    const fresh = last != null && this.now() - last.at < DEFAULT_FULL_SYNC_MS
    if (this.synced && key != null && fresh && key === last.key) return
    this.caughtUpAt = undefined
    // a first sync has no cursor to look behind
    this.sweepNext = this.synced
    const at = this.now()
    await this.syncNow()
    if (key != null && !this.stoppedShort) this.caughtUpAt = { key, at }
  }

  /**
   * Would `poll` do nothing now? True when the owners' pushes are heard, nothing pushed waits to be
   * taken, the answer the feed last caught up at is still the table's, and the full-sync backstop is
   * not due. Synchronous and allocation-light: an idle session's tick asks it and goes back to sleep.
   */
  idle (): boolean {
    if (this.isClosed) return true
    const caught = this.caughtUpAt
    const known = this.f.changes?.known
    if (known == null || caught == null || !this.synced || this.pushesQueued > 0) return false
    if (this.now() - caught.at >= DEFAULT_FULL_SYNC_MS) return false
    return known.call(this.f.changes, this.f.mailbox) === caught.key
  }

  /** The feed's cursor (everything at or before it was shown), if it has one. */
  async cursor (): Promise<Cursor | undefined> {
    const stored = await this.cursors.get(this.f.key)
    return stored != null ? unhex(stored) : undefined
  }

  /** Take no more envelopes; let a running sync end and show what is queued (its marks reach disk). */
  async close (): Promise<void> {
    this.isClosed = true
    this.early = []
    // what waits is not marked: a later sync brings it
    for (const list of this.held.values()) for (const e of list) clearTimeout(e.timer)
    this.held.clear()
    this.heldCount = 0
    this.unfollow?.()
    await this.pushing
    await this.running?.catch(() => {})
    await this.next?.catch(() => {})
    await this.draining
  }

  /** Hear the owners' pushes of this log (once; the first sync or poll does it). */
  private follow (): void {
    const changes = this.f.changes
    if (changes == null || this.unfollow != null || this.isClosed) return
    this.unfollow = changes.follow?.(this.f.mailbox, (c) => { this.onPush(c) }) ?? (() => {})
  }

  /** An owner pushed a write to this log: take it after the pushes before it. */
  private onPush (change: PushedChange): void {
    if (this.isClosed) return
    // the primary owner's push carries the entries: taken as if they came live (verified only if new here)
    for (const pushed of change.envelopes) {
      if (this.recent.has(pushed.key)) continue
      const env = pushed.open()
      if (env != null) this.offer(env)
    }
    if (!this.synced) return
    this.pushesQueued++
    this.pushing = this.pushing.then(async () => {
      try { await this.takePushed(change) } finally { this.pushesQueued-- }
    })
  }

  /**
   * Take a pushed write's cursors that neither path has taken (after a grace for the live copy), and when
   * the push continues the answer this feed last caught up at and nothing it named is missing, catch up
   * to the answer after it: the next poll then finds nothing to sync.
   */
  private async takePushed (change: PushedChange): Promise<void> {
    if (this.isClosed) return
    const caught = this.caughtUpAt
    let complete = true
    try {
      const keys = change.cursors.map(hex)
      let missing = await this.untaken(keys)
      if (missing.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, DEFAULT_PUSH_GRACE_MS))
        missing = await this.untaken(missing)
      }
      if (missing.size > 0 && !this.isClosed) {
        const { jobs, got } = await this.take(missing)
        complete = got.size === missing.size
        void this.enqueue(jobs)
      }
    } catch (err: any) {
      complete = false
      log('%s: a pushed write was not taken: %s', this.f.key, err.message)
    }
    if (complete && change.before != null && change.after != null && caught != null &&
        this.caughtUpAt === caught && caught.key === change.before) {
      this.caughtUpAt = { key: change.after, at: caught.at }
    }
  }

  private async syncOnce (): Promise<void> {
    let cursor = await this.cursor()
    // most syncs read only what follows the cursor; every DEFAULT_SWEEP_INTERVAL_MS (and on the first
    // sync) one also looks DEFAULT_REFETCH_WINDOW_MS behind it for writes that landed late
    const now = this.now()
    if (cursor != null && (this.sweepNext || now - this.lastSweep >= DEFAULT_SWEEP_INTERVAL_MS)) {
      this.sweepNext = false
      this.lastSweep = now
      const from = cursorTimestamp(cursor) - hlcPack(DEFAULT_REFETCH_WINDOW_MS, 0)
      if (from > 0n) await this.sweepLate(cursorAt(from), cursor)
    }
    let after = cursor
    this.stoppedShort = false
    for (;;) {
      if (this.isClosed) return
      const page = await this.f.reader.listCursors(this.f.mailbox, {
        after,
        limit: DEFAULT_LIST_PAGE,
        auth: this.f.auth?.()
      })
      const missing = await this.untaken(page.cursors)
      const { jobs, got } = await this.take(missing)
      let last: string | undefined
      for (const c of page.cursors) {
        // stop short of a listed entry no owner handed out (its owner went away between the two calls):
        // the next sync lists it again, a few times (a broken or lying store must not hold the feed for good)
        if (missing.has(c) && !got.has(c) && !this.giveUp(c)) break
        last = c
      }
      if (last != null && (cursor == null || last > hex(cursor))) {
        cursor = unhex(last)
        jobs.push({ cursor })
      }
      // the cursor is written with the marks of what it passes, after they were shown
      await this.enqueue(jobs)
      if (page.cursors.length > 0 && last !== page.cursors[page.cursors.length - 1]) this.stoppedShort = true
      if (!page.more || last !== page.cursors[page.cursors.length - 1] || last == null) break
      after = unhex(last)
    }
    await this.pruneSeen(cursor)
    if (!this.synced) {
      this.synced = true
      this.follow()
      const early = this.early
      this.early = []
      for (const env of early) this.offer(env)
    }
  }

  /**
   * Writes that landed late, behind the cursor: list the window's cursors at the owners (24 bytes each),
   * fetch only those this feed has not taken. What the live path brought costs a cursor, not an envelope.
   */
  private async sweepLate (from: Cursor, to: Cursor): Promise<void> {
    const listed = await this.f.reader.readCursors(this.f.mailbox, { after: from, before: to, auth: this.f.auth?.() })
    await this.enqueue((await this.take(await this.untaken(listed))).jobs)
  }

  /** Of listed cursors (hex), those neither path has taken (in memory, or by a seen-mark on disk). */
  private async untaken (listed: Iterable<string>): Promise<Set<string>> {
    const missing = new Set<string>()
    for (const c of listed) {
      if (this.recent.has(c)) continue
      if (await this.marked(c)) { this.remember(c); continue }
      missing.add(c)
    }
    return missing
  }

  /**
   * Fetch `missing` from the owners and take what is still untaken: `jobs` for the queue, oldest first;
   * `got` is every missing cursor some owner handed out.
   */
  private async take (missing: Set<string>): Promise<{ jobs: Job[], got: Set<string> }> {
    const got = new Set<string>()
    const jobs: Job[] = []
    if (missing.size === 0) return { jobs, got }
    const found = await this.f.reader.readEntries(this.f.mailbox, [...missing].map(unhex), this.f.auth?.())
    for (const env of found.sort((a, b) => Buffer.compare(cursorOf(a), cursorOf(b)))) {
      const key = hex(cursorOf(env))
      if (!missing.has(key) || got.has(key)) continue
      got.add(key)
      if (this.recent.has(key)) continue
      this.remember(key)
      jobs.push({ env, key, origin: 'sync' })
    }
    return { jobs, got }
  }

  /** Queue jobs; resolves when they (and everything queued before them) are done. */
  private async enqueue (jobs: Job[]): Promise<void> {
    this.jobs.push(...jobs)
    this.queued += jobs.length
    // held live envelopes whose predecessors these are follow them
    if (this.heldCount > 0) for (const job of jobs) if ('key' in job) this.release(job.key)
    const after = this.queued
    const done = new Promise<void>((resolve) => {
      if (this.finished >= after) resolve()
      else this.waiters.push({ after, resolve })
    })
    this.draining ??= this.drain().finally(() => { this.draining = undefined })
    await done
  }

  /**
   * Work the queue in batches: check the durable marks of live envelopes, prepare each in order, write
   * the batch's marks (and cursor) in one LevelDB write, then show each in order.
   */
  private async drain (): Promise<void> {
    while (this.jobs.length > 0) {
      const batch = this.jobs.splice(0, DEFAULT_DELIVERY_BATCH)
      const shows: Array<() => void> = []
      const ops: any[] = []
      const keys: string[] = []
      for (const job of batch) {
        if ('cursor' in job) { ops.push({ type: 'put', sublevel: this.cursors, key: this.f.key, value: hex(job.cursor) }); continue }
        // a live copy of something shown before this process started (gossip replays the last seconds)
        if (job.origin === 'live' && this.mayHaveBeenShown(job.env) &&
          await this.shownBefore(job.key, job.env.timestamp)) continue
        keys.push(job.key)
        ops.push({ type: 'put', sublevel: this.seen, key: `${this.f.key}!${job.key}`, value: '' })
        try {
          const show = await this.consumer?.(job.env, job.origin)
          if (typeof show === 'function') shows.push(show)
        } catch (err: any) {
          log.error('%s: handling %s failed: %s', this.f.key, job.key, err.stack ?? err.message)
        }
      }
      let written = true
      if (ops.length > 0) {
        try {
          await this.f.db.batch(ops)
        } catch (err: any) {
          // not marked, so not shown: a later sync (or the next start) brings these again
          written = false
          for (const k of keys) this.recent.delete(k)
          log.error('%s: seen-marks of %d envelopes not written, not shown: %s', this.f.key, keys.length, err.message)
        }
      }
      if (written) {
        for (const show of shows) {
          try { show() } catch (err: any) { log.error('%s: a listener threw: %s', this.f.key, err.stack ?? err.message) }
        }
      }
      this.finished += batch.length
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i].after <= this.finished) { this.waiters[i].resolve(); this.waiters.splice(i, 1) }
      }
    }
  }

  /**
   * Whether the envelope of cursor `key` (stamped `at`), which this process does not remember showing, was
   * shown by an earlier one (or by this one before `recent` forgot it). Stamped where a live path can still
   * bring it and after what `recent` forgot, it is looked up in the marks read once in a range: a client
   * restarted under load read one mark per live envelope for its first minutes (a tenth of its CPU).
   */
  private async shownBefore (key: string, at: bigint): Promise<boolean> {
    if (at >= this.earlierFrom && at > this.forgotUpTo) {
      const marks = await (this.earlierMarks ??= this.readEarlierMarks())
      if (marks != null) return marks.has(key)
    }
    return await this.marked(key)
  }

  /** The seen-marks on disk stamped from `earlierFrom` on (undefined when unreadable or too many). */
  private async readEarlierMarks (): Promise<Set<string> | undefined> {
    const prefix = `${this.f.key}!`
    const marks = new Set<string>()
    try {
      const range = {
        gte: prefix + hex(cursorAt(this.earlierFrom)),
        lt: prefix + '\xff',
        limit: DEFAULT_EARLIER_MARKS_MAX + 1
      }
      for await (const key of this.seen.keys(range)) marks.add(key.slice(prefix.length))
    } catch (err: any) {
      log.error('%s: reading the seen-marks of earlier processes: %s', this.f.key, err.message)
      return undefined
    }
    return marks.size > DEFAULT_EARLIER_MARKS_MAX ? undefined : marks
  }

  private async marked (key: string): Promise<boolean> {
    try {
      return await this.seen.get(`${this.f.key}!${key}`) != null
    } catch (err: any) {
      // unreadable: treat as shown rather than risk showing twice; sync's cursor still moves past it
      log.error('%s: reading seen-mark %s: %s', this.f.key, key, err.message)
      return true
    }
  }

  /** One more failed fetch of listed cursor `c`: true once it has failed DEFAULT_UNFETCHED_TRIES times. */
  private giveUp (c: string): boolean {
    const n = (this.unfetched.get(c) ?? 0) + 1
    if (n >= DEFAULT_UNFETCHED_TRIES) { this.unfetched.delete(c); return true }
    if (this.unfetched.size < 1000) this.unfetched.set(c, n)
    return false
  }

  private remember (c: string): void {
    this.recent.add(c)
    if (this.recent.size > DEFAULT_RECENT_MAX) {
      const forgotten = this.recent.values().next().value as string
      this.recent.delete(forgotten)
      const at = BigInt(`0x${forgotten.slice(0, 16)}`)
      if (at > this.forgotUpTo) this.forgotUpTo = at
    }
  }

  /**
   * Whether a live envelope `recent` did not know may have been shown already: by an earlier process (it
   * was made before this feed started, give or take the clocks' drift), or by this one before `recent`
   * forgot it. Only then is its seen-mark read from disk (a read per live envelope was a tenth of a
   * client's CPU under load).
   */
  private mayHaveBeenShown (env: Envelope): boolean {
    return env.timestamp <= this.freshAfter || env.timestamp <= this.forgotUpTo
  }

  private now (): number {
    return this.f.now?.() ?? Date.now()
  }

  /**
   * Forget seen-marks whose envelopes can no longer come: behind the cursor by more than twice the
   * refetch window (sync never looks there) and older than the relay's maximum age plus a margin (no
   * relay forwards them).
   */
  private async pruneSeen (cursor: Cursor | undefined): Promise<void> {
    if (cursor == null || this.now() - this.lastPrune < DEFAULT_PRUNE_INTERVAL_MS) return
    this.lastPrune = this.now()
    const bySync = cursorTimestamp(cursor) - hlcPack(DEFAULT_REFETCH_WINDOW_MS * 2, 0)
    const byRelay = hlcPack(Math.max(0, this.now() - MAX_RELAY_AGE_MS - DEFAULT_MARK_MARGIN_MS), 0)
    const edge = bySync < byRelay ? bySync : byRelay
    if (edge <= 0n) return
    await this.seen.clear({ gt: `${this.f.key}!`, lt: `${this.f.key}!${hex(cursorAt(edge))}` })
  }
}
