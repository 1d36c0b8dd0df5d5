/**
 * Node options: what a library user passes to `createNode`, and the validated, defaulted form the node
 * runs with. Every value is checked here, once, with an error that names the option.
 */

import { accessSync, constants as fsConstants, existsSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { ConnectionGater } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { ROLES, type Role } from '../protocol/constants.js'
import { decodeCertificate, parseMeshId } from '../protocol/admission.js'
import {
  DEFAULT_CAPACITY, DEFAULT_REPLICAS, DEFAULT_ROLE, DEFAULT_TCP_PORT, DEFAULT_WRITE_QUORUM, DEFAULT_WS_PORT,
  MAX_ADDRESSES, MAX_CAPACITY, MAX_REPLICAS, defaultDataDir
} from './constants.js'
import { DataDirError, InvalidOptionError } from './errors.js'
import type { MembershipInit } from './membership/index.js'
import type { RelayInit } from './relay/options.js'
import type { XmppGatewayOptions, XmppOptions } from './xmpp/options.js'
import { DEFAULT_MAX_UNACKED } from './xmpp/stream-management.js'
import * as budgets from './xmpp/budgets.js'

/** The XMPP domain when none is given. */
export const DEFAULT_XMPP_DOMAIN = 'chorus.localhost'

/** Options of `createNode`. Only `dataDir` matters for a first node; everything has a default. */
export interface ChorusNodeOptions {
  /**
   * `server` stores and serves data, `bootstrap` only helps peers find the mesh, `client` hosts local users.
   * @default 'server'
   */
  role?: Role
  /** Where the node key and LevelDB live. @default `$CHORUS_HOME` or `~/.chorus` */
  dataDir?: string
  /**
   * Multiaddrs to listen on.
   * @default TCP 7400 + WebSocket 7401 on all interfaces (client: an ephemeral TCP port on loopback)
   */
  listen?: string[]
  /** Multiaddrs (with `/p2p/<peer id>`) of bootstrap peers to dial. @default [] */
  bootstrap?: string[]
  /** Copies of every key (N), 1..16. @default 3 */
  replicas?: number
  /** Owners that must store a write before it is acknowledged (W), 1..replicas. @default 2 */
  writeQuorum?: number
  /** Declared capacity of a server: its weight in ownership, 1..1000. @default 1 */
  capacity?: number
  /** `HOST:PORT` for the operator HTTP endpoint (/health, /status, /metrics). Off when absent. */
  http?: string
  /**
   * Keep loopback and private addresses in the DHT. libp2p drops them by default, which empties the
   * routing table of a local mesh. @default true when any listen or bootstrap address is loopback
   */
  allowPrivateAddresses?: boolean
  /** Membership timing (probe interval, probe timeout, suspicion timeout …). */
  membership?: Partial<MembershipInit>
  /** Repair timing and flood control (repair interval, hint interval, per-peer put rate). */
  replication?: {
    repairIntervalMs?: number
    hintIntervalMs?: number
    heldTrustMs?: number
    peerPutRate?: number
    senderRate?: number
    senderBurst?: number
  }
  /** live relay: live envelopes a second one sender may have relayed through this node (default 200, burst 1000) */
  relay?: RelayInit
  /**
   * The mesh id (from `chorus mesh init`) of a federated mesh: only servers with a certificate of this
   * mesh own data, and nodes of other meshes are refused. Absent: an open mesh, where any server owns data.
   */
  mesh?: string
  /** A server's admission certificate for `mesh` (the bytes of `chorus mesh admit`'s certificate). */
  certificate?: Uint8Array
  /**
   * The XMPP gateway (servers only): Jabber clients connect here and chat on the mesh. Off when absent.
   * `listen` is `HOST:PORT` (5222 is XMPP's usual port).
   */
  xmpp?: XmppOptions
  /** Advanced: a libp2p connection gater (which peers this node may talk to). Tests use it to cut partitions. */
  connectionGater?: ConnectionGater
}

/** Options after validation and defaults: what the node runs with. */
export interface ResolvedOptions {
  role: Role
  dataDir: string
  listen: Multiaddr[]
  bootstrap: Multiaddr[]
  replicas: number
  writeQuorum: number
  capacity: number
  http?: { host: string, port: number }
  allowPrivateAddresses: boolean
  membership: Partial<MembershipInit>
  replication: {
    repairIntervalMs?: number
    hintIntervalMs?: number
    heldTrustMs?: number
    peerPutRate?: number
    senderRate?: number
    senderBurst?: number
  }
  relay: RelayInit
  /** the mesh id, when the mesh is closed */
  mesh?: string
  certificate?: Uint8Array
  xmpp?: XmppGatewayOptions
  connectionGater?: ConnectionGater
}

/** Options as they arrive, before they are checked: the fields of `ChorusNodeOptions`, each of any type. */
type UncheckedOptions = { readonly [K in keyof ChorusNodeOptions]?: unknown }

/**
 * Validate options and apply defaults. Throws `InvalidOptionError` or `DataDirError`. Typed for a
 * TypeScript caller; every value is checked all the same (`checkOptions`), since a JavaScript caller or
 * one that parsed a file can hand over anything.
 */
export function resolveOptions (options: ChorusNodeOptions = {}): ResolvedOptions {
  return checkOptions(options)
}

/**
 * `resolveOptions` for options of unknown shape (parsed from a file, given by JavaScript, or wrong on
 * purpose in a test): each value is checked here, whatever its type.
 */
export function checkOptions (options: unknown = {}): ResolvedOptions {
  if (options == null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object')
  const o: UncheckedOptions = options
  const role = o.role ?? DEFAULT_ROLE
  if (!isRole(role)) {
    throw new InvalidOptionError('role', `must be one of ${ROLES.join(', ')} (got ${JSON.stringify(role)})`)
  }
  const replicas = integer('replicas', o.replicas ?? DEFAULT_REPLICAS, 1, MAX_REPLICAS)
  const writeQuorum = integer('writeQuorum', o.writeQuorum ?? Math.min(DEFAULT_WRITE_QUORUM, replicas), 1, replicas)
  const capacity = integer('capacity', o.capacity ?? DEFAULT_CAPACITY, 1, MAX_CAPACITY)
  const listen = addresses('listen', o.listen ?? defaultListen(role), false)
  const bootstrap = addresses('bootstrap', o.bootstrap ?? [], true)
  const dataDir = ensureDataDir(o.dataDir ?? defaultDataDir())
  const http = o.http == null ? undefined : hostPort('http', o.http)
  const allowPrivateAddresses = o.allowPrivateAddresses ?? [...listen, ...bootstrap].some(isLoopback)
  if (typeof allowPrivateAddresses !== 'boolean') throw new InvalidOptionError('allowPrivateAddresses', 'must be true or false')
  const { mesh, certificate } = admission(role, o.mesh, o.certificate)
  const xmpp = o.xmpp == null ? undefined : xmppOptions(role, o.xmpp)
  const connectionGater = o.connectionGater
  if (connectionGater != null && typeof connectionGater !== 'object') {
    throw new InvalidOptionError('connectionGater', 'must be a libp2p ConnectionGater (an object)')
  }
  return {
    xmpp,
    mesh,
    certificate,
    role,
    dataDir,
    listen,
    bootstrap,
    replicas,
    writeQuorum,
    capacity,
    http,
    allowPrivateAddresses,
    membership: bounded('membership', o.membership ?? {}, MEMBERSHIP_BOUNDS),
    replication: bounded('replication', o.replication ?? {}, REPLICATION_BOUNDS),
    relay: bounded('relay', o.relay ?? {}, RELAY_BOUNDS),
    connectionGater: connectionGater ?? undefined
  }
}

function isRole (v: unknown): v is Role {
  return ROLES.some((r) => r === v)
}

/**
 * The mesh id must parse; a certificate needs a mesh and a server, and must decode. Whether the
 * certificate admits this node (signature, peer id, expiry) is judged at start and reported, not here:
 * a server whose certificate lapses keeps running without owning data, and so may one started so.
 */
function admission (role: Role, mesh: unknown, certificate: unknown): { mesh?: string, certificate?: Uint8Array } {
  if (mesh == null) {
    if (certificate != null) throw new InvalidOptionError('certificate', 'a certificate belongs to a mesh: give the mesh id too')
    return {}
  }
  if (typeof mesh !== 'string') throw new InvalidOptionError('mesh', 'must be a mesh id string')
  try { parseMeshId(mesh) } catch (err: any) { throw new InvalidOptionError('mesh', err.message) }
  if (certificate == null) return { mesh }
  if (!(certificate instanceof Uint8Array)) throw new InvalidOptionError('certificate', 'must be the certificate\'s bytes')
  if (role !== 'server') throw new InvalidOptionError('certificate', `only a server needs a certificate (this node runs as ${role})`)
  try { decodeCertificate(certificate) } catch (err: any) { throw new InvalidOptionError('certificate', err.message) }
  return { mesh, certificate }
}

/** The XMPP domain's shape: DNS labels (RFC 7622 domainpart, ASCII only here). */
const XMPP_DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/
const XMPP_KEYS = new Set([
  'listen', 'domain', 'allowPlaintext', 'cert', 'key', 'maxConnections', 'stanzaRate', 'stanzaBurst', 'maxStanzaBytes',
  'authTimeoutMs', 'lingerMs', 'resumeSeconds', 'advertise', 'maxUnacked', 'maxConnectionsPerAddress', 'maxPreLogin',
  'maxPreLoginPerAddress', 'loginsPerAddress', 'registrationsPerAddress', 'registrationsPerMinute'
])

function xmppOptions (role: Role, x: unknown): XmppGatewayOptions {
  if (x == null || typeof x !== 'object') throw new InvalidOptionError('xmpp', 'must be an object with at least `listen`')
  for (const k of Object.keys(x)) if (!XMPP_KEYS.has(k)) throw new InvalidOptionError(`xmpp.${k}`, 'unknown option')
  if (role !== 'server') throw new InvalidOptionError('xmpp', `only a server runs the XMPP gateway (this node runs as ${role})`)
  const o = x as XmppOptions
  const { host, port } = hostPort('xmpp.listen', o.listen)
  const domain = o.domain ?? DEFAULT_XMPP_DOMAIN
  if (typeof domain !== 'string' || !XMPP_DOMAIN.test(domain)) throw new InvalidOptionError('xmpp.domain', `must be a lower-case DNS name (got ${JSON.stringify(domain)})`)
  if (o.allowPlaintext != null && typeof o.allowPlaintext !== 'boolean') throw new InvalidOptionError('xmpp.allowPlaintext', 'must be true or false')
  if ((o.cert == null) !== (o.key == null)) throw new InvalidOptionError(o.cert == null ? 'xmpp.cert' : 'xmpp.key', 'give both the certificate and its key, or neither')
  for (const [k, v] of [['cert', o.cert], ['key', o.key]] as const) {
    if (v != null && (typeof v !== 'string' || !v.includes('-----BEGIN'))) throw new InvalidOptionError(`xmpp.${k}`, 'must be PEM text')
  }
  return {
    host,
    port,
    domain,
    allowPlaintext: o.allowPlaintext ?? false,
    cert: o.cert,
    key: o.key,
    maxConnections: integer('xmpp.maxConnections', o.maxConnections ?? 10_000, 1, 1_000_000),
    stanzaRate: integer('xmpp.stanzaRate', o.stanzaRate ?? 100, 1, 1_000_000),
    stanzaBurst: integer('xmpp.stanzaBurst', o.stanzaBurst ?? 500, 1, 10_000_000),
    authTimeoutMs: integer('xmpp.authTimeoutMs', o.authTimeoutMs ?? 60_000, 100, 3_600_000),
    lingerMs: integer('xmpp.lingerMs', o.lingerMs ?? 60_000, 0, 86_400_000),
    resumeSeconds: integer('xmpp.resumeSeconds', o.resumeSeconds ?? 120, 1, 3600),
    maxUnacked: integer('xmpp.maxUnacked', o.maxUnacked ?? DEFAULT_MAX_UNACKED, 10, 1_000_000),
    ...xmppBudgets(o),
    advertise: o.advertise == null ? undefined : advertised(o.advertise),
    limits: { maxStanzaBytes: integer('xmpp.maxStanzaBytes', o.maxStanzaBytes ?? 256 * 1024, 1024, 16 * 1024 * 1024) }
  }
}

/** The gateway's budgets before login and per source address (xmpp/budgets.ts). */
function xmppBudgets (o: XmppOptions): budgets.SourceBudgetsInit {
  const budget = (k: keyof budgets.SourceBudgetsInit, dflt: number): number =>
    integer(`xmpp.${k}`, o[k] ?? dflt, 1, 1_000_000)
  return {
    maxConnectionsPerAddress: budget('maxConnectionsPerAddress', budgets.DEFAULT_MAX_CONNECTIONS_PER_ADDRESS),
    maxPreLogin: budget('maxPreLogin', budgets.DEFAULT_MAX_PRE_LOGIN),
    maxPreLoginPerAddress: budget('maxPreLoginPerAddress', budgets.DEFAULT_MAX_PRE_LOGIN_PER_ADDRESS),
    loginsPerAddress: budget('loginsPerAddress', budgets.DEFAULT_LOGINS_PER_ADDRESS),
    registrationsPerAddress: budget('registrationsPerAddress', budgets.DEFAULT_REGISTRATIONS_PER_ADDRESS),
    registrationsPerMinute: budget('registrationsPerMinute', budgets.DEFAULT_REGISTRATIONS_PER_MINUTE)
  }
}

/** `xmpp.advertise`: a `host:port` (a DNS name or an IP) clients can dial. */
function advertised (v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9.-]{1,253}:\d{1,5}$|^\[[0-9a-fA-F:]{2,45}\]:\d{1,5}$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) > 65535) {
    throw new InvalidOptionError('xmpp.advertise', `must be HOST:PORT (got ${JSON.stringify(v)})`)
  }
  return v
}

