/**
 * Scenario `floor`: what the bare minimum durable send costs on this machine (issue 23 asks for ≤ 1 ms of
 * CPU per send summed over every process; Chorus's full path costs ~3 ms at saturation, ~20 ms paced).
 * A stripped-down prototype of Chorus's write path, in separate processes like every other scenario:
 *
 * - three owner processes and `clients` client processes, each a bare libp2p node on Chorus's transport
 *   (TCP + noise + yamux, no other service; bench/lib/floor-node.ts), over one stream per link opened
 *   before measuring;
 * - a client holds envelopes signed beforehand with Chorus's `signEnvelope` (`size` body bytes) and sends
 *   each as ONE length-prefixed frame to the primary owner (bench/lib/floor-client.ts);
 * - the primary decodes it, verifies the signature once, forwards it in one frame to both other owners and
 *   writes it to LevelDB through Chorus's group commit (synced batches); each replica writes it (synced)
 *   and acknowledges; the primary acknowledges the client at W = 2 copies on disk
 *   (bench/lib/floor-owner.ts).
 *
 * Each variant (bench/lib/floor-summary.ts: replicas verify or trust the primary, no verification, no
 * fsync, neither, transport only) runs at saturation (`window` sends in flight) and paced (`rate` sends/s),
 * in `rounds` interleaved slices (the order rotates every round) adding up to `seconds` per variant and
 * mode, so that noise, and LevelDB's compactions behind the writes, fall on every variant alike. Measured:
 * acknowledged sends/s, CPU per acknowledged send summed over every process and per role (clients,
 * primary, replicas; from `process.cpuUsage()` before and after each slice, the after once the owners have
 * nothing outstanding and every process is quiet again, so LevelDB's compactions are counted), latency
 * send → acknowledgement p50 / p99, LevelDB batches per send; and each term's cost as the difference
 * between two variants that differ in it alone.
 */

import type { AgentHandle } from './lib/agent-handle.js'
import { sleep } from './lib/clock.js'
import * as C from './lib/constants.js'
import type { FloorClientInfo, FloorLoadReport, FloorStats } from './lib/floor-protocol.js'
import {
  FLOOR_VARIANTS, floorTerms, formatFloorMatrix, summarizeFloor, variantOrder,
  type FloorMode, type FloorSlice, type FloorVariant
} from './lib/floor-summary.js'
import { summarize } from './lib/percentile.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'

const OWNERS = 3
const WRITE_QUORUM = 2
/** Envelopes each client signs beforehand and sends in turn (each send gets its own LevelDB key). */
const ENVELOPE_POOL = 4096
/** How long an owner may take to have nothing outstanding after a slice. */
const SETTLE_MS = 10_000
/** The unmeasured warm-up: JIT, stream windows, LevelDB's first files. */
const WARMUP_MS = 1500
/** The idle window measured before the load: what the processes cost doing nothing. */
const IDLE_MS = 2000
/**
 * After each slice's last acknowledgement, its meter runs on until every process together uses under
 * QUIET_CPU_MS of CPU in QUIET_SAMPLE_MS (at most QUIET_MAX_MS): LevelDB compacts behind the writes in its
 * own threads, and that work belongs to the slice that wrote, not to the next one.
 */
const QUIET_SAMPLE_MS = 250
const QUIET_CPU_MS = 10
const QUIET_MAX_MS = 5000

/** The `floor` scenario. */
export const floorScenario: Scenario = {
  name: 'floor',
  summary: 'the bare minimum durable send (signed envelope → primary → 2 replicas, synced LevelDB, W = 2) on bare libp2p: CPU per send by term',
  flags: [
    { name: 'rate', help: 'offered sends/s of the paced slices, all clients together', default: 500, min: 1, max: 100_000 },
    { name: 'seconds', help: 'measured seconds per variant and mode, over all rounds', default: C.DEFAULT_SECONDS, min: 1, max: C.MAX_SECONDS },
    { name: 'window', help: 'sends in flight at saturation, all clients together', default: 256, min: 1, max: 4096 },
    { name: 'size', help: 'envelope body bytes', default: 100, min: 1, max: 64 * 1024 },
    { name: 'clients', help: 'client processes', default: 1, min: 1, max: 4 },
    { name: 'rounds', help: 'interleaved slices per variant and mode', default: 3, min: 1, max: 20 }
  ],
  timeoutMs: 30 * 60_000,
  run: runFloor
}

/** The processes of a run, by role. */
interface Topology { primary: AgentHandle, replicas: AgentHandle[], clients: AgentHandle[] }

