/**
 * The owner's side of WATCH: which nodes watch which mailboxes here, and the push of every later write to
 * them. A node that hosts sessions registers the logs they follow (one WATCH per owner for all of them,
 * under the same read checks as PROBE); from then on each write this owner puts on disk goes to the
 * watching nodes as a `Change` (the counter before and after, the cursors added) on the live hop's link,
 * so an idle session costs nothing and a busy one learns of a write without listing its log.
 *
 * The mailbox's primary owner pushes at once, with the envelopes: that is what delivers a write the live
 * path lost. The other owners' pushes only keep the watcher's table of their counters sure, so they wait
 * (LAZY_PUSH_MS at most) and ride in the next frame this owner sends the same watcher: under load they
 * cost no frame of their own, where each write used to cost the watcher a frame from every owner.
 *
 * A push is a hint, never the only way: the watcher checks that each change follows the last it saw (the
 * counters chain, and `seq` numbers the pushes to it), and a broken chain, a lost connection or a lapsed
 * lease sends it back to PROBE and sync (node/replication/change-watch.ts). Watches are bounded per peer
 * and in all, lapse after WATCH_LEASE_MS unless renewed, and go with the peer's connection.
 */

import { logger } from '@libp2p/logger'
import type { Change, Changes } from '../../protocol/pb/live.js'
import type { SketchChange } from '../store/change-sketch.js'

const log = logger('chorus:replication:watches')

/** How long a watch lasts unless renewed (the watcher renews every third of it). @default 60000 */
export const WATCH_LEASE_MS = 60_000

/**
 * How long a read proof keeps a watch renewable without a new one. A member removed from a room stops
 * hearing of its writes within this long (what a push says: a write's time and id, never its content).
 * @default 300000
 */
export const WATCH_PROOF_MS = 300_000

/** Mailboxes one peer may watch here (a gateway's thousands of users, a few logs each). */
export const MAX_WATCHES_PER_PEER = 50_000

/** Watches held here in all. */
export const MAX_WATCHES = 500_000

/** Cursors one change carries; a write that added more is pushed as "changed, sync" (`before` = 0). */
export const MAX_PUSHED_CURSORS = 256

/** Changes in one pushed frame (a frame stays far below the live hop's frame limit). */
export const MAX_CHANGES_PER_FRAME = 128

/** Envelope bytes in one pushed frame; what does not fit goes as cursors only (the watcher fetches it). */
export const MAX_PUSHED_ENVELOPE_BYTES = 32 * 1024

/**
 * How long a change without envelopes (this owner is not the log's primary) may wait for a frame to the
 * same watcher to ride in. Short next to the feeds' hold of a message whose predecessor is missing
 * (DEFAULT_HOLD_MS, 1 s): when the primary is down, the others' pushes are what bring a lost write.
 * @default 100
 */
export const LAZY_PUSH_MS = 100

/**
 * When a push could not be queued (no link to the watcher would open: a node that just restarted under
 * the same peer id is first dialled over its old connection), it is sent again after each of these
 * delays, with its sequence number: the watcher's table vouches for the counters it last heard, and a
 * lost push would leave an idle session blind to the write until its next renewal (20 s).
 */
export const PUSH_RETRY_MS = [100, 400, 1600]

/** Where a push goes: to `peer` on the live hop, or to this node's own watcher (rejects when it cannot be queued). */
export type PushSink = (peer: string, changes: Changes) => Promise<void>

/** One watch: pushed to until `until`, renewable without a proof until `provenUntil` (ms). */
interface Lease { until: number, provenUntil: number }

export class Watches {
  /** mailbox → watching peer → its lease */
  private readonly byMailbox = new Map<string, Map<string, Lease>>()
  /** peer → mailboxes it watches */
  private readonly byPeer = new Map<string, Set<string>>()
  private total = 0
  /** changes waiting for the next flush, by peer, and the peers that have one a watcher waits for */
  private pending = new Map<string, Change[]>()
  private urgent = new Set<string>()
  private flushing = false
  private lazyTimer?: NodeJS.Timeout
  /** pushes sent again after a failure (for tests and /metrics) */
  readonly stats = { retried: 0 }
  /** pushes waiting to be sent again */
  private readonly retries = new Set<NodeJS.Timeout>()
  private closed = false
  /** pushes sent to each peer in this epoch */
  private readonly seqs = new Map<string, bigint>()

  constructor (
    private readonly epoch: bigint,
    private readonly sink: PushSink,
    private readonly now: () => number = Date.now,
    /** whether this owner is the mailbox's primary (the first of its owners): it pushes the envelopes too */
    private readonly isPrimary: (mailbox: string) => boolean = () => false
  ) {}

  /**
   * Register (or renew) `peer`'s watch of `mailbox`; `proven`: the asker showed a read proof now (else
   * the watch must be held already). False when a bound refuses it.
   */
  watch (peer: string, mailbox: string, proven: boolean): boolean {
    let peers = this.byMailbox.get(mailbox)
    const mine = this.byPeer.get(peer)
    if (peers?.has(peer) !== true) {
      if (this.total >= MAX_WATCHES || (mine?.size ?? 0) >= MAX_WATCHES_PER_PEER) return false
      if (peers == null) { peers = new Map(); this.byMailbox.set(mailbox, peers) }
      if (mine == null) this.byPeer.set(peer, new Set([mailbox]))
      else mine.add(mailbox)
      this.total++
    }
    const now = this.now()
    const provenUntil = proven ? now + WATCH_PROOF_MS : peers.get(peer)?.provenUntil ?? now
    peers.set(peer, { until: Math.min(now + WATCH_LEASE_MS, provenUntil), provenUntil })
    return true
  }

