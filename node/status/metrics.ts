/**
 * Chorus's own Prometheus figures, registered in the node's registry beside libp2p's: members by state,
 * connections, gossipsub mesh and traffic, membership counters and (when serving HTTP) process figures.
 * Gauges are read at scrape time, so nothing is computed between scrapes.
 */

import type { MeshClock } from '../membership/mesh-clock.js'
import type { Relay } from '../relay/relay.js'
import { Counter, Gauge, collectDefaultMetrics, type GaugeConfiguration, type Registry } from 'prom-client'
import type { ChorusLibp2p } from '../libp2p.js'
import type { Membership } from '../membership/index.js'
import type { Replication } from '../replication/replication.js'
import type { KindTraffic } from '../replication/traffic.js'
import type { WorkSnapshot } from './work.js'

/** Counters other components bump as traffic flows. */
export interface ChorusCounters {
  pubsubReceived: Counter<'topic'>
  pubsubPublished: Counter<'topic'>
  rejected: Counter<'component' | 'reason'>
}

/**
 * Add a gauge that its `collect` reads at scrape time to `registry`. prom-client would register it from its
 * constructor; registering it here says so where it happens.
 */
function addGauge (registry: Registry, config: GaugeConfiguration<string>): void {
  registry.registerMetric(new Gauge({ ...config, registers: [] }))
}

