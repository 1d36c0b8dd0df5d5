/**
 * A Chorus node: the one place where the components are wired together. It owns the node key, the
 * LevelDB, the libp2p node, membership and the operator endpoint, and starts and stops them in order.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import type { PeerId, Startable } from '@libp2p/interface'
import { Registry } from 'prom-client'
import { MESH_TOPIC, type Role } from '../protocol/constants.js'
import { resolveOptions, type ChorusNodeOptions, type ResolvedOptions } from './config.js'
import { InvalidOptionError, ListenError, NodeStateError } from './errors.js'
import type { IdentityKey } from '../protocol/envelope.js'
import { loadOrCreateNodeKey } from './keys.js'
import { buildLibp2p, type ChorusLibp2p } from './libp2p.js'
import { Admission, Membership, type LeaveReason, type Member } from './membership/index.js'
import { AdmissionError, type AdmissionReason } from '../protocol/admission.js'
import {
  registerChorusMetrics, registerRelayMetrics, registerReplicationMetrics, registerWorkMetrics,
  type ChorusCounters
} from './status/metrics.js'
import { Relay } from './relay/relay.js'
import { parseTopic } from '../protocol/topics.js'
import { StatusServer } from './status/http.js'
import { XmppGateway, type XmppStats } from './xmpp/gateway.js'
import { registerXmppMetrics } from './xmpp/metrics.js'
import type { XmppGatewayOptions } from './xmpp/options.js'
import { XMPP_WEBSOCKET_PATH } from './xmpp/websocket.js'
import { Dashboard } from './status/dashboard.js'
import { countWrites, openDb, peerMemory, revocationStore, type ChorusDb, type WriteCounts } from './store/db.js'
import { PubsubCounters } from './relay/pubsub-counters.js'
import { wireBytes, type WorkSnapshot } from './status/work.js'
import { VERSION } from './version.js'
import { HybridClock } from '../protocol/hlc.js'
import { MeshClock } from './membership/mesh-clock.js'
import { signHandleClaim } from '../protocol/handle.js'
import { Replication } from './replication/replication.js'
import { NoServersError } from './replication/errors.js'
import { HandleDirectory } from './session/directory.js'
import { RoomList } from './session/room-list.js'
import { IdentityStore } from './session/identities.js'
import { Vault } from './session/vault.js'
import { User } from './session/user.js'
import { OPEN_USER_OPTIONS, requireHandle, requireOptions, rule, type Rule } from './session/arguments.js'

const log = logger('chorus:node')

/** What `GET /status` and `node.status()` report. */
export interface NodeStatus {
  peerId: string
  role: Role
  version: string
  state: NodeLifecycle
  /** full multiaddrs (with /p2p/) that other nodes can pass to `--bootstrap` */
  addresses: string[]
  /** live server peers, this node included when it is a server (the ownership ring) */
  servers: string[]
  /** live members other than this node, with role and state */
  peers: Member[]
  connections: number
  replicas: number
  writeQuorum: number
  uptimeSeconds: number
  /** how far this node's wall clock is off the mesh's (ms; positive: behind), and whether it is corrected for */
  clock: { offsetMs: number, applied: boolean, servers: number }
  /** who may own data: `mesh` is null in an open mesh; `self` is this server's own admission */
  admission: AdmissionStatus
  /** the XMPP gateway, when it runs: where, for which domain, and its counts */
  xmpp?: XmppStats & { address: string, domain: string }
}

/** The admission part of `/status`. */
export interface AdmissionStatus {
  /** the mesh id, or null for an open mesh (any server owns data) */
  mesh: string | null
  /** servers only: does this node own data now, and by which certificate (or why not) */
  self?: { admitted: boolean, reason?: string, capacity?: number, expiresAt?: string, operator?: string }
  revocations: number
  /** handshakes refused, by reason */
  refusals: Partial<Record<AdmissionReason, number>>
}

/** Lifecycle of a node: created → starting → started → stopping → stopped. */
export type NodeLifecycle = 'created' | 'starting' | 'started' | 'stopping' | 'stopped'

/** Events of a node. */
export interface ChorusNodeEvents {
  'member:join': [Member]
  'member:leave': [Member, LeaveReason]
  /** a peer refused at the membership handshake: another mesh, or a server without a valid certificate */
  'member:refused': [string, AdmissionError]
  /** this server's own admission changed (closed mesh): it owns data (true) or no longer does (false) */
  'admission:self': [boolean]
}

