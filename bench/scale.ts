/**
 * Scenario `scale`: does adding servers add capacity? One offered load, the same for every mesh size,
 * against meshes of `--sizes` servers (default 3, 6 and 12) one after the other in one run, each with
 * N = 3, W = 2 and its own bootstrap and `clients` client processes.
 *
 * The users (their handles hash them over the whole keyspace) live in the client processes, spread in
 * turn: `pairs` pairs of users chatting (each user of a pair in another process, both directions),
 * `rooms` public rooms of `members` members each (every member posts in turn), and `idle` sessions that
 * only stay open. Per size, after `settle` seconds (the servers' anti-entropy absorbs what opening the
 * sessions wrote):
 *
 * - an idle phase of `idle-seconds`: nothing is sent; CPU of each server per second (membership,
 *   anti-entropy, the sessions' upkeep), and the bytes a server sends per second;
 * - a load phase of `seconds`: `rate` sends a second in all, paced, over every (sender, target) pair;
 *   CPU per acknowledged send summed over every process (servers, clients, bootstrap) and over the
 *   servers alone; each server's share of the servers' CPU (busiest and median); bytes and frames per
 *   send; acknowledged and failed sends; latency (send → W owners on disk) p50 / p99.
 *
 * Then the issue's goals as ratios of the largest size to the smallest, and the capacity model
 * (bench/lib/scale-model.ts) of each size. On one machine every process shares the same cores: the
 * figures are work, not capacity; the model turns them into capacity for servers on separate machines.
 */

import { MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL, STORE_PROTOCOL } from '../protocol/constants.js'
import type { AgentHandle } from './lib/agent-handle.js'
import type { MixLoadReport } from './lib/agent-protocol.js'
import { sleep } from './lib/clock.js'
import { startClients, startCluster, stopAgents } from './lib/cluster.js'
import * as C from './lib/constants.js'
import { PAYLOAD_HEADER_BYTES } from './lib/payload.js'
import { median, summarize } from './lib/percentile.js'
import { capacityModel, goalRatio, serverShares, type CapacityModel, type ServerShares } from './lib/scale-model.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { startMeasure, waitForQuiet, type WorkBudget, type WorkSample } from './lib/work.js'

const REPLICAS = 3
const WRITE_QUORUM = 2
const OPEN_TIMEOUT_MS = 300_000
const LOAD_TIMEOUT_MS = 300_000
/** Sessions a client process opens at once. */
const OPEN_CONCURRENCY = 4
/**
 * The goals: CPU per send, largest ÷ smallest mesh; busiest share × servers; idle CPU per server,
 * largest ÷ smallest ("flat": read here as within the same 10 % as CPU per send).
 */
/**
 * After the last send, the load phase's meter keeps running until the work the sends left queued
 * (deliveries, receipts, the recipients' syncs, anti-entropy) is done: until every process together is
 * back within DRAIN_MARGIN of its idle CPU rate (plus DRAIN_SLACK_MS_PER_SEC for the sampling itself) over
 * one DRAIN_STEP_MS, for at most DRAIN_MAX_MS. Without it a size that fell behind left part of its work
 * outside the meter and read cheaper than it was.
 */
const DRAIN_STEP_MS = 500
const DRAIN_MARGIN = 1.25
const DRAIN_SLACK_MS_PER_SEC = 20
const DRAIN_MAX_MS = 20_000

const GOALS = { cpuGrowth: 1.1, busiestTimesServers: 1.5, idleGrowth: 1.1 }

