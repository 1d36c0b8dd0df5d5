/**
 * Scenario `relay`: live chat over gossipsub, 10 processes (1 bootstrap, 6 servers, 3 client-role
 * nodes). Measures direct-message end-to-end latency (send() called in one client process → 'message'
 * event in another) at 100, 500 and 1,000 msgs/s offered, direct-message throughput at saturation, and a
 * room's fan-out to 50 members spread over the client processes; each beside raw gossipsub between the
 * same processes in the same run (publisher and receiver client processes, three servers relaying, as
 * for an inbox shard).
 *
 * The servers run with the per-sender rate limit lifted (it would refuse a single sender at 1,000/s by
 * design). Every send is also stored at W = 2 of N = 3 owners: the live path shares the CPU with the
 * durable one, as it does in a real node.
 */

import { randomInt } from 'node:crypto'
import type { AgentHandle } from './lib/agent-handle.js'
import type { SendLoadReport } from './lib/agent-protocol.js'
import { sleep, wallClock } from './lib/clock.js'
import { startClients, startCluster } from './lib/cluster.js'
import * as C from './lib/constants.js'
import { PAYLOAD_HEADER_BYTES } from './lib/payload.js'
import { summarize, type Summary } from './lib/percentile.js'
import { drain, prepareRawTopic, runRawPhase, type PhaseResult } from './lib/raw-gossipsub.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { budgetFigures, cpuFigure, measured, startMeasure, type WorkBudget } from './lib/work.js'

const REPLICAS = 3
const WRITE_QUORUM = 2
const REQUEST_TIMEOUT_MS = 300_000
/** Offered direct-message rates, msgs/s. */
const RATES = [100, 500, 1000]
/** The raw baseline's topic. */
const RAW_TOPIC = '/chorus/bench/relay-raw'

export const relayScenario: Scenario = {
  name: 'relay',
  summary: '10 processes: DM end-to-end latency at 100/500/1000 msgs/s, DM saturation, room fan-out to 50 members; ratio to raw gossipsub',
  flags: [
    { name: 'servers', help: 'server processes', default: 6, min: 3, max: C.MAX_NODES },
    { name: 'seconds', help: 'length of each load phase', default: C.DEFAULT_SECONDS, min: 1, max: C.MAX_SECONDS },
    { name: 'size', help: 'message text bytes', default: C.DEFAULT_SIZE, min: PAYLOAD_HEADER_BYTES * 4, max: C.MAX_SIZE },
    { name: 'window', help: 'sends in flight in the saturation phase', default: 64, min: 1, max: 4096 },
    { name: 'members', help: 'room members (the poster included)', default: 50, min: 2, max: 1000 },
    { name: 'room-rate', help: 'room posts/s offered (each is delivered to every other member)', default: 10, min: 1, max: 10_000 }
  ],
  run: runRelay
}

