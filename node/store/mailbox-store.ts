/**
 * Mailboxes on disk. A mailbox (a user's or a room's) is a grow-only set of envelopes ordered by
 * (timestamp, id): writing an envelope twice is a no-op, merging two replicas is their union.
 *
 * Sublevels:
 *   log   `<mailbox>!<cursor hex>` → envelope bytes          (cursor = 8-byte timestamp ‖ 16-byte id)
 *   conv  `<mailbox>!<peer>!<cursor hex>` → ''               (one conversation inside a mailbox)
 */

import { cursorAt, cursorTimestamp, type Cursor } from '../../protocol/mailbox.js'
import { ChangeSketch, type Added } from './change-sketch.js'
import type { ChorusDb } from './db.js'
import { DigestCache, type BucketDigest } from './digest-cache.js'
import type { GroupCommit } from './group-commit.js'

/** Bytes backed by a plain ArrayBuffer (what protons encodes and LevelDB returns). */
export type Bytes = Uint8Array<ArrayBuffer>

// the cursor encoding is a wire format (protocol/mailbox.ts); re-exported for the store's importers
export { CURSOR_BYTES, conversationPeer, cursorAt, cursorOf, cursorTimestamp, type Cursor } from '../../protocol/mailbox.js'

const hex = (c: Cursor): string => Buffer.from(c).toString('hex')
/** A cursor from its hex form (the form readers list and feeds remember). */
export const unhex = (s: string): Bytes => new Uint8Array(Buffer.from(s, 'hex'))

/** One envelope to store in one mailbox; `peer` is the other party of the conversation. */
export interface MailboxEntry {
  mailbox: string
  peer: string
  cursor: Cursor
  bytes: Bytes
  /** ms since the epoch when every owner deletes it (self-destructing secret messages); 0 or absent: never */
  expiresAt?: number
}

/** Mailboxes with tombstones remembered by name (puts to them read before they write); beyond it, every put reads. */
const MAX_TOMBSTONED_MAILBOXES = 100_000

/** How long a tombstone without an expiry of its own is kept (its entry can no longer come back after). */
export const TOMBSTONE_TTL_MS = 30 * 24 * 3600_000

const expKey = (at: number, mailbox: string, c: string): string => `${at.toString(16).padStart(12, '0')}!${mailbox}!${c}`

/** A time bucket of a mailbox: how many entries and the XOR of their ids. */
export type { BucketDigest }

/** Options of a range read. */
export interface RangeOptions {
  after?: Cursor
  before?: Cursor
  limit: number
  peer?: string
  newestFirst?: boolean
}

/**
 * Deletion is a tombstone: the entry's value in `log` becomes empty and its key is also listed in `tomb`.
 * A tombstoned entry is never stored again (repair cannot bring it back) and reads skip it. Tombstones are
 * replicated data, as in Dynamo-style stores: a bucket's digest mixes in its tombstones, so an owner that
 * missed a deletion (it was down) differs from one that made it, and reconciliation hands it the tombstone
 * (IDS lists them; the side holding the entry deletes it). Tombstones, and entries with an expiry, are
 * indexed in `exp` (`<expiry ms, hex>!<mailbox>!<cursor>`) and removed for good when they expire.
 */
export class MailboxStore {
  /** which mailboxes changed since a reader last looked (PROBE) */
  readonly changes = new ChangeSketch()
  /** whole-mailbox digests between anti-entropy rounds, read again where writes landed */
  readonly digests = new DigestCache(async (mailbox, bucketMs, from, to) =>
    await this.scanDigest(mailbox, bucketMs, from, to))

  private readonly log
  private readonly conv
  private readonly exp
  private readonly tomb
  /**
   * Entries (`<mailbox>!<cursor hex>`) being tombstoned, or tombstoned while a put was reading. A put reads
   * whether an entry is a tombstone before it writes; one whose read began before a tombstone reached the
   * disk may have read "absent", and must not write the entry back over it (it would be live again while
   * its tombstone index says deleted, and repair would see nothing to mend). So a mark stays until its
   * write is done and every put that began reading before then has chosen what to write.
   */
  private readonly dying = new Map<string, { pending: number, doneAt: number }>()
  /** marks whose writes are done, in the order they finished: [finished at (`clock`), key] */
  private readonly buried: Array<[number, string]> = []
  /** the puts between their read and their write, by the `clock` when they began (oldest first) */
  private readonly reading = new Set<number>()
  private clock = 0
  /**
   * Mailboxes that hold (or held) a tombstone here: only puts to them read before they write (whether
   * each entry is a tombstone). Read from `tomb` before the first put; `all` when there are too many to
   * keep (every put reads, as it did before).
   */
  private tombstoned: Set<string> | 'all' = new Set()
  private tombstonedLoaded?: Promise<void>
  private tombstonedReady = false