export const scaleScenario: Scenario = {
  name: 'scale',
  summary: 'one paced load (pairs, rooms, idle sessions) against meshes of 3, 6 and 12 servers: CPU per send, each server\'s share, idle CPU per server, bytes and frames per send; capacity model',
  flags: [
    { name: 'rate', help: 'sends/s offered in the load phase, over all users (the same for every size)', default: 50, min: 1, max: 10_000 },
    { name: 'seconds', help: 'length of the load phase of each size', default: 10, min: 1, max: C.MAX_SECONDS },
    { name: 'idle-seconds', help: 'length of the idle phase of each size', default: 8, min: 1, max: C.MAX_SECONDS },
    { name: 'warmup', help: 'seconds of the same load, not measured, before settling (first contacts, JIT)', default: 3, min: 0, max: C.MAX_SECONDS },
    { name: 'settle', help: 'seconds between the warm-up and the idle phase', default: 10, min: 0, max: 120 },
    { name: 'pairs', help: 'pairs of users sending each other direct messages', default: 16, min: 1, max: 500 },
    { name: 'rooms', help: 'public rooms whose members post in turn', default: 2, min: 0, max: 50 },
    { name: 'members', help: 'members of each room', default: 4, min: 2, max: 100 },
    { name: 'idle', help: 'more sessions that stay open and send nothing', default: 16, min: 0, max: 2000 },
    { name: 'clients', help: 'client processes hosting the users', default: 3, min: 2, max: 16 },
    { name: 'size', help: 'message text bytes', default: C.DEFAULT_SIZE, min: PAYLOAD_HEADER_BYTES, max: C.MAX_SIZE }
  ],
  listFlags: [
    { name: 'sizes', help: 'mesh sizes (server processes), measured in this order', default: [3, 6, 12], min: 3, max: 32, maxItems: 6 }
  ],
  timeoutMs: 1_800_000,
  run: runScale
}

/** Everything measured on one mesh size. */
interface SizeResult {
  servers: number
  users: { pairs: number, roomMembers: number, idle: number, total: number }
  idle: {
    seconds: number
    perServerMsPerSec: Record<string, number>
    medianMsPerSec: number
    maxMsPerSec: number
    /** the non-server processes, ms per second */
    clientsMsPerSec: number
    bootstrapMsPerSec: number
    /** bytes a server sends per second (the mean over servers), by libp2p protocol (`global`: the sockets) */
    byProtocolPerServerPerSec: Record<string, number>
    budget: WorkBudget
  }
  load: {
    acked: number
    failed: number
    errors: Record<string, number>
    ackedByKind: { dm: number, room: number }
    seconds: number
    /** seconds from the last send until the processes were back at their idle CPU rate (metered too) */
    drainSeconds: number
    sendsPerSec: number
    /** sends issued (acknowledged or failed) ÷ the offered rate × seconds: below 1, the generator fell behind */
    issuedOfOffered: number
    /** CPU per send, all processes, with the idle phase's CPU rate taken out: the work a send adds, ms */
    addedMsPerSendAll: number
    latencyMs: ReturnType<typeof summarize>
    framesPerSend: number
    shares: ServerShares
    budget: WorkBudget
  }
  model: CapacityModel
  timings: unknown
}

async function runScale (ctx: ScenarioContext): Promise<ScenarioResult> {
  const sizes = ctx.lists.sizes
  const p = ctx.params
  const results: SizeResult[] = []
  for (const servers of sizes) results.push(await measureSize(ctx, servers))
  const figures: Figure[] = results.flatMap(sizeFigures)
  figures.push(...goalFigures(results))
  return {
    figures,
    details: {
      sizes,
      replicas: REPLICAS,
      writeQuorum: WRITE_QUORUM,
      offered: {
        rate: p.rate,
        seconds: p.seconds,
        pairs: p.pairs,
        rooms: p.rooms,
        members: p.members,
        idle: p.idle,
        clients: p.clients,
        size: p.size
      },
      goals: GOALS,
      perSize: results
    }
  }
}

/** Users of one client process, by role. */
interface Placed { handle: string, agent: AgentHandle }