async function runRelay (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { servers, seconds, size, window, members } = ctx.params
  const roomRate = ctx.params['room-rate']
  ctx.progress(`topology: 1 bootstrap + ${servers} servers + 3 client processes; N = ${REPLICAS}, W = ${WRITE_QUORUM}`)
  const cluster = await startCluster(ctx.pool, {
    servers,
    progress: ctx.progress,
    replication: C.UNLIMITED,
    relay: C.UNLIMITED
  })
  const clients = await startClients(ctx.pool, cluster, ['send', 'recv', 'room'], { replicas: REPLICAS, writeQuorum: WRITE_QUORUM })
  const [sender, receiver] = clients
  await sender.request('openUser', { handle: 'alice' }, REQUEST_TIMEOUT_MS)
  await receiver.request('openUser', { handle: 'bob' }, REQUEST_TIMEOUT_MS)
  await receiver.request('watchUser', { handle: 'bob' })
  await sleep(1500) // a gossipsub heartbeat or two: bob's relays graft him into his shard's mesh

  const figures: Figure[] = []
  const details: Record<string, unknown> = { servers, seconds, size }

  ctx.progress('raw gossipsub baseline: client → client, servers relaying, same rates')
  // the same shape as an inbox shard: the two clients and three relaying servers (clients are not
  // connected to each other, as in Chorus: the publisher reaches the receiver through the relays)
  const rawAgents = [sender, receiver, ...cluster.servers.slice(0, REPLICAS)]
  await prepareRawTopic(rawAgents, RAW_TOPIC, undefined, REPLICAS)
  const raw: Record<string, PhaseResult> = {}
  for (const rate of RATES) raw[rate] = await runRawPhase(rawAgents, 'paced', { rate, seconds, size, topic: RAW_TOPIC })
  raw.saturate = await runRawPhase(rawAgents, 'saturate', { rate: 1, seconds, size, topic: RAW_TOPIC })
  details.raw = raw
  const rawAtReceiver = (p: PhaseResult): Summary => p.latencyByReceiverMs[receiver.name]
  const rawRateAtReceiver = (p: PhaseResult): number =>
    p.receivers.find((r) => r.name === receiver.name)?.deliveredPerSec ?? NaN

  const dm: Record<string, unknown> = {}
  for (const rate of RATES) {
    ctx.progress(`direct messages: ${rate} msgs/s offered for ${seconds} s`)
    const { result: r, budget } = await measured(ctx, `DM ${rate}/s`,
      async () => await dmPhase(sender, receiver, { mode: 'paced', rate, window, seconds, size }), (x) => x.send.acked)
    dm[rate] = { ...r, work: budget }
    const base = rawAtReceiver(raw[rate])
    figures.push(
      { metric: `DM ${rate}/s: end-to-end latency p50`, value: r.latency.p50, unit: 'ms' },
      { metric: `DM ${rate}/s: end-to-end latency p99`, value: r.latency.p99, unit: 'ms' },
      { metric: `DM ${rate}/s: delivered live`, value: 100 * r.delivered / Math.max(1, r.send.acked + r.send.failed), unit: '%' },
      { metric: `DM ${rate}/s: acknowledged sends/s (W=${WRITE_QUORUM})`, value: r.send.acked / ((r.send.endedAt - r.send.startedAt) / 1000), unit: 'sends/s' },
      { metric: `raw gossipsub ${rate}/s: latency p50 / p99`, value: base.p50, unit: `ms (p99 ${base.p99.toFixed(1)})` },
      { metric: `DM ${rate}/s: p50 ÷ raw p50`, value: r.latency.p50 / base.p50, unit: '×' },
      cpuFigure(`DM ${rate}/s`, budget)
    )
  }
  ctx.progress(`direct messages: saturation, ${window} in flight`)
  const { result: sat, budget: satWork } = await measured(ctx, 'DM saturation',
    async () => await dmPhase(sender, receiver, { mode: 'saturate', rate: 1, window, seconds, size }),
    (x) => x.send.acked)
  dm.saturate = { ...sat, work: satWork }
  const rawSat = rawRateAtReceiver(raw.saturate)
  figures.push(
    { metric: 'DM saturation: delivered live msgs/s', value: sat.deliveredPerSec, unit: 'msgs/s' },
    { metric: 'DM saturation: latency p50', value: sat.latency.p50, unit: 'ms' },
    { metric: 'raw gossipsub saturation: delivered msgs/s', value: rawSat, unit: 'msgs/s' },
    { metric: 'DM saturation ÷ raw gossipsub saturation', value: sat.deliveredPerSec / rawSat, unit: '×' },
    cpuFigure('DM saturation', satWork),
    { metric: 'raw gossipsub saturation: CPU per message, all processes', value: raw.saturate.cpu.perMessageMs, unit: 'ms' },
    ...budgetFigures('DM saturation', satWork)
  )
  details.dm = dm

  ctx.progress(`room: ${members} members over the 3 client processes, ${roomRate} posts/s`)
  const room = await roomPhase(ctx, clients, members, { rate: roomRate, seconds, size, window })
  details.room = room
  figures.push({ metric: `room fan-out to ${members - 1}: CPU per post, all processes`, value: room.work.cpuMsPerSend.all, unit: 'ms' })
  const base = rawAtReceiver(raw[RATES[0]])
  figures.push(
    { metric: `room fan-out to ${members - 1}: latency p50`, value: room.latency.p50, unit: 'ms' },
    { metric: `room fan-out to ${members - 1}: latency p99`, value: room.latency.p99, unit: 'ms' },
    { metric: `room fan-out to ${members - 1}: delivered`, value: 100 * room.deliveredFraction, unit: '%' },
    { metric: `room fan-out p50 ÷ raw gossipsub ${RATES[0]}/s p50`, value: room.latency.p50 / base.p50, unit: '×' }
  )
  return { figures, details }
}

