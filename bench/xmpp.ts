/**
 * Scenario `xmpp`: one-to-one chat through Chorus's XMPP gateway beside Prosody, under the same client
 * load in the same run. Targets, one after the other: Prosody in memory, Prosody archiving every message
 * (mod_mam, file storage), a Chorus mesh of `servers` servers and one of `servers2` (every server runs
 * the gateway; N = 3, W = 2: every message is on disk at two owners when the send is acknowledged and at
 * three soon after). Prosody is Debian's `prosody`, started by the bench on loopback with a configuration
 * of its own (bench/lib/prosody.ts); without it the Chorus targets still run and the table says so.
 *
 * The load: `pairs` pairs of Jabber accounts (xmpp.js clients in `clients` client processes, not in
 * this one), each sending from `s<i>` to `r<i>` (on a mesh, two different gateways). Measured per target:
 * the server memory a logged-in client costs (resident memory before and after every account logged in,
 * after `settle` seconds of quiet each); latency p50 / p99 at `rate` msgs/s offered (send → receipt, one
 * clock: both ends of a pair are in the same client process); msgs/s delivered with `window` in flight
 * per pair (measured first: a target that cannot keep up with the paced rate leaves a backlog behind).
 * Then the goals of the issue, as ratios measured in this run.
 *
 * Plaintext streams by default: the clients leave the STARTTLS the gateway offers (Prosody, without a
 * certificate, offers none). `--tls 1` gives Prosody a self-signed certificate and takes STARTTLS on
 * both. Both servers run with TCP_NODELAY, as does every client.
 */

import type { AgentHandle } from './lib/agent-handle.js'
import * as C from './lib/constants.js'
import { PAYLOAD_HEADER_BYTES } from './lib/payload.js'
import { findProsody } from './lib/prosody.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { LOSS_TIMEOUT_MS } from './lib/xmpp-clients.js'
import { WARMUP_SECONDS, measureTarget, type XmppLoad, type XmppTargetResult } from './lib/xmpp-phases.js'
import { startChorusTarget, startProsodyTarget, type XmppTarget } from './lib/xmpp-targets.js'

/** Time kept free at the end of the run's bound: stopping the agents and writing the results. */
const RUN_MARGIN_MS = 15_000
/**
 * The goals: Chorus ÷ archiving Prosody, Chorus ÷ in-memory Prosody (msgs/s), p99 ÷
 * Prosody's p99, KiB per client.
 */
const GOALS = { vsArchive: 1.0, vsMemory: 0.5, p99: 2, perClientKiB: 90 }

export const xmppScenario: Scenario = {
  name: 'xmpp',
  summary: 'XMPP one-to-one chat through Chorus gateways (two mesh sizes) beside Prosody in memory and with mod_mam: msgs/s, p50/p99, memory per client',
  flags: [
    { name: 'servers', help: 'servers of the first Chorus mesh (0: none)', default: 3, min: 0, max: 16 },
    { name: 'servers2', help: 'servers of the second Chorus mesh (0: none)', default: 5, min: 0, max: 16 },
    { name: 'prosody', help: 'run the Prosody references (1) or not (0)', default: 1, min: 0, max: 1 },
    { name: 'pairs', help: 'sender → receiver pairs of Jabber accounts', default: 20, min: 1, max: 500 },
    { name: 'idle', help: 'more accounts that log in and stay idle (memory per client over more clients)', default: 0, min: 0, max: 5000 },
    { name: 'clients', help: 'client processes holding the connections', default: 2, min: 1, max: 16 },
    { name: 'seconds', help: 'length of each load phase', default: C.DEFAULT_SECONDS, min: 1, max: 20 },
    { name: 'rate', help: 'msgs/s offered in the paced phase, over all pairs', default: 500, min: 1, max: 100_000 },
    { name: 'window', help: 'messages in flight per pair in the saturation phase', default: 8, min: 1, max: 1000 },
    { name: 'size', help: 'message body characters', default: C.DEFAULT_SIZE, min: PAYLOAD_HEADER_BYTES * 4, max: 16_384 },
    { name: 'settle', help: 'seconds of quiet before each memory reading (a gateway closes the sessions of registering in 0.5 s)', default: 3, min: 1, max: 60 },
    { name: 'tls', help: 'STARTTLS on every stream (1) or plaintext (0)', default: 0, min: 0, max: 1 }
  ],
  run: runXmpp
}