/**
 * A part of the node: started in order by `start`, stopped in reverse; `stop` also undoes a `start` that failed midway.
 */
interface NodePart extends Startable {
  /** what the log names when stopping it fails */
  name: string
}

/** Every option of `createNode`: a misspelt one is refused here; `resolveOptions` checks the values. */
const NODE_OPTIONS: Record<keyof ChorusNodeOptions, Rule> = {
  role: rule.any(),
  dataDir: rule.any(),
  listen: rule.any(),
  bootstrap: rule.any(),
  replicas: rule.any(),
  writeQuorum: rule.any(),
  capacity: rule.any(),
  http: rule.any(),
  allowPrivateAddresses: rule.any(),
  membership: rule.any(),
  replication: rule.any(),
  relay: rule.any(),
  mesh: rule.any(),
  certificate: rule.any(),
  xmpp: rule.any(),
  connectionGater: rule.any()
}

/** Create a node (not started). Validates options, loads or creates the node key. */
export async function createNode (options: ChorusNodeOptions = {}): Promise<ChorusNode> {
  requireOptions('options', options, NODE_OPTIONS)
  const opts = resolveOptions(options)
  const key = await loadOrCreateNodeKey(opts.dataDir)
  const registry = new Registry()
  const pubsubCounters = new PubsubCounters()
  const libp2p = await buildLibp2p(opts, key, registry, pubsubCounters)
  return new ChorusNode(opts, libp2p, registry, pubsubCounters)
}

export class ChorusNode extends EventEmitter<ChorusNodeEvents> {
  /** The validated options the node runs with. */
  readonly options: ResolvedOptions
  /** The libp2p node; exposed for advanced embedding and for tests. */
  readonly libp2p: ChorusLibp2p
  /** The live view of the mesh. */
  readonly membership: Membership
  /** Which servers may own data: the mesh id, certificates and revocations (open mesh: every server). */
  readonly admission: Admission
  /** This node's Prometheus registry (libp2p's figures and Chorus's). */
  readonly registry: Registry
  /** The mesh's time: this node's wall clock corrected by its measured offset from the servers' clocks. */
  readonly meshClock = new MeshClock()
  /** The node's hybrid logical clock: every envelope sent from here is stamped by it, in mesh time. */
  readonly clock = new HybridClock(() => this.meshClock.now())
  private db?: ChorusDb
  private dbWrites: WriteCounts = { writes: 0, ops: 0 }
  private replicationPart?: Replication
  private directory?: HandleDirectory
  /** the room directory's list, one for every session here */
  private roomList?: RoomList
  private relayPart?: Relay
  private readonly onView = (): void => { this.relayPart?.refresh() }
  private readonly users = new Map<string, User>()
  /** sessions being closed by `closeUser`: a reopen waits for the close to finish */
  private readonly closing = new Map<string, Promise<void>>()
  private http?: StatusServer
  private xmpp?: XmppGateway
  private counters?: ChorusCounters
  private lifecycle: NodeLifecycle = 'created'
  private starting?: Promise<void>
  private stopping?: Promise<void>
  private startedAt = 0
  /** the parts that began to start, in order: what `teardown` stops */
  private begun: NodePart[] = []

  constructor (
    options: ResolvedOptions,
    libp2p: ChorusLibp2p,
    registry: Registry,
    private readonly pubsubCounters = new PubsubCounters()
  ) {
    super()
    this.options = options
    this.libp2p = libp2p
    this.registry = registry
    this.admission = new Admission({ selfId: libp2p.peerId.toString(), now: () => this.meshClock.now() }, {
      mesh: options.mesh,
      certificate: options.certificate
    })
    this.membership = new Membership({
      libp2p,
      admission: this.admission,
      role: options.role,
      capacity: options.capacity,
      version: VERSION,
      bootstrap: options.bootstrap,
      clock: this.meshClock,
      memory: {
        load: async () => this.db != null ? peerMemory(this.db).load() : [],
        save: async (p) => {
          if (this.db != null) await peerMemory(this.db).save(p)
        }
      }
    }, options.membership)
    this.membership.on('member:join', (m) => this.emit('member:join', m))
    this.membership.on('member:leave', (m, why) => this.emit('member:leave', m, why))
    this.membership.on('member:refused', (peer, err) => this.emit('member:refused', peer, err))
    this.membership.on('admission:self', (ok) => this.emit('admission:self', ok))
  }

  get peerId (): PeerId { return this.libp2p.peerId }
  get role (): Role { return this.options.role }
  get state (): NodeLifecycle { return this.lifecycle }

