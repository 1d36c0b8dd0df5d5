/**
 * A feed: one session's exactly-once view of one log (a user's mailbox, a room's messages or state).
 *
 * Envelopes reach a session two ways: live, over gossipsub, the moment they are sent; and by sync, from
 * the log's owners, in (timestamp, id) order after the feed's cursor. Whichever path comes first wins:
 * `claim` is synchronous, so within the process the two paths cannot both take the same envelope, and a
 * seen-mark on disk keeps it taken across restarts. The cursor moves only by sync, so it always means
 * "everything before this was seen"; a sync also looks `refetchWindowMs` behind the cursor now and then,
 * for writes that landed late at the owners.
 *
 * Sublevels (of the node's own database): `cursors` key → cursor hex; `seen` `<key>!<cursor hex>` → ''.
 */

import type { Envelope } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import type { Reader } from '../replication/reader.js'
import type { ChorusDb } from '../store/db.js'
import { cursorAt, cursorOf, cursorTimestamp, unhex, type Cursor } from '../store/mailbox-store.js'

/** How far behind its cursor a sync looks again, for messages whose write landed late. @default 5000 */
export const DEFAULT_REFETCH_WINDOW_MS = 5000

/** How often a sync looks back over the refetch window. @default 2000 */
export const DEFAULT_SWEEP_INTERVAL_MS = 2000

/** Envelope cursors remembered in memory as taken (the fast path of `claim`). */
const RECENT_MAX = 20_000

/** Cursors listed per page by a forward sync. */
const LIST_PAGE = 2000

/** Syncs that may fail to fetch an entry the owners listed before the cursor passes it by. */
const UNFETCHED_TRIES = 3

/** What a feed reads and where it keeps its place. */
export interface FeedInit {
  db: ChorusDb
  /**
   * with `listCursors`, `readCursors` and `readEntries`, a sync lists cursors at the owners and fetches only
   * the envelopes the live path did not bring; without them it reads whole pages
   */
  reader: Pick<Reader, 'read'> & Partial<Pick<Reader, 'listCursors' | 'readCursors' | 'readEntries'>>
  /** the log to follow */
  mailbox: string
  /** where the cursor and seen-marks live: unique per (session, log) */
  key: string
  /** a fresh read proof, for logs that demand one */
  auth?: () => ReadAuth
}

const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')

export class Feed {
  private readonly cursors
  private readonly seen
  private readonly recent = new Set<string>()
  private readonly unfetched = new Map<string, number>()
  private lastSweep = 0
  private synced = false
  private syncing?: Promise<Envelope[]>

  constructor (private readonly f: FeedInit) {
    this.cursors = f.db.sublevel<string, string>('cursors', { valueEncoding: 'utf8' })
    this.seen = f.db.sublevel<string, string>('seen', { valueEncoding: 'utf8' })
  }

  get mailbox (): string { return this.f.mailbox }

