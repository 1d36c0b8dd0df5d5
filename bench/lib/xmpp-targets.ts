/**
 * The servers the xmpp benchmark drives, behind one shape: a Chorus mesh whose every server runs the
 * XMPP gateway (agent processes: a bootstrap and S servers), or one Prosody process. Each gives its c2s
 * addresses, the memory and CPU of its server processes, and a stop that leaves nothing behind.
 */

import type { AgentPool } from './agent-pool.js'
import { startCluster, stopAgents } from './cluster.js'
import { UNLIMITED } from './constants.js'
import { startProsody } from './prosody.js'

/** The XMPP domain of every target: JIDs are `user@XMPP_DOMAIN`. */
export const XMPP_DOMAIN = 'chorus.localhost'
/** Stanzas a second one gateway connection may send: lifted, so that the gateway's flood guard is not measured. */
export const GATEWAY_STANZA_RATE = 1_000_000
export const GATEWAY_STANZA_BURST = 10_000_000
/** Every client of the benchmark comes from 127.0.0.1, and registers and logs in at once: no per-address budgets. */
export const GATEWAY_UNBOUNDED_SOURCES = {
  maxConnectionsPerAddress: 1_000_000,
  maxPreLogin: 1_000_000,
  maxPreLoginPerAddress: 1_000_000,
  loginsPerAddress: 1_000_000,
  registrationsPerAddress: 1_000_000,
  registrationsPerMinute: 1_000_000
}
/**
 * ms a gateway keeps an account's session open after its last resource left. Registering logs each
 * account in once; its session must be closed again before the memory reading that precedes the logins.
 */
export const GATEWAY_LINGER_MS = 500

/** One server set-up under test. */
export interface XmppTarget {
  /** as the table shows it, e.g. `Chorus 3 servers` */
  label: string
  kind: 'chorus' | 'prosody'
  /** c2s `host:port` of each gateway (one for Prosody) */
  addresses: string[]
  /** resident memory of each server process, bytes, in the order of `addresses` */
  rss: () => Promise<number[]>
  /** CPU (user + system) of every server process so far, summed, ms */
  cpuMs: () => Promise<number>
  /** stop every process of the target (bounded) */
  stop: () => Promise<void>
  /** what the JSON keeps about the set-up */
  info: Record<string, unknown>
}

/** A Chorus mesh of `servers` servers (N = 3, W = 2 by the node's defaults), each with the XMPP gateway. */
export async function startChorusTarget (
  pool: AgentPool,
  servers: number,
  progress: (line: string) => void
): Promise<XmppTarget> {
  // a mesh that fails to form must not go on using the CPU under the next target's load
  const forkedBefore = pool.agents.length
  const cluster = await startCluster(pool, {
    servers,
    progress,
    // one gateway writes for every account on it: the per-sender limits would cap the whole gateway
    replication: UNLIMITED,
    relay: UNLIMITED,
    xmpp: {
      listen: '127.0.0.1:0',
      domain: XMPP_DOMAIN,
      allowPlaintext: true,
      stanzaRate: GATEWAY_STANZA_RATE,
      stanzaBurst: GATEWAY_STANZA_BURST,
      lingerMs: GATEWAY_LINGER_MS,
      ...GATEWAY_UNBOUNDED_SOURCES
    }
  }).catch(async (err: Error) => {
    await stopAgents(pool.agents.slice(forkedBefore))
    throw err
  })
  if (cluster.xmppAddresses.length !== servers) {
    await stopAgents([...cluster.servers, cluster.bootstrap])
    throw new Error(`${cluster.xmppAddresses.length} of ${servers} servers report an XMPP gateway`)
  }
  type ProcessStats = Array<{ rssBytes: number, cpuUserMs: number, cpuSystemMs: number }>
  const stats = async (): Promise<ProcessStats> =>
    await Promise.all(cluster.servers.map(async (s) => await s.request('stats', {})))
  return {
    label: `Chorus ${servers} servers`,
    kind: 'chorus',
    addresses: cluster.xmppAddresses,
    rss: async () => (await stats()).map((s) => s.rssBytes),
    cpuMs: async () => (await stats()).reduce((a, s) => a + s.cpuUserMs + s.cpuSystemMs, 0),
    stop: async () => { await stopAgents([...cluster.servers, cluster.bootstrap]) },
    info: {
      servers,
      replicas: Math.min(3, servers),
      writeQuorum: Math.min(2, servers),
      gateways: cluster.xmppAddresses.length,
      timings: cluster.timings
    }
  }
}

/** Prosody on loopback: everything in memory, or every message archived (mod_mam, file storage). */
export async function startProsodyTarget (binary: string, archive: boolean, tls: boolean): Promise<XmppTarget> {
  const p = await startProsody(binary, { archive, tls, domain: XMPP_DOMAIN })
  return {
    label: archive ? 'Prosody + MAM' : 'Prosody in memory',
    kind: 'prosody',
    addresses: [p.address],
    rss: async () => [p.rssBytes()],
    cpuMs: async () => p.cpuMs(),
    stop: p.stop,
    info: { version: p.version, storage: archive ? 'internal (files), mod_mam archiving every message' : 'memory, no archive, no offline storage', pid: p.pid }
  }
}