  /** The node's LevelDB (open between start and stop). */
  get database (): ChorusDb {
    if (this.db == null) throw new NodeStateError('the database is open only while the node runs')
    return this.db
  }

  /** Open the store, listen, join the mesh, serve the operator endpoint. */
  async start (): Promise<void> {
    if (this.lifecycle === 'started') return
    if (this.lifecycle === 'starting') return this.starting
    if (this.lifecycle !== 'created') throw new NodeStateError(`cannot start a node that is ${this.lifecycle}; create a new one`)
    this.lifecycle = 'starting'
    this.starting = this.startOnce()
    return this.starting
  }

  private async startOnce (): Promise<void> {
    try {
      for (const part of this.parts()) {
        this.begun.push(part)
        await part.start()
      }
      log('started %s as %s on %s', this.peerId, this.role, this.multiaddrs().join(' '))
    } catch (err) {
      await this.teardown()
      this.lifecycle = 'stopped'
      throw err
    }
  }

  /**
   * The node's parts in the order they start; they stop in the reverse order. Each needs those before it
   * running. Users' sessions close (telling their contacts) before the relay, replication and the mesh
   * stop under them, and after the gateway and the HTTP endpoint stopped taking clients. The node takes
   * users (`openUser`) from `ready` on, and the gateway, which opens them as clients log in, starts after it.
   */
  private parts (): NodePart[] {
    const parts: NodePart[] = [
      { name: 'database', start: async () => this.openDatabase(), stop: async () => this.db?.close() },
      { name: 'libp2p', start: async () => this.startLibp2p(), stop: async () => this.libp2p.stop() },
      { name: 'membership', start: async () => this.membership.start(), stop: async () => this.membership.stop() }
    ]
    if (this.role !== 'bootstrap') {
      parts.push(
        { name: 'replication', start: async () => this.startReplication(), stop: async () => this.replicationPart?.stop() },
        { name: 'relay', start: async () => this.startRelay(), stop: async () => this.stopRelay() }
      )
    }
    parts.push({ name: 'users', start: () => {}, stop: async () => this.closeUsers() })
    const http = this.options.http
    if (http != null) {
      parts.push({ name: 'http', start: async () => this.startHttp(http), stop: async () => this.http?.stop() })
    }
    parts.push({ name: 'ready', start: () => { this.startedAt = Date.now(); this.lifecycle = 'started' }, stop: () => {} })
    const xmpp = this.options.xmpp
    if (xmpp != null) {
      parts.push({ name: 'xmpp', start: async () => this.startGateway(xmpp), stop: async () => this.xmpp?.stop() })
    }
    return parts
  }

  private async openDatabase (): Promise<void> {
    this.db = await openDb(this.options.dataDir)
    this.dbWrites = countWrites(this.db)
    await this.admission.attach(revocationStore(this.db))
  }

  private async startLibp2p (): Promise<void> {
    try {
      await this.libp2p.start()
    } catch (err: any) {
      throw listenError(err)
    }
    this.counters = registerChorusMetrics(this.registry, this.libp2p, this.membership, this.options.http != null,
      this.meshClock)
    registerWorkMetrics(this.registry, async () => this.work())
    this.watchPubsub()
    this.libp2p.services.pubsub.subscribe(MESH_TOPIC)
  }

  private async startReplication (): Promise<void> {
    this.replicationPart = new Replication({
      libp2p: this.libp2p,
      membership: this.membership,
      db: this.database,
      role: this.role,
      capacity: this.options.capacity,
      now: () => this.meshClock.now(),
      reject: (reason) => { this.counters?.rejected.inc({ component: 'store', reason }) }
    }, { replicas: this.options.replicas, writeQuorum: this.options.writeQuorum, ...this.options.replication })
    await this.replicationPart.start()
    registerReplicationMetrics(this.registry, this.replicationPart)
    this.directory = new HandleDirectory(this.replicationPart)
    this.roomList = new RoomList(this.directory)
  }

