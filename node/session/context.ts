/**
 * What the parts of a session (direct chat, receipts, roster and presence, rooms, secret chats) share:
 * the user's identity and the node's components, and the few operations every part needs. `User`
 * implements it; each part receives it and nothing else.
 */

import type { AbstractSublevel } from 'abstract-level'
import type { Envelope, IdentityKey } from '../../protocol/envelope.js'
import type { HybridClock } from '../../protocol/hlc.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import type { Relay } from '../relay/relay.js'
import type { Replication } from '../replication/replication.js'
import type { ChorusDb } from '../store/db.js'
import type { UserRef } from './directory.js'
import type { Feed, FeedConsumer } from './feed.js'
import type { Message, SendResult, UserEvents } from './events.js'

/** The sublevel `secret` of the node's database, as one user sees it: its values sealed by the user's vault. */
export type SecretLevel = AbstractSublevel<ChorusDb, string | Buffer | Uint8Array, string, string>

export interface SessionContext {
  readonly handle: string
  readonly userId: string
  readonly identity: IdentityKey
  readonly replication: Replication
  readonly relay: Relay
  readonly db: ChorusDb
  readonly clock: HybridClock
  /** Sign an envelope from this user, stamped by the node's clock. */
  sign: (kind: Envelope.Kind, recipient: string, body: Uint8Array) => Envelope
  /** Store at W of N owners and publish live, in parallel; resolves when the write is acknowledged. */
  send: (env: Envelope) => Promise<SendResult>
  /** Publish live only (headlines, typing, presence broadcasts); never throws. */
  publish: (env: Envelope) => Promise<void>
  /** Where secret-chat keys, sessions and history live: sealed at rest when the user has a passphrase. */
  secretLevel: () => SecretLevel
  /** A proof, for the owners of `mailbox`, that this user is reading it. */
  readAuth: (mailbox: string) => ReadAuth
  /**
   * The session's exactly-once feed of a log (created once per mailbox); `consumer` gets its envelopes
   * (the part of the session that follows the log now: a later call replaces an earlier consumer).
   */
  feed: (mailbox: string, consumer: FeedConsumer) => Feed
  /** A handle (or a userId) to a verified user reference. Throws `UnknownHandleError`. */
  resolve: (handleOrId: string) => Promise<UserRef>
  /** The display form of an envelope: its verified sender, text, kind, cursor. `undefined` for a forged handle. */
  toMessage: (env: Envelope) => Promise<Message | undefined>
  /** Emit an event of the session (held 'message's included). */
  emit: <K extends keyof UserEvents>(event: K, ...args: UserEvents[K]) => void
  /** Whether the session is closing (loops stop). */
  readonly closed: boolean
}