interface DmResult {
  send: SendLoadReport
  delivered: number
  deliveredPerSec: number
  duplicates: number
  latency: Summary
}

async function dmPhase (
  sender: AgentHandle,
  receiver: AgentHandle,
  o: { mode: 'paced' | 'saturate', rate: number, window: number, seconds: number, size: number }
): Promise<DmResult> {
  const runId = randomInt(1, 2 ** 31)
  const send = await sender.request('sendLoad',
    { from: 'alice', to: 'bob', mode: o.mode, rate: o.rate, window: o.window, seconds: o.seconds, count: 0, size: o.size, runId },
    REQUEST_TIMEOUT_MS)
  await drain([receiver], runId, send.acked + send.failed)
  const got = await receiver.request('collect', { runId })
  return {
    send: { ...send, latenciesMs: [] },
    delivered: got.received,
    deliveredPerSec: got.received / ((got.lastAt - send.startedAt) / 1000),
    duplicates: got.duplicates,
    latency: summarize(got.latenciesMs)
  }
}

async function roomPhase (
  ctx: ScenarioContext,
  clients: AgentHandle[],
  members: number,
  o: { rate: number, seconds: number, size: number, window: number }
): Promise<{
  posts: SendLoadReport
  deliveredFraction: number
  perProcess: Record<string, number>
  latency: Summary
  work: WorkBudget
}> {
  const [poster] = clients
  const { roomId } = await poster.request('roomCreate', { handle: 'alice', name: 'bench' }, REQUEST_TIMEOUT_MS)
  const where = new Map<AgentHandle, number>(clients.map((c) => [c, 0]))
  for (let i = 1; i < members; i++) {
    const agent = clients[i % clients.length]
    const handle = `member-${i}`
    await agent.request('openUser', { handle }, REQUEST_TIMEOUT_MS)
    await agent.request('roomJoin', { handle, roomId }, REQUEST_TIMEOUT_MS)
    await agent.request('watchUser', { handle })
    where.set(agent, (where.get(agent) ?? 0) + 1)
  }
  await sleep(2000) // relays and members graft into the room topic's mesh
  const runId = randomInt(1, 2 ** 31)
  const t0 = wallClock()
  const meter = await startMeasure(ctx, 'room fan-out')
  const posts = await poster.request('sendLoad',
    { from: 'alice', to: `room:${roomId}`, mode: 'paced', rate: o.rate, window: o.window, seconds: o.seconds, count: 0, size: o.size, runId },
    REQUEST_TIMEOUT_MS)
  ctx.progress(`room: ${posts.acked} posts in ${Math.round(wallClock() - t0)} ms; draining`)
  const holders = clients.filter((c) => (where.get(c) ?? 0) > 0)
  // each process counts a (member, post) pair once: it must reach posts × its members
  const expected = Math.max(...holders.map((c) => (where.get(c) ?? 0) * posts.acked))
  await drain(holders, runId, expected)
  const got = await Promise.all(
    holders.map(async (c) => ({ name: c.name, n: where.get(c) ?? 0, ...(await c.request('collect', { runId })) }))
  )
  const work = await meter.stop(posts.acked)
  const delivered = got.reduce((a, g) => a + g.received, 0)
  return {
    posts: { ...posts, latenciesMs: [] },
    deliveredFraction: delivered / Math.max(1, posts.acked * (members - 1)),
    perProcess: Object.fromEntries(got.map((g) => [g.name, g.received / Math.max(1, g.n * posts.acked)])),
    latency: summarize(got.flatMap((g) => g.latenciesMs)),
    work
  }
}
