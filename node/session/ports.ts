/**
 * The ports of a session: what the parts of a session (direct chat, receipts, roster and presence,
 * rooms, secret chats) use of the user and the node, each a small interface. Each part declares the
 * ports it takes, and of each port the members it uses, as its own `*Components` interface (as libp2p's
 * services do); `User` assembles them once, from the node's replication, relay and database, none of
 * which a part receives whole. A test builds one part with fakes of the few members it names.
 */

import type { AbstractSublevel } from 'abstract-level'
import type { Envelope, IdentityKey } from '../../protocol/envelope.js'
import type { HybridClock } from '../../protocol/hlc.js'
import type { Relay } from '../relay/relay.js'
import type { StoreCall } from '../replication/context.js'
import type { ReadOptions, ReadResult } from '../replication/reader.js'
import type { ChorusDb } from '../store/db.js'
import type { UserRef } from './directory.js'
import type { Feed, FeedConsumer } from './feed.js'
import type { Message, SendResult, UserEvents } from './events.js'

/** The sublevel `secret` of the node's database, as one user sees it: its values sealed by the user's vault. */
export type SecretLevel = AbstractSublevel<ChorusDb, string | Buffer | Uint8Array, string, string>

/** Who the session is, and its signature. */
export interface Signer {
  readonly handle: string
  readonly userId: string
  readonly identity: IdentityKey
  /** the node's hybrid clock (envelopes are stamped by it; a log's entries move it forward) */
  readonly clock: HybridClock
  /** Sign an envelope from this user, stamped by the node's clock. */
  sign: (kind: Envelope.Kind, recipient: string, body: Uint8Array) => Envelope
}

/** Where the session's envelopes go. */
export interface Outbox {
  /** Store at W of N owners and publish live, in parallel; resolves when the write is acknowledged. */
  send: (env: Envelope) => Promise<SendResult>
  /** Publish live only (headlines, typing, presence broadcasts); never throws. */
  publish: (env: Envelope) => Promise<void>
  /** Store at W of N owners without publishing live (a post the owners are likely to refuse). */
  write: (env: Envelope) => Promise<SendResult>
}

/** What a part does with a feed (node/session/feed.ts): offer live envelopes, sync, poll, start late. */
export type LogFeed = Pick<Feed, 'offer' | 'sync' | 'poll' | 'idle' | 'startAt'>

/** A page of a log, read with this user's proof (the session signs it: `ReadOptions` without `auth`). */
export type LogReadOptions = Omit<ReadOptions, 'auth'>

/** The logs the session reads. */
export interface Logs {
  /**
   * The session's exactly-once feed of a log (created once per mailbox); `consumer` gets its envelopes
   * (the part of the session that follows the log now: a later call replaces an earlier consumer).
   */
  feed: (mailbox: string, consumer: FeedConsumer) => LogFeed
  /** One page of a log, merged from its owners, read with this user's proof. */
  read: (mailbox: string, o?: LogReadOptions) => Promise<ReadResult>
}

/** Users by handle, and envelopes as the session shows them. */
export interface Lookups {
  /** A handle (or a userId) to a verified user reference. Throws `UnknownHandleError`. */
  resolve: (handleOrId: string) => Promise<UserRef>
  /** The display form of an envelope: its verified sender, text, kind, cursor. `undefined` for a forged handle. */
  toMessage: (env: Envelope) => Promise<Message | undefined>
}

/** Input the session refused: counted by reason (`chorus_rejected_total`), so that it shows in the metrics. */
export interface Rejections {
  reject: (reason: string) => void
}

/** Where the parts keep their own data on the node: sublevels of its database. */
export interface Storage {
  /** A named sublevel of the node's database (`roster`, `rooms`, `deletions` …). */
  sublevel: ChorusDb['sublevel']
  /** The `secret` sublevel, sealed at rest when the user has a passphrase: one instance for every secret part. */
  secretLevel: () => SecretLevel
  /** Rewrite the database's files over [start, end) (full keys), so that what was deleted there leaves them. */
  compactRange: (start: string, end: string) => Promise<void>
}

/** Live delivery of the rooms the session is in (the relay's room topics). */
export type LiveRooms = Pick<Relay, 'subscribeRoom'>

/** Requests to the owners of a user's keys besides its logs (prekeys, deletions), and the mesh's time. */
export interface Owners {
  /** The live owners of a key (a user id), in ring order. */
  ownersOf: (key: string) => readonly string[]
  /** One request to one peer over its replication channel. */
  call: StoreCall
  /** W: the owners that must acknowledge a write. */
  readonly writeQuorum: number
  /** The mesh's time (ms): this node's clock corrected by its offset from the servers', as owners judge it. */
  now: () => number
}

/** The session's events. */
export interface SessionEvents {
  /** Emit an event of the session (held for the first listener, as `User` does). */
  emit: <K extends keyof UserEvents>(event: K, ...args: UserEvents[K]) => void
  /** How many listeners `event` has now. */
  listenerCount: (event: keyof UserEvents) => number
  /** Call `fn` with the name of each event a listener is added for. */
  onListener: (fn: (event: string) => void) => void
}

/** Whether the session is closing: loops and timers stop. */
export interface SessionState {
  readonly closed: boolean
}

/** Every port, as `User` assembles them: handed to each part, which declares (and sees) only what it uses. */
export interface SessionPorts {
  signer: Signer
  outbox: Outbox
  logs: Logs
  lookups: Lookups
  rejections: Rejections
  storage: Storage
  live: LiveRooms
  owners: Owners
  events: SessionEvents
  session: SessionState
}
