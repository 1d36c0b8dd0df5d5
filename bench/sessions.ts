/**
 * Scenario `sessions`: what an open session costs when nobody writes. 1 bootstrap, S servers (N = 3 of
 * them own every user at the default S = 3, so every server serves every session), and C client
 * processes that open `sessions` user sessions between them. Measures:
 *
 * - a server's RSS and heap idle (just after the mesh formed, and again after `quiet` seconds in which
 *   nothing happened: startup's burst of allocation grows V8's young generation, which V8 gives back once
 *   the process has been quiet for a while), with the client nodes connected (also after `quiet`
 *   seconds), and with every session open: the memory per connected client node and per open session, on
 *   every server (the median is reported);
 * - a client process's RSS per session it hosts;
 * - then, after `settle` seconds (the servers' anti-entropy absorbs what opening the sessions wrote:
 *   handles, prekeys, rosters), for `seconds`, nothing but the sessions' own upkeep (sync, presence,
 *   roster) and the servers' background work: the CPU, store frames, LevelDB writes and wire bytes per
 *   session per second, summed over every process; and, measured the same way before any session opened
 *   (servers and client processes connected, nothing open), what the mesh costs idle, so that what the
 *   sessions add (the figure the 1,000-idle-clients goal is about) is reported apart from it.
 *
 * RSS is read without forcing a garbage collection, so it includes garbage not yet collected: read it as
 * what the operating system sees, which is what an operator pays for.
 */

import type { AgentHandle } from './lib/agent-handle.js'
import { sleep } from './lib/clock.js'
import { startClients, startCluster } from './lib/cluster.js'
import * as C from './lib/constants.js'
import { median } from './lib/percentile.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { sampleWork, startMeasure, type WorkBudget, type WorkSample } from './lib/work.js'

const OPEN_TIMEOUT_MS = 600_000
/** Sessions a client process opens at once. */
const OPEN_CONCURRENCY = 8
/** Time for timers, GC and connections to settle before a memory reading. */
const SETTLE_MS = 3000

export const sessionsScenario: Scenario = {
  name: 'sessions',
  summary: 'idle cost of open sessions: server RSS idle, per connected client node and per session; CPU, frames and writes per idle session',
  flags: [
    { name: 'servers', help: 'server processes', default: 3, min: 1, max: C.MAX_NODES },
    { name: 'sessions', help: 'user sessions opened, over all client processes', default: 1000, min: 1, max: 20_000 },
    { name: 'clients', help: 'client processes hosting the sessions', default: 4, min: 1, max: 32 },
    { name: 'seconds', help: 'length of the idle measurement', default: 10, min: 1, max: C.MAX_SECONDS },
    { name: 'quiet', help: 'seconds of quiet before the idle and connected memory readings', default: C.DEFAULT_IDLE_BEFORE_RSS_MS / 1000, min: 0, max: 600 },
    { name: 'settle', help: 'seconds to wait after the sessions opened (anti-entropy absorbs their first writes)', default: 45, min: 0, max: 600 }
  ],
  run: runSessions
}

interface Memory { rss: number, heap: number }

async function memoryOf (agents: readonly AgentHandle[]): Promise<Memory[]> {
  return await Promise.all(agents.map(async (a) => {
    const s = await a.request('stats', {})
    return { rss: s.rssBytes, heap: s.heapUsedBytes }
  }))
}

