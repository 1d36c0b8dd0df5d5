/**
 * Replication, assembled: the stores of this node, placement over the membership view, the write and
 * read paths, the serving side (servers only) and the repair loops (servers only).
 */

import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Changes } from '../../protocol/pb/live.js'
import { logger } from '@libp2p/logger'
import { SenderKeyCache } from '../../protocol/envelope.js'
import type { Role } from '../../protocol/constants.js'
import { DEFAULT_MAX_DRIFT_MS } from '../../protocol/hlc.js'
import type { Membership } from '../membership/index.js'
import type { ChorusDb } from '../store/db.js'
import { GroupCommit } from '../store/group-commit.js'
import { AccountRecordStore } from '../store/account-store.js'
import { HandleStore } from '../store/handle-store.js'
import { HintBook } from '../store/hint-book.js'
import { PrekeyStore } from '../store/prekey-store.js'
import { MailboxStore } from '../store/mailbox-store.js'
import type { ReplicationContext } from './context.js'
import { SenderBudget, TokenBuckets } from '../rate-limit.js'
import { DEFAULT_SENDER_BURST, DEFAULT_SENDER_RATE, EXPIRY_SWEEP_INTERVAL_MS } from './constants.js'
import { AccessGuard } from './access.js'
import { RoomGuard } from './room-guard.js'
import { Placement } from './placement.js'
import { PutBatcher } from './put-batcher.js'
import { Reader } from './reader.js'
import { ChangeWatch } from './change-watch.js'
import { Reconciler } from './reconciler.js'
import { Repair } from './repair.js'
import { Replicator } from './replicator.js'
import { StoreChannels, checkStatus, type StoreCall } from './rpc.js'
import { StoreServer } from './server.js'
import { StoreTraffic } from './traffic.js'
import { Watches, type PushSink } from './watches.js'
import { Periodic } from '../timers/periodic.js'

const log = logger('chorus:replication')

/** Replication settings. */
export interface ReplicationInit {
  replicas: number
  writeQuorum: number
  /** @default 5000 */ repairIntervalMs?: number
  /** @default 1000 */ hintIntervalMs?: number
  /** how long a co-owner seen holding a handle's claim is not asked again @default 600000 */ heldTrustMs?: number
  /** @default 20000 */ peerPutRate?: number
  /** envelopes a second one sender may have accepted by an owner, sustained @default 100 */ senderRate?: number
  /** envelopes one sender may send in a burst @default 500 */ senderBurst?: number
}

/** What replication needs from the node. */
export interface ReplicationComponents {
  libp2p: Pick<Libp2p, 'peerId' | 'dialProtocol' | 'handle' | 'unhandle' | 'addEventListener' | 'removeEventListener'>
  membership: Membership
  db: ChorusDb
  role: Role
  capacity: number
  reject: (reason: string) => void
  /** the mesh's time (ms) @default Date.now */
  now?: () => number
}

