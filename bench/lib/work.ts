/**
 * The work per send: snapshots of every agent's running totals (`node.work()` and its process's CPU)
 * before and after a phase, and their difference divided by the sends acknowledged in between, summed
 * over every process of the mesh. Paths are told apart by who sent a frame: a client-role process's
 * STORE requests are client → owners; a server's STORE requests are owner → owner (hinted handoff,
 * repair pushes), its DIGEST / IDS / GET / FETCH are anti-entropy; a client's other requests are its
 * sync (reads, handle lookups).
 */

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { WorkSnapshot } from '../../node/index.js'
import type { AgentHandle } from './agent-handle.js'
import type { Figure } from './scenario.js'

/** One agent's totals at one moment. */
export interface WorkSample {
  name: string
  role: string
  /** user + system CPU of the whole process, ms */
  cpuMs: number
  work: WorkSnapshot | null
}

/** Frames and bytes of one path, per send. */
export interface PathBudget { frames: number, bytes: number }

/** What one send cost, summed over every process. */
export interface WorkBudget {
  sends: number
  cpuMsPerSend: { all: number, servers: number, clients: number, bootstrap: number }
  /** store-protocol frames (requests and responses) and their bytes, per path */
  paths: { clientToOwners: PathBudget, ownerToOwner: PathBudget, antiEntropy: PathBudget, clientSync: PathBudget }
  /** envelopes carried per STORE frame sent by clients (how well puts are batched) */
  putsPerClientStoreFrame: number
  /**
   * gossipsub, every process: RPC frames and bytes sent, messages published, forwarded and
   * sent, control entries, duplicates
   */
  pubsub: {
    rpcFrames: number
    rpcBytes: number
    published: number
    forwarded: number
    messagesSent: number
    ihave: number
    iwant: number
    idontwant: number
    duplicates: number
  }
  /** the live hop of inbox traffic: frames and bytes sent, envelopes relays passed on, frames dropped */
  live: { frames: number, bytes: number, relayed: number, dropped: number }
  /** receipts replicated per send */
  receipts: number
  /** envelopes replicated per send, every kind */
  envelopes: number
  /** LevelDB, every process: write calls, operations, synced group-commit batches */
  db: { writes: number, ops: number, syncedBatches: number }
  /** bytes on the sockets (after encryption and muxing), sent by every process */
  wireBytes: number
  /** bytes sent per libp2p protocol, per send */
  byProtocol: Record<string, number>
}

/** Snapshot every live agent (those that cannot answer are left out). */
export async function sampleWork (agents: readonly AgentHandle[]): Promise<WorkSample[]> {
  const out = await Promise.all(agents.filter((a) => a.alive).map(async (a): Promise<WorkSample | undefined> => {
    try {
      const r = await a.request('work', {}, 30_000)
      return { name: a.name, role: r.role, cpuMs: r.cpu.userMs + r.cpu.systemMs, work: r.work }
    } catch {
      return undefined
    }
  }))
  return out.filter((s): s is WorkSample => s != null)
}

/**
 * Wait until `agents` together use at most `msPerSec` ms of CPU a second over one `stepMs`, or `maxMs`
 * has passed: what a phase left queued (gossip of its last messages, a receiver's backlog, deliveries
 * and receipts) must not be measured as the next phase's work or latency, or must be counted in its own.
 * Resolves with the ms waited.
 */
export async function waitForQuiet (
  agents: readonly AgentHandle[],
  msPerSec: number,
  maxMs: number,
  stepMs = 250
): Promise<number> {
  const started = Date.now()
  const total = (samples: readonly WorkSample[]): number => samples.reduce((s, x) => s + x.cpuMs, 0)
  let before = total(await sampleWork(agents))
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, stepMs))
    const after = total(await sampleWork(agents))
    if ((after - before) * 1000 / stepMs <= msPerSec || Date.now() - started >= maxMs) break
    before = after
  }
  return Date.now() - started
}

/** What measuring a phase needs: the agents, and where CPU profiles go when the run is profiled. */
export interface MeasureContext {
  pool: { agents: readonly AgentHandle[] }
  /** `--profile`: each measured phase writes `<profileDir>/<phase>/<agent>.cpuprofile` */
  profileDir?: string
}

/** A phase's work per send, and the snapshots it came from. */
export interface SampledBudget { budget: WorkBudget, before: WorkSample[], after: WorkSample[] }

/** A phase being measured: `stop(sends)` ends it and returns its work per send. */
export interface PhaseMeter {
  stop: (sends: number) => Promise<WorkBudget>
  /** the same, with the snapshots it was computed from (for per-process figures) */
  stopSampled: (sends: number) => Promise<SampledBudget>
}

/**
 * Start measuring a phase named `label`: snapshot every agent (and, when the run is profiled, start the
 * CPU profiler in each). Agents forked after this are left out.
 */
