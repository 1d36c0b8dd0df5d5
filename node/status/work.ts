/**
 * What a node has done since it started, in the units a send costs: CPU time, frames and bytes of the
 * store protocol by request kind and direction, gossipsub RPCs (published, forwarded, IHAVE, IWANT …),
 * frames of the live hop, LevelDB writes, envelopes replicated by kind, and bytes on the wire by libp2p protocol. Every
 * figure is a running total; the difference of two snapshots divided by the sends in between is the work per
 * send (the benchmarks do exactly that, summed over every process of a mesh).
 */

import type { Registry } from 'prom-client'
import type { LiveCounts } from '../relay/live.js'
import type { PubsubCounts } from '../relay/pubsub-counters.js'
import type { TrafficSnapshot } from '../replication/traffic.js'
import type { WriteCounts } from '../store/db.js'

/** A node's running totals. */
export interface WorkSnapshot {
  /** this process's CPU time (ms; every node of the process together when several share it) */
  cpu: { userMs: number, systemMs: number }
  /** the store protocol; `null` on a bootstrap peer */
  store: TrafficSnapshot | null
  /** envelopes this node replicated (its users' sends, receipts included), by envelope kind */
  envelopesWritten: Record<string, number>
  /** LevelDB: every write call and its operations, and the synced group-commit batches among them */
  db: WriteCounts & { syncedBatches: number, syncedOps: number }
  /** gossipsub's own counts */
  pubsub: PubsubCounts
  /**
   * the live hop of inbox traffic (frames and bytes by direction, envelopes passed on as a
   * relay); `null` without a relay
   */
  live: (LiveCounts & { relayed: number }) | null
  /** bytes by libp2p protocol and direction (`global` is the socket, after encryption and muxing) */
  wire: Record<string, { sent: number, received: number }>
}

/** The libp2p byte counters in `registry` (`libp2p_data_transfer_bytes_total`), by protocol. */
export async function wireBytes (registry: Registry): Promise<WorkSnapshot['wire']> {
  const metric = registry.getSingleMetric('libp2p_data_transfer_bytes_total')
  const out: WorkSnapshot['wire'] = {}
  if (metric == null) return out
  for (const v of (await metric.get()).values) {
    const m = /^(.*) (sent|received)$/.exec(String(v.labels.protocol ?? ''))
    if (m == null) continue
    out[m[1]] ??= { sent: 0, received: 0 }
    out[m[1]][m[2] as 'sent' | 'received'] += v.value
  }
  return out
}
