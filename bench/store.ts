/**
 * Scenario `store`: 1 bootstrap + N server processes (default 5) and client-role sender/receiver
 * processes. Measures acknowledged sends (W owners have the envelope synced to disk) per second and
 * their latency at W = 1, 2, 3 with N = 3, side by side with raw gossipsub between the same servers in
 * the same run; then the repair of a mailbox after one of its owners is SIGKILLed.
 */

import { Ring, keyPoint } from '../protocol/ring.js'
import type { AgentHandle } from './lib/agent-handle.js'
import type { SendLoadReport } from './lib/agent-protocol.js'
import { wallClock, waitUntil } from './lib/clock.js'
import { startClients, startCluster, type Cluster } from './lib/cluster.js'
import * as C from './lib/constants.js'
import { summarize } from './lib/percentile.js'
import { runRawGossipsub } from './lib/raw-gossipsub.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { PAYLOAD_HEADER_BYTES } from './lib/payload.js'
import { budgetFigures, cpuFigure, measured, waitForQuiet } from './lib/work.js'

const REPLICAS = 3
const REQUEST_TIMEOUT_MS = 300_000

/** The `store` scenario. */
export const storeScenario: Scenario = {
  name: 'store',
  summary: 'N servers: acknowledged sends/s and latency at W = 1, 2, 3 (N = 3), repair after an owner dies; ratio to raw gossipsub',
  flags: [
    { name: 'nodes', help: 'server processes', default: 5, min: 3, max: C.MAX_NODES },
    { name: 'rate', help: 'offered sends/s of the paced phase (and of the raw baseline)', default: C.DEFAULT_RATE, min: 1, max: 100_000 },
    { name: 'seconds', help: 'length of each load phase', default: C.DEFAULT_SECONDS, min: 1, max: C.MAX_SECONDS },
    { name: 'window', help: 'sends in flight in the saturation phase', default: 64, min: 1, max: 4096 },
    { name: 'size', help: 'message text bytes', default: C.DEFAULT_SIZE, min: PAYLOAD_HEADER_BYTES, max: C.MAX_SIZE },
    { name: 'repair', help: 'envelopes in the mailbox whose owner is killed (0 skips the repair phase)', default: 10_000, min: 0, max: 1_000_000 }
  ],
  run: runStore
}

/** A sender and a receiver, each a client-role process, with a given write quorum. */
async function clientPair (
  ctx: ScenarioContext,
  cluster: Cluster,
  label: string,
  writeQuorum: number
): Promise<{ sender: AgentHandle, receiver: AgentHandle, to: string, from: string, toId: string }> {
  const [sender, receiver] = await startClients(ctx.pool, cluster, [`${label}-send`, `${label}-recv`], { replicas: REPLICAS, writeQuorum })
  const to = `bob-${label}`
  const from = `alice-${label}`
  const { userId: toId } = await receiver.request('openUser', { handle: to }, REQUEST_TIMEOUT_MS)
  await sender.request('openUser', { handle: from }, REQUEST_TIMEOUT_MS)
  return { sender, receiver, to, from, toId }
}

function phaseFigures (label: string, r: SendLoadReport): Figure[] {
  const secs = (r.endedAt - r.startedAt) / 1000
  const lat = summarize(r.latenciesMs)
  return [
    { metric: `${label}: acknowledged sends/s`, value: r.acked / secs, unit: 'sends/s' },
    { metric: `${label}: failed sends`, value: r.failed, unit: 'sends' },
    { metric: `${label}: latency p50`, value: lat.p50, unit: 'ms' },
    { metric: `${label}: latency p99`, value: lat.p99, unit: 'ms' }
  ]
}

/** A server this busy or less is done with the last phase's work (idle: 20–30 ms/s). */
const QUIET_MS_PER_SEC_PER_SERVER = 60
/** The longest the store phases wait for that. */
const QUIET_MAX_MS = 60_000