async function startTopology (ctx: ScenarioContext): Promise<{ topo: Topology, client: FloorClientInfo }> {
  const { size, clients: clientCount } = ctx.params
  const owners = ctx.pool.forkMany('floor-owner', OWNERS)
  const clients = ctx.pool.forkMany('floor-client', clientCount)
  await Promise.all([...owners, ...clients].map(async (a) => await a.ready))
  const start = async (a: AgentHandle, role: 'owner' | 'client'): Promise<{ addr: string, client?: FloorClientInfo }> => {
    const r = await a.request('floorStart', { role, size, pool: ENVELOPE_POOL }, 60_000)
    return { addr: `${r.multiaddrs[0]}`, client: r.client }
  }
  const ownerInfo = await Promise.all(owners.map(async (o) => await start(o, 'owner')))
  const clientInfo = await Promise.all(clients.map(async (c) => await start(c, 'client')))
  const [primary, ...replicas] = owners
  await primary.request('floorLink', { peers: ownerInfo.slice(1).map((o) => o.addr), writeQuorum: WRITE_QUORUM }, 30_000)
  const toPrimary = { peers: [ownerInfo[0].addr], writeQuorum: WRITE_QUORUM }
  await Promise.all(clients.map(async (c) => await c.request('floorLink', toPrimary, 30_000)))
  const client = clientInfo[0].client
  if (client == null) throw new Error('the client did not report its envelopes')
  return { topo: { primary, replicas, clients }, client }
}

/** Every process's stats, the primary first (once it has nothing outstanding, the replicas are done too). */
/** Every floor process's stats at one moment, by role. */
interface Snapshot { primary: FloorStats, replicas: FloorStats[], clients: FloorStats[] }

async function statsOf (t: Topology, settleMs: number): Promise<Snapshot> {
  const primary = await t.primary.request('floorStats', { settleMs }, settleMs + 10_000)
  const [replicas, clients] = await Promise.all([t.replicas, t.clients].map(async (group) =>
    await Promise.all(group.map(async (a) => await a.request('floorStats', { settleMs }, settleMs + 10_000)))))
  return { primary, replicas, clients }
}

/** CPU of every process together, ms. */
function totalCpu (s: Snapshot): number {
  return [s.primary, ...s.replicas, ...s.clients].reduce((a, x) => a + x.cpuMs, 0)
}

/** Wait until the processes are quiet (see QUIET_CPU_MS); the ms waited and the last snapshot. */
async function awaitQuiet (t: Topology): Promise<{ waitedMs: number, snapshot: Snapshot }> {
  const t0 = Date.now()
  let snapshot = await statsOf(t, 0)
  while (Date.now() - t0 < QUIET_MAX_MS) {
    await sleep(QUIET_SAMPLE_MS)
    const next = await statsOf(t, 0)
    const used = totalCpu(next) - totalCpu(snapshot)
    snapshot = next
    if (used < QUIET_CPU_MS) break
  }
  return { waitedMs: Date.now() - t0, snapshot }
}

/** One slice: configure the owners for `v`, load for `ms`, and what it cost. */
async function runSlice (
  ctx: ScenarioContext,
  t: Topology,
  v: FloorVariant,
  mode: FloorMode,
  round: number,
  ms: number
): Promise<FloorSlice> {
  const { rate, window } = ctx.params
  const n = t.clients.length
  await Promise.all([
    t.primary.request('floorConfigure', v.primary),
    ...t.replicas.map(async (r) => await r.request('floorConfigure', v.replicas))
  ])
  const before = await statsOf(t, 0)
  const reports: FloorLoadReport[] = await Promise.all(t.clients.map(async (c) =>
    await c.request('floorLoad', { mode, window: Math.max(1, Math.round(window / n)), rate: rate / n, ms }, ms + 60_000)))
  const settled = await statsOf(t, SETTLE_MS)
  const outstanding = settled.primary.outstanding
  if (outstanding > 0) {
    throw new Error(`${v.name} ${mode}: ${outstanding} envelopes still not on every owner after ${SETTLE_MS} ms`)
  }
  const { waitedMs: quietMs, snapshot: after } = await awaitQuiet(t)
  const cpu = (a: FloorStats[], b: FloorStats[]): number => b.reduce((sum, s, i) => sum + s.cpuMs - a[i].cpuMs, 0)
  const owners = (s: Snapshot): FloorStats[] => [s.primary, ...s.replicas]
  const ownerSum = (s: Snapshot, f: (x: FloorStats) => number): number => owners(s).reduce((a, x) => a + f(x), 0)
  const rejected = ownerSum(after, (x) => x.rejected) - ownerSum(before, (x) => x.rejected)
  if (rejected > 0) throw new Error(`${v.name} ${mode}: ${rejected} envelopes rejected by the owners`)
  return {
    variant: v.name,
    mode,
    round,
    acked: reports.reduce((a, r) => a + r.acked, 0),
    unacked: reports.reduce((a, r) => a + r.unacked, 0),
    ms: Math.max(...reports.map((r) => r.endedAt)) - Math.min(...reports.map((r) => r.startedAt)),
    cpuMs: {
      client: cpu(before.clients, after.clients),
      primary: after.primary.cpuMs - before.primary.cpuMs,
      replicas: cpu(before.replicas, after.replicas)
    },
    batches: ownerSum(after, (x) => x.batches) - ownerSum(before, (x) => x.batches),
    quietMs,
    latenciesMs: reports.flatMap((r) => r.latenciesMs)
  }
}

