/**
 * The change counters behind PROBE (node/replication/handlers/probe.ts): what an idle session and
 * anti-entropy ask an owner instead of listing or digesting a mailbox.
 */

import { randomBytes } from 'node:crypto'

/**
 * One write as the sketch saw it: the mailbox's counter went from `before` to `after`, and `cursors` are
 * the entries the write added (none for a deletion or an expiry).
 */
export interface SketchChange {
  mailbox: string
  before: bigint
  after: bigint
  cursors: Uint8Array[]
  /** the added entries' envelopes, in the order of `cursors` (when the writer had them) */
  envelopes: Uint8Array[]
}

/** What one write added to one mailbox: the entries' cursors and, when known, their envelopes. */
export interface Added { cursors: Uint8Array[], envelopes: Uint8Array[] }

/** Slots of the change sketch: mailboxes share a counter when their names hash alike (a wasted sync, no more). */
const CHANGE_SLOTS = 1 << 16

/**
 * Which mailboxes changed here, cheaply: a counter per slot, bumped after every write to a mailbox of
 * the slot is on disk (entries, tombstones, expiries, handed-off deletions), and an epoch drawn at each
 * start (counters start again from 0 with it). A reader that saw (epoch, counter) of its mailbox before a
 * sync, and sees the same pair later, knows nothing was written there since: its sync can wait. 256 KiB
 * whatever the number of mailboxes.
 */
export class ChangeSketch {
  readonly epoch = randomBytes(8).readBigUInt64BE()
  private readonly counters = new Uint32Array(CHANGE_SLOTS)
  /** told of every bump, synchronously (node/replication/watches.ts pushes them to watching nodes) */
  private listener?: (changes: SketchChange[]) => void

  /** Be told of every write (one listener: the owner's push of changes). */
  listen (listener: ((changes: SketchChange[]) => void) | undefined): void {
    this.listener = listener
  }

  /** The change counter of `mailbox` (≥ 1). */
  version (mailbox: string): bigint {
    return BigInt(this.counters[slotOf(mailbox)]) + 1n
  }

  /**
   * Note a write to each of `mailboxes` (after it is visible to readers); `added` names the entries the
   * write added, by mailbox.
   */
  bump (mailboxes: Iterable<string>, added?: ReadonlyMap<string, Added>): void {
    const changes: SketchChange[] = []
    for (const m of mailboxes) {
      const i = slotOf(m)
      const before = BigInt(this.counters[i]) + 1n
      this.counters[i] = (this.counters[i] + 1) >>> 0
      const a = added?.get(m)
      const after = BigInt(this.counters[i]) + 1n
      changes.push({ mailbox: m, before, after, cursors: a?.cursors ?? [], envelopes: a?.envelopes ?? [] })
    }
    if (changes.length > 0) this.listener?.(changes)
  }
}

/** FNV-1a of a mailbox name, to a sketch slot. */
function slotOf (mailbox: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < mailbox.length; i++) {
    h ^= mailbox.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) & (CHANGE_SLOTS - 1)
}
