/**
 * Raw gossipsub between agent processes: the BASELINE that Chorus-level scenarios compare against. The
 * first agent publishes on a dedicated topic, every other agent receives and records one-way latency.
 * Phase `paced` offers a fixed rate; phase `saturate` publishes as fast as the publisher's buffers allow.
 */

import { randomInt } from 'node:crypto'
import { cpus } from 'node:os'
import type { AgentHandle } from './agent-handle.js'
import type { AgentCommands, PublishReport } from './agent-protocol.js'
import { sleep, waitUntil, wallClock } from './clock.js'
import * as C from './constants.js'
import { median, summarize, type Summary } from './percentile.js'

/** Parameters of a raw run. */
export interface RawGossipsubOptions {
  rate: number
  seconds: number
  size: number
  /** @default DEFAULT_RAW_TOPIC */ topic?: string
  /** @default DEFAULT_MESH_TIMEOUT_MS */ meshTimeoutMs?: number
}

/** One receiver's share of a phase. */
export interface ReceiverResult { name: string, received: number, duplicates: number, deliveredPerSec: number }

/** The outcome of one phase. */
export interface PhaseResult {
  mode: AgentCommands['publish']['mode']
  publisher: PublishReport
  offeredPerSec: number
  receivers: ReceiverResult[]
  /** received / (sent × receivers) */
  deliveredFraction: number
  minDeliveredFraction: number
  deliveredPerSecMedian: number
  deliveredPerSecMin: number
  /** one-way latency over every message at every receiver, ms */
  latencyMs: Summary
  /** the same, per receiver (by agent name) */
  latencyByReceiverMs: Record<string, Summary>
  /** CPU time of every agent (publisher and receivers) from the first publish to the end of the drain */
  cpu: { totalMs: number, perMessageMs: number, machinePercent: number }
}

/** The outcome of `runRawGossipsub`. */
export interface RawGossipsubResult {
  topic: string
  agents: number
  /** from subscribing to every gossipsub mesh being formed, ms */
  meshReadyMs: number
  /** each agent's gossipsub mesh size on the topic when measuring started */
  meshPeers: number[]
  paced: PhaseResult
  saturation: PhaseResult
}

/**
 * Subscribe every agent to `topic` and wait until the publisher (`agents[0]`) knows every other subscriber
 * (it flood-publishes to them) and every agent has a mesh (it forwards along it). Some receivers missing one
 * another's subscription does not stop delivery, so it is not waited for: under load it can take long.
 * Returns the ms taken and each agent's mesh size (copies of every message a node receives grow with it).
 * `publisherSees`: how many subscribers the publisher is connected to (all others, unless some are reached
 * only through relays).
 */
export async function prepareRawTopic (
  agents: readonly AgentHandle[],
  topic: string,
  timeoutMs: number = C.DEFAULT_MESH_TIMEOUT_MS,
  publisherSees = agents.length - 1
): Promise<{ readyMs: number, meshPeers: number[] }> {
  const t0 = wallClock()
  await Promise.all(agents.map(async (a) => await a.request('subscribe', { topic })))
  const others = publisherSees
  const meshTarget = Math.min(C.DEFAULT_MIN_MESH_PEERS, others)
  let seen = ''
  let meshPeers: number[] = []
  await waitUntil(`gossipsub meshes on ${topic} (publisher: ${others} subscribers; every node: ≥ ${meshTarget} mesh peers)`, async () => {
    const s = await Promise.all(agents.map(async (a) => await a.request('meshStatus', { topic })))
    seen = s.map((x) => `${x.subscribers}/${x.meshPeers}`).join(' ')
    meshPeers = s.map((x) => x.meshPeers)
    return s[0].subscribers >= others && s.every((x) => x.meshPeers >= meshTarget)
  }, timeoutMs, 100, () => `subscribers/mesh peers per node: ${seen}`)
  return { readyMs: wallClock() - t0, meshPeers }
}