async function measureSize (ctx: ScenarioContext, servers: number): Promise<SizeResult> {
  const p = ctx.params
  const say = (line: string): void => { ctx.progress(`[${servers} servers] ${line}`) }
  const cluster = await startCluster(ctx.pool, { servers, progress: say, replication: C.UNLIMITED, relay: C.UNLIMITED })
  const clients = await startClients(ctx.pool, cluster, Array.from({ length: p.clients }, (_, i) => `s${servers}-${i}`),
    { replicas: REPLICAS, writeQuorum: WRITE_QUORUM })
  try {
    // users in turn over the client processes: consecutive users are in different processes
    const total = 2 * p.pairs + p.rooms * p.members + p.idle
    const perClient = (i: number): number => Math.floor(total / p.clients) + (i < total % p.clients ? 1 : 0)
    say(`opening ${total} sessions in ${p.clients} client processes`)
    const opened = await Promise.all(clients.map(async (c, i) =>
      await c.request('openUsers', { prefix: `u${i}-`, count: perClient(i), concurrency: OPEN_CONCURRENCY }, OPEN_TIMEOUT_MS)))
    const failedOpen = opened.reduce((n, o) => n + o.failed, 0)
    if (failedOpen > 0) throw new Error(`${failedOpen} of ${total} sessions did not open: ${JSON.stringify(opened.map((o) => o.errors))}`)
    const users: Placed[] = []
    for (let k = 0; users.length < total; k++) {
      clients.forEach((agent, i) => { if (k < perClient(i)) users.push({ handle: `u${i}-${k}`, agent }) })
    }
    const targets = new Map<AgentHandle, Array<{ from: string, to: string }>>(clients.map((c) => [c, []]))
    const addTarget = (from: Placed, to: string): void => { targets.get(from.agent)?.push({ from: from.handle, to }) }
    for (let k = 0; k < p.pairs; k++) {
      const [a, b] = [users[2 * k], users[2 * k + 1]]
      addTarget(a, b.handle)
      addTarget(b, a.handle)
    }
    for (let r = 0; r < p.rooms; r++) {
      const members = users.slice(2 * p.pairs + r * p.members, 2 * p.pairs + (r + 1) * p.members)
      const { roomId } = await members[0].agent.request('roomCreate', { handle: members[0].handle, name: `scale-${r}` }, OPEN_TIMEOUT_MS)
      for (const m of members.slice(1)) await m.agent.request('roomJoin', { handle: m.handle, roomId }, OPEN_TIMEOUT_MS)
      for (const m of members) addTarget(m, `room:${roomId}`)
    }
    const allTargets = [...targets.values()].reduce((n, t) => n + t.length, 0)
    const runLoad = async (seconds: number): Promise<MixLoadReport[]> =>
      await Promise.all([...targets].map(async ([agent, list]) => {
        const cmd = { targets: list, rate: p.rate * list.length / allTargets, seconds, size: p.size }
        return await agent.request('mixLoad', cmd, LOAD_TIMEOUT_MS)
      }))
    say(`${p.pairs} pairs, ${p.rooms} rooms of ${p.members}, ${p.idle} idle sessions; warm-up ${p.warmup} s, then settling ${p.settle} s`)
    if (p.warmup > 0) await runLoad(p.warmup)
    await sleep(p.settle * 1000)

    say(`idle for ${p['idle-seconds']} s`)
    const idleMeter = await startMeasure(ctx, `${servers} servers idle`)
    await sleep(p['idle-seconds'] * 1000)
    const idleSeconds = p['idle-seconds']
    const idle = await idleMeter.stopSampled(idleSeconds)
    const idleShares = serverShares(idle.before, idle.after)
    const perServerMsPerSec = Object.fromEntries(Object.entries(idleShares.cpuMs).map(([k, v]) => [k, v / idleSeconds]))
    const idleByProtocol = serverBytesByProtocol(idle.before, idle.after, servers * idleSeconds)

    say(`load: ${p.rate} sends/s over ${allTargets} (sender, target) pairs for ${p.seconds} s`)
    const loadMeter = await startMeasure(ctx, `${servers} servers load`)
    const reports = await runLoad(p.seconds)
    const quietRate = idle.budget.cpuMsPerSend.all * DRAIN_MARGIN + DRAIN_SLACK_MS_PER_SEC
    const drainSeconds = await waitForQuiet(ctx.pool.agents, quietRate, DRAIN_MAX_MS, DRAIN_STEP_MS) / 1000
    const acked = reports.reduce((n, r) => n + r.acked, 0)
    const load = await loadMeter.stopSampled(acked)
    const shares = serverShares(load.before, load.after)
    const errors: Record<string, number> = {}
    for (const r of reports) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
    const seconds = (Math.max(...reports.map((r) => r.endedAt)) - Math.min(...reports.map((r) => r.startedAt))) / 1000
    const b = load.budget
    const framesPerSend = b.paths.clientToOwners.frames + b.paths.ownerToOwner.frames + b.paths.antiEntropy.frames +
      b.paths.clientSync.frames + b.live.frames + b.pubsub.rpcFrames
    const sendsPerSec = acked / seconds
    const failed = reports.reduce((n, r) => n + r.failed, 0)
    const perServerIdle = Object.values(perServerMsPerSec)
    const result: SizeResult = {
      servers,
      users: { pairs: 2 * p.pairs, roomMembers: p.rooms * p.members, idle: p.idle, total },
      idle: {
        seconds: idleSeconds,
        perServerMsPerSec,
        medianMsPerSec: median(perServerIdle),
        maxMsPerSec: Math.max(...perServerIdle),
        // the idle meter counted seconds as its sends: its CPU per send is CPU per second
        clientsMsPerSec: idle.budget.cpuMsPerSend.clients,
        bootstrapMsPerSec: idle.budget.cpuMsPerSend.bootstrap,
        byProtocolPerServerPerSec: idleByProtocol,
        budget: idle.budget
      },
      load: {
        acked,
        failed,
        errors,
        ackedByKind: {
          dm: reports.reduce((n, r) => n + r.ackedByKind.dm, 0),
          room: reports.reduce((n, r) => n + r.ackedByKind.room, 0)
        },
        seconds,
        drainSeconds,
        sendsPerSec,
        issuedOfOffered: (acked + failed) / (p.rate * p.seconds),
        addedMsPerSendAll: b.cpuMsPerSend.all -
          idle.budget.cpuMsPerSend.all * (seconds + drainSeconds) / Math.max(1, acked),
        latencyMs: summarize(reports.flatMap((r) => r.latenciesMs)),
        framesPerSend,
        shares,
        budget: b
      },
      model: capacityModel({
        servers,
        serverCpuMsPerSend: b.cpuMsPerSend.servers,
        sendsPerSec,
        meteredPerLoadSecond: (seconds + drainSeconds) / seconds,
        idleMsPerSecMedian: median(perServerIdle),
        idleMsPerSecMax: Math.max(...perServerIdle),
        busiestShare: shares.busiest
      }),
      timings: cluster.timings
    }
    const cpu = b.cpuMsPerSend
    say(`${acked} acknowledged, ${result.load.failed} failed; CPU per send ${cpu.all.toFixed(2)} ms ` +
      `(servers ${cpu.servers.toFixed(2)}); busiest server ${(100 * shares.busiest).toFixed(1)} %; ` +
      `idle ${result.idle.medianMsPerSec.toFixed(1)} ms/s per server`)
    return result
  } finally {
    say('stopping this mesh')
    await stopAgents([...clients, ...cluster.servers, cluster.bootstrap])
  }
}