async function runSessions (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { servers, sessions, clients: clientCount, seconds, settle, quiet } = ctx.params
  const replicas = Math.min(3, servers)
  const writeQuorum = Math.min(2, replicas)
  ctx.progress(`topology: 1 bootstrap + ${servers} servers + ${clientCount} client processes; ${sessions} sessions; N = ${replicas}, W = ${writeQuorum}`)
  const cluster = await startCluster(ctx.pool, { servers, progress: ctx.progress, replication: C.UNLIMITED })
  await sleep(SETTLE_MS)
  const started = await memoryOf(cluster.servers)
  ctx.progress(`servers up; ${quiet} s of quiet before the idle reading`)
  await sleep(quiet * 1000)
  const idle = await memoryOf(cluster.servers)

  const names = Array.from({ length: clientCount }, (_, i) => `c${i}`)
  const clients = await startClients(ctx.pool, cluster, names, { replicas, writeQuorum })
  await sleep(Math.max(SETTLE_MS, quiet * 1000))
  const connected = await memoryOf(cluster.servers)
  const clientsBare = await memoryOf(clients)
  // the same processes idle without a session: what the sessions add is measured above this
  const bareMeter = await startMeasure(ctx, 'idle without sessions')
  await sleep(seconds * 1000)
  const bare = await bareMeter.stop(seconds)

  ctx.progress(`opening ${sessions} sessions, ${OPEN_CONCURRENCY} at a time per client process`)
  const share = (i: number): number => Math.floor(sessions / clientCount) + (i < sessions % clientCount ? 1 : 0)
  const opened = await Promise.all(clients.map(async (c, i) => {
    return await c.request('openUsers', { prefix: `u${i}-`, count: share(i), concurrency: OPEN_CONCURRENCY }, OPEN_TIMEOUT_MS)
  }))
  const open = opened.reduce((n, o) => n + o.opened, 0)
  const openMs = Math.max(...opened.map((o) => o.ms))
  const errors: Record<string, number> = {}
  for (const o of opened) for (const [k, v] of Object.entries(o.errors)) errors[k] = (errors[k] ?? 0) + v
  const failed = open < sessions ? ` (${sessions - open} failed: ${JSON.stringify(errors)})` : ''
  ctx.progress(`${open} sessions open in ${Math.round(openMs)} ms${failed}; settling for ${settle} s, then idle for ${seconds} s`)
  await sleep(Math.max(SETTLE_MS, settle * 1000))

  const samplesBefore = await sampleWork(ctx.pool.agents.filter((a) => a.alive))
  const meter = await startMeasure(ctx, 'idle sessions')
  await sleep(seconds * 1000)
  // the "sends" of this phase are session-seconds: every figure comes out per session per second
  const budget = await meter.stop(open * seconds)
  const byKind = requestsByKind(samplesBefore, await sampleWork(ctx.pool.agents.filter((a) => a.alive)), open * seconds)
  ctx.progress(`store requests per session-second, by sender role and kind: ${Object.entries(byKind).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`)
  const loaded = await memoryOf(cluster.servers)
  const clientsLoaded = await memoryOf(clients)

  const perServer = cluster.servers.map((s, i) => ({
    name: s.name,
    startedRssMB: started[i].rss / 2 ** 20,
    idleRssMB: idle[i].rss / 2 ** 20,
    perClientKiB: (connected[i].rss - idle[i].rss) / clientCount / 1024,
    perSessionRssKiB: (loaded[i].rss - connected[i].rss) / Math.max(1, open) / 1024,
    perSessionHeapKiB: (loaded[i].heap - connected[i].heap) / Math.max(1, open) / 1024,
    loadedRssMB: loaded[i].rss / 2 ** 20
  }))
  const perClientProcess = clients.map((c, i) => ({
    name: c.name,
    sessions: opened[i].opened,
    perSessionRssKiB: (clientsLoaded[i].rss - clientsBare[i].rss) / Math.max(1, opened[i].opened) / 1024,
    perSessionHeapKiB: (clientsLoaded[i].heap - clientsBare[i].heap) / Math.max(1, opened[i].opened) / 1024
  }))
  const us = (ms: number): number => ms * 1000
  const adds = added(budget, bare, open)
  const figures: Figure[] = [
    { metric: 'server RSS just after the mesh formed (median)', value: median(perServer.map((s) => s.startedRssMB)), unit: 'MB' },
    { metric: `server RSS idle, after ${quiet} s quiet (median)`, value: median(perServer.map((s) => s.idleRssMB)), unit: 'MB' },
    { metric: 'server RSS per connected client node (median)', value: median(perServer.map((s) => s.perClientKiB)), unit: 'KiB' },
    { metric: `server RSS per open session, ${open} open (median)`, value: median(perServer.map((s) => s.perSessionRssKiB)), unit: 'KiB' },
    { metric: 'server heap per open session (median)', value: median(perServer.map((s) => s.perSessionHeapKiB)), unit: 'KiB' },
    { metric: `server RSS with ${open} sessions open (median)`, value: median(perServer.map((s) => s.loadedRssMB)), unit: 'MB' },
    { metric: 'client process RSS per session it hosts (median)', value: median(perClientProcess.map((c) => c.perSessionRssKiB)), unit: 'KiB' },
    { metric: 'sessions opened per second', value: open / (openMs / 1000), unit: 'sessions/s' },
    { metric: 'idle without sessions: CPU, server processes', value: bare.cpuMsPerSend.servers, unit: 'ms/s' },
    { metric: 'idle without sessions: CPU, client processes', value: bare.cpuMsPerSend.clients, unit: 'ms/s' },
    { metric: 'idle: CPU per session, server processes', value: us(budget.cpuMsPerSend.servers), unit: 'µs/s' },
    { metric: 'idle: CPU per session, client processes', value: us(budget.cpuMsPerSend.clients), unit: 'µs/s' },
    { metric: 'idle: CPU a session adds, server processes', value: us(adds.servers), unit: 'µs/s' },
    { metric: 'idle: CPU a session adds, client processes', value: us(adds.clients), unit: 'µs/s' },
    {
      metric: `idle: share of a core ${open} sessions add, all processes`,
      value: 100 * (adds.servers + adds.clients) * open / 1000,
      unit: '%'
    },
    { metric: 'idle: client sync store frames per session', value: budget.paths.clientSync.frames, unit: 'frames/s' },
    { metric: 'idle: anti-entropy frames per session', value: budget.paths.antiEntropy.frames, unit: 'frames/s' },
    { metric: 'idle: LevelDB writes per session, all processes', value: budget.db.writes, unit: 'writes/s' },
    { metric: 'idle: bytes on the wire per session, all processes', value: budget.wireBytes, unit: 'B/s' }
  ]
  const idleDetails = { seconds, work: budget, withoutSessions: bare, requestsPerSessionSecond: byKind }
  return {
    figures,
    details: {
      servers,
      sessions,
      opened: open,
      openErrors: errors,
      openMs,
      replicas,
      writeQuorum,
      perServer,
      perClientProcess,
      idle: idleDetails
    }
  }
}

/**
 * CPU (ms per session-second) that the sessions add: the idle phase's, less the same processes' idle
 * without sessions (`bare`, ms per second) spread over the `open` sessions.
 */
function added (budget: WorkBudget, bare: WorkBudget, open: number): { servers: number, clients: number } {
  const n = Math.max(1, open)
  return {
    servers: budget.cpuMsPerSend.servers - bare.cpuMsPerSend.servers / n,
    clients: budget.cpuMsPerSend.clients - bare.cpuMsPerSend.clients / n
  }
}

/** Store requests sent per session-second, by the role of the sender and the request kind. */
function requestsByKind (before: WorkSample[], after: WorkSample[], sessionSeconds: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (const b of after) {
    const a = before.find((x) => x.name === b.name)
    for (const [kind, t] of Object.entries(b.work?.store?.sent ?? {})) {
      const n = t.requests - (a?.work?.store?.sent[kind]?.requests ?? 0)
      if (n > 0) out[`${b.role} ${kind}`] = (out[`${b.role} ${kind}`] ?? 0) + n / sessionSeconds
    }
  }
  return out
}
