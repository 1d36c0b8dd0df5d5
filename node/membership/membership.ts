/**
 * Membership: the node's live view of the mesh. Finds peers through bootstrap peers, the DHT and
 * gossip; notices that one is gone through failed probes and a suspicion timeout (SWIM-like); emits
 * `member:join` / `member:leave`. The state machine is `MemberTable`; this file does the I/O.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Connection, IdentifyResult, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { MEMBERSHIP_PROTOCOL, type Role } from '../../protocol/constants.js'
import { Member as MemberPb, MembershipMessage } from '../../protocol/pb/membership.js'
import { MalformedFrameError, isMalformedFrame } from '../errors.js'
import * as C from './constants.js'
import { fromPb, toPb, type Member, type MemberRecord, type MemberState } from './member.js'
import { MemberTable } from './member-table.js'
import type { MeshClock } from './mesh-clock.js'
import { Prober } from './prober.js'

const log = logger('chorus:membership')

/** Membership tuning. All optional; defaults in constants.ts. */
export interface MembershipInit {
  /** @default 1000 */ probeIntervalMs: number
  /** @default 1000 */ probeTimeoutMs: number
  /** @default 4000 */ suspicionTimeoutMs: number
  /** @default 15000 */ syncIntervalMs: number
  /** @default 2000 */ rejoinIntervalMs: number
  /** @default 600000 */ deadRetentionMs: number
  /** @default 8 */ maxPiggyback: number
  /** @default 10000 */ maxMembers: number
}

/** A place to remember peers across restarts, so a node can rejoin without its bootstrap peers. */
export interface PeerMemory {
  load: () => Promise<Array<{ peerId: string, addrs: string[] }>>
  save: (peers: Array<{ peerId: string, addrs: string[] }>) => Promise<void>
}

/** What membership needs from the node. */
export interface MembershipComponents {
  libp2p: Pick<Libp2p, 'peerId' | 'getMultiaddrs' | 'getConnections' | 'handle' | 'unhandle' | 'dialProtocol' | 'dial' | 'peerStore' | 'addEventListener' | 'removeEventListener'>
  role: Role
  capacity: number
  version: string
  bootstrap: Multiaddr[]
  memory?: PeerMemory
  /** told the wall time of every server that answers this node: the mesh's time (mesh-clock.ts) */
  clock?: MeshClock
}

/** Counters for /metrics. */
export interface MembershipStats {
  probesSent: number
  probesFailed: number
  pingsReceived: number
  /** probes that asked other members to ping the target, and of those, the ones another member got an ack for */
  indirectProbes: number
  indirectAcks: number
  /** PING_REQs this node served for others */
  pingReqsServed: number
  syncs: number
  malformedFrames: number
  joins: number
  leaves: number
}

/** Events: `member:join` and `member:leave` carry the member; leave also says why. */
export interface MembershipEvents {
  'member:join': [Member]
  'member:leave': [Member, 'dead' | 'left']
}

