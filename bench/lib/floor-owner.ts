/**
 * An owner process of the `floor` scenario: the least a Chorus owner must do with a durable send. Each
 * envelope that arrives is decoded (bounds and shape, protocol/envelope.ts), its Ed25519 signature verified
 * once (when the phase verifies), and written to LevelDB through Chorus's own group commit
 * (node/store/group-commit.ts: one synced batch takes every write queued while the previous one was being
 * fsynced). The primary (the owner the client sends to) forwards the envelope in one frame to each replica
 * at once, in parallel with its own write, and acknowledges the client when `writeQuorum` owners (itself
 * included) have it on disk; a replica acknowledges the primary once its own write is synced.
 *
 * Left out, on purpose: mailbox indexes beyond the log entry, expiry, receipts, hinted handoff, placement
 * (the client knows its primary), admission and rate limits, metrics. What is left is the floor.
 */

import type { AbstractSublevel } from 'abstract-level'
import { Level } from 'level'
import { SenderKeyCache, decodeEnvelope, verifyEnvelope } from '../../protocol/envelope.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { sleep } from './clock.js'
import { FLOOR_SEQ_BYTES, type FloorOwnerConfig } from './floor-protocol.js'
import { readSeq, seqHeader, type FrameLink } from './floor-wire.js'

type Db = Level<string, string>

/** One envelope the primary has taken in and not yet seen on every replica. */
interface Pending {
  /** the client's link and the frame's sequence number there */
  from: FrameLink
  seq: Uint8Array
  /** owners that have it on disk */
  copies: number
  /** replicas yet to acknowledge */
  waiting: number
  acked: boolean
}

/** The owner logic over one LevelDB; the links are opened by floor-node.ts. */
export class FloorOwner {
  private readonly log: AbstractSublevel<Db, string | Uint8Array | Buffer, string, Uint8Array>
  private readonly synced: GroupCommit
  private readonly unsynced: GroupCommit
  private readonly keys = new SenderKeyCache()
  private config: FloorOwnerConfig = { verify: true, store: true, sync: true }
  private replicas: FrameLink[] = []
  private writeQuorum = 1
  private nextKey = 0
  private nextForward = 0
  private readonly forwarded = new Map<number, Pending>()
  private writing = 0
  verified = 0
  rejected = 0

  constructor (private readonly db: Db) {
    this.log = db.sublevel<string, Uint8Array>('log', { valueEncoding: 'view' })
    this.synced = new GroupCommit(db, true)
    this.unsynced = new GroupCommit(db, false)
  }

  /** Open the LevelDB under `dir`. */
  static async open (dir: string): Promise<FloorOwner> {
    const db = new Level<string, string>(dir)
    await db.open()
    return new FloorOwner(db)
  }

  /** What the next phase does with each envelope. */
  configure (config: FloorOwnerConfig): void {
    this.config = { ...config }
  }

  /** Become the primary: forward to `replicas`, acknowledge at `writeQuorum` copies on disk. */
  lead (replicas: FrameLink[], writeQuorum: number): void {
    if (writeQuorum < 1 || writeQuorum > replicas.length + 1) throw new RangeError(`W = ${writeQuorum} needs 1..${replicas.length + 1} owners`)
    this.replicas = replicas
    this.writeQuorum = writeQuorum
  }

  /** Batches and operations written so far, synced or not. */
  get batches (): { batches: number, ops: number } {
    return {
      batches: this.synced.stats.batches + this.unsynced.stats.batches,
      ops: this.synced.stats.ops + this.unsynced.stats.ops
    }
  }

  /** Envelopes taken in and not yet on every owner (the primary) or on disk (a replica). */
  get outstanding (): number {
    return this.forwarded.size + this.writing
  }

  /** Wait (at most `ms`) until nothing is outstanding. */
  async settle (ms: number): Promise<void> {
    const deadline = Date.now() + ms
    while (this.outstanding > 0 && Date.now() < deadline) await sleep(5)
  }

  /** A frame from a client: take the envelope in, forward it, write it, acknowledge at W copies. */
  onPut (from: FrameLink, frame: Uint8Array): void {
    const body = frame.subarray(FLOOR_SEQ_BYTES)
    if (!this.accept(body)) return
    const seq = frame.subarray(0, FLOOR_SEQ_BYTES)
    const p: Pending = { from, seq, copies: 0, waiting: this.replicas.length, acked: false }
    if (this.replicas.length > 0) {
      const fseq = this.nextForward
      this.nextForward = (this.nextForward + 1) >>> 0
      this.forwarded.set(fseq, p)
      const header = seqHeader(fseq)
      for (const r of this.replicas) r.send(header, body)
    }
    this.store(body, () => { this.copied(p) })
  }

  /** A replica's acknowledgement of a forwarded envelope. */
  onReplicaAck (_from: FrameLink, frame: Uint8Array): void {
    const fseq = readSeq(frame)
    const p = this.forwarded.get(fseq)
    if (p == null) return
    if (--p.waiting === 0) this.forwarded.delete(fseq)
    this.copied(p)
  }

  /** A frame forwarded by the primary: take it in, write it, acknowledge once on disk. */
  onReplicate (from: FrameLink, frame: Uint8Array): void {
    const body = frame.subarray(FLOOR_SEQ_BYTES)
    if (!this.accept(body)) return
    const seq = frame.subarray(0, FLOOR_SEQ_BYTES)
    this.store(body, () => { from.send(seq) })
  }

  /** Close the database (after the links). */
  async close (): Promise<void> {
    await this.synced.idle()
    await this.unsynced.idle()
    await this.db.close()
  }

  /** Decode and (when verifying) check the signature; false (and counted) when it does not hold. */
  private accept (body: Uint8Array): boolean {
    try {
      const env = decodeEnvelope(body)
      if (this.config.verify) {
        // the KeyObject is cached; the bytes are not passed, so no envelope is skipped as seen before
        verifyEnvelope(env, this.keys)
        this.verified++
      }
      return true
    } catch {
      this.rejected++
      return false
    }
  }

  /** Write the envelope as one mailbox log entry, then `done` (at once when the phase does not store). */
  private store (body: Uint8Array, done: () => void): void {
    if (!this.config.store) { done(); return }
    const key = `floor!${(this.nextKey++).toString(16).padStart(12, '0')}`
    const commit = this.config.sync ? this.synced : this.unsynced
    this.writing++
    commit.write([{ type: 'put', sublevel: this.log, key, value: body }]).then(
      () => { this.writing--; done() },
      () => { this.writing--; this.rejected++ }
    )
  }

  private copied (p: Pending): void {
    p.copies++
    if (!p.acked && p.copies >= this.writeQuorum) {
      p.acked = true
      p.from.send(p.seq)
    }
  }
}
