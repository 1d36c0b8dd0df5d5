/**
 * Scenario `mesh`: 1 bootstrap process + N server processes on loopback TCP, default membership timings.
 * Measures time to full view, idle memory per process, and raw gossipsub throughput and latency between
 * the processes (the baseline later scenarios divide by).
 */

import type { AgentHandle } from './lib/agent-handle.js'
import { sleep, wallClock } from './lib/clock.js'
import { awaitWholeView, startCluster, type Cluster } from './lib/cluster.js'
import * as C from './lib/constants.js'
import { runRawGossipsub, type PhaseResult } from './lib/raw-gossipsub.js'
import { median } from './lib/percentile.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { PAYLOAD_HEADER_BYTES } from './lib/payload.js'

const MB = 1024 * 1024

/** The `mesh` scenario. */
export const meshScenario: Scenario = {
  name: 'mesh',
  summary: 'N server processes + 1 bootstrap: time to full view, idle RSS, raw gossipsub throughput/latency (baseline)',
  flags: [
    { name: 'nodes', help: 'server processes', default: C.DEFAULT_NODES, min: 2, max: C.MAX_NODES },
    { name: 'rate', help: 'offered msgs/s of the paced phase', default: C.DEFAULT_RATE, min: 1, max: 100_000 },
    { name: 'seconds', help: 'length of each publishing phase', default: C.DEFAULT_SECONDS, min: 1, max: C.MAX_SECONDS },
    { name: 'size', help: 'message payload bytes', default: C.DEFAULT_SIZE, min: PAYLOAD_HEADER_BYTES, max: C.MAX_SIZE }
  ],
  run: runMesh
}

async function runMesh ({ pool, params, progress }: ScenarioContext): Promise<ScenarioResult> {
  const { nodes, rate, seconds, size } = params
  progress(`topology: 1 bootstrap-role process + ${nodes} server processes, TCP on 127.0.0.1, default membership timings`)
  const cluster = await startCluster(pool, { servers: nodes, progress })
  const t = cluster.timings
  progress(`full view after ${Math.round(t.fullViewFromForkMs)} ms from fork (${Math.round(t.fullViewFromLastStartMs)} ms after the last start); idling ${C.DEFAULT_IDLE_BEFORE_RSS_MS} ms`)

  await sleep(C.DEFAULT_IDLE_BEFORE_RSS_MS)
  const idle = await rss(cluster.servers)
  const bootstrapIdle = await rss([cluster.bootstrap])

  progress(`raw gossipsub: ${rate} msgs/s paced, then saturation, ${seconds} s each, ${size}-byte messages, ${cluster.servers[0].name} publishes`)
  const rawFrom = wallClock()
  const raw = await runRawGossipsub(cluster.servers, { rate, seconds, size })
  const falseLeaves = cluster.servers.flatMap((s) => s.events.filter((e) => e.type === 'member:leave' && e.at >= rawFrom))
  const recoveryMs = falseLeaves.length === 0
    ? 0
    : await awaitWholeView(cluster.servers, nodes, C.DEFAULT_RECOVERY_TIMEOUT_MS)
  const loaded = await rss(cluster.servers)

  const figures: Figure[] = [
    { metric: 'server processes (+1 bootstrap process)', value: nodes, unit: 'processes' },
    { metric: 'agent ready (modules loaded), slowest, from fork', value: t.readyMaxMs, unit: 'ms' },
    { metric: 'createNode+start(), median', value: t.startMedianMs, unit: 'ms' },
    { metric: 'time to full view, from fork', value: t.fullViewFromForkMs, unit: 'ms' },
    { metric: 'time to full view, from last start() resolved', value: t.fullViewFromLastStartMs, unit: 'ms' },
    { metric: 'own full view after own start(), median', value: t.ownViewMedianMs, unit: 'ms' },
    { metric: 'own full view after own start(), max', value: t.ownViewMaxMs, unit: 'ms' },
    { metric: 'idle RSS per server, median', value: median(idle) / MB, unit: 'MB' },
    { metric: 'idle RSS per server, max', value: Math.max(...idle) / MB, unit: 'MB' },
    { metric: 'idle RSS, bootstrap process', value: bootstrapIdle[0] / MB, unit: 'MB' },
    { metric: 'raw gossipsub mesh formed, from subscribe', value: raw.meshReadyMs, unit: 'ms' },
    { metric: 'raw gossipsub mesh peers per node, median', value: median(raw.meshPeers), unit: 'peers' },
    ...phaseFigures('raw paced', raw.paced, true),
    ...phaseFigures('raw saturation', raw.saturation, false),
    { metric: 'RSS per server after load, median', value: median(loaded) / MB, unit: 'MB' },
    { metric: 'member:leave events during raw load (no node died)', value: falseLeaves.length, unit: 'events' },
    { metric: `view whole again after raw load (NaN: >${C.DEFAULT_RECOVERY_TIMEOUT_MS / 1000} s)`, value: recoveryMs, unit: 'ms' }
  ]
  return {
    figures,
    details: {
      topology: { bootstrap: 1, servers: nodes },
      cluster: clusterDetails(cluster),
      rssBytes: { idle, bootstrapIdle: bootstrapIdle[0], afterLoad: loaded },
      raw,
      leavesDuringRawLoad: falseLeaves,
      recoveryMs
    }
  }
}

/** The table rows of one raw phase: the paced phase gets the full latency spread, saturation the essentials. */
export function phaseFigures (label: string, p: PhaseResult, paced: boolean): Figure[] {
  const row = (metric: string, value: number, unit: string): Figure => ({ metric: `${label}: ${metric}`, value, unit })
  if (!paced) {
    return [
      row('offered (achieved)', p.offeredPerSec, 'msgs/s'),
      row('delivered per receiver, median', p.deliveredPerSecMedian, 'msgs/s'),
      row('delivered fraction', p.deliveredFraction * 100, '%'),
      row('latency p50', p.latencyMs.p50, 'ms'),
      row('latency p99', p.latencyMs.p99, 'ms'),
      row('CPU per message, all servers', p.cpu.perMessageMs, 'ms'),
      row('CPU used, share of machine', p.cpu.machinePercent, '%')
    ]
  }
  return [
    row('offered', p.offeredPerSec, 'msgs/s'),
    row('delivered per receiver, median', p.deliveredPerSecMedian, 'msgs/s'),
    row('delivered per receiver, min', p.deliveredPerSecMin, 'msgs/s'),
    row('delivered fraction', p.deliveredFraction * 100, '%'),
    row('latency p50', p.latencyMs.p50, 'ms'),
    row('latency p90', p.latencyMs.p90, 'ms'),
    row('latency p99', p.latencyMs.p99, 'ms'),
    row('latency max', p.latencyMs.max, 'ms'),
    row('CPU per message, all servers', p.cpu.perMessageMs, 'ms'),
    row('CPU used, share of machine', p.cpu.machinePercent, '%')
  ]
}

async function rss (agents: readonly AgentHandle[]): Promise<number[]> {
  return await Promise.all(agents.map(async (a) => (await a.request('stats', {})).rssBytes))
}

function clusterDetails (c: Cluster): Record<string, unknown> {
  return {
    bootstrapAddr: c.bootstrapAddr,
    timings: c.timings,
    milestones: c.milestones,
    events: c.servers.map((s) => ({ name: s.name, events: s.events }))
  }
}