export class Membership extends EventEmitter<MembershipEvents> {
  readonly stats: MembershipStats = { probesSent: 0, probesFailed: 0, pingsReceived: 0, indirectProbes: 0, indirectAcks: 0, pingReqsServed: 0, syncs: 0, malformedFrames: 0, joins: 0, leaves: 0 }
  private readonly init: MembershipInit
  private readonly table: MemberTable
  private incarnation = BigInt(Date.now())
  private readonly timers: NodeJS.Timeout[] = []
  private readonly warmups: NodeJS.Timeout[] = []
  private readonly prober: Prober
  private running = false
  private version = 0
  private joinProbes = 0
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.identified(evt.detail) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.disconnected(evt.detail) }

  constructor (private readonly components: MembershipComponents, init: Partial<MembershipInit> = {}) {
    super()
    this.init = {
      probeIntervalMs: init.probeIntervalMs ?? C.DEFAULT_PROBE_INTERVAL_MS,
      probeTimeoutMs: init.probeTimeoutMs ?? C.DEFAULT_PROBE_TIMEOUT_MS,
      suspicionTimeoutMs: init.suspicionTimeoutMs ?? C.DEFAULT_SUSPICION_TIMEOUT_MS,
      syncIntervalMs: init.syncIntervalMs ?? C.DEFAULT_SYNC_INTERVAL_MS,
      rejoinIntervalMs: init.rejoinIntervalMs ?? C.DEFAULT_REJOIN_INTERVAL_MS,
      deadRetentionMs: init.deadRetentionMs ?? C.DEFAULT_DEAD_RETENTION_MS,
      maxPiggyback: init.maxPiggyback ?? C.DEFAULT_MAX_PIGGYBACK,
      maxMembers: init.maxMembers ?? C.DEFAULT_MAX_MEMBERS
    }
    this.table = new MemberTable(() => this.selfRecord(), {
      suspicionTimeoutMs: this.init.suspicionTimeoutMs,
      deadRetentionMs: this.init.deadRetentionMs,
      retransmitMult: C.DEFAULT_RETRANSMIT_MULT,
      maxMembers: this.init.maxMembers
    }, {
      onJoin: (m) => { this.version++; this.stats.joins++; log('join %s (%s)', m.peerId, m.role); this.emit('member:join', m); this.rememberSoon() },
      onLeave: (m, why) => { this.version++; this.stats.leaves++; this.components.clock?.forget(m.peerId); log('leave %s (%s)', m.peerId, why); this.emit('member:leave', m, why) }
    })
    this.prober = new Prober({
      selfId: components.libp2p.peerId.toString(),
      probeTimeoutMs: this.init.probeTimeoutMs,
      stats: this.stats,
      connected: (peerId) => components.libp2p.getConnections(peerIdFromString(peerId)).length > 0,
      request: async (peerId, kind, timeoutMs, target = '') => this.send(peerId, { ...this.message(kind), target }, true, timeoutMs),
      table: this.table
    })
  }

  /** The timings in force. */
  get settings (): Readonly<MembershipInit> { return this.init }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    const { libp2p } = this.components
    await libp2p.handle(MEMBERSHIP_PROTOCOL, (stream, connection) => { void this.serve(stream, connection) }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
    libp2p.addEventListener('peer:identify', this.onIdentify)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.every(this.init.probeIntervalMs, () => { this.table.tick(); this.probeNext() })
    this.every(this.init.syncIntervalMs, () => { this.syncRandom() })
    this.every(this.init.rejoinIntervalMs, () => { if (this.live().length === 0) void this.rejoin() })
    void this.rejoin()
    // while our view is young, peers that started with us are still joining the peers we sync with:
    // sync again at 250 ms, 500 ms, 1 s, 2 s, 4 s instead of waiting for the first periodic sync
    for (const ms of C.WARMUP_SYNCS_MS) {
      const t = setTimeout(() => { this.syncRandom() }, ms)
      t.unref()
      this.warmups.push(t)
    }
  }

  /** Tell the members we know that we are leaving, then stop. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const t of this.timers) clearInterval(t)
    for (const t of this.warmups) clearTimeout(t)
    this.timers.length = 0
    this.warmups.length = 0
    const { libp2p } = this.components
    libp2p.removeEventListener('peer:identify', this.onIdentify)
    libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.remember()
    const leave: MembershipMessage = { kind: MembershipMessage.Kind.LEAVE, sender: toPb({ ...this.selfRecord(), state: 'left' }), updates: [], target: '', wallTime: 0n }
    const timeout = Math.max(this.init.probeTimeoutMs, C.LEAVE_TIMEOUT_MS)
    const sent = await Promise.allSettled(this.table.reachable().map(async (peerId) => { await this.send(peerId, leave, true, timeout) }))
    for (const r of sent) if (r.status === 'rejected') log('LEAVE not delivered: %s', r.reason?.message)
    await libp2p.unhandle(MEMBERSHIP_PROTOCOL)
  }

  /** Bumped on every join and leave: a cheap way to know the view changed. */
  get viewVersion (): number { return this.version }

  /** Live members other than this node (alive or suspect), of every role but client. */
  live (): Member[] {
    return this.table.live()
  }

  /** Peer ids of the live server peers, this node included when it is a server: the ownership ring's input. */
  servers (): string[] {
    const ids = this.table.live('server').map((m) => m.peerId)
    if (this.components.role === 'server') ids.push(this.components.libp2p.peerId.toString())
    return ids.sort()
  }

  /** The role a peer declared, while remembered (dead ones too: a server wrongly declared dead is still a server). */
  roleOf (peerId: string): Member['role'] | undefined {
    return this.table.get(peerId)?.record.role
  }

  /** What this node believes of one peer; `undefined` when it never heard of it or has forgotten it. */
  stateOf (peerId: string): MemberState | undefined {
    return this.table.get(peerId)?.state
  }

  /** Member counts per state, for metrics. */
  counts (): ReturnType<MemberTable['counts']> {
    return this.table.counts()
  }

  private selfRecord (): MemberRecord {
    const { libp2p, role, capacity, version } = this.components
    return { peerId: libp2p.peerId.toString(), role, capacity, addrs: libp2p.getMultiaddrs().map((a) => a.decapsulateCode(421)).slice(0, C.MAX_ADDRS_PER_MEMBER), incarnation: this.incarnation, state: 'alive', version }
  }

  private every (ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    this.timers.push(t)
  }

  // ---- outbound ----------------------------------------------------------------------------------

  private probeNext (): void {
    const target = this.table.nextProbeTarget()
    if (target != null) void this.probe(target)
  }

  private async probe (peerId: string): Promise<void> {
    if (this.running) await this.prober.probe(peerId)
  }

  /** Ask one peer for its whole view. */
  private async sync (peerId: string): Promise<void> {
    if (!this.running) return
    this.stats.syncs++
    try {
      await this.send(peerId, this.message(MembershipMessage.Kind.SYNC), true)
    } catch (err: any) {
      log('sync with %s failed: %s', peerId, err.message)
    }
  }

  private syncRandom (): void {
    const live = this.table.live()
    if (live.length > 0) void this.sync(live[Math.floor(Math.random() * live.length)].peerId)
  }

  /** Dial bootstrap peers and remembered peers; identify then brings us into the mesh. */
  private async rejoin (): Promise<void> {
    const { libp2p, bootstrap, memory } = this.components
    const targets: Array<PeerId | Multiaddr> = [...bootstrap]
    try {
      for (const p of await memory?.load() ?? []) {
        if (p.peerId === libp2p.peerId.toString()) continue
        const id = peerIdFromString(p.peerId)
        await this.learnAddrs(p.peerId, p.addrs)
        targets.push(id)
      }
    } catch (err: any) {
      log.error('could not load remembered peers: %s', err.message)
    }
    await Promise.allSettled(targets.map(async (t) => {
      const conn = await libp2p.dial(t, { signal: AbortSignal.timeout(this.init.probeTimeoutMs * 3) })
      await this.sync(conn.remotePeer.toString())
    }))
  }

  private message (kind: MembershipMessage.Kind): MembershipMessage {
    const wallTime = BigInt(Math.max(0, Math.round(this.components.clock?.ownTime() ?? Date.now())))
    return { kind, sender: toPb(this.selfRecord()), updates: this.table.takeUpdates(this.init.maxPiggyback).map(toPb), target: '', wallTime }
  }

  /** One request (and, if `expectReply`, its reply) on a fresh stream, bounded in size and time. */
  private async send (peerId: string, msg: MembershipMessage, expectReply: boolean, timeoutMs = this.init.probeTimeoutMs): Promise<MembershipMessage | undefined> {
    const signal = AbortSignal.timeout(timeoutMs)
    const stream = await this.components.libp2p.dialProtocol(peerIdFromString(peerId), MEMBERSHIP_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: C.MAX_FRAME_BYTES })
    try {
      const own = (): number => this.components.clock?.ownTime() ?? Date.now()
      const sentAt = own()
      await lp.write(MembershipMessage.encode({ ...msg, wallTime: BigInt(Math.round(sentAt)) }), { signal })
      if (!expectReply) { await stream.close({ signal }); return undefined }
      const reply = this.decode(await lp.read({ signal }).then((b) => b.subarray()))
      const receivedAt = own()
      await stream.close({ signal }).catch(() => {})
      this.receive(reply, peerId)
      // a server's answer tells this node how far its own clock is from the mesh's
      if (reply.sender?.role === MemberPb.Role.SERVER && reply.wallTime > 0n) this.components.clock?.sample(peerId, Number(reply.wallTime), sentAt, receivedAt)
      return reply
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  // ---- inbound -----------------------------------------------------------------------------------

  /** Serve one inbound stream: one request, one reply. A bad frame aborts the stream, never the node. */
  private async serve (stream: Stream, connection: Connection): Promise<void> {
    // after our LEAVE went out we answer nothing: a late ack would refute our own departure
    if (!this.running) { stream.abort(new Error('membership stopped')); return }
    const lp = lpStream(stream, { maxDataLength: C.MAX_FRAME_BYTES })
    try {
      const req = this.decode((await lp.read({ signal: AbortSignal.timeout(this.init.probeTimeoutMs * 2) })).subarray())
      const from = connection.remotePeer.toString()
      this.receive(req, from)
      // a LEAVE is acknowledged too, so the leaver knows it was heard before it shuts down
      let kind = req.kind === MembershipMessage.Kind.SYNC ? MembershipMessage.Kind.SYNC_REPLY : MembershipMessage.Kind.ACK
      if (req.kind === MembershipMessage.Kind.PING) this.stats.pingsReceived++
      if (req.kind === MembershipMessage.Kind.PING_REQ) kind = await this.prober.pingFor(req.target, from)
      else if (req.kind === MembershipMessage.Kind.ACK || req.kind === MembershipMessage.Kind.NACK || req.kind === MembershipMessage.Kind.SYNC_REPLY) throw new MalformedFrameError(`${req.kind} is a reply, not a request`)
      const reply = this.message(kind)
      if (kind === MembershipMessage.Kind.SYNC_REPLY) reply.updates = this.table.snapshot(C.MAX_SYNC_MEMBERS).map(toPb)
      const signal = AbortSignal.timeout(this.init.probeTimeoutMs * 2)
      await lp.write(MembershipMessage.encode(reply), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      if (isMalformedFrame(err)) {
        this.stats.malformedFrames++
        log('malformed frame from %s: %s', connection.remotePeer, err.message)
      }
      stream.abort(err)
    }
  }

  private decode (bytes: Uint8Array): MembershipMessage {
    try {
      return MembershipMessage.decode(bytes, { limits: { updates: C.MAX_UPDATES_PER_FRAME, updates$: { addrs: C.MAX_ADDRS_PER_MEMBER }, sender: { addrs: C.MAX_ADDRS_PER_MEMBER } } })
    } catch (err: any) {
      throw new MalformedFrameError(`membership frame does not decode: ${err.message}`)
    }
  }

  /** Apply a frame from `from` (the authenticated remote peer). */
  private receive (msg: MembershipMessage, from: string): void {
    const sender = fromPb(msg.sender)
    if (sender.peerId !== from) throw new MalformedFrameError(`sender ${sender.peerId} is not the connection's peer ${from}`)
    const updates = msg.updates.map(fromPb)
    if (msg.kind === MembershipMessage.Kind.LEAVE) sender.state = 'left'
    const knownIncarnation = this.table.get(from)?.record.incarnation
    this.table.observeDirect(sender)
    // a new peer, or a restarted one (it may listen on new ports): remember where to dial it
    if ((knownIncarnation == null || sender.incarnation > knownIncarnation) && sender.role !== 'client') void this.learnAddrs(sender.peerId, sender.addrs.map(String))
    for (const u of updates) {
      if (this.table.refutesSelf(u, this.incarnation)) {
        this.incarnation = u.incarnation + 1n
        this.table.announceSelf()
        continue
      }
      const before = this.table.get(u.peerId)?.record.incarnation
      this.table.observeHearsay(u)
      if (before == null && this.table.get(u.peerId) != null) void this.introduce(u.peerId, u.addrs.map(String))
      else if (before != null && u.incarnation > before) void this.learnAddrs(u.peerId, u.addrs.map(String))
    }
  }

  /**
   * A peer we just heard of: learn its addresses and probe it at once, instead of waiting for its turn
   * in the probe rounds, so that a newcomer's full view takes one round trip after its first sync.
   * Bounded: at most MAX_JOIN_PROBES such probes run at a time; the rest wait for the rounds.
   */
  private async introduce (peerId: string, addrs: string[]): Promise<void> {
    await this.learnAddrs(peerId, addrs)
    if (this.joinProbes >= C.MAX_JOIN_PROBES) return
    this.joinProbes++
    try {
      await this.probe(peerId)
    } finally {
      this.joinProbes--
    }
  }

  /** Replace what the peer store knows of a peer's addresses with its own record's (authoritative; a restart may change ports). */
  private async learnAddrs (peerId: string, addrs: string[]): Promise<void> {
    if (addrs.length === 0 || peerId === this.components.libp2p.peerId.toString()) return
    try {
      await this.components.libp2p.peerStore.patch(peerIdFromString(peerId), { multiaddrs: addrs.map((a) => multiaddr(a)) })
    } catch (err: any) {
      log('could not store addresses of %s: %s', peerId, err.message)
    }
  }

  private identified (result: IdentifyResult): void {
    if (!result.protocols.includes(MEMBERSHIP_PROTOCOL)) return
    const id = result.peerId.toString()
    const e = this.table.get(id)
    if (e == null || e.state === 'pending' || e.state === 'dead' || e.state === 'left') void this.sync(id)
  }

  private disconnected (peerId: PeerId): void {
    const e = this.table.get(peerId.toString())
    if (e != null && (e.state === 'alive' || e.state === 'suspect')) void this.probe(peerId.toString())
  }

  // ---- memory of peers ---------------------------------------------------------------------------

  private rememberTimer?: NodeJS.Timeout
  private rememberSoon (): void {
    if (this.components.memory == null || this.rememberTimer != null) return
    this.rememberTimer = setTimeout(() => { this.rememberTimer = undefined; if (this.running) void this.remember() }, 1000)
    this.rememberTimer.unref()
  }

  private async remember (): Promise<void> {
    if (this.rememberTimer != null) { clearTimeout(this.rememberTimer); this.rememberTimer = undefined }
    try {
      await this.components.memory?.save(this.table.live().filter((m) => m.role !== 'client').slice(0, 64).map((m) => ({ peerId: m.peerId, addrs: m.addrs })))
    } catch (err: any) {
      log.error('could not remember peers: %s', err.message)
    }
  }
}