/** Register Chorus metrics in `registry`; returns the counters components increment. */
export function registerChorusMetrics (
  registry: Registry,
  libp2p: ChorusLibp2p,
  membership: Membership,
  withProcess: boolean,
  clock?: MeshClock
): ChorusCounters {
  addGauge(registry, {
    name: 'chorus_members',
    help: 'Peers in the membership table, by state (the live view is alive + suspect)',
    labelNames: ['state'],
    collect () {
      for (const [state, n] of Object.entries(membership.counts())) this.set({ state }, n)
    }
  })
  if (clock != null) {
    addGauge(registry, {
      name: 'chorus_clock_offset_seconds',
      help: 'How far this node\'s wall clock is behind the median of the servers it probes (negative: ahead); corrected for when over 0.5 s',
      collect () { this.set(clock.measuredOffsetMs / 1000) }
    })
  }
  addGauge(registry, { name: 'chorus_server_peers', help: 'Live server peers in the ownership ring, this node included when it is a server', collect () { this.set(membership.servers().length) } })
  addGauge(registry, { name: 'chorus_connections', help: 'Open libp2p connections', collect () { this.set(libp2p.getConnections().length) } })
  addGauge(registry, { name: 'chorus_pubsub_topics', help: 'Gossipsub topics this node subscribes to', collect () { this.set(libp2p.services.pubsub.getTopics().length) } })
  addGauge(registry, { name: 'chorus_pubsub_peers', help: 'Peers speaking gossipsub with this node', collect () { this.set(libp2p.services.pubsub.getPeers().length) } })
  addGauge(registry, {
    name: 'chorus_pubsub_mesh_peers',
    help: 'Gossipsub mesh peers per subscribed topic',
    labelNames: ['topic'],
    collect () {
      for (const topic of libp2p.services.pubsub.getTopics()) {
        this.set({ topic },
          (libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length)
      }
    }
  })
  const stats = membership.stats
  const statCounter = (name: string, help: string, read: () => number): void => {
    addGauge(registry, { name, help, collect () { this.set(read()) } })
  }
  statCounter('chorus_membership_probes_sent_total', 'Membership probes sent', () => stats.probesSent)
  statCounter('chorus_membership_probes_failed_total', 'Membership probes that got no ack in time', () => stats.probesFailed)
  statCounter('chorus_membership_indirect_probes_total', 'Probes that asked other members to ping a silent peer (PING_REQ)', () => stats.indirectProbes)
  statCounter('chorus_membership_indirect_acks_total', 'Indirect probes another member got an ack for (a suspicion avoided)', () => stats.indirectAcks)
  statCounter('chorus_membership_ping_reqs_served_total', 'PING_REQs this node served for other members', () => stats.pingReqsServed)
  statCounter('chorus_membership_joins_total', 'Members that joined the view', () => stats.joins)
  statCounter('chorus_membership_leaves_total', 'Members that left the view (dead or left)', () => stats.leaves)
  statCounter('chorus_membership_malformed_frames_total', 'Membership frames rejected as malformed', () => stats.malformedFrames)
  const admission = membership.admission
  addGauge(registry, {
    name: 'chorus_admission_refusals_total',
    help: 'Membership frames refused at the handshake: another mesh, or a server certificate that does not admit (closed mesh), by reason',
    labelNames: ['reason'],
    collect () { for (const [reason, n] of admission.refusals) this.set({ reason }, n) }
  })
  statCounter('chorus_admission_revocations', 'Revocations of this mesh this node keeps (those that matter)',
    () => admission.revocationCount)
  addGauge(registry, {
    name: 'chorus_admission_revocations_dropped_total',
    help: 'Valid revocations not kept: signed by a revoked operator, of a peer no live certificate names, over quota',
    labelNames: ['reason'],
    collect () { for (const [reason, n] of admission.dropped) this.set({ reason }, n) }
  })
  if (withProcess) collectDefaultMetrics({ register: registry, prefix: 'chorus_' })
  return {
    pubsubReceived: new Counter({ name: 'chorus_pubsub_messages_received_total', help: 'Gossipsub messages delivered to this node', labelNames: ['topic'], registers: [registry] }),
    pubsubPublished: new Counter({ name: 'chorus_pubsub_messages_published_total', help: 'Gossipsub messages this node published', labelNames: ['topic'], registers: [registry] }),
    rejected: new Counter({ name: 'chorus_rejected_total', help: 'Inputs rejected, by component and reason', labelNames: ['component', 'reason'], registers: [registry] })
  }
}

/** How long one work snapshot answers the gauges of a scrape. */
const SCRAPE_REUSE_MS = 250

/** Replication figures: group commit, repair and hinted handoff, served requests. Read at scrape time. */
export function registerReplicationMetrics (registry: Registry, r: Replication): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    addGauge(registry, { name, help, collect () { this.set(read()) } })
  }
  gauge('chorus_store_commit_batches_total', 'Synced LevelDB batches written by group commit', () => r.commit.stats.batches)
  gauge('chorus_store_commit_ops_total', 'Operations written in those batches', () => r.commit.stats.ops)
  if (r.repair != null) {
    const s = r.repair.stats
    gauge('chorus_repair_rounds_total', 'Anti-entropy rounds run', () => s.rounds)
    gauge('chorus_repair_pushed_total', 'Envelopes pushed to other owners by repair and handoff', () => s.pushed)
    gauge('chorus_repair_pulled_total', 'Envelopes pulled from other owners by repair', () => s.pulled)
    gauge('chorus_repair_handed_off_total', 'Envelopes deleted here after every owner confirmed them', () => s.handedOff)
    gauge('chorus_hints_delivered_total', 'Hinted mailboxes reconciled with an owner that had missed writes', () => s.hintsDelivered)
    gauge('chorus_repair_errors_total', 'Reconciliations that failed (retried next round)', () => s.errors)
    gauge('chorus_repair_unchanged_total', 'Reconciliations skipped: neither owner wrote to the mailbox since they last agreed', () => s.unchanged)
    gauge('chorus_repair_handles_settled_total', 'Rounds that skipped the pass over handle claims: every owner held each, and nothing moved since', () => s.handlesSettled)
  }
  if (r.server != null) {
    addGauge(registry, {
      name: 'chorus_store_requests_total',
      help: 'Replication requests served, by kind',
      labelNames: ['kind'],
      collect () { for (const [kind, t] of Object.entries(r.traffic.served.snapshot())) this.set({ kind }, t.requests) }
    })
  }
}

/**
 * The work counters of `node.work()` (node/status/work.ts) as metrics: store-protocol frames and bytes
 * by direction, frame and kind; envelopes replicated by kind; LevelDB writes; gossipsub's RPC counts.
 */