async function runStore (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { nodes, rate, seconds, window, size, repair } = ctx.params
  ctx.progress(`topology: 1 bootstrap + ${nodes} server processes, client-role sender and receiver processes per W; N = ${REPLICAS}`)
  const cluster = await startCluster(ctx.pool, {
    servers: nodes,
    progress: ctx.progress,
    replication: C.UNLIMITED,
    relay: C.UNLIMITED
  })

  ctx.progress(`raw gossipsub baseline between the servers: ${rate} msgs/s paced, then saturation`)
  const raw = await runRawGossipsub(cluster.servers, { rate, seconds, size })
  // the saturation phase leaves each receiver tens of thousands of duplicates to read (every message the
  // other receiver forwarded, queued in its outbound stream); measured, they kept the servers busy for
  // 15–30 s and put a 300 ms stall in the first store phase's p99
  const waited = await waitForQuiet(cluster.servers, QUIET_MS_PER_SEC_PER_SERVER * cluster.servers.length, QUIET_MAX_MS)
  ctx.progress(`the servers were quiet ${waited} ms after the raw baseline`)
  const figures: Figure[] = [
    { metric: 'raw gossipsub paced: latency p50', value: raw.paced.latencyMs.p50, unit: 'ms' },
    { metric: 'raw gossipsub paced: latency p99', value: raw.paced.latencyMs.p99, unit: 'ms' },
    { metric: 'raw gossipsub saturation: delivered msgs/s per receiver', value: raw.saturation.deliveredPerSecMedian, unit: 'msgs/s' },
    { metric: 'raw gossipsub saturation: CPU per message, all processes', value: raw.saturation.cpu.perMessageMs, unit: 'ms' }
  ]
  const details: Record<string, unknown> = { raw, perQuorum: {} }

  for (const w of [1, 2, 3]) {
    ctx.progress(`W = ${w}: paced ${rate} sends/s for ${seconds} s, then saturation with ${window} in flight`)
    const pair = await clientPair(ctx, cluster, `w${w}`, w)
    const load = (mode: 'paced' | 'saturate') => async () => {
      const cmd = { from: pair.from, to: pair.to, mode, rate, window, seconds, count: 0, size }
      return await pair.sender.request('sendLoad', cmd, REQUEST_TIMEOUT_MS)
    }
    const { result: paced, budget: pacedWork } = await measured(ctx, `W=${w} paced`, load('paced'), (r) => r.acked)
    const { result: saturated, budget: saturatedWork } = await measured(ctx, `W=${w} saturation`, load('saturate'), (r) => r.acked)
    figures.push(...phaseFigures(`W=${w} paced ${rate}/s`, paced), cpuFigure(`W=${w} paced ${rate}/s`, pacedWork))
    figures.push(...phaseFigures(`W=${w} saturation`, saturated), cpuFigure(`W=${w} saturation`, saturatedWork))
    const perSec = saturated.acked / ((saturated.endedAt - saturated.startedAt) / 1000)
    figures.push({ metric: `W=${w} saturation ÷ raw gossipsub saturation`, value: perSec / raw.saturation.deliveredPerSecMedian, unit: '×' })
    if (w === 2) figures.push(...budgetFigures('W=2 saturation', saturatedWork))
    ;(details.perQuorum as Record<string, unknown>)[w] = {
      paced: { ...paced, latenciesMs: summarize(paced.latenciesMs), work: pacedWork },
      saturated: { ...saturated, latenciesMs: summarize(saturated.latenciesMs), work: saturatedWork }
    }
    await Promise.all([pair.sender, pair.receiver].map(async (a) => await a.request('stop', {}, 30_000).catch(() => {})))
  }

  if (repair > 0) figures.push(...await measureRepair(ctx, cluster, repair, window, size, details))
  return { figures, details }
}

/** Fill one mailbox, SIGKILL its primary owner, time until its new owner set holds every envelope. */
async function measureRepair (
  ctx: ScenarioContext,
  cluster: Cluster,
  count: number,
  window: number,
  size: number,
  details: Record<string, unknown>
): Promise<Figure[]> {
  const pair = await clientPair(ctx, cluster, 'repair', 2)
  ctx.progress(`repair: storing ${count} envelopes in ${pair.to}'s mailbox`)
  const fill = await pair.sender.request('sendLoad',
    { from: pair.from, to: pair.to, mode: 'saturate', rate: 1, window, seconds: C.MAX_SECONDS, count, size },
    REQUEST_TIMEOUT_MS)
  const point = keyPoint('user', pair.toId)
  const owners = new Ring(cluster.peerIds.map((peerId) => ({ peerId }))).owners(point, REPLICAS)
  const victim = cluster.servers[cluster.peerIds.indexOf(owners[0])]
  const survivors = cluster.servers.filter((s) => s !== victim)
  const survivorIds = cluster.peerIds.filter((id) => id !== owners[0])
  const newOwners = new Ring(survivorIds.map((peerId) => ({ peerId }))).owners(point, REPLICAS)
  const newOwnerAgents = newOwners.map((id) => cluster.servers[cluster.peerIds.indexOf(id)])
  const gainer = newOwners.find((id) => !owners.includes(id))
  ctx.progress(`repair: ${fill.acked} acknowledged; SIGKILL ${victim.name}; ${gainer != null ? 'its range moves to a new owner' : 'no new owner'}`)

  const killedAt = wallClock()
  victim.child.kill('SIGKILL')
  let detectedAt = NaN
  await waitUntil('the survivors to drop the killed owner', async () => {
    const views = await Promise.all(survivors.map(async (s) => (await s.request('stats', {})).servers))
    return views.every((n) => n === survivors.length)
  }, 60_000, 100)
  detectedAt = wallClock()
  await waitUntil(`${REPLICAS} copies of ${fill.acked} envelopes on the new owners`, async () => {
    const counts = await Promise.all(newOwnerAgents.map(async (a) => (await a.request('mailboxCount', { mailbox: pair.toId })).count))
    return counts.every((c) => c >= fill.acked)
  }, 120_000, 100)
  const doneAt = wallClock()
  details.repair = { envelopes: fill.acked, owners, newOwners, killed: victim.name, killedAt, detectedAt, doneAt }
  return [
    { metric: 'repair: envelopes in the mailbox', value: fill.acked, unit: 'envelopes' },
    { metric: 'repair: SIGKILL → dropped from every view', value: detectedAt - killedAt, unit: 'ms' },
    { metric: `repair: dropped → ${REPLICAS} copies on the new owners`, value: doneAt - detectedAt, unit: 'ms' },
    { metric: 'repair: SIGKILL → N copies again', value: doneAt - killedAt, unit: 'ms' }
  ]
}
