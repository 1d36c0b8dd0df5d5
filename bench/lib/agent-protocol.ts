/**
 * The IPC protocol between the benchmark coordinator and its agent processes. The coordinator sends
 * commands with an id; the agent answers each with one reply, and sends events (membership changes)
 * whenever they happen. Every timestamp is `wallClock()` of the process that took it.
 */

import type { ChorusNodeOptions, MembershipInit, Role } from '../../node/index.js'
import type { WorkSnapshot } from '../../node/index.js'
import type { FloorCommands, FloorReplies } from './floor-protocol.js'

/** Environment variables through which an agent learns its name and data directory at fork. */
export const AGENT_ENV = { name: 'CHORUS_BENCH_AGENT', dataDir: 'CHORUS_BENCH_DATA_DIR' } as const

/** Commands, by operation name (the `floor` scenario's are in floor-protocol.ts). */
export interface AgentCommands extends FloorCommands {
  /** Create and start the node. */
  start: {
    role: Role
    bootstrap: string[]
    membership: Partial<MembershipInit>
    replicas?: number
    writeQuorum?: number
    replication?: { senderRate?: number, senderBurst?: number }
    relay?: { senderRate?: number, senderBurst?: number }
    xmpp?: ChorusNodeOptions['xmpp']
  }
  /** Open a user session on this node (claims the handle). */
  openUser: { handle: string }
  /** Open sessions `<prefix>0` … `<prefix><count - 1>` on this node, `concurrency` at a time. */
  openUsers: { prefix: string, count: number, concurrency: number }
  /**
   * Send chat messages from `from` to `to` (a handle, or `room:<id>` for a room): paced at `rate`/s, or
   * saturating with `window` sends in flight. With `runId`, each text carries a benchmark header (see
   * payload.ts) so receivers can time it.
   */
  sendLoad: {
    from: string
    to: string
    mode: 'paced' | 'saturate'
    rate: number
    window: number
    seconds: number
    count: number
    size: number
    runId?: number
  }
  /**
   * Paced sends over many (sender, target) pairs of this process's open users, taken in turn: `rate` a
   * second in all, for `seconds`. `to` is a handle or `room:<id>` (the sender must be in the room).
   */
  mixLoad: { targets: Array<{ from: string, to: string }>, rate: number, seconds: number, size: number }
  /** Record every message `handle` receives that carries a benchmark header (direct and room messages). */
  watchUser: { handle: string }
  /** `handle` creates a public room; replies with its id. */
  roomCreate: { handle: string, name: string }
  /** `handle` joins room `roomId`. */
  roomJoin: { handle: string, roomId: string }
  /**
   * Open secret chats from `handle` to each of `peers` (`window` at a time), each followed by one message
   * carrying a benchmark header of run `runId`: claim of the peer's prekeys, X3DH, first message out.
   */
  secretSetups: { handle: string, peers: string[], window: number, runId: number, size: number }
  /** Entries of `mailbox` stored on this (server) node. */
  mailboxCount: { mailbox: string }
  /** Wait (bounded) until `membership.servers()` has at least `servers` entries. */
  awaitView: { servers: number, timeoutMs: number }
  /** Process figures. */
  stats: Record<string, never>
  /** The node's running work totals (`node.work()`), or the process's CPU alone before it starts. */
  work: Record<string, never>
  /** Start V8's CPU profiler in this process, or stop it and write the profile to `path` (a `.cpuprofile`). */
  profile: { action: 'start' } | { action: 'stop', path: string }
  /** Subscribe to `topic` and record benchmark payloads arriving on it. */
  subscribe: { topic: string }
  /** What gossipsub knows of `topic`. */
  meshStatus: { topic: string }
  /** Publish `mode`-style on `topic` for `seconds`; replies when done. */
  publish: { topic: string, runId: number, mode: 'paced' | 'saturate', rate: number, seconds: number, size: number }
  /** Messages of run `runId` received so far. */
  progress: { runId: number }
  /** Everything recorded for run `runId`; forgets the run. */
  collect: { runId: number }
  /** Register each account in band (XEP-0077), log in once and disconnect (bench/lib/xmpp-clients.ts). */
  xmppRegister: { accounts: XmppAccount[], concurrency: number }
  /** Log each account in (SCRAM), bind a resource, send initial presence, and stay connected. */
  xmppConnect: { accounts: XmppAccount[], concurrency: number }
  /** Chat from each pair's sender to its receiver (both connected here): paced, or `window` in flight per pair. */
  xmppLoad: XmppLoadCommand
  /** Disconnect every XMPP client of this process. */
  xmppClose: Record<string, never>
  /** Stop the node politely; the agent exits after replying. */
  stop: Record<string, never>
}

