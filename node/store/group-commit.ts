/**
 * Group commit: many writers, one synced LevelDB batch. While one batch is being fsynced, new writes
 * queue; the next batch takes them all. An acknowledged write is on disk, without one fsync per message.
 */

import type { AbstractBatchOperation } from 'abstract-level'
import type { ChorusDb } from './db.js'

/** Most operations in one batch; a larger backlog is written in several. @default 4096 */
export const DEFAULT_MAX_BATCH_OPS = 4096

type Op = AbstractBatchOperation<ChorusDb, string, any>

interface Pending { ops: Op[], resolve: () => void, reject: (err: Error) => void }

export class GroupCommit {
  private queue: Pending[] = []
  /** the flush in progress: it drains the queue, writes queued behind it included */
  private flushing?: Promise<void>
  /** Batches written and operations in them, for metrics and the bench. */
  readonly stats = { batches: 0, ops: 0 }

  constructor (
    private readonly db: ChorusDb,
    private readonly sync = true,
    private readonly maxOps = DEFAULT_MAX_BATCH_OPS
  ) {}

  /** Write `ops` atomically (with whatever else is queued); resolves once they are synced to disk. */
  async write (ops: Op[]): Promise<void> {
    if (ops.length === 0) return
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, resolve, reject })
      this.kick()
    })
  }

  /** Resolves when every queued write has been flushed (before closing the database). */
  async idle (): Promise<void> {
    while (this.flushing != null) await this.flushing
  }

  /** Start a flush unless one runs; writes queued while a flush finishes start the next one. */
  private kick (): void {
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined
      if (this.queue.length > 0) this.kick()
    })
  }

  private async flush (): Promise<void> {
    while (this.queue.length > 0) {
      const group: Pending[] = []
      let count = 0
      while (this.queue.length > 0 && (group.length === 0 || count + this.queue[0].ops.length <= this.maxOps)) {
        const p = this.queue.shift() as Pending
        group.push(p)
        count += p.ops.length
      }
      try {
        await this.db.batch(group.flatMap((p) => p.ops), { sync: this.sync })
        this.stats.batches++
        this.stats.ops += count
        for (const p of group) p.resolve()
      } catch (err: any) {
        for (const p of group) p.reject(err)
      }
    }
  }
}