async function runXmpp (ctx: ScenarioContext): Promise<ScenarioResult> {
  const p = ctx.params
  const load: XmppLoad = {
    pairs: p.pairs,
    idle: p.idle,
    rate: p.rate,
    window: p.window,
    seconds: p.seconds,
    size: p.size,
    settleMs: p.settle * 1000,
    tls: p.tls === 1
  }
  const prosody = p.prosody === 1 ? findProsody() : undefined
  const prosodyNote = p.prosody === 0 ? 'skipped (--prosody 0)' : prosody == null ? 'unavailable: no `prosody` on PATH (Debian: apt-get install prosody)' : `${prosody}`
  ctx.progress(`${p.pairs} pairs in ${p.clients} client processes; Prosody: ${prosodyNote}`)

  const clients = ctx.pool.forkMany('xmpp-client', Math.min(p.clients, p.pairs + p.idle))
  await Promise.all(clients.map(async (c) => await c.ready))

  const starts: Array<{ name: string, kind: XmppTarget['kind'], start: () => Promise<XmppTarget> }> = []
  if (prosody != null) {
    starts.push({ name: 'Prosody in memory', kind: 'prosody', start: async () => await startProsodyTarget(prosody, false, load.tls) })
    starts.push({ name: 'Prosody + MAM', kind: 'prosody', start: async () => await startProsodyTarget(prosody, true, load.tls) })
  }
  for (const servers of [p.servers, p.servers2].filter((s) => s > 0)) {
    starts.push({ name: `Chorus ${servers} servers`, kind: 'chorus', start: async () => await startChorusTarget(ctx.pool, servers, ctx.progress) })
  }
  const results: XmppTargetResult[] = []
  const failures: Record<string, string> = {}
  const began = Date.now()
  for (const t of starts) {
    // the run as a whole has a bound (run.ts): a target that might not fit is left out, not cut short
    if (Date.now() - began + worstCaseMs(t.kind, load) > C.DEFAULT_SCENARIO_TIMEOUT_MS - RUN_MARGIN_MS) {
      failures[t.name] = `skipped: it might not finish within the run's ${C.DEFAULT_SCENARIO_TIMEOUT_MS / 1000} s bound (use fewer pairs, seconds or targets)`
      ctx.progress(`${t.name}: ${failures[t.name]}`)
      continue
    }
    ctx.progress(`${t.name}: starting`)
    const r = await measureOne(ctx, t.name, t.start, clients, load)
    if (typeof r === 'string') failures[t.name] = r
    else results.push(r)
  }
  return {
    figures: figuresOf(results, failures, prosodyNote, load),
    details: { load, prosody: prosodyNote, targets: results, failures }
  }
}

/**
 * A pessimistic bound on measuring one target, ms: its start and the logins (a mesh forms and claims
 * handles; Prosody only forks), both quiet periods, the warm-up, and each phase followed by its
 * longest drain (the loss timeout) and the readings around it.
 */
function worstCaseMs (kind: XmppTarget['kind'], load: XmppLoad): number {
  const accounts = 2 * load.pairs + load.idle
  const setup = kind === 'chorus' ? 45_000 + 150 * accounts : 5000 + 10 * accounts
  const phase = (seconds: number): number => seconds * 1000 + LOSS_TIMEOUT_MS + 1000
  return setup + 2 * load.settleMs + phase(WARMUP_SECONDS) + 2 * phase(load.seconds)
}

/** Start a target, measure it, stop it whatever happens; a failure is the reason (the run goes on). */
async function measureOne (
  ctx: ScenarioContext,
  name: string,
  start: () => Promise<XmppTarget>,
  clients: readonly AgentHandle[],
  load: XmppLoad
): Promise<XmppTargetResult | string> {
  let target: XmppTarget | undefined
  try {
    target = await start()
    return await measureTarget(ctx, target, clients, load, ctx.progress)
  } catch (err: any) {
    const why = String(err?.message ?? err).split('\n')[0]
    ctx.progress(`${name}: FAILED: ${why}`)
    return why
  } finally {
    await Promise.allSettled(clients.map(async (c) => await c.request('xmppClose', {}, 30_000)))
    await target?.stop()
  }
}