/** The listen addresses used when none are given. A client needs no fixed port. */
export function defaultListen (role: Role): string[] {
  if (role === 'client') return ['/ip4/127.0.0.1/tcp/0']
  return [`/ip4/0.0.0.0/tcp/${DEFAULT_TCP_PORT}`, `/ip4/0.0.0.0/tcp/${DEFAULT_WS_PORT}/ws`]
}

/** A whole number in [min, max]; `name` is what the user will see. */
export function integer (name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new InvalidOptionError(name, `must be a whole number (got ${JSON.stringify(value)})`)
  if (n < min || n > max) throw new InvalidOptionError(name, `must be between ${min} and ${max} (got ${n})`)
  return n
}

/** `HOST:PORT` (IPv6 as `[::1]:PORT`) with a port 0..65535. */
export function hostPort (name: string, value: unknown): { host: string, port: number } {
  if (typeof value !== 'string') throw new InvalidOptionError(name, 'must be HOST:PORT')
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim())
  if (m == null) throw new InvalidOptionError(name, `must be HOST:PORT, e.g. 127.0.0.1:8080 (got ${JSON.stringify(value)})`)
  const port = Number(m[3])
  if (port > 65535) throw new InvalidOptionError(name, `port must be 0..65535 (got ${port})`)
  return { host: m[1] ?? m[2], port }
}

