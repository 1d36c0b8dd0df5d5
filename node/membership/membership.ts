/**
 * Membership: the node's live view of the mesh. Finds peers through bootstrap peers, the DHT and
 * gossip; notices that one is gone through failed probes and a suspicion timeout (SWIM-like); emits
 * `member:join` / `member:leave`, and `member:suspect` on the way to a leave. The state machine is
 * `MemberTable`; this file does the I/O.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { peerIdOf } from '../peer-ids.js'
import { lpStream } from '@libp2p/utils'
import type { Connection, IdentifyResult, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL, type Role } from '../../protocol/constants.js'
import { Member as MemberPb, MembershipMessage } from '../../protocol/pb/membership.js'
import { AdmissionError } from '../../protocol/admission.js'
import type { RingMember } from '../../protocol/ring.js'
import { MalformedFrameError, isEndOfStream, isMalformedFrame } from '../errors.js'
import { Admission } from './admission.js'
import * as C from './constants.js'
import { MembershipLinks } from './links.js'
import { fromPb, toPb, type Member, type MemberRecord, type MemberState } from './member.js'
import { MemberTable, type LeaveReason } from './member-table.js'
import type { MeshClock } from './mesh-clock.js'
import { Prober, type ProbeStats } from './prober.js'
import { Periodic } from '../timers/periodic.js'

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
  /** which servers may own data (admission.ts); absent: an open mesh */
  admission?: Admission
}

/**
 * Counters for /metrics: the prober's (probes sent and failed, indirect probes and acks, PING_REQs served) and these.
 */
export interface MembershipStats extends ProbeStats {
  pingsReceived: number
  syncs: number
  malformedFrames: number
  joins: number
  leaves: number
  /** frames refused at the handshake: another mesh, or a server this mesh did not admit */
  refusals: number
}

/** Events: `member:join`, `member:suspect` and `member:leave` carry the member; leave also says why. */
export interface MembershipEvents {
  'member:join': [Member]
  /**
   * a member this node now suspects: a probe of it failed, or another member said so. It stays in the view,
   * and leaves (`dead`) unless it refutes the suspicion before the suspicion timeout.
   */
  'member:suspect': [Member]
  'member:leave': [Member, LeaveReason]
  /**
   * a peer refused at the handshake (another mesh, no valid certificate); reported once a minute per peer and reason
   */
  'member:refused': [string, AdmissionError]
  /** this server's own admission changed: it now owns data (true) or no longer does (false) */
  'admission:self': [boolean]
}

export class Membership extends EventEmitter<MembershipEvents> {
  readonly stats: MembershipStats = {
    probesSent: 0,
    probesFailed: 0,
    pingsReceived: 0,
    indirectProbes: 0,
    indirectAcks: 0,
    pingReqsServed: 0,
    syncs: 0,
    malformedFrames: 0,
    joins: 0,
    leaves: 0,
    refusals: 0
  }

