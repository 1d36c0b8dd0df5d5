/**
 * A local Chorus mesh of agent processes: one bootstrap-role process, then N server processes forked all
 * at once, each joining through the bootstrap. Measures how long the mesh takes to reach a full view.
 */

import type { ChorusNodeOptions, MembershipInit } from '../../node/index.js'
import type { AgentHandle } from './agent-handle.js'
import type { AgentPool } from './agent-pool.js'
import type { AgentReplies } from './agent-protocol.js'
import { DeadlineError, waitUntil, wallClock } from './clock.js'
import { DEFAULT_START_TIMEOUT_MS, DEFAULT_VIEW_TIMEOUT_MS, UNLIMITED } from './constants.js'

/** A client's start (module load included) on a loaded machine. */
const CLIENT_START_TIMEOUT_MS = 300_000
import { median } from './percentile.js'

/** Parameters of a cluster. */
export interface ClusterOptions {
  servers: number
  /** membership timings for every node; omitted ones keep the node's defaults. @default {} */
  membership?: Partial<MembershipInit>
  /** replication settings of the servers (the relay benchmark lifts the per-sender rate limit) */
  replication?: { senderRate?: number, senderBurst?: number }
  /** relay settings of the servers */
  relay?: { senderRate?: number, senderBurst?: number }
  /** the XMPP gateway of every server (the xmpp benchmark); off when absent */
  xmpp?: ChorusNodeOptions['xmpp']
  /** @default DEFAULT_VIEW_TIMEOUT_MS */ viewTimeoutMs?: number
  progress?: (line: string) => void
}

/** How long the mesh took to form, ms. */
export interface ClusterTimings {
  /** slowest server from fork to its modules being loaded */
  readyMaxMs: number
  /** `createNode` + `start()` in a server, median and max */
  startMedianMs: number
  startMaxMs: number
  /** from forking the servers until every server's view holds all N servers */
  fullViewFromForkMs: number
  /** from the last server's `start()` resolving until every server's view holds all N servers */
  fullViewFromLastStartMs: number
  /** each server's own full view after its own `start()` resolved, median and max */
  ownViewMedianMs: number
  ownViewMaxMs: number
}

/** A running cluster. */
export interface Cluster {
  bootstrap: AgentHandle
  bootstrapAddr: string
  servers: AgentHandle[]
  peerIds: string[]
  /** each server's XMPP gateway `host:port` (with `ClusterOptions.xmpp`), in server order */
  xmppAddresses: string[]
  timings: ClusterTimings
  /** per server: wall-clock milestones, for the JSON */
  milestones: Array<{
    name: string
    forkedAt: number
    readyAt: number
    startCalledAt: number
    startResolvedAt: number
    fullViewAt: number
  }>
}