/** Bytes the servers sent per `per` (server-seconds), by libp2p protocol (`global`: the sockets). */
function serverBytesByProtocol (
  before: readonly WorkSample[],
  after: readonly WorkSample[],
  per: number
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const b of after) {
    if (b.role !== 'server' || b.work == null) continue
    const a = before.find((x) => x.name === b.name)?.work
    if (a == null) continue
    for (const [protocol, w] of Object.entries(b.work.wire)) {
      out[protocol] = (out[protocol] ?? 0) + (w.sent - (a.wire[protocol]?.sent ?? 0)) / per
    }
  }
  return out
}

function sizeFigures (r: SizeResult): Figure[] {
  const at = `${r.servers} servers`
  const l = r.load
  const b = l.budget
  const row = (what: string, value: number, unit: string): Figure => ({ metric: `${at}: ${what}`, value, unit })
  return [
    row('idle CPU per server (median)', r.idle.medianMsPerSec, 'ms/s'),
    row('idle CPU per server (busiest)', r.idle.maxMsPerSec, 'ms/s'),
    row('idle bytes sent per server', r.idle.byProtocolPerServerPerSec.global ?? NaN, 'B/s'),
    row('idle bytes sent per server, membership', membershipBytes(r.idle.byProtocolPerServerPerSec), 'B/s'),
    row('idle bytes sent per server, store (anti-entropy)', r.idle.byProtocolPerServerPerSec[STORE_PROTOCOL] ?? NaN, 'B/s'),
    row('idle CPU, all processes (servers, clients, bootstrap)', r.idle.budget.cpuMsPerSend.all, 'ms/s'),
    row('load: acknowledged sends/s', l.sendsPerSec, 'sends/s'),
    row('load: sends issued ÷ offered (below 100: the machine fell behind)', 100 * l.issuedOfOffered, '%'),
    row('load: failed sends', l.failed, 'sends'),
    row('load: drain after the last send (metered)', l.drainSeconds, 's'),
    row('load: latency p50', l.latencyMs.p50, 'ms'),
    row('load: latency p99', l.latencyMs.p99, 'ms'),
    row('CPU per send, all processes', b.cpuMsPerSend.all, 'ms'),
    row('CPU per send, server processes', b.cpuMsPerSend.servers, 'ms'),
    row('CPU per send, client processes', b.cpuMsPerSend.clients, 'ms'),
    row('CPU a send adds, all processes (idle rate taken out)', l.addedMsPerSendAll, 'ms'),
    row('busiest server\'s share of server CPU', 100 * l.shares.busiest, '%'),
    row('median server\'s share of server CPU', 100 * l.shares.median, '%'),
    row(`busiest share × servers (goal ≤ ${GOALS.busiestTimesServers})`, l.shares.busiestTimesServers,
      verdict(l.shares.busiestTimesServers <= GOALS.busiestTimesServers)),
    row('bytes on the wire per send, all processes', b.wireBytes, 'B'),
    row('frames per send (store + live + gossipsub)', l.framesPerSend, 'frames'),
    row('gossipsub RPC frames per send', b.pubsub.rpcFrames, 'frames'),
    row('model: server CPU a send adds (idle taken out)', r.model.marginalMsPerSend, 'ms'),
    row('model: … of it on the busiest server', r.model.busiestMsPerSend, 'ms'),
    row('model: mesh capacity, one core per server', r.model.meshSendsPerSec, 'sends/s'),
    row('model: … per server', r.model.perServerSendsPerSec, 'sends/s')
  ]
}