  /** which servers may own data */
  readonly admission: Admission
  private readonly init: MembershipInit
  private readonly table: MemberTable
  private incarnation = BigInt(Date.now())
  private readonly loops: Periodic[] = []
  private readonly warmups: NodeJS.Timeout[] = []
  private readonly prober: Prober
  /** this node's long-lived request streams to its peers */
  private readonly links: MembershipLinks
  /** streams peers opened to this node, reset when it stops */
  private readonly inbound = new Set<Stream>()
  private running = false
  private version = 0
  private joinProbes = 0
  private selfAdmitted?: boolean
  private readonly reported = new Map<string, number>()
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.identified(evt.detail) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.disconnected(evt.detail) }

  constructor (private readonly components: MembershipComponents, init: Partial<MembershipInit> = {}) {
    super()
    const selfId = components.libp2p.peerId.toString()
    this.admission = components.admission ?? new Admission({ selfId, now: () => components.clock?.now() ?? Date.now() })
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
      onJoin: (m) => {
        this.version++
        this.stats.joins++
        log('join %s (%s)', m.peerId, m.role)
        this.emit('member:join', m)
        this.rememberSoon()
      },
      onSuspect: (m) => {
        log('suspect %s', m.peerId)
        this.emit('member:suspect', m)
      },
      onLeave: (m, why) => {
        this.version++
        this.stats.leaves++
        this.components.clock?.forget(m.peerId)
        log('leave %s (%s)', m.peerId, why)
        this.emit('member:leave', m, why)
      }
    })
    this.links = new MembershipLinks(components.libp2p, (bytes) => this.decode(bytes))
    this.prober = new Prober({
      selfId: components.libp2p.peerId.toString(),
      probeTimeoutMs: this.init.probeTimeoutMs,
      stats: this.stats,
      connected: (peerId) => components.libp2p.getConnections(peerIdOf(peerId)).length > 0,
      request: async (peerId, kind, timeoutMs, target = '') =>
        this.send(peerId, { ...this.message(kind), target }, timeoutMs),
      table: this.table
    })
  }

  /** The timings in force. */
  get settings (): Readonly<MembershipInit> { return this.init }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    const { libp2p } = this.components
    await libp2p.handle([MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL], (stream, connection) => {
      void this.serve(stream, connection)
    }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
    libp2p.addEventListener('peer:identify', this.onIdentify)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.every('probe round', this.init.probeIntervalMs, () => { this.table.tick(); this.enforceAdmission(); this.probeNext() })
    this.enforceAdmission()
    this.every('sync', this.init.syncIntervalMs, () => { this.syncRandom() })
    this.every('rejoin', this.init.rejoinIntervalMs, () => { if (this.live().length === 0) void this.rejoin() })
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
    for (const l of this.loops) l.stop()
    for (const t of this.warmups) clearTimeout(t)
    this.loops.length = 0
    this.warmups.length = 0
    const { libp2p } = this.components
    libp2p.removeEventListener('peer:identify', this.onIdentify)
    libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.remember()
    const leave: MembershipMessage = {
      kind: MembershipMessage.Kind.LEAVE,
      sender: toPb({ ...this.selfRecord(), state: 'left' }),
      updates: [],
      target: '',
      wallTime: 0n,
      mesh: this.admission.meshBytes(),
      revocations: [],
      revokedCertificates: [],
      requestId: 0
    }
    const timeout = Math.max(this.init.probeTimeoutMs, C.LEAVE_TIMEOUT_MS)
    const sent = await Promise.allSettled(this.table.reachable().map(async (peerId) => {
      await this.send(peerId, leave, timeout)
    }))
    for (const r of sent) if (r.status === 'rejected') log('LEAVE not delivered: %s', r.reason?.message)
    await this.links.close()
    await libp2p.unhandle([MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL])
    for (const s of this.inbound) s.abort(new Error('membership stopped'))
    this.inbound.clear()
  }

  /** Bumped on every join and leave: a cheap way to know the view changed. */
  get viewVersion (): number { return this.version }

  /**
   * Live members other than this node (alive or suspect), of every role but client. In a closed mesh a
   * server appears only while admitted, with the capacity and ring seed of its certificate.
   */
  live (): Member[] {
    const members = this.table.live()
    if (this.admission.open) return members
    const out: Member[] = []
    for (const m of members) {
      if (m.role !== 'server') { out.push(m); continue }
      const grant = this.admission.grantOf(m.peerId)
      if (grant != null && this.admission.admitted(m.peerId)) {
        out.push({ ...m, capacity: grant.capacity, seed: grant.seed })
      }
    }
    return out
  }

  /** Peer ids of the live server peers admitted to own data, this node included when it is one: the ownership ring. */
  servers (): string[] {
    const ids = this.live().filter((m) => m.role === 'server').map((m) => m.peerId)
    if (this.selfMember() != null) ids.push(this.components.libp2p.peerId.toString())
    return ids.sort()
  }

  /** This node as a ring member, while it is a server admitted to own data. */
  selfMember (): RingMember | undefined {
    return this.components.role === 'server' ? this.admission.selfMember(this.components.capacity) : undefined
  }

  /** The role a peer declared, while remembered (dead ones too: a server wrongly declared dead is still a server). */
  roleOf (peerId: string): Member['role'] | undefined {
    return this.table.get(peerId)?.record.role
  }

  /** Is `peerId` a server this node trusts with server-only requests: declared so, and admitted in a closed mesh? */
  isServer (peerId: string): boolean {
    return this.roleOf(peerId) === 'server' && this.admission.admitted(peerId)
  }

  /**
   * Hand a signed revocation to the mesh: accept it here, then tell every member this node can reach
   * (they gossip it on), with `certificates` it withdraws: a member keeps a revocation of a peer only
   * beside a live certificate of that peer, its own or one that came with it. Resolves with the number
   * of members that acknowledged it. Throws the typed `AdmissionError` of a revocation that does not check.
   */
  async publishRevocation (bytes: Uint8Array, certificates: Uint8Array[] = []): Promise<number> {
    this.admission.acceptRevocation(bytes, certificates)
    this.enforceAdmission()
    const msg = {
      ...this.message(MembershipMessage.Kind.PING),
      revocations: [new Uint8Array(bytes)],
      revokedCertificates: certificates.map((c) => new Uint8Array(c))
    }
    const sent = await Promise.allSettled(
      this.table.reachable().map(
        async (peerId) => this.send(peerId, msg, this.init.probeTimeoutMs * C.DIAL_TIMEOUT_FACTOR)
      )
    )
    return sent.filter((r) => r.status === 'fulfilled').length
  }

  /** What this node believes of one peer; `undefined` when it never heard of it or has forgotten it. */
  stateOf (peerId: string): MemberState | undefined {
    return this.table.get(peerId)?.state
  }

  /** Member counts per state, for metrics. */
  counts (): ReturnType<MemberTable['counts']> {
    return this.table.counts()
  }

  /**
   * Closed mesh: put out of the view every server whose certificate expired or was revoked (its keys
   * then move to the others, as when a server dies), and notice when this server's own admission changes.
   */
  private enforceAdmission (): void {
    if (this.admission.open) return
    this.admission.prune()
    for (const m of this.table.live('server')) {
      const why = this.admission.why(m.peerId)
      if (why === 'revoked' || why === 'expired' || why === 'repeated-seed') this.table.evict(m.peerId, why)
    }
    if (this.components.role !== 'server') return
    const admitted = this.selfMember() != null
    if (admitted !== this.selfAdmitted) {
      const first = this.selfAdmitted == null
      this.selfAdmitted = admitted
      if (!first) { this.version++; this.emit('admission:self', admitted) }
    }
  }

  /** Count a refusal; report it (event, debug log) at most once a minute per peer and reason. */
  private refuse (peerId: string, err: AdmissionError): void {
    this.stats.refusals++
    this.admission.refused(err.reason)
    log('refused %s: %s', peerId, err.message)
    const key = `${peerId}/${err.reason}`
    const now = Date.now()
    if ((this.reported.get(key) ?? 0) > now - C.REFUSAL_REPORT_INTERVAL_MS) return
    if (this.reported.size >= 1024) this.reported.clear()
    this.reported.set(key, now)
    this.emit('member:refused', peerId, err)
  }

  private selfRecord (): MemberRecord {
    const { libp2p, role, capacity, version } = this.components
    return {
      peerId: libp2p.peerId.toString(),
      role,
      capacity,
      addrs: libp2p.getMultiaddrs().map((a) => a.decapsulateCode(421)).slice(0, C.MAX_ADDRS_PER_MEMBER),
      incarnation: this.incarnation,
      state: 'alive',
      version
    }
  }

  private every (name: string, ms: number, fn: () => void): void {
    this.loops.push(new Periodic(fn, { intervalMs: ms, log, name }).start())
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
      await this.send(peerId, this.message(MembershipMessage.Kind.SYNC))
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
        const id = peerIdOf(p.peerId)
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
    const sync = kind === MembershipMessage.Kind.SYNC || kind === MembershipMessage.Kind.SYNC_REPLY
    const kept = this.admission.open
      ? []
      : sync
        ? this.admission.all(C.MAX_REVOCATIONS_PER_FRAME)
        : this.admission.takeFresh(this.init.maxPiggyback, this.retransmitLimit())
    // each revocation of a peer travels with the certificate it withdraws: the receiver keeps it only so
    const certificates = new Map<string, Uint8Array<ArrayBuffer>>()
    for (const k of kept) {
      if (k.certificate != null) certificates.set(Buffer.from(k.certificate).toString('base64'), k.certificate)
    }
    const sender = toPb({
      ...this.selfRecord(),
      certificate: this.components.role === 'server' ? this.admission.ownCertificate() : undefined
    })
    return {
      kind,
      sender,
      updates: this.table.takeUpdates(this.init.maxPiggyback).map(toPb),
      target: '',
      wallTime,
      mesh: this.admission.meshBytes(),
      revocations: kept.map((k) => k.revocation),
      revokedCertificates: [...certificates.values()],
      requestId: 0
    }
  }

  /** How often a fresh revocation is piggybacked: λ·log2(n+1) times, as membership updates are. */
  private retransmitLimit (): number {
    return Math.max(1, Math.ceil(C.DEFAULT_RETRANSMIT_MULT * Math.log2(this.table.live().length + 2)))
  }

  /**
   * One request and its reply, on the peer's long-lived link (links.ts), bounded in size and in time
   * (`timeoutMs` from now, opening the link included).
   */
  private async send (
    peerId: string,
    msg: MembershipMessage,
    timeoutMs = this.init.probeTimeoutMs
  ): Promise<MembershipMessage> {
    const own = (): number => this.components.clock?.ownTime() ?? Date.now()
    const sentAt = own()
    const reply = await this.links.request(peerId, { ...msg, wallTime: BigInt(Math.round(sentAt)) }, timeoutMs)
    const receivedAt = own()
    try {
      this.receive(reply, peerId)
    } catch (err: any) {
      if (err instanceof AdmissionError) this.refuse(peerId, err)
      throw err
    }
    // a server's answer tells this node how far its own clock is from the mesh's
    if (reply.sender?.role === MemberPb.Role.SERVER && reply.wallTime > 0n) {
      this.components.clock?.sample(peerId, Number(reply.wallTime), sentAt, receivedAt)
    }
    return reply
  }

  // ---- inbound -----------------------------------------------------------------------------------

  /**
   * Serve one inbound stream: on 1.1.0, numbered requests until the peer closes it, each answered when
   * ready (a PING_REQ waits for its probe; the others do not wait behind it); on 1.0.0, one request and
   * its reply. A bad frame, or a peer refused, ends the stream, never the node.
   */
  private async serve (stream: Stream, connection: Connection): Promise<void> {
    // after our LEAVE went out we answer nothing: a late ack would refute our own departure
    if (!this.running) { stream.abort(new Error('membership stopped')); return }
    const lp = lpStream(stream, { maxDataLength: C.MAX_FRAME_BYTES })
    const from = connection.remotePeer.toString()
    const many = stream.protocol === MEMBERSHIP_LINK_PROTOCOL
    let replies: Promise<void> = Promise.resolve()
    const reply = async (msg: MembershipMessage): Promise<void> => {
      replies = replies.then(async () => {
        await lp.write(MembershipMessage.encode(msg), { signal: AbortSignal.timeout(this.init.probeTimeoutMs * 2) })
      })
      await replies
    }
    // on 1.0.0, the one request being answered: a revoked server is told why in reply to it
    let single: MembershipMessage | undefined
    this.inbound.add(stream)
    try {
      for (;;) {
        const signal = many ? undefined : AbortSignal.timeout(this.init.probeTimeoutMs * 2)
        // a link's peer closing its side ends the stream; anything else is an error
        const bytes = await lp.read({ signal }).catch((err) => {
          if (many && isEndOfStream(err)) return null
          throw err
        })
        if (bytes == null) break
        // after our LEAVE went out we answer nothing: a late ack would refute our own departure
        if (!this.running) throw new Error('membership stopped')
        const req = this.decode(bytes.subarray())
        const answered = this.answer(req, from).then(reply)
        if (!many) {
          single = req
          await answered
          break
        }
        answered.catch((err) => { void this.refuseStream(stream, lp, from, err, req) })
      }
      await replies
      await stream.close({ signal: AbortSignal.timeout(this.init.probeTimeoutMs * 2) })
    } catch (err: any) {
      await this.refuseStream(stream, lp, from, err, single)
    } finally {
      this.inbound.delete(stream)
    }
  }

  /** The reply to one request from `from` (throws: the request is refused, and its stream with it). */
  private async answer (req: MembershipMessage, from: string): Promise<MembershipMessage> {
    this.receive(req, from)
    // a LEAVE is acknowledged too, so the leaver knows it was heard before it shuts down
    let kind = req.kind === MembershipMessage.Kind.SYNC
      ? MembershipMessage.Kind.SYNC_REPLY
      : MembershipMessage.Kind.ACK
    if (req.kind === MembershipMessage.Kind.PING) this.stats.pingsReceived++
    if (req.kind === MembershipMessage.Kind.PING_REQ) kind = await this.prober.pingFor(req.target, from)
    else if (req.kind === MembershipMessage.Kind.ACK || req.kind === MembershipMessage.Kind.NACK ||
        req.kind === MembershipMessage.Kind.SYNC_REPLY) {
      throw new MalformedFrameError(`${req.kind} is a reply, not a request`)
    }
    const reply = this.message(kind)
    reply.requestId = req.requestId
    if (kind === MembershipMessage.Kind.SYNC_REPLY) reply.updates = this.table.snapshot(C.MAX_SYNC_MEMBERS).map(toPb)
    return reply
  }

  /**
   * End an inbound stream over `err`: a refused peer is counted (and a revoked server told why, in answer
   * to `req`), a malformed frame counted; the stream is closed or reset.
   */
  private async refuseStream (
    stream: Stream,
    lp: ReturnType<typeof lpStream>,
    from: string,
    err: any,
    req?: MembershipMessage
  ): Promise<void> {
    if (stream.status !== 'open') return
    if (err instanceof AdmissionError) {
      this.refuse(from, err)
      if (err.reason === 'revoked' && await this.tellRevoked(lp, from, req?.requestId ?? 0)) {
        await stream.close({ signal: AbortSignal.timeout(this.init.probeTimeoutMs) }).catch(() => {
          stream.abort(err)
        })
        return
      }
    } else if (isMalformedFrame(err)) {
      this.stats.malformedFrames++
      log('malformed frame from %s: %s', from, err.message)
    }
    stream.abort(err)
  }

  /**
   * Answer a server refused as revoked with the revocations that withdraw it (true when written): the
   * members drop a revoked server from their views at once and gossip to it no more, so without this it
   * could run on believing it owns data, never hearing why everyone stopped answering.
   */
  private async tellRevoked (lp: ReturnType<typeof lpStream>, peerId: string, requestId: number): Promise<boolean> {
    const kept = this.admission.against(peerId, C.MAX_REVOCATIONS_PER_FRAME)
    if (kept.length === 0) return false
    const certificates = kept.flatMap((k) => k.certificate == null ? [] : [k.certificate])
    const reply = {
      ...this.message(MembershipMessage.Kind.NACK),
      revocations: kept.map((k) => k.revocation),
      revokedCertificates: certificates,
      requestId
    }
    const signal = AbortSignal.timeout(this.init.probeTimeoutMs)
    return await lp.write(MembershipMessage.encode(reply), { signal }).then(() => true, () => false)
  }

  private decode (bytes: Uint8Array): MembershipMessage {
    try {
      return MembershipMessage.decode(bytes, {
        limits: {
          updates: C.MAX_UPDATES_PER_FRAME,
          updates$: { addrs: C.MAX_ADDRS_PER_MEMBER },
          sender: { addrs: C.MAX_ADDRS_PER_MEMBER },
          revocations: C.MAX_REVOCATIONS_PER_FRAME,
          revokedCertificates: C.MAX_REVOCATIONS_PER_FRAME
        }
      })
    } catch (err: any) {
      throw new MalformedFrameError(`membership frame does not decode: ${err.message}`)
    }
  }

  /**
   * Apply a frame from `from` (the authenticated remote peer). In a closed mesh the frame must name our
   * mesh and a server's own record must carry a certificate that admits it, or the whole frame is
   * refused with a typed `AdmissionError` (counted by the caller) before anything in it is believed.
   */
  private receive (msg: MembershipMessage, from: string): void {
    this.admission.checkMesh(from, msg.mesh)
    const sender = fromPb(msg.sender)
    if (sender.peerId !== from) throw new MalformedFrameError(`sender ${sender.peerId} is not the connection's peer ${from}`)
    // revocations first: they are signed by the mesh, whoever carries them, and may concern the sender itself
    if (msg.revocations.length > 0) this.takeRevocations(msg.revocations, msg.revokedCertificates)
    if (sender.role === 'server') this.admission.admitServer(from, sender.certificate ?? new Uint8Array(0))
    delete sender.certificate
    const updates = msg.updates.map(fromPb)
    for (const u of updates) delete u.certificate
    if (msg.kind === MembershipMessage.Kind.LEAVE) sender.state = 'left'
    const knownIncarnation = this.table.get(from)?.record.incarnation
    this.table.observeDirect(sender)
    // a new peer, or a restarted one (it may listen on new ports): remember where to dial it
    if ((knownIncarnation == null || sender.incarnation > knownIncarnation) && sender.role !== 'client') {
      void this.learnAddrs(sender.peerId, sender.addrs.map(String))
    }
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
   * Accept the revocations of a frame; the first bad one refuses the frame (a peer sending junk pays for one check).
   */
  private takeRevocations (revocations: Uint8Array[], certificates: Uint8Array[]): void {
    if (this.admission.open) throw new MalformedFrameError('revocations in an open mesh')
    if (this.admission.acceptFrame(revocations, certificates)) { log('revocation accepted'); this.enforceAdmission() }
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

  /**
   * Replace what the peer store knows of a peer's addresses with its own record's
   * (authoritative; a restart may change ports).
   */
  private async learnAddrs (peerId: string, addrs: string[]): Promise<void> {
    if (addrs.length === 0 || peerId === this.components.libp2p.peerId.toString()) return
    try {
      await this.components.libp2p.peerStore.patch(peerIdOf(peerId), {
        multiaddrs: addrs.map((a) => multiaddr(a))
      })
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
    this.rememberTimer = setTimeout(() => {
      this.rememberTimer = undefined
      if (this.running) void this.remember()
    }, 1000)
    this.rememberTimer.unref()
  }

  private async remember (): Promise<void> {
    if (this.rememberTimer != null) { clearTimeout(this.rememberTimer); this.rememberTimer = undefined }
    try {
      await this.components.memory?.save(
        this.table.live().filter((m) => m.role !== 'client').slice(0, 64).map((m) => ({ peerId: m.peerId, addrs: m.addrs }))
      )
    } catch (err: any) {
      log.error('could not remember peers: %s', err.message)
    }
  }
}
