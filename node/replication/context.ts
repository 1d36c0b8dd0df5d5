/** What the replication handlers and loops share: the stores, placement and bounds of one node. */

import type { Libp2p } from '@libp2p/interface'
import type { SenderKeyCache } from '../../protocol/envelope.js'
import type { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import type { StoreCall } from './rpc.js'
import type { HandleStore } from '../store/handle-store.js'
import type { HintBook } from '../store/hint-book.js'
import type { MailboxStore } from '../store/mailbox-store.js'
import type { Placement } from './placement.js'

export interface ReplicationContext {
  selfId: string
  libp2p: Pick<Libp2p, 'dialProtocol'>
  mailboxes: MailboxStore
  handles: HandleStore
  hints: HintBook
  placement: Placement
  keys: SenderKeyCache
  writeQuorum: number
  /** how far ahead of this node's clock an envelope's timestamp may be */
  maxDriftMs: number
  /** one request to one peer over its replication channel */
  call: StoreCall
  /** count a rejected input (metrics) */
  reject: (reason: string) => void
}

/** One request kind's handler: the request, the authenticated remote peer, the context. */
export type StoreHandler = (req: StoreRequest, from: string, ctx: ReplicationContext) => Promise<Partial<StoreResponse>>