function verdict (met: boolean): string { return met ? '× (goal met)' : '× (goal NOT met)' }

/** The goals as ratios of the largest size to the smallest (12 ÷ 3 by default), and the other growths. */
function goalFigures (results: readonly SizeResult[]): Figure[] {
  if (results.length < 2) return []
  const sorted = [...results].sort((a, b) => a.servers - b.servers)
  const lo = sorted[0]
  const hi = sorted[sorted.length - 1]
  const vs = `${hi.servers} ÷ ${lo.servers} servers`
  const cpu = goalRatio(lo.load.budget.cpuMsPerSend.all, hi.load.budget.cpuMsPerSend.all, GOALS.cpuGrowth)
  const idle = goalRatio(lo.idle.medianMsPerSec, hi.idle.medianMsPerSec, GOALS.idleGrowth)
  const info = (what: string, a: number, b: number): Figure => ({ metric: `${vs}: ${what}`, value: b / a, unit: '×' })
  return [
    { metric: `goal ≤ ${GOALS.cpuGrowth}: ${vs}, CPU per send, all processes`, value: cpu.ratio, unit: verdict(cpu.met) },
    info('CPU per send, server processes', lo.load.budget.cpuMsPerSend.servers, hi.load.budget.cpuMsPerSend.servers),
    info('CPU a send adds, all processes (idle rate taken out)', lo.load.addedMsPerSendAll, hi.load.addedMsPerSendAll),
    {
      metric: `goal ≤ ${GOALS.busiestTimesServers}: busiest share × servers at ${hi.servers} servers`,
      value: hi.load.shares.busiestTimesServers,
      unit: verdict(hi.load.shares.busiestTimesServers <= GOALS.busiestTimesServers)
    },
    { metric: `goal flat (≤ ${GOALS.idleGrowth}): ${vs}, idle CPU per server (median)`, value: idle.ratio, unit: verdict(idle.met) },
    info('idle bytes sent per server, membership', membershipBytes(lo.idle.byProtocolPerServerPerSec),
      membershipBytes(hi.idle.byProtocolPerServerPerSec)),
    info('bytes per send', lo.load.budget.wireBytes, hi.load.budget.wireBytes),
    info('frames per send', lo.load.framesPerSend, hi.load.framesPerSend),
    info('model: server CPU a send adds', lo.model.marginalMsPerSend, hi.model.marginalMsPerSend),
    {
      metric: `${vs}: model mesh capacity (${(hi.servers / lo.servers).toFixed(1)} if it scaled)`,
      value: hi.model.meshSendsPerSec / lo.model.meshSendsPerSec,
      unit: '×'
    }
  ]
}

/** Membership's bytes under both of its protocols (a link, and the one-request streams older peers use). */
function membershipBytes (byProtocol: Record<string, number>): number {
  return (byProtocol[MEMBERSHIP_LINK_PROTOCOL] ?? 0) + (byProtocol[MEMBERSHIP_PROTOCOL] ?? 0)
}
