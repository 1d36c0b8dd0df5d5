/** What the replication handlers and loops share: the stores, placement and bounds of one node. */

import type { Libp2p } from '@libp2p/interface'
import type { Watches } from './watches.js'
import type { Envelope, SenderKeyCache } from '../../protocol/envelope.js'
import type { ReadAuth, StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import type { SenderBudget } from '../rate-limit.js'
import type { AccountRecordStore } from '../store/account-store.js'
import type { HandleStore } from '../store/handle-store.js'
import type { HintBook } from '../store/hint-book.js'
import type { PrekeyStore } from '../store/prekey-store.js'
import type { MailboxStore } from '../store/mailbox-store.js'
import type { Placement } from './placement.js'

/**
 * One request to one peer over its replication channel (rpc.ts `StoreChannels.call`). Declared here, with
 * the other shared types, so that this file needs nothing of rpc.ts, which needs a handler's bound (probe.ts).
 */
export type StoreCall = (peer: string, req: Partial<StoreRequest>, timeoutMs?: number) => Promise<StoreResponse>

export interface ReplicationContext {
  selfId: string
  libp2p: Pick<Libp2p, 'dialProtocol'>
  mailboxes: MailboxStore
  handles: HandleStore
  accounts: AccountRecordStore
  prekeys: PrekeyStore
  hints: HintBook
  placement: Placement
  keys: SenderKeyCache
  writeQuorum: number
  /** how far ahead of this node's clock an envelope's timestamp may be */
  maxDriftMs: number
  /** the mesh's time (ms): this node's wall clock corrected by its offset from the servers' */
  now: () => number
  /** one request to one peer over its replication channel */
  call: StoreCall
  /** count a rejected input (metrics) */
  reject: (reason: string) => void
  /** who may write and read which logs, beyond the signature checks every put gets */
  guard: OwnerGuard
  /** per-sender budget of envelopes accepted from clients (keyed by the sender's userId) */
  senders: SenderBudget
  /** whether a peer is a live server (servers' hint handoff and repair are not charged to senders) */
  isServerPeer: (peer: string) => boolean
  /** the nodes watching this owner's mailboxes (WATCH; servers only) */
  watches?: Watches
}

/**
 * Access rules an owner applies to its logs. Both checks throw `Rejection` (or `Forbidden`) to refuse.
 * `checkPut` sees each verified envelope of a client's STORE before anything is written; `checkRead`
 * sees each FETCH with the reader's proof, if it sent one.
 */
export interface StoreGuard {
  checkPut: (env: Envelope, mailbox: string, from: string) => void | Promise<void>
  checkRead: (mailbox: string, auth: ReadAuth | undefined, from: string) => void | Promise<void>
}

/**
 * The rules of every log an owner holds: those of `StoreGuard`, and `checkReplicaRead`, which sees each
 * server's read of entries to reconcile (GET, and a PROBE without a proof) and throws `Forbidden`.
 */
export interface OwnerGuard extends StoreGuard {
  checkReplicaRead: (mailbox: string, from: string) => void
}

/**
 * One request kind's handler: the request, the authenticated remote peer, the context. A handler that uses
 * little of the context declares that part as `Context` (a `Pick` of `ReplicationContext`), so what it
 * depends on is in its type and a test hands it just that.
 */
export type StoreHandler<Context = ReplicationContext> =
  (req: StoreRequest, from: string, ctx: Context) => Promise<Partial<StoreResponse>>