/** One publishing phase from `agents[0]` to all the others, drained and collected. */
export async function runRawPhase (
  agents: readonly AgentHandle[],
  mode: PhaseResult['mode'],
  opts: RawGossipsubOptions
): Promise<PhaseResult> {
  const [publisher, ...receivers] = agents
  const topic = opts.topic ?? C.DEFAULT_RAW_TOPIC
  const runId = randomInt(1, 2 ** 31)
  const cpuBefore = await cpuMs(agents)
  const report = await publisher.request('publish',
    { topic, runId, mode, rate: opts.rate, seconds: opts.seconds, size: opts.size },
    opts.seconds * 1000 + C.DEFAULT_REQUEST_TIMEOUT_MS)
  await drain(receivers, runId, report.sent)
  const cpuTotal = (await cpuMs(agents)) - cpuBefore
  const cpuWindowMs = wallClock() - report.startedAt
  const collected = await Promise.all(receivers.map(async (r) => ({ name: r.name, ...(await r.request('collect', { runId })) })))
  const perReceiver = collected.map((c): ReceiverResult => ({
    name: c.name,
    received: c.received,
    duplicates: c.duplicates,
    deliveredPerSec: c.received === 0 ? 0 : c.received / ((c.lastAt - report.startedAt) / 1000)
  }))
  const sent = Math.max(1, report.sent)
  return {
    mode,
    publisher: report,
    offeredPerSec: report.sent / ((report.endedAt - report.startedAt) / 1000),
    receivers: perReceiver,
    deliveredFraction: collected.reduce((a, c) => a + c.received, 0) / (sent * receivers.length),
    minDeliveredFraction: Math.min(...collected.map((c) => c.received / sent)),
    deliveredPerSecMedian: median(perReceiver.map((r) => r.deliveredPerSec)),
    deliveredPerSecMin: Math.min(...perReceiver.map((r) => r.deliveredPerSec)),
    latencyMs: summarize(collected.flatMap((c) => c.latenciesMs)),
    latencyByReceiverMs: Object.fromEntries(collected.map((c) => [c.name, summarize(c.latenciesMs)])),
    cpu: {
      totalMs: cpuTotal,
      perMessageMs: cpuTotal / sent,
      machinePercent: 100 * cpuTotal / (cpuWindowMs * cpus().length)
    }
  }
}

/** CPU time (user + system) used so far by all of `agents`, ms. */
export async function cpuMs (agents: readonly AgentHandle[]): Promise<number> {
  const stats = await Promise.all(agents.map(async (a) => await a.request('stats', {})))
  return stats.reduce((sum, s) => sum + s.cpuUserMs + s.cpuSystemMs, 0)
}

/** Subscribe, wait for meshes, then run the paced phase and the saturation phase. `agents[0]` publishes. */
export async function runRawGossipsub (
  agents: readonly AgentHandle[],
  opts: RawGossipsubOptions
): Promise<RawGossipsubResult> {
  if (agents.length < 2) throw new RangeError('raw gossipsub needs a publisher and at least one receiver')
  const topic = opts.topic ?? C.DEFAULT_RAW_TOPIC
  const { readyMs: meshReadyMs, meshPeers } = await prepareRawTopic(agents, topic, opts.meshTimeoutMs)
  const paced = await runRawPhase(agents, 'paced', { ...opts, topic })
  const saturation = await runRawPhase(agents, 'saturate', { ...opts, topic })
  return { topic, agents: agents.length, meshReadyMs, meshPeers, paced, saturation }
}

/**
 * Wait until every receiver has `sent` messages (per receiver), or none has received
 * anything for a quiet period (bounded).
 */
export async function drain (receivers: readonly AgentHandle[], runId: number, sent: number): Promise<void> {
  const deadline = Date.now() + C.DEFAULT_DRAIN_TIMEOUT_MS
  let last = -1
  let lastChange = Date.now()
  while (Date.now() < deadline) {
    const p = await Promise.all(receivers.map(async (r) => await r.request('progress', { runId })))
    const total = p.reduce((a, x) => a + x.received, 0)
    if (p.every((x) => x.received >= sent)) return
    if (total !== last) {
      last = total
      lastChange = Date.now()
    } else if (Date.now() - lastChange >= C.DEFAULT_DRAIN_QUIET_MS) return
    await sleep(100)
  }
}