export function registerWorkMetrics (registry: Registry, readNow: () => Promise<WorkSnapshot>): void {
  // one snapshot serves every gauge of a scrape (each gauge collects on its own)
  let last: { at: number, value: Promise<WorkSnapshot> } | undefined
  const read = async (): Promise<WorkSnapshot> => {
    const now = Date.now()
    if (last == null || now - last.at > SCRAPE_REUSE_MS) last = { at: now, value: readNow() }
    return await last.value
  }
  const labelled = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (w: WorkSnapshot, set: (labels: Record<string, string>, v: number) => void) => void
  ): void => {
    addGauge(registry, {
      name,
      help,
      labelNames,
      async collect () { fill(await read(), (labels, v) => { this.set(labels, v) }) }
    })
  }
  const eachKind = (w: WorkSnapshot, visit: (direction: string, kind: string, t: KindTraffic) => void): void => {
    for (const direction of ['sent', 'served'] as const) {
      for (const [kind, t] of Object.entries(w.store?.[direction] ?? {})) visit(direction, kind, t)
    }
  }
  labelled('chorus_store_rpc_frames_total', 'Store-protocol frames: requests this node sent or served, and their responses, by request kind', ['direction', 'frame', 'kind'], (w, set) => {
    eachKind(w, (direction, kind, t) => {
      set({ direction, frame: 'request', kind }, t.requests)
      set({ direction, frame: 'response', kind }, t.responses)
    })
  })
  labelled('chorus_store_rpc_bytes_total', 'Store-protocol frame bytes (before encryption and muxing), as chorus_store_rpc_frames_total', ['direction', 'frame', 'kind'], (w, set) => {
    eachKind(w, (direction, kind, t) => {
      set({ direction, frame: 'request', kind }, t.requestBytes)
      set({ direction, frame: 'response', kind }, t.responseBytes)
    })
  })
  labelled('chorus_store_rpc_puts_total', 'Envelopes carried by STORE requests this node sent or served', ['direction'], (w, set) => {
    eachKind(w, (direction, kind, t) => { if (kind === 'STORE') set({ direction }, t.puts) })
  })
  labelled('chorus_envelopes_written_total', 'Envelopes this node replicated (sends of its users, receipts included), by kind', ['kind'], (w, set) => {
    for (const [kind, n] of Object.entries(w.envelopesWritten)) set({ kind }, n)
  })
  labelled('chorus_pubsub_work_total', 'Gossipsub\'s own counts: RPC frames and bytes sent and received, messages published, forwarded, sent and received, control entries, duplicates', ['figure'], (w, set) => {
    for (const [figure, n] of Object.entries(w.pubsub)) set({ figure }, n)
  })
  addGauge(registry, { name: 'chorus_db_writes_total', help: 'LevelDB write calls (put, del, batch), synced or not', async collect () { this.set((await read()).db.writes) } })
  addGauge(registry, { name: 'chorus_db_write_ops_total', help: 'Operations in those LevelDB writes', async collect () { this.set((await read()).db.ops) } })
}

/** The relay's figures: live envelopes published, delivered to local sessions, publishes that found no peer. */
export function registerRelayMetrics (registry: Registry, relay: Relay): void {
  const gauge = (name: string, help: string, read: () => number): void => {
    addGauge(registry, { name, help, collect () { this.set(read()) } })
  }
  gauge('chorus_relay_published_total', 'Envelopes sent live (to a relay of the inbox shard, or on the room topic)', () => relay.stats.published)
  gauge('chorus_relay_publish_failed_total', 'Live sends that found no relay (delivery falls back to sync)', () => relay.stats.publishFailed)
  gauge('chorus_relay_delivered_total', 'Live envelopes handed to sessions on this node', () => relay.stats.delivered)
  gauge('chorus_relay_relayed_total', 'Inbox envelopes this relay passed on to the nodes subscribed to the shard', () => relay.stats.relayed)
  gauge('chorus_relay_topics', 'Gossipsub chat topics this node is subscribed to', () => relay.topics().length)
  addGauge(registry, {
    name: 'chorus_live_frames_total',
    help: 'Frames of the live hop (/chorus/live/1.0.0), by direction; dropped: a link was full or failed',
    labelNames: ['direction'],
    collect () {
      const c = relay.liveCounts
      this.set({ direction: 'sent' }, c.framesSent)
      this.set({ direction: 'received' }, c.framesReceived)
      this.set({ direction: 'dropped' }, c.dropped)
    }
  })
}
