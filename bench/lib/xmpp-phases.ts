/**
 * One target of the xmpp benchmark measured under the same client load as every other: register the
 * accounts, read the servers' memory, log every account in, read it again; then a short warm-up, a
 * saturation phase (messages delivered a second with a window in flight per pair) and a paced phase
 * (latency at a fixed offered rate). Pair i chats from `s<i>` to `r<i>`; on a mesh of two or more
 * servers the two sit on different gateways.
 */

import { randomInt } from 'node:crypto'
import type { AgentHandle } from './agent-handle.js'
import type { XmppAccount, XmppLoadCommand, XmppLoadReport, XmppOpenReport } from './agent-protocol.js'
import { sleep, wallClock } from './clock.js'
import { median, summarize, type Summary } from './percentile.js'
import { startMeasure, type MeasureContext, type WorkBudget } from './work.js'
import { XMPP_DOMAIN, type XmppTarget } from './xmpp-targets.js'

/** Every account's password (loopback servers that live for one run). */
const PASSWORD = 'bench password, not secret'
/** Logins (and registrations) a client process runs at once. */
const OPEN_CONCURRENCY = 4
/** Bound on registering or logging in every account of one client process. */
const OPEN_TIMEOUT_MS = 120_000
/** Beyond the phase itself: the drain and the reply. */
const LOAD_SLACK_MS = 30_000
/** A short run before the measured ones: first messages of a pair resolve owners, JIT warms up. */
export const WARMUP_SECONDS = 1
/** Messages in flight per pair while warming up: enough to exercise the path, too few to leave a backlog. */
const WARMUP_WINDOW = 1

/** The client load, the same for every target. */
export interface XmppLoad {
  pairs: number
  /** accounts that log in and stay idle beside the pairs (more clients behind the memory reading) */
  idle: number
  rate: number
  window: number
  seconds: number
  size: number
  settleMs: number
  tls: boolean
}

/** A phase over every client process. */
export interface XmppPhase {
  sent: number
  received: number
  /**
   * delivered a second: at saturation, what arrived while the senders were sending; paced, everything
   * from the first send to the last arrival (below the offered rate when the target fell behind)
   */
  deliveredPerSec: number
  /** sent but not delivered: lost, or bounced with an error */
  undelivered: number
  duplicates: number
  errors: Record<string, number>
  latency: Summary
  /** CPU of the server processes per delivered message, ms */
  serverCpuMsPerMsg: number
  /** CPU of the server processes, as a share of one core */
  serverCpuPercent: number
  /** CPU of the client processes, as a share of one core */
  clientCpuPercent: number
  /** Chorus only: the mesh's work per delivered message (frames, LevelDB writes, bytes; bench/lib/work.ts) */
  work?: WorkBudget
}

/** What one target did. */
export interface XmppTargetResult {
  label: string
  kind: XmppTarget['kind']
  info: Record<string, unknown>
  register: XmppOpenReport
  login: XmppOpenReport
  memory: {
    /** per server process: resident memory before and after the logins, MiB, and accounts logged in there */
    perServer: Array<{ beforeMiB: number, afterMiB: number, clients: number }>
    /** median over the gateways of (growth ÷ clients logged in there), KiB */
    perClientPerGatewayKiB: number
    /** growth of all server processes together ÷ all clients, KiB */
    perClientAllServersKiB: number
    /** clients logged in for the reading */
    clients: number
  }
  /** CPU of the server processes while every client was connected and nobody chatted, share of one core */
  idleServerCpuPercent: number
  paced: XmppPhase
  saturation: XmppPhase
}

/** What each client process holds: its accounts (pairs and idle ones) and its pairs. */
interface ClientShare { c: AgentHandle, accounts: XmppAccount[], pairs: Array<{ from: string, to: string }> }

/**
 * Spread the accounts: pair i's sender on gateway i and its receiver on the next one (mod the gateways),
 * both in client process i (mod the processes); idle account k on gateway k. Returns the shares of the
 * client processes that got any, and how many accounts each gateway serves.
 */