/**
 * The table: each target's figures, then the goals as ratios of this run's figures (units kept
 * plain: the chart groups by unit).
 */
function figuresOf (
  results: readonly XmppTargetResult[],
  failures: Record<string, string>,
  prosodyNote: string,
  load: XmppLoad
): Figure[] {
  const figures: Figure[] = []
  for (const r of results) {
    const sat = r.saturation
    const paced = r.paced
    figures.push(
      { metric: `${r.label}: saturation (${load.window} in flight per pair), delivered`, value: sat.deliveredPerSec, unit: 'msgs/s' },
      { metric: `${r.label}: saturation, latency p50`, value: sat.latency.p50, unit: 'ms' },
      { metric: `${r.label}: saturation, server CPU per message`, value: sat.serverCpuMsPerMsg * 1000, unit: 'µs' },
      { metric: `${r.label}: saturation, server processes busy (clients: ${Math.round(sat.clientCpuPercent)} %)`, value: sat.serverCpuPercent, unit: '% of a core' },
      { metric: `${r.label}: ${load.rate}/s paced, delivered${paced.deliveredPerSec < 0.9 * load.rate ? ' (fell behind)' : ''}`, value: paced.deliveredPerSec, unit: 'msgs/s' },
      { metric: `${r.label}: ${load.rate}/s paced, latency p50`, value: paced.latency.p50, unit: 'ms' },
      { metric: `${r.label}: ${load.rate}/s paced, latency p99`, value: paced.latency.p99, unit: 'ms' },
      { metric: `${r.label}: memory per connected client (${r.memory.clients})${r.kind === 'chorus' ? ', per gateway, median' : ''}`, value: r.memory.perClientPerGatewayKiB, unit: 'KiB' }
    )
    if (r.kind === 'chorus') figures.push({ metric: `${r.label}: memory per connected client, all servers`, value: r.memory.perClientAllServersKiB, unit: 'KiB' })
    figures.push({
      metric: `${r.label}: not delivered within ${LOSS_TIMEOUT_MS / 1000} s, of ${paced.sent + sat.sent} sent`,
      value: paced.undelivered + sat.undelivered,
      unit: 'msgs'
    })
  }
  for (const [name, why] of Object.entries(failures)) {
    figures.push({ metric: `${name}: FAILED (${why.slice(0, 160)})`, value: NaN, unit: '' })
  }
  if (!results.some((r) => r.kind === 'prosody')) figures.push({ metric: `Prosody: ${prosodyNote}`, value: NaN, unit: '' })

  const memory = results.find((r) => r.label === 'Prosody in memory')
  const archive = results.find((r) => r.label === 'Prosody + MAM')
  const ratio = (a: number, b: number | undefined): number => (b == null ? NaN : a / b)
  for (const r of results.filter((x) => x.kind === 'chorus')) {
    const rate = r.saturation.deliveredPerSec
    const p99 = r.paced.latency.p99
    figures.push(
      { metric: `goal ≥ ${GOALS.vsArchive.toFixed(1)}: ${r.label} ÷ Prosody + MAM, msgs/s`, value: ratio(rate, archive?.saturation.deliveredPerSec), unit: '×' },
      { metric: `goal ≥ ${GOALS.vsMemory.toFixed(1)}: ${r.label} ÷ Prosody in memory, msgs/s`, value: ratio(rate, memory?.saturation.deliveredPerSec), unit: '×' },
      { metric: `goal ≤ ${GOALS.p99}: ${r.label} p99 ÷ Prosody in memory p99, ${load.rate}/s`, value: ratio(p99, memory?.paced.latency.p99), unit: '×' },
      { metric: `goal ≤ ${GOALS.p99}: ${r.label} p99 ÷ Prosody + MAM p99, ${load.rate}/s`, value: ratio(p99, archive?.paced.latency.p99), unit: '×' },
      { metric: `goal ≤ ${GOALS.perClientKiB}: ${r.label} memory per client, per gateway`, value: r.memory.perClientPerGatewayKiB, unit: 'KiB' }
    )
  }
  return figures
}