  /**
   * Take an envelope that arrived live: true when it is new to this feed (the caller delivers it), false
   * when either path already took it. Persists the seen-mark without waiting.
   */
  claim (env: Envelope): boolean {
    // before the first sync this process knows nothing of what was seen (the marks are on disk): gossip
    // replaying the last seconds to a node that just subscribed must not show anything twice, so live
    // envelopes wait for sync until then (it brings them, in order, each once)
    if (!this.synced) return false
    const c = hex(cursorOf(env))
    if (this.recent.has(c)) return false
    this.remember(c)
    void this.seen.put(`${this.f.key}!${c}`, '').catch(() => {})
    return true
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

  /** Everything new in the log since the last sync, oldest first, each envelope once. Concurrent calls share one run. */
  async sync (): Promise<Envelope[]> {
    if (this.syncing != null) return this.syncing
    this.syncing = this.syncOnce().finally(() => { this.syncing = undefined })
    return this.syncing
  }

  /** The feed's cursor (everything at or before it was seen), if it has one. */
  async cursor (): Promise<Cursor | undefined> {
    const stored = await this.cursors.get(this.f.key)
    return stored != null ? unhex(stored) : undefined
  }

  private async syncOnce (): Promise<Envelope[]> {
    let cursor = await this.cursor()
    // most syncs read only what follows the cursor; every DEFAULT_SWEEP_INTERVAL_MS (and on the first
    // sync) one also looks DEFAULT_REFETCH_WINDOW_MS behind it for writes that landed late
    const sweep = Date.now() - this.lastSweep >= DEFAULT_SWEEP_INTERVAL_MS
    if (sweep) this.lastSweep = Date.now()
    const windowStart = cursor != null && sweep ? cursorTimestamp(cursor) - hlcPack(DEFAULT_REFETCH_WINDOW_MS, 0) : 0n
    const out: Envelope[] = []
    let after: Cursor | undefined = cursor
    if (windowStart > 0n) {
      if (this.f.reader.readCursors != null && this.f.reader.readEntries != null) out.push(...await this.sweepLate(cursorAt(windowStart), cursor as Cursor))
      else after = cursorAt(windowStart)
    }
    if (this.f.reader.listCursors != null && this.f.reader.readEntries != null) {
      const fwd = await this.forward(after, cursor)
      out.push(...fwd.envelopes)
      cursor = fwd.cursor
    } else {
      for (;;) {
        const page = await this.f.reader.read(this.f.mailbox, { after, limit: 500, auth: this.f.auth?.() })
        const ops: any[] = []
        for (const env of page.envelopes) {
          const c = cursorOf(env)
          after = c
          if (cursor == null || Buffer.compare(c, cursor) > 0) cursor = c
          const key = hex(c)
          if (this.recent.has(key)) continue
          if (await this.seen.get(`${this.f.key}!${key}`) != null) { this.remember(key); continue }
          this.remember(key)
          ops.push({ type: 'put', sublevel: this.seen, key: `${this.f.key}!${key}`, value: '' })
          out.push(env)
        }
        if (cursor != null) ops.push({ type: 'put', sublevel: this.cursors, key: this.f.key, value: hex(cursor) })
        if (ops.length > 0) await this.f.db.batch(ops)
        if (!page.more) break
      }
    }
    await this.pruneSeen(cursor)
    this.synced = true
    return out
  }

  /**
   * Forward from `after`: list the owners' cursors a page at a time and fetch only those neither path has
   * taken, so what the live path brought costs 24 bytes, not an envelope from every owner. The cursor
   * stops short of a listed entry no owner handed out (its owner went away between the two calls): the
   * next sync lists it again, up to UNFETCHED_TRIES times (an owner may list what it cannot give: a
   * broken or lying store must not hold the feed back for good).
   */
  private async forward (after: Cursor | undefined, cursor: Cursor | undefined): Promise<{ envelopes: Envelope[], cursor: Cursor | undefined }> {
    const out: Envelope[] = []
    for (;;) {
      const page = await this.f.reader.listCursors!(this.f.mailbox, { after, limit: LIST_PAGE, auth: this.f.auth?.() })
      const missing = await this.untaken(page.cursors)
      const ops: any[] = []
      const { fresh, got } = await this.take(missing, ops)
      out.push(...fresh)
      let last: string | undefined
      let whole = true
      for (const c of page.cursors) {
        if (missing.has(c) && !got.has(c) && !this.giveUp(c)) { whole = false; break }
        last = c
      }
      if (last != null) {
        const c = unhex(last)
        if (cursor == null || Buffer.compare(c, cursor) > 0) cursor = c
        ops.push({ type: 'put', sublevel: this.cursors, key: this.f.key, value: hex(cursor) })
      }
      if (ops.length > 0) await this.f.db.batch(ops)
      if (!page.more || !whole || last == null) return { envelopes: out, cursor }
      after = unhex(last)
    }
  }

  /**
   * Writes that landed late, behind the cursor: list the window's cursors at the owners (24 bytes each),
   * fetch only those this feed has not taken. What the live path brought costs a cursor, not an envelope.
   */
  private async sweepLate (from: Cursor, to: Cursor): Promise<Envelope[]> {
    const listed = await this.f.reader.readCursors?.(this.f.mailbox, { after: from, before: to, auth: this.f.auth?.() }) ?? new Set<string>()
    const ops: any[] = []
    const { fresh } = await this.take(await this.untaken(listed), ops)
    if (ops.length > 0) await this.f.db.batch(ops)
    return fresh
  }

  /** Of listed cursors (hex), those neither path has taken (in memory, or by a seen-mark on disk). */
  private async untaken (listed: Iterable<string>): Promise<Set<string>> {
    const missing = new Set<string>()
    for (const c of listed) {
      if (this.recent.has(c)) continue
      if (await this.seen.get(`${this.f.key}!${c}`) != null) { this.remember(c); continue }
      missing.add(c)
    }
    return missing
  }

  /**
   * Fetch `missing` from the owners and take what is still untaken: `fresh`, oldest first, with its
   * seen-marks added to `ops`; `got` is every missing cursor some owner handed out.
   */
  private async take (missing: Set<string>, ops: any[]): Promise<{ fresh: Envelope[], got: Set<string> }> {
    const fresh: Envelope[] = []
    const got = new Set<string>()
    if (missing.size === 0) return { fresh, got }
    const found = await this.f.reader.readEntries?.(this.f.mailbox, [...missing].map(unhex), this.f.auth?.()) ?? []
    for (const env of found) {
      const key = hex(cursorOf(env))
      if (!missing.has(key)) continue
      got.add(key)
      if (this.recent.has(key)) continue
      this.remember(key)
      ops.push({ type: 'put', sublevel: this.seen, key: `${this.f.key}!${key}`, value: '' })
      fresh.push(env)
    }
    return { fresh, got }
  }

  /** One more failed fetch of listed cursor `c`: true once it has failed UNFETCHED_TRIES times. */
  private giveUp (c: string): boolean {
    const n = (this.unfetched.get(c) ?? 0) + 1
    if (n >= UNFETCHED_TRIES) { this.unfetched.delete(c); return true }
    if (this.unfetched.size < 1000) this.unfetched.set(c, n)
    return false
  }

  private remember (c: string): void {
    this.recent.add(c)
    if (this.recent.size > RECENT_MAX) this.recent.delete(this.recent.values().next().value as string)
  }

  /** Forget seen-marks older than twice the refetch window behind the cursor: they can never be fetched again. */
  private async pruneSeen (cursor: Cursor | undefined): Promise<void> {
    if (cursor == null) return
    const edge = cursorTimestamp(cursor) - hlcPack(DEFAULT_REFETCH_WINDOW_MS * 2, 0)
    if (edge <= 0n) return
    await this.seen.clear({ gt: `${this.f.key}!`, lt: `${this.f.key}!${hex(cursorAt(edge))}` })
  }
}