  constructor (db: ChorusDb, private readonly commit: GroupCommit) {
    this.log = db.sublevel<string, Bytes>('log', { valueEncoding: 'view' })
    this.conv = db.sublevel<string, string>('conv', { valueEncoding: 'utf8' })
    this.exp = db.sublevel<string, string>('exp', { valueEncoding: 'utf8' })
    this.tomb = db.sublevel<string, string>('tomb', { valueEncoding: 'utf8' })
  }

  /** Store entries; resolves once they are synced to disk. Idempotent; tombstoned and expired entries are skipped. */
  async put (entries: MailboxEntry[], now = Date.now()): Promise<void> {
    const live = entries.filter((e) => e.expiresAt == null || e.expiresAt === 0 || e.expiresAt > now)
    if (!this.tombstonedReady) await (this.tombstonedLoaded ??= this.loadTombstoned())
    const tombstoned = this.tombstoned
    // most mailboxes never saw a deletion: their puts write without reading first
    const read = live.map((e) => tombstoned === 'all' || tombstoned.has(e.mailbox))
    const keys = live.filter((_, i) => read[i]).map((e) => `${e.mailbox}!${hex(e.cursor)}`)
    const began = ++this.clock
    let got: Array<Bytes | undefined> = []
    if (keys.length > 0) {
      this.reading.add(began)
      try {
        got = await this.log.getMany(keys)
      } catch (err) {
        this.doneReading(began)
        throw err
      }
    }
    let next = 0
    const existing = read.map((r) => r ? got[next++] : undefined)
    const ops: any[] = []
    /** the entries new here (or not read: new as far as a watcher can tell), by mailbox, for the watchers' pushes */
    const added = new Map<string, Added>()
    // no await from here to the write: a tombstone queued meanwhile is seen in `dying`, or is written after
    live.forEach((e, i) => {
      if (existing[i] != null && existing[i].byteLength === 0) return
      const c = hex(e.cursor)
      if (this.dying.has(`${e.mailbox}!${c}`)) return
      if (existing[i] == null) {
        let a = added.get(e.mailbox)
        if (a == null) { a = { cursors: [], envelopes: [] }; added.set(e.mailbox, a) }
        a.cursors.push(e.cursor)
        a.envelopes.push(e.bytes)
      }
      ops.push({ type: 'put', sublevel: this.log, key: `${e.mailbox}!${c}`, value: e.bytes })
      if (e.peer !== '') ops.push({ type: 'put', sublevel: this.conv, key: `${e.mailbox}!${e.peer}!${c}`, value: '' })
      if (e.expiresAt != null && e.expiresAt > 0) {
        ops.push({ type: 'put', sublevel: this.exp, key: expKey(e.expiresAt, e.mailbox, c), value: e.peer })
      }
    })
    const written = this.commit.write(ops)
    this.doneReading(began)
    await written
    // readers may list the entries now: a probe that sees the new counter will find them
    if (ops.length > 0) {
      for (const e of live) this.digests.touch(e.mailbox, [cursorTimestamp(e.cursor)])
      this.changes.bump(new Set(live.map((e) => e.mailbox)), added)
    }
  }