  private async startRelay (): Promise<void> {
    const replication = this.replication
    this.relayPart = new Relay({
      libp2p: this.libp2p,
      placement: replication.placement,
      isServer: this.role === 'server',
      keys: replication.context.keys,
      maxDriftMs: replication.context.maxDriftMs,
      now: () => this.meshClock.now(),
      reject: (reason) => { this.counters?.rejected.inc({ component: 'relay', reason }) },
      ownedRooms: () => this.replicationPart?.rooms.ownedRooms() ?? [],
      onChanges: (from, changes) => { replication.changes.onPush(from, changes) },
      hearing: (hearing) => { replication.changes.hearPushes(hearing) }
    }, this.options.relay)
    const relay = this.relayPart
    replication.pushVia(async (peer, changes) => { await relay.sendChanges(peer, changes) })
    if (this.role === 'server') {
      // a server judges the rooms it relays by the state logs on its disk, and relays a room from its first event here
      const rooms = replication.rooms
      this.relayPart.setRoomPolicy(async (env) => rooms.policy(env))
      rooms.on('room', this.onView)
    }
    await this.relayPart.start()
    registerRelayMetrics(this.registry, this.relayPart)
    this.membership.on('member:join', this.onView)
    this.membership.on('member:leave', this.onView)
  }

  private async stopRelay (): Promise<void> {
    this.membership.off('member:join', this.onView)
    this.membership.off('member:leave', this.onView)
    this.replicationPart?.rooms.off('room', this.onView)
    this.replicationPart?.pushVia(undefined)
    await this.relayPart?.stop()
  }

  private async closeUsers (): Promise<void> {
    await Promise.all([...this.users.values()].map(async (u) => u.close()))
    this.users.clear()
  }

  private async startHttp (http: { host: string, port: number }): Promise<void> {
    this.http = new StatusServer({
      healthy: () => this.lifecycle === 'started',
      status: () => this.status(),
      metrics: async () => this.registry.metrics(),
      metricsContentType: this.registry.contentType,
      // the gateway starts after this endpoint: each upgrade asks for it then (absent until it runs)
      webSocket: (path) => path === XMPP_WEBSOCKET_PATH ? this.xmpp?.webSocket() : undefined,
      dashboard: new Dashboard({
        libp2p: this.libp2p,
        membership: this.membership,
        replicas: this.options.replicas,
        replication: () => this.replicationPart,
        relay: () => this.relayPart,
        // inbox traffic arrives by the live hop, room traffic on gossipsub
        chatReceived: async () =>
          chatMessages(await this.counters?.pubsubReceived.get()) + (this.relayPart?.liveCounts.framesReceived ?? 0)
      })
    }, http.host, http.port)
    await this.http.start()
  }

  private async startGateway (xmpp: XmppGatewayOptions): Promise<void> {
    this.xmpp = new XmppGateway({
      peerId: this.peerId,
      dataDir: this.options.dataDir,
      libp2p: this.libp2p,
      membership: this.membership,
      replication: () => this.replication,
      openUser: async (handle, o) => this.openUser(handle, o),
      closeUser: async (handle) => this.closeUser(handle)
    }, xmpp)
    registerXmppMetrics(this.registry, () => this.xmpp?.stats())
    try {
      await this.xmpp.start()
    } catch (err: any) {
      throw err.code === 'EADDRINUSE' ? new ListenError(`cannot listen for XMPP on ${xmpp.host}:${xmpp.port} (address already in use)`) : err
    }
  }

  /** Leave the mesh politely, close streams, connections and the database. Safe to call twice. */
  async stop (): Promise<void> {
    if (this.stopping != null) return this.stopping
    if (this.lifecycle === 'stopped' || this.lifecycle === 'created') { this.lifecycle = 'stopped'; return }
    this.stopping = (async () => {
      await this.starting?.catch(() => {})
      if (this.lifecycle === 'stopped') return
      this.lifecycle = 'stopping'
      await this.teardown()
      this.lifecycle = 'stopped'
      log('stopped %s', this.peerId)
    })()
    return this.stopping
  }

  /** The live relay over gossipsub (servers and clients; a bootstrap peer has none). */
  get relay (): Relay {
    if (this.relayPart == null) throw new NodeStateError(this.role === 'bootstrap' ? 'a bootstrap peer relays no chat' : 'the node is not started')
    return this.relayPart
  }

  /** Replication (servers and clients; a bootstrap peer has none). */
  get replication (): Replication {
    if (this.replicationPart == null) throw new NodeStateError(this.role === 'bootstrap' ? 'a bootstrap peer hosts no users and stores no data' : 'the node is not started')
    return this.replicationPart
  }

