/**
 * The data behind the operator dashboard (`GET /dashboard.json`): what the page needs beyond `/status`.
 * The ownership ring with each server's positions and share of the keys, the peers with their membership
 * state and connections (peers that left recently too, marked so), and the last minutes of the node's
 * traffic from a `Sampler`: store requests and LevelDB writes per second, live messages relayed per
 * second, hints pending, repair pushes and pulls. Everything in it is bounded.
 */

import type { Libp2p } from '@libp2p/interface'
import type { RingMember } from '../../protocol/ring.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import type { LeaveReason, Member, Membership } from '../membership/index.js'
import type { Relay } from '../relay/relay.js'
import type { Replication } from '../replication/replication.js'
import { RingViewCache, type RingView } from './ring-view.js'
import { Sampler, type Reading, type Series } from './sampler.js'

/** Peers listed at most (live ones first, then those that left most recently). */
export const MAX_LISTED_PEERS = 256

/** Peers that left are listed this long, so the operator sees who went and why. @default 300000 */
export const LEFT_PEER_RETENTION_MS = 5 * 60_000

/** Peers that left kept at most. */
export const MAX_LEFT_PEERS = 32

/** Hints are counted up to this many: past it the figure reads as "at least". */
export const HINT_COUNT_LIMIT = 10_000

/** What the dashboard reads from the node. Optional parts are read on each use (they exist only while it runs). */
export interface DashboardComponents {
  libp2p: Pick<Libp2p, 'getConnections'>
  membership: Pick<Membership, 'live' | 'selfMember' | 'on' | 'off'>
  /** N: owners per key */
  replicas: number
  replication: () => Replication | undefined
  relay: () => Relay | undefined
  /** gossipsub messages received on chat topics (inbox shards and rooms, not membership) since start */
  chatReceived: () => Promise<number>
}

/** Dashboard settings. */
export interface DashboardInit {
  /** @default 1000 */ sampleIntervalMs?: number
  /** @default 300 (five minutes at one a second) */ samples?: number
}

/** One peer in the dashboard's table. */
export interface DashboardPeer {
  peerId: string
  role: Member['role']
  /** alive or suspect while in the view; dead, left, revoked or expired once it left */
  state: Member['state'] | LeaveReason
  /** open libp2p connections to it */
  connections: number
  /** ms since epoch of the last direct contact (for a peer that left: when it left) */
  lastSeen: number
  version: string
}

/** What `GET /dashboard.json` answers. */
export interface DashboardData {
  /** when this was put together (ms since epoch) */
  at: number
  ring: RingView
  peers: DashboardPeer[]
  /** peers left out of `peers` (over MAX_LISTED_PEERS) */
  omittedPeers: number
  /** open connections to peers not in the membership view (clients, peers still handshaking) */
  otherConnections: number
  /** counters (totals since start), rates and gauges over the last minutes */
  series: Series
  /** `hints` reached HINT_COUNT_LIMIT: the real backlog is at least that */
  hintsCapped: boolean
}

interface Departed { member: Member, reason: LeaveReason, at: number }

/** Puts together `/dashboard.json`; owns the sampler, started and stopped with the HTTP endpoint. */
export class Dashboard {
  private readonly sampler: Sampler
  private readonly rings: RingViewCache
  private readonly departed = new Map<string, Departed>()
  private hintsCapped = false
  private readonly onLeave = (m: Member, reason: LeaveReason): void => { this.left(m, reason) }
  private readonly onJoin = (m: Member): void => { this.departed.delete(m.peerId) }

  constructor (private readonly c: DashboardComponents, init: DashboardInit = {}) {
    this.rings = new RingViewCache(c.replicas)
    this.sampler = new Sampler({
      intervalMs: init.sampleIntervalMs,
      capacity: init.samples,
      read: async () => this.read()
    })
  }

  start (): void {
    this.c.membership.on('member:leave', this.onLeave)
    this.c.membership.on('member:join', this.onJoin)
    this.sampler.start()
  }

  stop (): void {
    this.sampler.stop()
    this.c.membership.off('member:leave', this.onLeave)
    this.c.membership.off('member:join', this.onJoin)
  }

  /** The dashboard's JSON. */
  data (): DashboardData {
    const now = Date.now()
    const live = this.c.membership.live()
    const members: RingMember[] = live.filter((m) => m.role === 'server')
      .map((m) => ({ peerId: m.peerId, capacity: m.capacity, seed: m.seed }))
    const self = this.c.membership.selfMember()
    if (self != null) members.push(self)
    const connections = new Map<string, number>()
    for (const conn of this.c.libp2p.getConnections()) {
      const id = conn.remotePeer.toString()
      connections.set(id, (connections.get(id) ?? 0) + 1)
    }
    const peers: DashboardPeer[] = live.map((m) => ({
      peerId: m.peerId,
      role: m.role,
      state: m.state,
      connections: connections.get(m.peerId) ?? 0,
      lastSeen: m.lastSeen,
      version: m.version
    }))
    for (const [id, d] of this.departed) {
      if (now - d.at > LEFT_PEER_RETENTION_MS) { this.departed.delete(id); continue }
      if (live.some((m) => m.peerId === id)) continue
      const { role, version } = d.member
      peers.push({ peerId: id, role, state: d.reason, connections: connections.get(id) ?? 0, lastSeen: d.at, version })
    }
    const inView = new Set(peers.map((p) => p.peerId))
    let otherConnections = 0
    for (const [id, n] of connections) if (!inView.has(id)) otherConnections += n
    return {
      at: now,
      ring: this.rings.get(members),
      peers: peers.slice(0, MAX_LISTED_PEERS),
      omittedPeers: Math.max(0, peers.length - MAX_LISTED_PEERS),
      otherConnections,
      series: this.sampler.series(),
      hintsCapped: this.hintsCapped
    }
  }

  private left (m: Member, reason: LeaveReason): void {
    this.departed.delete(m.peerId)
    this.departed.set(m.peerId, { member: m, reason, at: Date.now() })
    // a Map iterates in insertion order: the first key is the oldest departure
    while (this.departed.size > MAX_LEFT_PEERS) this.departed.delete(this.departed.keys().next().value as string)
  }

  /** One reading for the sampler: cumulative counters and current gauges. */
  private async read (): Promise<Reading> {
    const r = this.c.replication()
    const relay = this.c.relay()
    const repair = r?.repair?.stats
    const hints = r?.repair != null ? await r.context.hints.count(HINT_COUNT_LIMIT) : 0
    this.hintsCapped = hints >= HINT_COUNT_LIMIT
    return {
      counters: {
        stored: r?.traffic.served.requests(StoreRequest.Kind.STORE) ?? 0,
        writes: r?.commit.stats.ops ?? 0,
        relayed: await this.c.chatReceived(),
        published: relay?.stats.published ?? 0,
        delivered: relay?.stats.delivered ?? 0,
        repairRounds: repair?.rounds ?? 0,
        repairPushed: repair?.pushed ?? 0,
        repairPulled: repair?.pulled ?? 0,
        handedOff: repair?.handedOff ?? 0,
        hintsDelivered: repair?.hintsDelivered ?? 0,
        repairErrors: repair?.errors ?? 0
      },
      gauges: {
        hints,
        connections: this.c.libp2p.getConnections().length,
        servers: this.c.membership.live().filter((m) => m.role === 'server').length +
          (this.c.membership.selfMember() != null ? 1 : 0)
      }
    }
  }
}