  /**
   * Delete entries for good: each becomes a tombstone until `expiresAt` (or TOMBSTONE_TTL_MS from now).
   */
  async tombstone (
    mailbox: string,
    entries: Array<{ cursor: Cursor, peer: string, expiresAt?: number }>,
    now = Date.now()
  ): Promise<void> {
    const keys = entries.map((e) => `${mailbox}!${hex(e.cursor)}`)
    for (const k of keys) {
      const mark = this.dying.get(k)
      if (mark == null) this.dying.set(k, { pending: 1, doneAt: 0 })
      else mark.pending++
    }
    // from now on every put to this mailbox reads first (the `dying` marks cover the puts already reading)
    this.noteTombstoned(mailbox)
    try {
      await this.commit.write(this.tombstoneOps(mailbox, entries, now))
      this.digests.touch(mailbox, entries.map((e) => cursorTimestamp(e.cursor)))
      this.changes.bump([mailbox])
    } finally {
      const doneAt = ++this.clock
      for (const k of keys) {
        const mark = this.dying.get(k)
        if (mark == null) continue
        mark.pending--
        mark.doneAt = doneAt
        this.buried.push([doneAt, k])
      }
      this.pruneDying()
    }
  }

  private doneReading (began: number): void {
    if (this.reading.delete(began)) this.pruneDying()
  }

  /** Drop the marks that no put still reading could have missed (their writes finished before it began). */
  private pruneDying (): void {
    const first = this.reading.values().next()
    const oldest = first.done === true ? Infinity : first.value
    while (this.buried.length > 0 && this.buried[0][0] < oldest) {
      const [doneAt, k] = this.buried.shift() as [number, string]
      const mark = this.dying.get(k)
      if (mark != null && mark.pending === 0 && mark.doneAt === doneAt) this.dying.delete(k)
    }
  }

  private tombstoneOps (
    mailbox: string,
    entries: Array<{ cursor: Cursor, peer: string, expiresAt?: number }>,
    now: number
  ): any[] {
    const ops: any[] = []
    for (const e of entries) {
      const c = hex(e.cursor)
      ops.push({ type: 'put', sublevel: this.log, key: `${mailbox}!${c}`, value: new Uint8Array(0) })
      ops.push({ type: 'put', sublevel: this.tomb, key: `${mailbox}!${c}`, value: '' })
      if (e.peer !== '') ops.push({ type: 'del', sublevel: this.conv, key: `${mailbox}!${e.peer}!${c}` })
      const at = e.expiresAt != null && e.expiresAt > 0 ? e.expiresAt : now + TOMBSTONE_TTL_MS
      ops.push({ type: 'put', sublevel: this.exp, key: expKey(at, mailbox, c), value: e.peer })
    }
    return ops
  }

  /**
   * The mailboxes with tombstones here, read once from `tomb` (its keys are `<mailbox>!<cursor hex>`),
   * added to those noted since this process started.
   */
  private async loadTombstoned (): Promise<void> {
    for await (const key of this.tomb.keys()) {
      this.noteTombstoned(key.slice(0, key.lastIndexOf('!')))
      if (this.tombstoned === 'all') break
    }
    this.tombstonedReady = true
  }

  private noteTombstoned (mailbox: string): void {
    if (this.tombstoned === 'all') return
    this.tombstoned.add(mailbox)
    if (this.tombstoned.size > MAX_TOMBSTONED_MAILBOXES) this.tombstoned = 'all'
  }

  /** Which of `cursors` are tombstones here. */
  async tombstonesIn (mailbox: string, cursors: Cursor[]): Promise<Cursor[]> {
    const values = await this.log.getMany(cursors.map((c) => `${mailbox}!${hex(c)}`))
    return cursors.filter((_, i) => values[i] != null && values[i].byteLength === 0)
  }

  /** Remove every entry and tombstone whose expiry has passed. Returns how many. */
  async sweepExpired (now = Date.now()): Promise<number> {
    const ops: any[] = []
    const touched = new Set<string>()
    const at: Array<[string, bigint]> = []
    let n = 0
    for await (const [key, peer] of this.exp.iterator({ lt: now.toString(16).padStart(12, '0') + '!\xff', limit: 10_000 })) {
      const rest = key.slice(13)
      const cut = rest.lastIndexOf('!')
      const mailbox = rest.slice(0, cut)
      const c = rest.slice(cut + 1)
      touched.add(mailbox)
      at.push([mailbox, cursorTimestamp(unhex(c))])
      ops.push({ type: 'del', sublevel: this.exp, key })
      ops.push({ type: 'del', sublevel: this.log, key: `${mailbox}!${c}` })
      ops.push({ type: 'del', sublevel: this.tomb, key: `${mailbox}!${c}` })
      if (peer !== '') ops.push({ type: 'del', sublevel: this.conv, key: `${mailbox}!${peer}!${c}` })
      n++
    }
    if (ops.length > 0) await this.commit.write(ops)
    for (const [mailbox, t] of at) this.digests.touch(mailbox, [t])
    this.changes.bump(touched)
    return n
  }