async function runFloor (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { rate, seconds, window, size, clients, rounds } = ctx.params
  ctx.progress(`topology: ${OWNERS} owner processes (1 primary, ${OWNERS - 1} replicas, W = ${WRITE_QUORUM}) + ${clients} client process(es), bare libp2p (TCP + noise + yamux)`)
  const { topo, client } = await startTopology(ctx)
  ctx.progress(`envelope: ${client.envelopeBytes} bytes (${size} body bytes); sign ${client.signMs.toFixed(3)} ms, decode + verify ${client.verifyMs.toFixed(3)} ms (one client, measured at start)`)

  const idleBefore = await statsOf(topo, 0)
  await sleep(IDLE_MS)
  const idleAfter = await statsOf(topo, 0)
  const idleCpuMsPerSec = (totalCpu(idleAfter) - totalCpu(idleBefore)) / (IDLE_MS / 1000)

  ctx.progress(`warm-up: ${WARMUP_MS} ms at saturation per variant (not counted)`)
  for (const v of FLOOR_VARIANTS) await runSlice(ctx, topo, v, 'saturate', -1, WARMUP_MS / FLOOR_VARIANTS.length)

  const sliceMs = (seconds * 1000) / rounds
  ctx.progress(`${FLOOR_VARIANTS.length} variants × saturation (${window} in flight) and paced (${rate}/s), ${rounds} rounds of ${Math.round(sliceMs)} ms slices`)
  const slices: FloorSlice[] = []
  for (let round = 0; round < rounds; round++) {
    for (const v of variantOrder(FLOOR_VARIANTS, round)) {
      for (const mode of ['saturate', 'paced'] as const) {
        const s = await runSlice(ctx, topo, v, mode, round, sliceMs)
        slices.push(s)
        const perSec = (s.acked / (s.ms / 1000)).toFixed(0).padStart(6)
        const cpu = ((s.cpuMs.client + s.cpuMs.primary + s.cpuMs.replicas) / s.acked).toFixed(3)
        ctx.progress(`round ${round + 1}/${rounds} ${mode.padEnd(8)} ${v.name.padEnd(22)} ${perSec} sends/s, ${cpu} ms CPU/send`)
      }
    }
  }

  const rows = summarizeFloor(slices)
  const terms = floorTerms(rows)
  ctx.progress(`summary (CPU per acknowledged send, ms, by role):\n${formatFloorMatrix(rows)}`)
  const figures: Figure[] = [
    { metric: 'envelope size', value: client.envelopeBytes, unit: 'B' },
    { metric: 'client: sign one envelope (not counted below)', value: client.signMs, unit: 'ms' },
    { metric: 'decode + verify one envelope, one process alone', value: client.verifyMs, unit: 'ms' },
    { metric: 'idle CPU, all processes', value: idleCpuMsPerSec, unit: 'ms/s' }
  ]
  for (const r of rows) {
    const label = `${r.mode === 'saturate' ? 'saturation' : `paced ${rate}/s`} · ${r.variant}`
    figures.push(
      { metric: `${label}: acknowledged sends/s`, value: r.sendsPerSec, unit: 'sends/s' },
      { metric: `${label}: CPU per send, all processes`, value: r.cpuMsPerSend.all, unit: 'ms' },
      { metric: `${label}: CPU per send, client`, value: r.cpuMsPerSend.client, unit: 'ms' },
      { metric: `${label}: CPU per send, primary`, value: r.cpuMsPerSend.primary, unit: 'ms' },
      { metric: `${label}: CPU per send, replicas`, value: r.cpuMsPerSend.replicas, unit: 'ms' },
      { metric: `${label}: latency p50`, value: r.latencyMs.p50, unit: 'ms' },
      { metric: `${label}: latency p99`, value: r.latencyMs.p99, unit: 'ms' },
      { metric: `${label}: LevelDB batches per send, all owners`, value: r.batchesPerSend, unit: 'batches' }
    )
    if (r.unacked > 0) figures.push({ metric: `${label}: unacknowledged sends`, value: r.unacked, unit: 'sends' })
  }
  for (const t of terms) {
    figures.push({ metric: `term (${t.mode === 'saturate' ? 'saturation' : 'paced'}): ${t.term}`, value: t.cpuMsPerSend, unit: 'ms' })
  }
  return {
    figures,
    details: {
      owners: OWNERS,
      writeQuorum: WRITE_QUORUM,
      envelopePool: ENVELOPE_POOL,
      sliceMs,
      client,
      idleCpuMsPerSec,
      variants: FLOOR_VARIANTS,
      rows,
      terms,
      slices: slices.map((s) => ({ ...s, latenciesMs: summarize(s.latenciesMs) }))
    }
  }
}