/** Start the bootstrap process, then fork every server at once and wait (bounded) for the full view. */
export async function startCluster (pool: AgentPool, opts: ClusterOptions): Promise<Cluster> {
  const membership = opts.membership ?? {}
  const say = opts.progress ?? (() => {})
  const bootstrap = pool.fork('bootstrap')
  await bootstrap.ready
  const b = await bootstrap.request('start', { role: 'bootstrap', bootstrap: [], membership }, DEFAULT_START_TIMEOUT_MS)
  const bootstrapAddr = b.multiaddrs[0]
  say(`bootstrap up at ${bootstrapAddr}; forking ${opts.servers} server processes`)

  const forkAt = wallClock()
  const servers = pool.forkMany('server', opts.servers)
  const started = await Promise.all(servers.map(async (s) => {
    const ready = await s.ready
    const reply = await s.request('start',
      {
        role: 'server',
        bootstrap: [bootstrapAddr],
        membership,
        replication: opts.replication,
        relay: opts.relay,
        xmpp: opts.xmpp
      },
      DEFAULT_START_TIMEOUT_MS)
    return { ready, reply }
  }))
  const lastStart = Math.max(...started.map((s) => s.reply.startResolvedAt))
  say(`all servers started ${Math.round(lastStart - forkAt)} ms after fork; waiting for the full view`)

  const viewTimeoutMs = opts.viewTimeoutMs ?? DEFAULT_VIEW_TIMEOUT_MS
  const remaining = Math.max(1000, forkAt + viewTimeoutMs - wallClock())
  const views: Array<AgentReplies['awaitView']> = await Promise.all(
    servers.map(async (s) => await s.request('awaitView', { servers: opts.servers, timeoutMs: remaining }, remaining + 5000))
  )
  const fullAt = Math.max(...views.map((v) => v.reachedAt))
  const own = views.map((v, i) => v.reachedAt - started[i].reply.startResolvedAt)
  const startDurations = started.map((s) => s.reply.startResolvedAt - s.reply.startCalledAt)
  return {
    bootstrap,
    bootstrapAddr,
    servers,
    peerIds: started.map((s) => s.reply.peerId),
    xmppAddresses: started.flatMap((s) => s.reply.xmppAddress ?? []),
    timings: {
      readyMaxMs: Math.max(...started.map((s) => s.ready.at - forkAt)),
      startMedianMs: median(startDurations),
      startMaxMs: Math.max(...startDurations),
      fullViewFromForkMs: fullAt - forkAt,
      fullViewFromLastStartMs: fullAt - lastStart,
      ownViewMedianMs: median(own),
      ownViewMaxMs: Math.max(...own)
    },
    milestones: servers.map((s, i) => ({
      name: s.name,
      forkedAt: s.forkedAt,
      readyAt: started[i].ready.at,
      startCalledAt: started[i].reply.startCalledAt,
      startResolvedAt: started[i].reply.startResolvedAt,
      fullViewAt: views[i].reachedAt
    }))
  }
}

/**
 * Poll until every server's view holds `servers` servers again; returns the ms it took, or `NaN` if it did
 * not happen within `timeoutMs` (a measured outcome, not an error).
 */
export async function awaitWholeView (
  agents: readonly AgentHandle[],
  servers: number,
  timeoutMs: number
): Promise<number> {
  const t0 = wallClock()
  try {
    const whole = async (): Promise<boolean> =>
      (await Promise.all(agents.map(async (a) => (await a.request('stats', {})).servers))).every((n) => n >= servers)
    await waitUntil('a whole view', whole, timeoutMs, 250)
    return wallClock() - t0
  } catch (err) {
    if (err instanceof DeadlineError) return NaN
    throw err
  }
}

/**
 * Fork one client-role agent per name (`client-<name>`), start each against the cluster and wait
 * (bounded) until it sees every server. Per-sender relay limits are lifted (see UNLIMITED).
 */
export async function startClients (
  pool: AgentPool,
  cluster: Cluster,
  names: string[],
  o: { replicas: number, writeQuorum: number }
): Promise<AgentHandle[]> {
  const clients = names.map((n) => pool.fork(`client-${n}`))
  await Promise.all(clients.map(async (a) => {
    await a.ready
    await a.request('start',
      {
        role: 'client',
        bootstrap: [cluster.bootstrapAddr],
        membership: {},
        replicas: o.replicas,
        writeQuorum: o.writeQuorum,
        relay: UNLIMITED
      },
      CLIENT_START_TIMEOUT_MS)
    await a.request('awaitView', { servers: cluster.servers.length, timeoutMs: 30_000 }, 35_000)
  }))
  return clients
}

/** Bound on an agent's stop when a mesh is torn down. */
const AGENT_STOP_TIMEOUT_MS = 10_000

/** Stop agents politely and wait (bounded) for their processes to exit; kill what is left. */
export async function stopAgents (agents: readonly AgentHandle[]): Promise<void> {
  const running = agents.filter((a) => a.alive)
  await Promise.allSettled(running.map(async (a) => { await a.request('stop', {}, AGENT_STOP_TIMEOUT_MS) }))
  const exited = Promise.allSettled(running.map(async (a) => await a.exited))
  const timer = setTimeout(() => { for (const a of running) if (a.alive) a.child.kill('SIGKILL') }, AGENT_STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}