/** One Jabber account a client process connects as. */
export interface XmppAccount {
  username: string
  password: string
  /** the server's c2s `host:port` */
  address: string
  domain: string
  /** STARTTLS when offered (certificates are not checked); otherwise the stream stays plaintext */
  tls: boolean
}

/** One load phase of a client process. */
export interface XmppLoadCommand {
  /** sender and receiver usernames, both connected in this process */
  pairs: Array<{ from: string, to: string }>
  mode: 'paced' | 'saturate'
  /** paced: messages a second from this process, spread over its pairs */
  rate: number
  /** saturate: messages in flight per pair */
  window: number
  seconds: number
  /** body characters */
  size: number
  runId: number
}

/** What one client process saw of a load phase. */
export interface XmppLoadReport {
  sent: number
  received: number
  /** of `received`, those that arrived before the sending stopped */
  receivedInWindow: number
  /** received again, or after they were given up as lost */
  duplicates: number
  /** not received within the loss timeout */
  lost: number
  /** error stanzas bounced to the senders, by condition */
  errors: Record<string, number>
  startedAt: number
  endedAt: number
  lastAt: number
  /** send → receipt at the receiver, ms, in arrival order */
  latenciesMs: number[]
}

/** What logging in or registering many accounts did. */
export interface XmppOpenReport {
  opened: number
  failed: number
  ms: number
  errors: Record<string, number>
  /** of those opened, streams over TLS */
  secure: number
}

/** Replies, by operation name. */
export interface AgentReplies extends FloorReplies {
  start: { peerId: string, multiaddrs: string[], startCalledAt: number, startResolvedAt: number, xmppAddress?: string }
  openUser: { userId: string }
  openUsers: { opened: number, failed: number, ms: number, errors: Record<string, number> }
  sendLoad: SendLoadReport
  mixLoad: MixLoadReport
  watchUser: Record<string, never>
  roomCreate: { roomId: string }
  roomJoin: Record<string, never>
  secretSetups: { startedAt: number, endedAt: number, failed: number, errors: Record<string, number> }
  mailboxCount: { count: number }
  awaitView: { reachedAt: number, servers: number }
  stats: {
    rssBytes: number
    heapUsedBytes: number
    cpuUserMs: number
    cpuSystemMs: number
    connections: number
    servers: number
  }
  work: { role: Role | 'none', work: WorkSnapshot | null, cpu: { userMs: number, systemMs: number } }
  profile: Record<string, never>
  subscribe: Record<string, never>
  meshStatus: { meshPeers: number, subscribers: number }
  publish: PublishReport
  progress: { received: number, lastAt: number }
  collect: ReceiveReport
  xmppRegister: XmppOpenReport
  xmppConnect: XmppOpenReport
  xmppLoad: XmppLoadReport
  xmppClose: Record<string, never>
  stop: Record<string, never>
}

/** Operation names. */
export type AgentOp = keyof AgentCommands

/** A command on the wire. */
export type AgentRequest<O extends AgentOp = AgentOp> = { id: number, op: O } & AgentCommands[O]

/** What a publisher did. */
export interface PublishReport {
  sent: number
  /** publishes that threw */
  failed: number
  /** publishes that gossipsub routed to no peer */
  unrouted: number
  startedAt: number
  endedAt: number
  /** saturation only: times the publisher waited for outbound buffers to drain */
  backpressureWaits: number
}

/** What a receiver recorded of one run. */
export interface ReceiveReport {
  received: number
  duplicates: number
  firstAt: number
  lastAt: number
  /** one-way latency of every message received, ms, in arrival order */
  latenciesMs: number[]
}

/** What a mixed load did: a `SendLoadReport`, and the acknowledged sends by kind. */
export interface MixLoadReport extends SendLoadReport {
  ackedByKind: { dm: number, room: number }
}

/** Messages from an agent to the coordinator. */
export type AgentMessage =
  | { kind: 'ready', at: number, pid: number }
  | { kind: 'reply', id: number, ok: true, result: unknown }
  | { kind: 'reply', id: number, ok: false, error: string }
  | { kind: 'event', event: MemberEvent }

/** A membership change as seen by one agent. */
export interface MemberEvent {
  type: 'member:join' | 'member:leave'
  at: number
  peerId: string
  role: string
  reason?: string
  /** `membership.servers().length` right after the change */
  servers: number
}

/** What a sender did: acknowledged sends, their latencies, and the errors by code. */
export interface SendLoadReport {
  acked: number
  failed: number
  errors: Record<string, number>
  startedAt: number
  endedAt: number
  /** send → acknowledgement (W owners on disk), ms, in completion order */
  latenciesMs: number[]
}