  /** Entries of a mailbox (or one conversation in it) in (timestamp, id) order, oldest first. */
  async range (
    mailbox: string,
    o: RangeOptions
  ): Promise<{ entries: Array<{ cursor: Cursor, bytes: Bytes }>, more: boolean }> {
    const prefix = o.peer != null ? `${mailbox}!${o.peer}!` : `${mailbox}!`
    const bounds = {
      gt: o.after != null && o.after.byteLength > 0 ? prefix + hex(o.after) : prefix,
      lt: o.before != null && o.before.byteLength > 0 ? prefix + hex(o.before) : prefix + '\xff',
      limit: o.limit + 1,
      reverse: o.newestFirst === true
    }
    const cursors: string[] = []
    const keys = o.peer != null ? this.conv.keys(bounds) : this.log.keys(bounds)
    for await (const key of keys) cursors.push(key.slice(prefix.length))
    const more = cursors.length > o.limit
    if (more) cursors.length = o.limit
    if (o.newestFirst === true) cursors.reverse()
    const values = await this.log.getMany(cursors.map((c) => `${mailbox}!${c}`))
    const entries: Array<{ cursor: Cursor, bytes: Bytes }> = []
    cursors.forEach((c, i) => {
      const v = values[i]
      if (v != null && v.byteLength > 0) entries.push({ cursor: unhex(c), bytes: v })
    })
    return { entries, more }
  }

  /** The stored bytes of the given entries (missing ones are skipped). */
  async get (mailbox: string, cursors: Cursor[]): Promise<Array<{ cursor: Cursor, bytes: Bytes }>> {
    const values = await this.log.getMany(cursors.map((c) => `${mailbox}!${hex(c)}`))
    const out: Array<{ cursor: Cursor, bytes: Bytes }> = []
    cursors.forEach((c, i) => {
      const v = values[i]
      if (v != null && v.byteLength > 0) out.push({ cursor: c, bytes: v })
    })
    return out
  }

  /**
   * Bucketed digest of a mailbox (optionally of timestamps in [from, to)): buckets of `bucketMs` ms, each
   * with its count of keys and the XOR of their ids, tombstones' ids XORed in once more rotated by a byte
   * (an owner that deleted an entry and one that still holds it differ).
   */
  async digest (mailbox: string, bucketMs: number, from?: bigint, to?: bigint): Promise<BucketDigest[]> {
    // the whole mailbox's: kept between rounds, read again only where writes landed (digest-cache.ts)
    if (from == null && to == null) return await this.digests.digest(mailbox, bucketMs)
    return await this.scanDigest(mailbox, bucketMs, from, to)
  }

  /** The digest as `digest` answers it, read from disk. */
  private async scanDigest (mailbox: string, bucketMs: number, from?: bigint, to?: bigint): Promise<BucketDigest[]> {
    const width = BigInt(bucketMs) << 16n
    const buckets = new Map<bigint, BucketDigest>()
    const prefix = `${mailbox}!`
    const range = {
      gte: from != null ? prefix + hex(cursorAt(from)) : prefix,
      lt: to != null ? prefix + hex(cursorAt(to)) : prefix + '\xff'
    }
    for await (const key of this.log.keys(range)) {
      const cursor = unhex(key.slice(prefix.length))
      const start = (cursorTimestamp(cursor) / width) * width
      let b = buckets.get(start)
      if (b == null) { b = { start, count: 0, hash: new Uint8Array(16) }; buckets.set(start, b) }
      b.count++
      for (let i = 0; i < 16; i++) b.hash[i] ^= cursor[8 + i]
    }
    for await (const key of this.tomb.keys(range)) {
      const cursor = unhex(key.slice(prefix.length))
      const b = buckets.get((cursorTimestamp(cursor) / width) * width)
      if (b == null) continue
      for (let i = 0; i < 16; i++) b.hash[(i + 1) % 16] ^= cursor[8 + i]
    }
    return [...buckets.values()].sort((a, b) => (a.start < b.start ? -1 : 1))
  }