function plan (
  target: XmppTarget,
  clients: readonly AgentHandle[],
  load: XmppLoad
): { shares: ClientShare[], perGateway: number[] } {
  const gateways = target.addresses.length
  const account = (username: string, gateway: number): XmppAccount => ({
    username,
    password: PASSWORD,
    address: target.addresses[gateway % gateways],
    domain: XMPP_DOMAIN,
    tls: load.tls
  })
  const shares: ClientShare[] = clients.map((c) => ({ c, accounts: [], pairs: [] }))
  const perGateway = target.addresses.map(() => 0)
  for (let i = 0; i < load.pairs; i++) {
    const mine = shares[i % clients.length]
    mine.accounts.push(account(`s${i}`, i), account(`r${i}`, i + 1))
    mine.pairs.push({ from: `s${i}`, to: `r${i}` })
    perGateway[i % gateways]++
    perGateway[(i + 1) % gateways]++
  }
  for (let k = 0; k < load.idle; k++) {
    shares[k % clients.length].accounts.push(account(`i${k}`, k))
    perGateway[k % gateways]++
  }
  return { shares: shares.filter((s) => s.accounts.length > 0), perGateway }
}

/** Register (or log in) every account of every share; throws if any failed. */
async function openAll (label: string, shares: readonly ClientShare[], op: 'xmppRegister' | 'xmppConnect'): Promise<XmppOpenReport> {
  const all = await Promise.all(
    shares.map(
      async (u) => await u.c.request(op, { accounts: u.accounts, concurrency: OPEN_CONCURRENCY }, OPEN_TIMEOUT_MS)
    )
  )
  const r: XmppOpenReport = { opened: 0, failed: 0, ms: Math.max(...all.map((x) => x.ms)), errors: {}, secure: 0 }
  for (const x of all) {
    r.opened += x.opened
    r.failed += x.failed
    r.secure += x.secure
    for (const [k, v] of Object.entries(x.errors)) r.errors[k] = (r.errors[k] ?? 0) + v
  }
  if (r.failed > 0) throw new Error(`${label}: ${op === 'xmppRegister' ? 'registering' : 'logging in'} failed for ${r.failed} of ${r.failed + r.opened} accounts: ${JSON.stringify(r.errors)}`)
  return r
}