function addresses (name: string, values: unknown, needPeerId: boolean): Multiaddr[] {
  if (!Array.isArray(values)) throw new InvalidOptionError(name, 'must be a list of multiaddrs')
  if (values.length > MAX_ADDRESSES) throw new InvalidOptionError(name, `at most ${MAX_ADDRESSES} addresses (got ${values.length})`)
  return values.map((value) => {
    let ma: Multiaddr
    try {
      if (typeof value !== 'string' || value.length > 1024) throw new Error('not a string')
      ma = multiaddr(value)
    } catch {
      throw new InvalidOptionError(name, `not a valid multiaddr: ${JSON.stringify(value)}`)
    }
    const protos = ma.getComponents().map((c) => c.name)
    if (!protos.includes('tcp')) throw new InvalidOptionError(name, `${value}: only TCP and WebSocket (tcp/…/ws) addresses are supported`)
    const p2p = ma.getComponents().find((c) => c.name === 'p2p')
    if (needPeerId && p2p == null) {
      throw new InvalidOptionError(name, `${value}: a bootstrap address must end in /p2p/<peer id> (copy the line a node prints on start)`)
    }
    if (needPeerId) {
      try { peerIdFromString(String(p2p?.value)) } catch { throw new InvalidOptionError(name, `${value}: ${String(p2p?.value)} is not a peer id`) }
    }
    if (!needPeerId && protos.includes('p2p')) throw new InvalidOptionError(name, `${value}: a listen address carries no /p2p/ part`)
    return ma
  })
}