export class Replication {
  readonly placement: Placement
  readonly mailboxes: MailboxStore
  readonly commit: GroupCommit
  readonly writer: Replicator
  readonly reader: Reader
  /** has a mailbox changed at its owners? (sessions' feeds ask this; owners push what they watch) */
  readonly changes: ChangeWatch
  /** the nodes watching this owner's mailboxes, and the push of their writes (servers only) */
  readonly watches?: Watches
  readonly repair?: Repair
  readonly server?: StoreServer
  readonly context: ReplicationContext
  /** The room rules this node enforces as an owner (and its view of the rooms it holds state for). */
  readonly rooms: RoomGuard
  /** Frames and bytes of the store protocol, sent and served, by request kind. */
  readonly traffic = new StoreTraffic()
  /** One request to one peer (this node itself included, served locally). */
  readonly call: StoreCall
  private readonly channels: StoreChannels
  private readonly onView = (): void => { this.repair?.viewChanged() }
  /** where pushes to other nodes go (the live hop; set by the node once its relay runs) */
  private pushSink?: PushSink
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    this.watches?.forget(peer)
    this.changes.peerGone(peer)
  }

  private sweeper?: Periodic
  private reconciler?: Reconciler

  constructor (private readonly components: ReplicationComponents, init: ReplicationInit) {
    const { libp2p, membership, db, role } = components
    const selfId = libp2p.peerId.toString()
    const isServer = role === 'server'
    this.placement = new Placement({
      self: () => membership.selfMember(),
      liveServers: () => membership.live().filter((m) => m.role === 'server'),
      viewVersion: () => membership.viewVersion
    }, init.replicas)
    this.commit = new GroupCommit(db)
    this.mailboxes = new MailboxStore(db, this.commit)
    const isServerPeer = (peer: string): boolean => membership.isServer(peer)
    const keys = new SenderKeyCache()
    this.rooms = new RoomGuard({
      selfId,
      mailboxes: this.mailboxes,
      isServerPeer,
      keys,
      now: components.now,
      pullState: isServer ? async (mailbox) => { await this.pullFromSuccessors(mailbox) } : undefined
    })
    this.context = {
      selfId,
      libp2p,
      mailboxes: this.mailboxes,
      handles: new HandleStore(db, this.commit),
      accounts: new AccountRecordStore(db, this.commit),
      prekeys: new PrekeyStore(db, this.commit),
      hints: new HintBook(db, this.commit),
      placement: this.placement,
      keys,
      writeQuorum: init.writeQuorum,
      maxDriftMs: DEFAULT_MAX_DRIFT_MS,
      now: components.now ?? Date.now,
      reject: components.reject,
      guard: new AccessGuard({
        rooms: this.rooms,
        selfId,
        isServerPeer,
        ownersOf: (m) => this.placement.ownersOf(m),
        mailboxes: this.mailboxes,
        keys
      }),
      senders: new SenderBudget(
        new TokenBuckets(init.senderRate ?? DEFAULT_SENDER_RATE, init.senderBurst ?? DEFAULT_SENDER_BURST)
      ),
      isServerPeer,
      call: async (peer, req, timeoutMs) => this.call(peer, req, timeoutMs)
    }
    this.channels = new StoreChannels(libp2p, this.traffic.sent)
    const call: StoreCall = async (peer, req, timeoutMs) => {
      if (peer === selfId && this.server != null) return checkStatus(await this.server.local(req, selfId), peer)
      return this.channels.call(peer, req, timeoutMs)
    }
    this.call = call
    this.writer = new Replicator(this.context, new PutBatcher(call), isServer)
    this.reader = new Reader(this.context, call, isServer)
    this.changes = new ChangeWatch(this.context, call)
    if (isServer) {
      const push = async (peer: string, changes: Changes): Promise<void> => { await this.push(peer, changes) }
      this.watches = new Watches(this.mailboxes.changes.epoch, push,
        () => this.context.now(), (mailbox) => this.placement.ownersOf(mailbox)[0] === selfId)
      this.context.watches = this.watches
      this.mailboxes.changes.listen(this.watches.onChanges)
      const isLive = (peer: string): boolean => membership.stateOf(peer) === 'alive'
      // dead long enough to be forgotten: its ranges have new owners, and repair copied the data there
      const isGone = (peer: string): boolean => membership.stateOf(peer) == null
      this.reconciler = new Reconciler(this.context, call)
      this.repair = new Repair(this.context, this.reconciler, call, isLive, init, isGone)
      this.server = new StoreServer(libp2p, this.context, init.peerPutRate, this.traffic.served)
    }
  }

  /** Send this owner's pushes through `sink` (the live hop), or nowhere (undefined). */
  pushVia (sink: PushSink | undefined): void {
    this.pushSink = sink
  }

  /** One push: to this node's own watcher directly, to another node through the sink. */
  private async push (peer: string, changes: Changes): Promise<void> {
    if (peer === this.context.selfId) { this.changes.onPush(peer, changes); return }
    if (this.pushSink == null) throw new Error('no live hop to push on')
    await this.pushSink(peer, changes)
  }

  /**
   * Pull one mailbox from the other servers that may hold it (its successors, owners first), stopping
   * at the first that had something this node lacked. A new owner uses it for a room's state log before
   * repair has reached it.
   */
  private async pullFromSuccessors (mailbox: string): Promise<void> {
    const selfId = this.context.selfId
    const peers = this.placement.successorsOf(mailbox, this.placement.replicas + 2).filter((p) => p !== selfId)
    for (const peer of peers) {
      try {
        const r = await (this.reconciler as Reconciler).reconcile(mailbox, peer, { pull: true })
        if (r.pulled > 0) return
      } catch { /* that peer is down or busy: the next one */ }
    }
  }

  async start (): Promise<void> {
    await this.rooms.start()
    await this.server?.start()
    this.repair?.start()
    if (this.server != null) {
      // every owner deletes expired entries (self-destructing messages) and old tombstones by itself
      this.sweeper = new Periodic(async () => {
        this.watches?.sweep()
        await this.mailboxes.sweepExpired()
      }, { intervalMs: EXPIRY_SWEEP_INTERVAL_MS, log, name: 'expiry sweep' }).start()
    }
    this.components.membership.on('member:join', this.onView)
    this.components.membership.on('member:leave', this.onView)
    this.components.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    this.components.membership.off('member:join', this.onView)
    this.components.membership.off('member:leave', this.onView)
    this.components.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.mailboxes.changes.listen(undefined)
    this.watches?.close()
    this.repair?.stop()
    this.sweeper?.stop()
    this.changes.close()
    this.rooms.stop()
    await this.server?.stop()
    await this.channels.close()
    await this.sweeper?.idle()
    await this.commit.idle()
  }
}
