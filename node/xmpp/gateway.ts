/**
 * The XMPP gateway of a server node: Jabber clients connect to it (c2s, RFC 6120) and chat on the mesh
 * as Chorus users. It listens on TCP (`--xmpp HOST:PORT`) with STARTTLS, and takes WebSockets (RFC 7395)
 * that the node's HTTP listener upgrades at `/xmpp-websocket` (`acceptWebSocket`). It registers accounts and
 * reads them from the mesh (accounts.ts), opens each logged-in account's Chorus session on this node
 * (account-sessions.ts), and maps stanzas onto the session's calls and its events back onto stanzas
 * (router.ts, and the features it serves: features/).
 */

import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server, type Socket } from 'node:net'
import type { SecureContext } from 'node:tls'
import type { PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import type { Element } from '@xmpp/xml'
import type { WebSocket } from 'ws'
import type { IdentityKey } from '../../protocol/envelope.js'
import { DataDirError } from '../errors.js'
import type { Membership } from '../membership/index.js'
import type { Replication } from '../replication/replication.js'
import type { User } from '../session/user.js'
import { TokenBuckets } from '../rate-limit.js'
import { MeshAccounts, openIdentity, unwrapAccountKey, type AccountRecord } from './accounts.js'
import { AccountSessions } from './account-sessions.js'
import { Connection, type ConnectionHost } from './connection.js'
import { StreamError } from './errors.js'
import { accountRegistry, type AccountFeatureComponents, type FeatureRegistry } from './features/index.js'
import { registerAccount } from './features/register.js'
import { mucService } from './muc.js'
import { DECOY_SECRET_BYTES, Decoys, SaslError, type ScramCredential, type ScramHash } from './sasl.js'
import type { SmState } from './stream-management.js'
import { TcpTransport, type Transport } from './transport.js'
import { WebSocketTransport, XMPP_SUBPROTOCOL } from './websocket.js'
import { DEFAULT_XML_LIMITS, type XmlStreamLimits } from './xml-stream.js'
import { LoadExchange, type GatewayLoad, type LoadExchangeComponents } from './load.js'
import { gatewayCertificate, type GatewayCertificate } from './certificate.js'
import { GatewayChecks } from './gateway-check.js'
import { SourceBudgets, sourceOf, type Refusal } from './budgets.js'
import type { XmppGatewayOptions } from './options.js'

const log = logger('chorus:xmpp')

/** The file in the data dir that holds the secret decoy credentials are keyed by (sasl.ts `Decoys`). */
export const DECOY_SECRET_FILE = 'xmpp-decoy.key'

/** What the gateway needs of its node (wired in chorus-node.ts). */
export interface XmppGatewayComponents {
  /** this node: left out of the servers asked where there is room */
  peerId: PeerId
  /** the node's data dir: the self-made certificate and the decoy secret are kept there */
  dataDir: string
  /** the load exchange's protocol (load.ts) */
  libp2p: LoadExchangeComponents['libp2p']
  /** the servers of the mesh, asked where there is room */
  membership: Pick<Membership, 'servers' | 'isServer'>
  /** where accounts are kept; asked for when an account is read or written (the node's, once started) */
  replication: () => Replication
  /** open a logged-in or registering account's Chorus session on this node (`ChorusNode.openUser`) */
  openUser: (handle: string, o: { vaultKey: Uint8Array, identity?: IdentityKey }) => Promise<User>
  /** close it when its last resource has gone (`ChorusNode.closeUser`) */
  closeUser: (handle: string) => Promise<void>
}

/**
 * A WebSocket message may be this many times `maxStanzaBytes`: a longer stanza still gets its stream error
 * (policy-violation); past it the WebSocket library closes the socket (1009) without buffering the rest.
 */
export const WEBSOCKET_PAYLOAD_FACTOR = 2

/** Counts an operator reads (`/status`, metrics). */
export interface XmppStats {
  connections: number
  /** of `connections`, those over a WebSocket */
  webSockets: number
  accounts: number
  /** of `connections`, dropped streams waiting to be resumed (XEP-0198) */
  detached: number
  /** of `connections`, those not logged in yet */
  notLoggedIn: number
  stanzasIn: number
  stanzasOut: number
  rejected: Record<string, number>
}

export class XmppGateway implements ConnectionHost {
  readonly limits: XmlStreamLimits
  readonly accounts: MeshAccounts
  private server?: Server
  /** connections are taken (between the end of `start` and the beginning of `stop`) */
  private running = false
  private cert?: GatewayCertificate
  /** credentials for accounts that do not exist */
  private decoys?: Decoys
  /** asks the other gateways where there is room, for see-other-host */
  private loads?: LoadExchange
  private readonly connections = new Set<Connection>()
  /** the logged-in accounts' sessions */
  private readonly sessions: AccountSessions
  /** resumable streams by their XEP-0198 id, and the expiry timers of those detached */
  private readonly streams = new Map<string, Connection>()
  private readonly expiries = new Map<Connection, NodeJS.Timeout>()
  private readonly buckets: TokenBuckets
  /** what one source address, and everyone not logged in, may take */
  private readonly budgets: SourceBudgets
  /** each connection's source address, and whether it logged in */
  private readonly sources = new Map<Connection, { source: string, loggedIn: boolean }>()
  readonly counts = { stanzasIn: 0, stanzasOut: 0, rejected: new Map<string, number>() }
  /** the features every account session answers iqs with (one registry for the gateway) */
  readonly features: FeatureRegistry<AccountFeatureComponents>

  constructor (private readonly components: XmppGatewayComponents, private readonly o: XmppGatewayOptions) {
    this.limits = { ...DEFAULT_XML_LIMITS, ...o.limits }
    this.accounts = new MeshAccounts(components.replication)
    this.buckets = new TokenBuckets(o.stanzaRate, o.stanzaBurst, 100_000)
    this.budgets = new SourceBudgets(o)
    this.features = accountRegistry(mucService(o.domain))
    this.sessions = new AccountSessions({
      domain: o.domain,
      lingerMs: o.lingerMs,
      openUser: async (handle, opts) => await components.openUser(handle, opts),
      closeUser: async (handle) => { await components.closeUser(handle) },
      host: this
    })
  }

  get domain (): string { return this.o.domain }
  get allowPlaintext (): boolean { return this.o.allowPlaintext }
  get resumeSeconds (): number { return this.o.resumeSeconds }
  get maxUnacked (): number { return this.o.maxUnacked }

  async start (): Promise<void> {
    const cert = this.cert = await gatewayCertificate({ ...this.o, dataDir: this.components.dataDir })
    this.decoys = new Decoys(this.decoySecret())
    const server = createServer((socket) => { this.acceptSocket(socket) })
    server.maxConnections = this.o.maxConnections + 64
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.o.port, this.o.host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const checks = cert.selfMade ? undefined : new GatewayChecks({ domain: this.o.domain, der: cert.der })
    this.loads = new LoadExchange({
      libp2p: this.components.libp2p,
      own: () => this.load(),
      servers: () => this.components.membership.servers().filter((p) => p !== this.components.peerId.toString()),
      isServer: (p) => this.components.membership.isServer(p),
      check: checks == null ? undefined : async (address) => { await checks.check(address) },
      reject: (reason) => { this.reject(reason) }
    })
    await this.loads.start()
    this.running = true
    log('XMPP c2s for %s on %s', this.o.domain, this.address())
  }

  async stop (): Promise<void> {
    this.running = false
    await this.loads?.stop().catch(() => {})
    for (const c of this.connections) c.close(new StreamError('system-shutdown', 'the node is stopping'))
    for (const t of this.expiries.values()) clearTimeout(t)
    this.expiries.clear()
    this.streams.clear()
    await this.sessions.stop()
    await new Promise<void>((resolve) => {
      if (this.server == null) resolve(); else this.server.close(() => { resolve() })
    })
    this.server = undefined
  }

  /** `host:port` the gateway listens on (useful with port 0). */
  address (): string | undefined {
    const a = this.server?.address()
    return a == null || typeof a === 'string' ? undefined : `${a.address}:${a.port}`
  }

  stats (): XmppStats {
    const webSockets = [...this.connections].filter((c) => c.transportKind === 'websocket').length
    const { stanzasIn, stanzasOut } = this.counts
    const detached = this.expiries.size
    const notLoggedIn = this.budgets.notLoggedIn
    const rejected = Object.fromEntries(this.counts.rejected)
    const connections = this.connections.size
    const accounts = this.sessions.size
    return { connections, webSockets, accounts, detached, notLoggedIn, stanzasIn, stanzasOut, rejected }
  }

  /**
   * The WebSocket endpoint, for the node's HTTP listener: the subprotocol a client must ask for, the
   * largest message, and where upgraded sockets go. Absent while the gateway is not running.
   */
  webSocket (): { protocol: string, maxPayload: number, accept: (ws: WebSocket, remote: string) => void } | undefined {
    if (!this.running) return undefined
    const maxPayload = this.limits.maxStanzaBytes * WEBSOCKET_PAYLOAD_FACTOR
    return { protocol: XMPP_SUBPROTOCOL, maxPayload, accept: (ws, remote) => { this.acceptWebSocket(ws, remote) } }
  }

  /** A client on a WebSocket the HTTP listener upgraded (subprotocol `xmpp` agreed). */
  acceptWebSocket (ws: WebSocket, remote: string): void {
    this.accept(new WebSocketTransport(ws, remote, this.o.domain, this.limits))
  }

  private acceptSocket (socket: Socket): void {
    socket.setNoDelay(true)
    this.accept(new TcpTransport(socket, this.o.domain, this.limits))
  }

  /**
   * A new connection on either transport. One past its source address's budgets or past the connections
   * not logged in gets a stream error (budgets.ts); one past `maxConnections` (both transports counted) is
   * sent elsewhere or gets a stream error.
   */
  private accept (transport: Transport): void {
    if (!this.running) {
      this.reject('xmpp-not-running')
      new Connection(transport, this, this.o.authTimeoutMs).close(new StreamError('system-shutdown', 'the gateway is not running'))
      return
    }
    const source = sourceOf(transport.remote)
    const refusal = this.connections.size < this.o.maxConnections ? this.budgets.connect(source) : undefined
    if (refusal != null) {
      this.reject(refusal.reason)
      new Connection(transport, this, this.o.authTimeoutMs).close(new StreamError(refusal.condition, refusal.text))
      return
    }
    if (this.connections.size < this.o.maxConnections) {
      const conn = new Connection(transport, this, this.o.authTimeoutMs)
      this.sources.set(conn, { source, loggedIn: false })
      this.connections.add(conn)
      return
    }
    // full: a TCP client is sent to a gateway with room (the transport reads nothing until the connection starts it)
    this.reject('xmpp-connection-limit')
    const elsewhere = transport.kind === 'tcp' ? this.loads?.elsewhere().catch(() => undefined) : undefined
    void Promise.resolve(elsewhere).then((to) => {
      const err = to != null
        ? new StreamError('see-other-host', `this gateway is full; ${to} has room`, to)
        : new StreamError('resource-constraint', 'this node has too many connections; try another')
      new Connection(transport, this, this.o.authTimeoutMs).close(err)
    })
  }

  /** The certificate presented at STARTTLS, once started; `selfMade`: for one gateway on loopback. */
  get certificate (): GatewayCertificate | undefined { return this.cert }

  /** Where clients reach this gateway and how loaded it is, for the others' redirects (none: self-made certificate). */
  private load (): GatewayLoad | undefined {
    const address = this.o.advertise ?? advertisable(this.address())
    if (address == null || !this.running || this.cert?.selfMade !== false) return undefined
    return { address, connections: this.connections.size, max: this.o.maxConnections }
  }

  // ConnectionHost

  tls (): SecureContext | undefined { return this.cert?.context }

  async account (handle: string): Promise<AccountRecord | undefined> {
    return await this.accounts.get(handle)
  }

  decoy (hash: ScramHash, handle: string): ScramCredential {
    return (this.decoys as Decoys).credential(hash, handle)
  }

  async register (handle: string, password: string): Promise<void> {
    const c = this.components
    await registerAccount({
      accounts: this.accounts,
      openUser: async (h, o) => await c.openUser(h, o),
      closeUser: async (h) => { await c.closeUser(h) }
    }, handle, password)
  }

  async login (conn: Connection, record: AccountRecord, hash: ScramHash, clientKey: Buffer): Promise<void> {
    // every login opens the account with the key it proved, also one that joins a session open here: a
    // record that proves a password but does not hold the session's identity opens nothing
    let accountKey: Buffer
    let identity: IdentityKey
    try {
      accountKey = unwrapAccountKey(record, hash, clientKey)
      identity = openIdentity(record, accountKey)
    } catch {
      throw new SaslError('not-authorized', `the account of ${record.handle} does not open with this login`)
    }
    const session = await this.sessions.open(record.handle, accountKey, identity)
    if (!Buffer.from(session.user.identity.publicKey).equals(Buffer.from(identity.publicKey))) {
      throw new SaslError('not-authorized', `the account of ${record.handle} does not hold its session's identity`)
    }
  }

  async bind (conn: Connection, wish: string): Promise<string> {
    const session = this.sessions.get(conn.handle)
    if (session == null) throw new StreamError('not-authorized', 'the session is gone')
    return session.attach(conn, wish)
  }

  async stanza (conn: Connection, el: Element): Promise<void> {
    this.counts.stanzasIn++
    const session = this.sessions.get(conn.handle)
    if (session == null) { conn.close(new StreamError('not-authorized', 'the session is gone')); return }
    await session.stanza(conn, el)
  }

  resumable (conn: Connection): void {
    if (conn.sm != null) this.streams.set(conn.sm.id, conn)
  }

  detached (conn: Connection): void {
    log('%s dropped; resumable for %d s', conn.jid, this.o.resumeSeconds)
    const t = setTimeout(() => { this.expiries.delete(conn); conn.expire() }, this.o.resumeSeconds * 1000)
    t.unref()
    this.expiries.set(conn, t)
  }

  resume (
    conn: Connection,
    previd: string,
    h: number
  ): { resource: string, sm: SmState, again: Element[] } | undefined {
    const old = this.streams.get(previd)
    if (old == null || old.handle !== conn.handle || old === conn) return undefined
    const session = this.sessions.get(conn.handle)
    if (session == null) return undefined
    clearTimeout(this.expiries.get(old))
    this.expiries.delete(old)
    this.connections.delete(old)
    this.release(old)
    let again: Element[]
    try {
      again = (old.sm as SmState).resumeFrom(h)
    } catch {
      return undefined
    }
    const { resource, sm } = old.handOver()
    session.replace(resource, conn)
    this.streams.set(sm.id, conn)
    log('%s resumed; %d stanzas sent again', conn.jid, again.length)
    return { resource, sm, again }
  }

  closed (conn: Connection, why: string): void {
    this.connections.delete(conn)
    this.release(conn)
    if (conn.sm != null && this.streams.get(conn.sm.id) === conn) this.streams.delete(conn.sm.id)
    clearTimeout(this.expiries.get(conn))
    this.expiries.delete(conn)
    this.sessions.left(conn, why)
  }

  reject (reason: string): void {
    this.counts.rejected.set(reason, (this.counts.rejected.get(reason) ?? 0) + 1)
  }

  admit (conn: Connection): boolean {
    return this.buckets.take(conn.id)
  }

  mayLogin (conn: Connection): Refusal | undefined {
    return this.budgets.login(sourceOf(conn.remote))
  }

  mayRegister (conn: Connection): Refusal | undefined {
    return this.budgets.register(sourceOf(conn.remote))
  }

  loggedIn (conn: Connection): void {
    const s = this.sources.get(conn)
    if (s == null || s.loggedIn) return
    s.loggedIn = true
    this.budgets.loggedIn(s.source)
  }

  /** A connection is gone (closed, or its stream taken over): its source address's budgets get it back. */
  private release (conn: Connection): void {
    const s = this.sources.get(conn)
    if (s == null) return
    this.sources.delete(conn)
    this.budgets.disconnect(s.source, s.loggedIn)
  }

  sent (): void { this.counts.stanzasOut++ }

  /**
   * The secret decoys are keyed by: `<dataDir>/xmpp-decoy.key`, made on first start. Gateways that hold
   * the same file give the same decoys (docs/xmpp.md: copy it to every gateway of the mesh).
   */
  private decoySecret (): Buffer {
    const file = join(this.components.dataDir, DECOY_SECRET_FILE)
    if (!existsSync(file)) writeFileSync(file, randomBytes(DECOY_SECRET_BYTES), { mode: 0o600, flag: 'wx' })
    const secret = readFileSync(file)
    if (secret.length < DECOY_SECRET_BYTES) {
      throw new DataDirError(`${file} must hold at least ${DECOY_SECRET_BYTES} bytes`)
    }
    return secret
  }
}

/** A bound `host:port` clients elsewhere can use: not a wildcard address. */
function advertisable (bound: string | undefined): string | undefined {
  if (bound == null) return undefined
  const host = bound.slice(0, bound.lastIndexOf(':'))
  return host === '0.0.0.0' || host === '::' || host === '' ? undefined : bound
}