export async function startMeasure (ctx: MeasureContext, label: string): Promise<PhaseMeter> {
  const agents = ctx.pool.agents.filter((a) => a.alive)
  const before = await sampleWork(agents)
  const profiled = ctx.profileDir != null ? await startProfiles(agents) : []
  const stopSampled: PhaseMeter['stopSampled'] = async (sends) => {
    if (ctx.profileDir != null) await stopProfiles(profiled, join(ctx.profileDir, phaseDirName(label)))
    const after = await sampleWork(agents)
    return { budget: workBetween(before, after, sends), before, after }
  }
  return { stop: async (sends) => (await stopSampled(sends)).budget, stopSampled }
}

/** Run `phase` as one measured phase; returns its result and the work per send of `sendsOf(result)`. */
export async function measured<T> (
  ctx: MeasureContext,
  label: string,
  phase: () => Promise<T>,
  sendsOf: (r: T) => number
): Promise<{ result: T, budget: WorkBudget }> {
  const meter = await startMeasure(ctx, label)
  const result = await phase()
  return { result, budget: await meter.stop(sendsOf(result)) }
}

/** A phase label as a directory name: `W=2 saturation` → `w-2-saturation`. */
export function phaseDirName (label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
}

async function startProfiles (agents: readonly AgentHandle[]): Promise<AgentHandle[]> {
  const started = await Promise.all(agents.map(async (a) => {
    try { await a.request('profile', { action: 'start' }, 30_000); return a } catch { return undefined }
  }))
  return started.filter((a): a is AgentHandle => a != null)
}

async function stopProfiles (agents: readonly AgentHandle[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  await Promise.all(agents.filter((a) => a.alive).map(async (a) => {
    await a.request('profile', { action: 'stop', path: join(dir, `${a.name}.cpuprofile`) }, 60_000).catch(() => {})
  }))
}

/** The work between two snapshots of the same agents, per send. Agents missing from either are left out. */
export function workBetween (before: readonly WorkSample[], after: readonly WorkSample[], sends: number): WorkBudget {
  const per = (n: number): number => (sends > 0 ? n / sends : NaN)
  const cpu = { all: 0, servers: 0, clients: 0, bootstrap: 0 }
  const paths = {
    clientToOwners: { frames: 0, bytes: 0 },
    ownerToOwner: { frames: 0, bytes: 0 },
    antiEntropy: { frames: 0, bytes: 0 },
    clientSync: { frames: 0, bytes: 0 }
  }
  const pubsub = {
    rpcFrames: 0,
    rpcBytes: 0,
    published: 0,
    forwarded: 0,
    messagesSent: 0,
    ihave: 0,
    iwant: 0,
    idontwant: 0,
    duplicates: 0
  }
  const db = { writes: 0, ops: 0, syncedBatches: 0 }
  const byProtocol: Record<string, number> = {}
  let clientStoreFrames = 0
  let clientPuts = 0
  const live = { frames: 0, bytes: 0, relayed: 0, dropped: 0 }
  let receipts = 0
  let envelopes = 0
  let wireBytes = 0
  for (const b of after) {
    const a = before.find((x) => x.name === b.name)
    if (a == null) continue
    const dCpu = b.cpuMs - a.cpuMs
    cpu.all += dCpu
    if (b.role === 'server') cpu.servers += dCpu
    else if (b.role === 'client') cpu.clients += dCpu
    else cpu.bootstrap += dCpu
    const wa = a.work
    const wb = b.work
    if (wa == null || wb == null) continue
    for (const [kind, t] of Object.entries(wb.store?.sent ?? {})) {
      const t0 = wa.store?.sent[kind] ?? { requests: 0, requestBytes: 0, responses: 0, responseBytes: 0, puts: 0 }
      const frames = t.requests - t0.requests + t.responses - t0.responses
      const bytes = t.requestBytes - t0.requestBytes + t.responseBytes - t0.responseBytes
      const path = b.role === 'client'
        ? (kind === 'STORE' ? paths.clientToOwners : paths.clientSync)
        : (kind === 'STORE' ? paths.ownerToOwner : paths.antiEntropy)
      path.frames += frames
      path.bytes += bytes
      if (b.role === 'client' && kind === 'STORE') { clientStoreFrames += t.requests - t0.requests; clientPuts += t.puts - t0.puts }
    }
    const p = wb.pubsub
    const p0 = wa.pubsub
    pubsub.rpcFrames += p.rpcSent - p0.rpcSent
    pubsub.rpcBytes += p.rpcSentBytes - p0.rpcSentBytes
    pubsub.published += p.published - p0.published
    pubsub.forwarded += p.forwarded - p0.forwarded
    pubsub.messagesSent += p.messagesSent - p0.messagesSent
    pubsub.ihave += p.ihaveSent - p0.ihaveSent
    pubsub.iwant += p.iwantSent - p0.iwantSent
    pubsub.idontwant += p.idontwantSent - p0.idontwantSent
    pubsub.duplicates += p.duplicates - p0.duplicates
    if (wb.live != null) {
      const l0 = wa.live ?? { framesSent: 0, bytesSent: 0, relayed: 0, dropped: 0 }
      live.frames += wb.live.framesSent - l0.framesSent
      live.bytes += wb.live.bytesSent - l0.bytesSent
      live.relayed += wb.live.relayed - l0.relayed
      live.dropped += wb.live.dropped - l0.dropped
    }
    receipts += (wb.envelopesWritten.RECEIPT ?? 0) - (wa.envelopesWritten.RECEIPT ?? 0)
    for (const [kind, n] of Object.entries(wb.envelopesWritten)) envelopes += n - (wa.envelopesWritten[kind] ?? 0)
    db.writes += wb.db.writes - wa.db.writes
    db.ops += wb.db.ops - wa.db.ops
    db.syncedBatches += wb.db.syncedBatches - wa.db.syncedBatches
    for (const [protocol, w] of Object.entries(wb.wire)) {
      const sent = w.sent - (wa.wire[protocol]?.sent ?? 0)
      if (protocol === 'global') wireBytes += sent
      else byProtocol[protocol] = (byProtocol[protocol] ?? 0) + sent
    }
  }
  const scalePath = (x: PathBudget): PathBudget => ({ frames: per(x.frames), bytes: per(x.bytes) })
  const scaleAll = <R extends Record<string, number>>(r: R): R =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, per(v)])) as R
  return {
    sends,
    cpuMsPerSend: scaleAll(cpu),
    paths: {
      clientToOwners: scalePath(paths.clientToOwners),
      ownerToOwner: scalePath(paths.ownerToOwner),
      antiEntropy: scalePath(paths.antiEntropy),
      clientSync: scalePath(paths.clientSync)
    },
    putsPerClientStoreFrame: clientStoreFrames > 0 ? clientPuts / clientStoreFrames : NaN,
    pubsub: scaleAll(pubsub),
    live: scaleAll(live),
    receipts: per(receipts),
    envelopes: per(envelopes),
    db: scaleAll(db),
    wireBytes: per(wireBytes),
    byProtocol: scaleAll(byProtocol)
  }
}