  /**
   * Cursors strictly inside (after, before), oldest first, at most `limit` (tombstones included: a key is
   * a key). An absent or empty bound is open (an empty `before` used to list nothing). `after` itself is
   * never listed: a reader pages by passing the last cursor it got, and must not get it again.
   */
  async cursors (
    mailbox: string,
    o: { after?: Cursor, before?: Cursor, limit: number }
  ): Promise<{ cursors: Cursor[], more: boolean }> {
    const prefix = `${mailbox}!`
    const after = o.after != null && o.after.byteLength > 0 ? hex(o.after) : undefined
    const before = o.before != null && o.before.byteLength > 0 ? hex(o.before) : undefined
    const out: Cursor[] = []
    const range = { gt: prefix + (after ?? ''), lt: prefix + (before ?? '\xff'), limit: o.limit + 1 }
    for await (const key of this.log.keys(range)) out.push(unhex(key.slice(prefix.length)))
    const more = out.length > o.limit
    if (more) out.length = o.limit
    return { cursors: out, more }
  }

  /** Cursors of the entries whose timestamp falls in [start, start + bucketMs), at most `limit`. */
  async cursorsIn (mailbox: string, start: bigint, bucketMs: number, limit: number): Promise<Cursor[]> {
    const prefix = `${mailbox}!`
    const out: Cursor[] = []
    const range = {
      gte: prefix + hex(cursorAt(start)),
      lt: prefix + hex(cursorAt(start + (BigInt(bucketMs) << 16n))),
      limit
    }
    for await (const key of this.log.keys(range)) out.push(unhex(key.slice(prefix.length)))
    return out
  }

  /** Cursors of the tombstones whose timestamp falls in [start, start + bucketMs), at most `limit`. */
  async tombstonesInBucket (mailbox: string, start: bigint, bucketMs: number, limit: number): Promise<Cursor[]> {
    const prefix = `${mailbox}!`
    const out: Cursor[] = []
    const range = {
      gte: prefix + hex(cursorAt(start)),
      lt: prefix + hex(cursorAt(start + (BigInt(bucketMs) << 16n))),
      limit
    }
    for await (const key of this.tomb.keys(range)) out.push(unhex(key.slice(prefix.length)))
    return out
  }

  /**
   * Every mailbox with at least one entry here, in name order: after `after` (exclusive) and, with
   * `prefix`, only names that start with it. One iterator skips from mailbox to mailbox by seeking past
   * each one's entries (an iterator per mailbox cost a repair round of 3,000 users most of its time).
   */
  async * mailboxes (range: { after?: string, prefix?: string } = {}): AsyncGenerator<string> {
    const prefix = range.prefix ?? ''
    const after = range.after ?? ''
    // past `after`'s own entries, or from the prefix when `after` sorts before it
    const start = after !== '' && after >= prefix ? `${after}!\xff` : prefix
    const it = this.log.keys({ gte: start, ...(prefix !== '' ? { lt: `${prefix}\xff` } : {}) })
    try {
      for (;;) {
        const key = await it.next()
        if (key === undefined) return
        const mailbox = key.slice(0, key.indexOf('!'))
        yield mailbox
        it.seek(`${mailbox}!\xff`)
      }
    } finally {
      await it.close()
    }
  }

  /** Remove entries (after they were handed over to the mailbox's owners); `peer` names their conversation. */
  async delete (mailbox: string, entries: Array<{ cursor: Cursor, peer: string }>): Promise<void> {
    const ops: any[] = []
    for (const e of entries) {
      const c = hex(e.cursor)
      ops.push({ type: 'del', sublevel: this.log, key: `${mailbox}!${c}` })
      ops.push({ type: 'del', sublevel: this.conv, key: `${mailbox}!${e.peer}!${c}` })
      ops.push({ type: 'del', sublevel: this.tomb, key: `${mailbox}!${c}` })
    }
    await this.commit.write(ops)
    this.digests.touch(mailbox, entries.map((e) => cursorTimestamp(e.cursor)))
    this.changes.bump([mailbox])
  }

  /** Entries stored here, in this mailbox. */
  async count (mailbox: string): Promise<number> {
    let n = 0
    for await (const _ of this.log.keys({ gt: `${mailbox}!`, lt: `${mailbox}!\xff` })) n++
    return n
  }
}