/** Measure `target` with `clients` (client processes, already forked and ready). */
export async function measureTarget (
  ctx: MeasureContext,
  target: XmppTarget,
  clients: readonly AgentHandle[],
  load: XmppLoad,
  progress: (line: string) => void
): Promise<XmppTargetResult> {
  const { shares, perGateway } = plan(target, clients, load)
  const clientCount = 2 * load.pairs + load.idle

  const register = await openAll(target.label, shares, 'xmppRegister')
  progress(`${target.label}: ${register.opened} accounts registered in ${Math.round(register.ms)} ms; ${load.settleMs} ms of quiet, then the memory reading`)
  await sleep(load.settleMs)
  const before = await target.rss()
  const login = await openAll(target.label, shares, 'xmppConnect')
  progress(`${target.label}: ${login.opened} clients logged in and present in ${Math.round(login.ms)} ms (${login.secure} over TLS)`)
  const idleFrom = { at: wallClock(), cpuMs: await target.cpuMs() }
  await sleep(load.settleMs)
  const after = await target.rss()
  const idleServerCpuPercent = 100 * ((await target.cpuMs()) - idleFrom.cpuMs) / Math.max(1, wallClock() - idleFrom.at)
  const perServer = before.map(
    (b, i) => ({ beforeMiB: b / 2 ** 20, afterMiB: after[i] / 2 ** 20, clients: perGateway[i] ?? 0 })
  )
  const memory = {
    perServer,
    perClientPerGatewayKiB: median(
      perServer.filter((s) => s.clients > 0).map((s) => (s.afterMiB - s.beforeMiB) * 1024 / s.clients)
    ),
    perClientAllServersKiB: perServer.reduce((a, s) => a + s.afterMiB - s.beforeMiB, 0) * 1024 / clientCount,
    clients: clientCount
  }
  progress(
    `${target.label}: ${memory.perClientPerGatewayKiB.toFixed(1)} KiB per client${perGateway.length > 1 ? ' per gateway' : ''}; servers ${Math.round(idleServerCpuPercent)}% of a core busy while idle`
  )

  const phase = async (
    mode: XmppLoadCommand['mode'],
    seconds: number,
    label?: string,
    window = load.window
  ): Promise<XmppPhase> => {
    const runId = randomInt(1, 2 ** 31)
    // the mesh's own counters (and CPU profiles with --profile) for Chorus's measured phases
    const meter = target.kind === 'chorus' && label != null ? await startMeasure(ctx, `${target.label} ${label}`) : undefined
    const agents = shares.map((u) => u.c)
    const cpu0 = { server: await target.cpuMs(), client: await cpuMsOf(agents), at: wallClock() }
    const reports = await Promise.all(shares.filter((u) => u.pairs.length > 0).map(async (u) => {
      const cmd: XmppLoadCommand = {
        pairs: u.pairs,
        mode,
        rate: load.rate * u.pairs.length / load.pairs,
        window,
        seconds,
        size: load.size,
        runId
      }
      return await u.c.request('xmppLoad', cmd, seconds * 1000 + LOAD_SLACK_MS)
    }))
    const wallMs = wallClock() - cpu0.at
    const result = combine(mode, reports, (await target.cpuMs()) - cpu0.server, (await cpuMsOf(agents)) - cpu0.client,
      wallMs)
    if (meter != null) result.work = await meter.stop(result.received)
    return result
  }
  // saturation before the paced phase: a target slower than the offered rate leaves a backlog behind
  // a paced phase (what the open-loop senders queued), and the phase after it would measure that
  progress(`${target.label}: ${WARMUP_SECONDS} s warm-up, ${WARMUP_WINDOW} in flight per pair`)
  await phase('saturate', WARMUP_SECONDS, undefined, WARMUP_WINDOW)
  progress(`${target.label}: saturation, ${load.window} in flight per pair, ${load.seconds} s`)
  const saturation = await phase('saturate', load.seconds, 'saturation')
  const serverCpu = Math.round(saturation.serverCpuPercent)
  const clientCpu = Math.round(saturation.clientCpuPercent)
  progress(
    `${target.label}: ${Math.round(saturation.deliveredPerSec)} msgs/s delivered (server CPU ${serverCpu}% of a core, ` +
    `clients ${clientCpu}%); ${load.rate} msgs/s offered over ${load.pairs} pairs for ${load.seconds} s`
  )
  const paced = await phase('paced', load.seconds, `${load.rate} per s`)
  progress(`${target.label}: ${Math.round(paced.deliveredPerSec)} msgs/s delivered, p50 ${paced.latency.p50.toFixed(2)} ms, p99 ${paced.latency.p99.toFixed(2)} ms`)
  await Promise.all(shares.map(async (u) => await u.c.request('xmppClose', {}, 30_000)))
  return {
    label: target.label,
    kind: target.kind,
    info: target.info,
    register,
    login,
    memory,
    idleServerCpuPercent,
    paced,
    saturation
  }
}

/** Every client process's share of a phase, as one. */
function combine (
  mode: XmppLoadCommand['mode'],
  reports: readonly XmppLoadReport[],
  serverCpuMs: number,
  clientCpuMs: number,
  wallMs: number
): XmppPhase {
  const errors: Record<string, number> = {}
  for (const r of reports) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
  const sum = (f: (r: XmppLoadReport) => number): number => reports.reduce((a, r) => a + f(r), 0)
  const startedAt = Math.min(...reports.map((r) => r.startedAt))
  const sendingMs = Math.max(...reports.map((r) => r.endedAt)) - startedAt
  const deliveringMs = Math.max(...reports.map((r) => r.lastAt)) - startedAt
  const received = sum((r) => r.received)
  return {
    sent: sum((r) => r.sent),
    received,
    deliveredPerSec: mode === 'saturate'
      ? sum((r) => r.receivedInWindow) / (sendingMs / 1000)
      : received === 0 ? 0 : received / (deliveringMs / 1000),
    undelivered: sum((r) => r.sent - r.received),
    duplicates: sum((r) => r.duplicates),
    errors,
    latency: summarize(reports.flatMap((r) => r.latenciesMs)),
    serverCpuMsPerMsg: received > 0 ? serverCpuMs / received : NaN,
    serverCpuPercent: 100 * serverCpuMs / wallMs,
    clientCpuPercent: 100 * clientCpuMs / wallMs
  }
}

/** CPU (user + system) of `agents` so far, ms. */
async function cpuMsOf (agents: readonly AgentHandle[]): Promise<number> {
  const s = await Promise.all(agents.map(async (a) => await a.request('stats', {})))
  return s.reduce((a, x) => a + x.cpuUserMs + x.cpuSystemMs, 0)
}
