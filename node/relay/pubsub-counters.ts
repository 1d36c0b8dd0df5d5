/**
 * Gossipsub's own accounting, kept cheaply. Gossipsub reports what it does (RPC frames and bytes sent
 * and received, messages published and forwarded, IHAVE / IWANT / GRAFT / PRUNE / IDONTWANT entries,
 * duplicates) to a metrics register when it is given one. Its usual register is prom-client, which
 * hashes labels on every call; this one keeps a plain number for each figure Chorus reads, summed over
 * topics, and hands gossipsub a no-op for every other figure. What it counts is exposed as
 * `chorus_pubsub_*` metrics and read by the benchmarks (work per send).
 */

import type { MetricsRegister } from '@libp2p/gossipsub/metrics'

/** The gossipsub figures kept, by gossipsub's metric name → Chorus's short name. */
export const PUBSUB_FIGURES = {
  gossipsub_rpc_sent_count_total: 'rpcSent',
  gossipsub_rpc_sent_bytes_total: 'rpcSentBytes',
  gossipsub_rpc_recv_count_total: 'rpcReceived',
  gossipsub_rpc_recv_bytes_total: 'rpcReceivedBytes',
  gossipsub_rpc_sent_message_total: 'messagesSent',
  gossipsub_rpc_recv_message_total: 'messagesReceived',
  gossipsub_rpc_sent_ihave_total: 'ihaveSent',
  gossipsub_rpc_sent_iwant_total: 'iwantSent',
  gossipsub_rpc_sent_idontwant_total: 'idontwantSent',
  gossipsub_rpc_sent_graft_total: 'graftSent',
  gossipsub_rpc_sent_prune_total: 'pruneSent',
  gossipsub_msg_publish_count_total: 'published',
  gossipsub_msg_forward_count_total: 'forwarded',
  gossipsub_pre_validation_duplicate_total: 'duplicates'
} as const

/** The short names of the kept figures. */
export type PubsubFigure = typeof PUBSUB_FIGURES[keyof typeof PUBSUB_FIGURES]

/** Counts of the kept figures since the node started. */
export type PubsubCounts = Record<PubsubFigure, number>

const noop = (): void => {}
const NOOP_GAUGE = { inc: noop, set: noop, addCollect: noop }
const NOOP_HISTOGRAM = { startTimer: () => noop, observe: noop, reset: noop }
const NOOP_AVG = { set: noop }

/** A gossipsub metrics register that counts the figures in `PUBSUB_FIGURES` and ignores the rest. */
export class PubsubCounters {
  private readonly counts = Object.fromEntries(Object.values(PUBSUB_FIGURES).map((f) => [f, 0])) as PubsubCounts

  /** Pass as gossipsub's `metricsRegister` (with an empty `metricsTopicStrToLabel`). */
  readonly register: MetricsRegister = {
    gauge: ({ name }: { name: string }) => {
      const figure = (PUBSUB_FIGURES as Record<string, PubsubFigure>)[name]
      if (figure == null) return NOOP_GAUGE as any
      // gossipsub calls inc(value) without labels and inc(labels, value) with them; sum over labels
      const inc = (a?: number | object, b?: number): void => {
        this.counts[figure] += typeof a === 'number' ? a : a == null ? 1 : (b ?? 1)
      }
      return { inc, set: noop, addCollect: noop } as any
    },
    histogram: () => NOOP_HISTOGRAM as any,
    avgMinMax: () => NOOP_AVG as any
  }

  /** A copy of the counts. */
  snapshot (): PubsubCounts {
    return { ...this.counts }
  }
}