  /**
   * Open a user's session on this node: load the user's identity key (creating it on first use),
   * claim the handle (first come; `HandleTakenError` if another key holds it), catch up on every
   * message that arrived while the user was away, then keep receiving. Waits up to `timeoutMs` for
   * the node to see a server. With `passphrase`, the keys and secret-chat data the device keeps for the
   * user are sealed at rest (session/vault.ts); a user created with one must always be opened with it
   * (`PassphraseError`). A program that keeps a random key per user (the XMPP gateway) gives `vaultKey`
   * (32 bytes) instead: the same sealing, without scrypt's stretching; it may also bring the user's
   * `identity` (keys it holds for the user elsewhere), kept here on first use. A session already open is
   * returned as it is. A malformed handle or option is an `InvalidOptionError` naming it.
   */
  async openUser (
    handle: string,
    o: {
      timeoutMs?: number
      syncIntervalMs?: number
      passphrase?: string
      vaultKey?: Uint8Array
      identity?: IdentityKey
    } = {}
  ): Promise<User> {
    requireHandle('handle', handle)
    requireOptions('options', o, OPEN_USER_OPTIONS)
    if (this.lifecycle !== 'started') throw new NodeStateError('start the node before opening users')
    await this.closing.get(handle)?.catch(() => {})
    const existing = this.users.get(handle)
    if (existing != null && !existing.closed) return existing
    const replication = this.replication
    const deadline = Date.now() + (o.timeoutMs ?? 10_000)
    while (replication.placement.serverCount() === 0) {
      if (Date.now() > deadline) throw new NoServersError()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const identities = new IdentityStore(this.database)
    if (o.passphrase != null && o.vaultKey != null) throw new InvalidOptionError('vaultKey', 'give a passphrase or a vault key, not both')
    const vault = await Vault.open(this.database, handle, o.vaultKey ?? o.passphrase, await identities.has(handle))
    const identity = o.identity != null
      ? await identities.adopt(handle, requireIdentity(o.identity), vault)
      : (await identities.loadOrCreate(handle, vault)).identity
    await (this.directory as HandleDirectory).claim(signHandleClaim(handle, identity, this.clock.now()))
    const user = new User(handle, identity, {
      replication,
      directory: this.directory as HandleDirectory,
      roomList: this.roomList as RoomList,
      relay: this.relay,
      clock: this.clock,
      db: this.database,
      vault,
      syncIntervalMs: o.syncIntervalMs
    })
    this.users.set(handle, user)
    await user.open()
    return user
  }

  /**
   * Close a user's session on this node (what `openUser` opened): contacts are told the user went
   * offline, and what was shown is marked seen. The next `openUser` of the handle opens a fresh session
   * that catches up from there. A handle not open here is a no-op.
   */
  async closeUser (handle: string): Promise<void> {
    const user = this.users.get(handle)
    if (user == null) return
    const closing = (async () => {
      await user.close()
      if (this.users.get(handle) === user) this.users.delete(handle)
    })()
    this.closing.set(handle, closing)
    try { await closing } finally { if (this.closing.get(handle) === closing) this.closing.delete(handle) }
  }

  /** Full multiaddrs, with `/p2p/<peer id>`: what another node passes to `--bootstrap`. */
  multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(String)
  }

  /** A snapshot for operators (`GET /status`). */
  status (): NodeStatus {
    return {
      peerId: this.peerId.toString(),
      role: this.role,
      version: VERSION,
      state: this.lifecycle,
      addresses: this.multiaddrs(),
      servers: this.membership.servers(),
      peers: this.membership.live(),
      connections: this.libp2p.getConnections().length,
      replicas: this.options.replicas,
      writeQuorum: this.options.writeQuorum,
      uptimeSeconds: this.startedAt === 0 ? 0 : Math.round((Date.now() - this.startedAt) / 1000),
      clock: {
        offsetMs: this.meshClock.measuredOffsetMs,
        applied: this.meshClock.offsetMs !== 0,
        servers: this.meshClock.samples
      },
      admission: this.admissionStatus(),
      ...(this.xmpp != null
        ? { xmpp: { address: this.xmpp.address() ?? '', domain: this.xmpp.domain, ...this.xmpp.stats() } }
        : {})
    }
  }