/** The CPU figure of a phase: one row beside its rates. */
export function cpuFigure (label: string, b: WorkBudget): Figure {
  return { metric: `${label}: CPU per send, all processes`, value: b.cpuMsPerSend.all, unit: 'ms' }
}

/** The whole budget of a phase as table rows (the scenario's main phase), one figure per row. */
export function budgetFigures (label: string, b: WorkBudget): Figure[] {
  const p = b.paths
  const row = (what: string, value: number, unit: string): Figure => ({ metric: `${label}: ${what}`, value, unit })
  return [
    row('CPU per send, server processes', b.cpuMsPerSend.servers, 'ms'),
    row('CPU per send, client processes', b.cpuMsPerSend.clients, 'ms'),
    row('client → owners: store frames per send', p.clientToOwners.frames, 'frames'),
    row('client → owners: store bytes per send', p.clientToOwners.bytes, 'B'),
    row('client → owners: envelopes per STORE request', b.putsPerClientStoreFrame, 'puts'),
    row('owner → owner (handoff): frames per send', p.ownerToOwner.frames, 'frames'),
    row('anti-entropy: frames per send', p.antiEntropy.frames, 'frames'),
    row('anti-entropy: bytes per send', p.antiEntropy.bytes, 'B'),
    row('client sync: frames per send', p.clientSync.frames, 'frames'),
    row('live hop: frames per send', b.live.frames, 'frames'),
    row('live hop: bytes per send', b.live.bytes, 'B'),
    row('gossipsub: RPC frames sent per send', b.pubsub.rpcFrames, 'frames'),
    row('gossipsub: RPC bytes sent per send', b.pubsub.rpcBytes, 'B'),
    row('gossipsub: published per send', b.pubsub.published, 'msgs'),
    row('gossipsub: forwarded per send', b.pubsub.forwarded, 'msgs'),
    row('gossipsub: IHAVE entries per send', b.pubsub.ihave, 'entries'),
    row('gossipsub: IWANT entries per send', b.pubsub.iwant, 'entries'),
    row('receipts replicated per send', b.receipts, 'envelopes'),
    row('LevelDB writes per send, all processes', b.db.writes, 'writes'),
    row('LevelDB operations per send', b.db.ops, 'ops'),
    row('synced LevelDB batches per send', b.db.syncedBatches, 'batches'),
    row('bytes on the wire per send, all processes', b.wireBytes, 'B')
  ]
}
