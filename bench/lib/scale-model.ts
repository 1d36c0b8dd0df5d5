/**
 * The arithmetic of the `scale` scenario, pure and unit-tested: each server's share of the servers' CPU in
 * a phase, and the capacity model that turns one machine's measurements (work) into what servers on
 * separate machines would carry (capacity).
 */

import { median } from './percentile.js'
import type { WorkSample } from './work.js'

/** How the servers' CPU of one phase was spread over them. */
export interface ServerShares {
  /** CPU of each server in the phase, ms, by agent name */
  cpuMs: Record<string, number>
  /** sum over the servers, ms */
  totalMs: number
  /** the busiest server's share of `totalMs` (0..1) */
  busiest: number
  /** the median server's share */
  median: number
  /** busiest ÷ (1 / servers): 1 is a perfectly even spread */
  busiestTimesServers: number
}

/** Each server's CPU between two snapshots (agents missing from either are left out). */
export function serverShares (before: readonly WorkSample[], after: readonly WorkSample[]): ServerShares {
  const cpuMs: Record<string, number> = {}
  for (const b of after) {
    if (b.role !== 'server') continue
    const a = before.find((x) => x.name === b.name)
    if (a != null) cpuMs[b.name] = b.cpuMs - a.cpuMs
  }
  const values = Object.values(cpuMs)
  const totalMs = values.reduce((s, v) => s + v, 0)
  const shares = values.map((v) => (totalMs > 0 ? v / totalMs : NaN))
  const busiest = shares.length > 0 ? Math.max(...shares) : NaN
  return { cpuMs, totalMs, busiest, median: median(shares), busiestTimesServers: busiest * values.length }
}

/** What the model needs of one mesh size. */
export interface ScaleMeasurement {
  servers: number
  /** CPU per acknowledged send of the load phase, server processes only, ms (idle work included) */
  serverCpuMsPerSend: number
  /** acknowledged sends per second of the load phase */
  sendsPerSec: number
  /**
   * seconds the load phase's meter ran per second of sending (≥ 1: the drain after the last send, while
   * the work it left queued finished, is metered too); the idle work of that whole window is taken out
   * @default 1
   */
  meteredPerLoadSecond?: number
  /** idle CPU of a server, ms per second: the median server, and the busiest */
  idleMsPerSecMedian: number
  idleMsPerSecMax: number
  /** the busiest server's share of the servers' CPU in the load phase */
  busiestShare: number
}

/** The capacity model of one mesh size: servers of one core each, on separate machines. */
export interface CapacityModel {
  servers: number
  /** servers' CPU per send once their idle work is taken out, ms (the work a send adds) */
  marginalMsPerSend: number
  /** of that, the busiest server's part, ms: what one send costs the server that saturates first */
  busiestMsPerSend: number
  /** a core's ms per second left for sends on the busiest server, after its idle work */
  coreLeftMs: number
  /** sends per second the whole mesh carries when its busiest server's core is full */
  meshSendsPerSec: number
  /** `meshSendsPerSec` ÷ servers */
  perServerSendsPerSec: number
}

/** A core, in CPU ms per second. */
const CORE_MS = 1000

/**
 * The capacity of a mesh of one-core servers: the busiest server saturates first, when its idle work
 * plus its share of every send fills its core. The idle work is taken out of the load phase's CPU
 * at the median server's idle rate (the phase ran `sendsPerSec` sends a second, and its meter ran
 * `meteredPerLoadSecond` seconds per second of sending: idle ms per send = servers × idle ms/s ×
 * metered ÷ sends/s).
 */
export function capacityModel (m: ScaleMeasurement): CapacityModel {
  const metered = m.meteredPerLoadSecond ?? 1
  const idlePerSend = m.sendsPerSec > 0 ? (m.servers * m.idleMsPerSecMedian * metered) / m.sendsPerSec : NaN
  const marginalMsPerSend = Math.max(0, m.serverCpuMsPerSend - idlePerSend)
  const busiestMsPerSend = marginalMsPerSend * m.busiestShare
  const coreLeftMs = Math.max(0, CORE_MS - m.idleMsPerSecMax)
  const meshSendsPerSec = busiestMsPerSend > 0 ? coreLeftMs / busiestMsPerSend : NaN
  return {
    servers: m.servers,
    marginalMsPerSend,
    busiestMsPerSend,
    coreLeftMs,
    meshSendsPerSec,
    perServerSendsPerSec: meshSendsPerSec / m.servers
  }
}

/** A goal on the ratio of the largest size to the smallest: the ratio and whether it is met. */
export function goalRatio (smallest: number, largest: number, atMost: number): { ratio: number, met: boolean } {
  const ratio = largest / smallest
  return { ratio, met: Number.isFinite(ratio) && ratio <= atMost }
}