  /**
   * What this node has done since it started, as running totals: CPU, store-protocol frames and bytes,
   * gossipsub RPCs, LevelDB writes, envelopes replicated, bytes on the wire by protocol. The difference
   * of two snapshots over the sends in between is the work per send (`npm run bench` reports it).
   */
  async work (): Promise<WorkSnapshot> {
    const cpu = process.cpuUsage()
    const r = this.replicationPart
    return {
      cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 },
      store: r?.traffic.snapshot() ?? null,
      envelopesWritten: Object.fromEntries(r?.writer.written ?? []),
      db: { ...this.dbWrites, syncedBatches: r?.commit.stats.batches ?? 0, syncedOps: r?.commit.stats.ops ?? 0 },
      pubsub: this.pubsubCounters.snapshot(),
      live: this.relayPart != null ? { ...this.relayPart.liveCounts, relayed: this.relayPart.stats.relayed } : null,
      wire: await wireBytes(this.registry)
    }
  }

  /** Who may own data, as this node sees it (also printed by `chorus start`). */
  admissionStatus (): AdmissionStatus {
    const a = this.admission
    const out: AdmissionStatus = {
      mesh: a.meshId ?? null,
      revocations: a.revocationCount,
      refusals: Object.fromEntries(a.refusals)
    }
    if (this.role !== 'server') return out
    if (a.open) { out.self = { admitted: true, capacity: this.options.capacity }; return out }
    const check = a.selfCheck()
    const why = a.why(this.peerId.toString())
    if (check instanceof AdmissionError || check == null) out.self = { admitted: false, reason: check?.message ?? 'no certificate' }
    else if (why != null) out.self = { admitted: false, reason: why === 'revoked' ? 'certificate revoked' : why }
    else {
      out.self = {
        admitted: true,
        capacity: check.capacity,
        expiresAt: new Date(check.expiresAt).toISOString(),
        operator: check.operator
      }
    }
    return out
  }

  /** The bound `host:port` of the XMPP gateway, if it runs (useful with port 0). */
  xmppAddress (): string | undefined {
    return this.xmpp?.address()
  }

  /** The XMPP gateway's counts, if it runs. */
  get gateway (): XmppGateway | undefined {
    return this.xmpp
  }

  /** The bound address of the HTTP endpoint, if it runs (useful with port 0). */
  httpAddress (): string | undefined {
    return this.http?.address()
  }

  private watchPubsub (): void {
    this.libp2p.services.pubsub.addEventListener('message', (evt) => {
      this.counters?.pubsubReceived.inc({ topic: topicKind(evt.detail.topic) })
    })
  }

  /** Stop the parts that began to start, in reverse; a part that fails to stop is logged, and the rest still stop. */
  private async teardown (): Promise<void> {
    for (const part of [...this.begun].reverse()) {
      try { await part.stop() } catch (err: any) { log.error('stopping %s failed: %s', part.name, err.message) }
    }
    this.begun = []
    this.http = undefined
    this.xmpp = undefined
    this.db = undefined
    this.replicationPart = undefined
    this.relayPart = undefined
  }
}

/** Gossipsub messages received on chat topics (every kind but the membership topic), from the counter's values. */
function chatMessages (
  metric: { values: Array<{ value: number, labels: Record<string, unknown> }> } | undefined
): number {
  return (metric?.values ?? []).reduce((n, v) => (v.labels.topic === 'mesh' ? n : n + v.value), 0)
}

/** An identity key pair given to `openUser`: two 32-byte keys. */
function requireIdentity (identity: unknown): IdentityKey {
  const i = identity as IdentityKey
  if (!(i?.publicKey instanceof Uint8Array) || !(i.privateKey instanceof Uint8Array) || i.publicKey.length !== 32 ||
      i.privateKey.length !== 32) {
    throw new InvalidOptionError('identity', 'must be { publicKey, privateKey }, 32 bytes each')
  }
  return i
}

/** A topic's kind, for metric labels: one label per kind, not per room. */
function topicKind (topic: string): string {
  return topic === MESH_TOPIC ? 'mesh' : parseTopic(topic)?.kind ?? 'other'
}

/** libp2p reports failed listeners as a multi-line text with stacks; make it one line per address, no stacks. */
function listenError (err: any): Error {
  const text = String(err?.message ?? err)
  const failed = [...text.matchAll(/^\s*(\/\S+): Error: (?:listen )?(\w+)?:?\s*([^\n]*)$/gm)]
    .map((m) => `${m[1]} (${m[2] === 'EADDRINUSE' ? 'address already in use' : m[2] === 'EADDRNOTAVAIL' ? 'address not on this host' : `${m[2] ?? ''} ${m[3]}`.trim()})`)
  if (failed.length > 0) return new ListenError(`cannot listen on ${failed.join(', ')}`)
  if (/EADDRINUSE|EADDRNOTAVAIL|EACCES|listen/i.test(text)) return new ListenError(`cannot listen: ${text.split('\n')[0]}`)
  return err
}