function isLoopback (ma: Multiaddr): boolean {
  const host = ma.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6' || c.name === 'dns4' || c.name === 'dns')?.value ?? ''
  return host.startsWith('127.') || host === '::1' || host === 'localhost'
}

function ensureDataDir (dir: unknown): string {
  if (typeof dir !== 'string' || dir.trim() === '') throw new InvalidOptionError('dataDir', 'must be a non-empty path')
  const abs = resolve(dir)
  try {
    makeDirs(abs)
    accessSync(abs, fsConstants.W_OK | fsConstants.R_OK)
  } catch (err: any) {
    throw new DataDirError(`data dir ${abs} is not usable: ${err.code ?? err.message}`)
  }
  return abs
}

/** mkdir -p, one level at a time: Node 20's recursive mkdir spins forever under /proc. */
function makeDirs (dir: string): void {
  const missing: string[] = []
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    if (dirname(d) === d) break
    missing.unshift(d)
  }
  for (const d of missing) mkdirSync(d, { mode: 0o700 })
}

/** Bounds of membership timings, in ms (a 0 ms probe interval would be a busy loop). */
const MEMBERSHIP_BOUNDS: Record<string, [number, number]> = {
  probeIntervalMs: [10, 600_000],
  probeTimeoutMs: [10, 600_000],
  suspicionTimeoutMs: [10, 3_600_000],
  syncIntervalMs: [100, 3_600_000],
  rejoinIntervalMs: [50, 3_600_000],
  deadRetentionMs: [1000, 86_400_000],
  maxPiggyback: [1, 1024],
  maxMembers: [2, 1_000_000]
}