  /** May `peer` renew its watch of `mailbox` without a proof? (It holds one, and its proof is recent.) */
  holds (peer: string, mailbox: string): boolean {
    const lease = this.byMailbox.get(mailbox)?.get(peer)
    const now = this.now()
    return lease != null && lease.until > now && lease.provenUntil > now
  }

  /** Drop the watches whose lease ended (the store's expiry sweep calls this). */
  sweep (): void {
    const now = this.now()
    for (const [mailbox, peers] of [...this.byMailbox]) {
      for (const [peer, lease] of [...peers]) if (lease.until <= now) this.drop(mailbox, peer)
    }
  }

  /** Forget every watch of `peer` (its connection went). */
  forget (peer: string): void {
    const mine = this.byPeer.get(peer)
    this.byPeer.delete(peer)
    this.pending.delete(peer)
    this.urgent.delete(peer)
    this.seqs.delete(peer)
    if (mine == null) return
    for (const m of mine) this.drop(m, peer)
  }

  /** Stop pushing: what waits is dropped (the watchers see the gap when the owner comes back). */
  close (): void {
    this.closed = true
    for (const t of this.retries) clearTimeout(t)
    this.retries.clear()
    clearTimeout(this.lazyTimer)
    this.lazyTimer = undefined
    this.pending.clear()
    this.urgent.clear()
  }

  /** Watches held here now. */
  get size (): number { return this.total }

  /** The store's writes, as the change sketch saw them: queue a change for every live watcher. */
  readonly onChanges = (changes: SketchChange[]): void => {
    const now = this.now()
    for (const c of changes) {
      const peers = this.byMailbox.get(c.mailbox)
      if (peers == null) continue
      const primary = c.envelopes.length > 0 && this.isPrimary(c.mailbox)
      const envelopes = primary ? c.envelopes as Array<Uint8Array<ArrayBuffer>> : []
      const cursors = c.cursors as Array<Uint8Array<ArrayBuffer>>
      const item: Change = c.cursors.length > MAX_PUSHED_CURSORS
        ? { mailbox: c.mailbox, before: 0n, after: c.after, cursors: [], envelopes: [] }
        : { mailbox: c.mailbox, before: c.before, after: c.after, cursors, envelopes }
      for (const [peer, lease] of peers) {
        if (lease.until <= now) { this.drop(c.mailbox, peer); continue }
        let q = this.pending.get(peer)
        if (q == null) { q = []; this.pending.set(peer, q) }
        q.push(item)
        if (primary) this.urgent.add(peer)
      }
    }
    if (this.urgent.size > 0 && !this.flushing) {
      this.flushing = true
      // the writes of one group commit go out together, in one frame per watcher
      setImmediate(() => { this.flush(false) })
    }
    if (this.pending.size > 0 && this.lazyTimer == null) {
      this.lazyTimer = setTimeout(() => { this.flush(true) }, LAZY_PUSH_MS)
    }
  }

  /** Send what waits: to the watchers a primary's change waits for, or (`all`) to every watcher. */
  private flush (all: boolean): void {
    if (all) {
      this.lazyTimer = undefined
    } else {
      this.flushing = false
    }
    const peers = all ? [...this.pending.keys()] : [...this.urgent]
    for (const peer of peers) {
      const items = this.pending.get(peer)
      this.pending.delete(peer)
      this.urgent.delete(peer)
      if (items == null) continue
      for (const batch of frames(items)) {
        const seq = (this.seqs.get(peer) ?? 0n) + 1n
        this.seqs.set(peer, seq)
        this.push(peer, { epoch: this.epoch, seq, items: batch }, 0)
      }
    }
    if (this.pending.size === 0) {
      clearTimeout(this.lazyTimer)
      this.lazyTimer = undefined
    }
  }

  /**
   * Hand one frame to the sink; one that cannot be queued goes again after PUSH_RETRY_MS (a frame sent in
   * between is a gap in `seq` the watcher sees, and syncs over). Past the last retry it is lost: the watcher
   * learns of it by the next frame's `seq`, its renewal, or the connection ending.
   */
  private push (peer: string, frame: Changes, attempt: number): void {
    this.sink(peer, frame).catch((err: Error) => {
      log('push %d to %s failed (attempt %d): %s', frame.seq, peer, attempt + 1, err.message)
      const delay = PUSH_RETRY_MS[attempt]
      if (delay == null || this.closed) return
      this.stats.retried++
      const t = setTimeout(() => {
        this.retries.delete(t)
        if (!this.closed) this.push(peer, frame, attempt + 1)
      }, delay)
      this.retries.add(t)
    })
  }

  private drop (mailbox: string, peer: string): void {
    const peers = this.byMailbox.get(mailbox)
    if (peers?.delete(peer) !== true) return
    this.total--
    if (peers.size === 0) this.byMailbox.delete(mailbox)
    const mine = this.byPeer.get(peer)
    mine?.delete(mailbox)
    if (mine?.size === 0) this.byPeer.delete(peer)
  }
}

/**
 * Cut a watcher's changes into frames: at most MAX_CHANGES_PER_FRAME each, and at most
 * MAX_PUSHED_ENVELOPE_BYTES of envelopes (a change whose envelopes do not fit goes with its cursors only).
 */
function frames (items: Change[]): Change[][] {
  const out: Change[][] = []
  let frame: Change[] = []
  let bytes = 0
  for (const item of items) {
    if (frame.length === MAX_CHANGES_PER_FRAME) { out.push(frame); frame = []; bytes = 0 }
    const size = item.envelopes.reduce((n, e) => n + e.byteLength, 0)
    if (size > 0 && bytes + size > MAX_PUSHED_ENVELOPE_BYTES) {
      frame.push({ ...item, envelopes: [] })
      continue
    }
    bytes += size
    frame.push(item)
  }
  if (frame.length > 0) out.push(frame)
  return out
}