/** Bounds of the relay's rates. */
const RELAY_BOUNDS: Record<string, [number, number]> = { senderRate: [1, 1_000_000], senderBurst: [1, 10_000_000] }

/** Bounds of replication timings and rates. */
const REPLICATION_BOUNDS: Record<string, [number, number]> = {
  repairIntervalMs: [100, 3_600_000],
  hintIntervalMs: [100, 3_600_000],
  heldTrustMs: [100, 86_400_000],
  peerPutRate: [1, 10_000_000],
  senderRate: [1, 1_000_000],
  senderBurst: [1, 10_000_000]
}

/** A section of whole-number settings (`membership`, `replication`, `relay`), each known and in its bounds. */
function bounded (
  section: string, values: unknown, bounds: Record<string, [number, number]>
): Record<string, number | undefined> {
  if (values == null || typeof values !== 'object') throw new InvalidOptionError(section, 'must be an object')
  const checked: Record<string, number | undefined> = {}
  for (const [key, value] of Object.entries(values)) {
    const b = bounds[key]
    if (b == null) throw new InvalidOptionError(`${section}.${key}`, `unknown setting (known: ${Object.keys(bounds).join(', ')})`)
    checked[key] = value === undefined ? undefined : integer(`${section}.${key}`, value, b[0], b[1])
  }
  return checked
}
