/**
 * The relay: live delivery. A node subscribes (on gossipsub) to the inbox shards of the users whose
 * sessions it hosts and to the rooms they joined, and hands each arriving envelope to the session.
 *
 * Who relays: the N servers that own a topic's point on the ring (every inbox shard and every room has
 * three relays, spread like data), and a node that subscribes or publishes makes sure it is connected to
 * them. Clients never need to be connected to each other.
 *
 * Inbox traffic (direct messages, receipts, presence, secret chats) takes the live hop (live.ts): the
 * sender hands the envelope to one relay of the recipient's shard, and that relay hands it to each node
 * subscribed to the shard, two copies in all. Gossipsub's subscriptions say who listens where; its mesh
 * would carry each message to all three relays and back (14 copies, 10 of them duplicates, measured in
 * docs/benchmarks.md). Room traffic, which fans out to many nodes, travels on the room's gossipsub topic.
 *
 * Every message is validated before it is delivered or forwarded (a validator per topic): size, shape,
 * topic routing, clock skew, age, the envelope's own signature, and for rooms the room's rules. What no
 * honest relay would forward is Rejected, which costs the forwarding peer its score (scoring.ts); what
 * might be honest but unwanted here (a sender over its rate, a room this node cannot judge) is Ignored.
 * Nothing trusts the relaying peer: only the envelope's signature.
 */

import { logger } from '@libp2p/logger'
import { peerIdOf } from '../peer-ids.js'
import { TopicValidatorResult, type GossipSub, type Message as PubsubMessage } from '@libp2p/gossipsub'
import type { PeerScoreParams } from '@libp2p/gossipsub/score'
import type { Libp2p } from '@libp2p/interface'
import { decodeEnvelope, verifyEnvelope, Envelope, type SenderKeyCache } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { parseMailbox } from '../../protocol/mailbox.js'
import { inboxShard, inboxTopicOf, parseTopic, roomTopic } from '../../protocol/topics.js'
import { TokenBuckets } from '../rate-limit.js'
import type { Placement } from '../replication/placement.js'
import { chatTopicScore } from './scoring.js'
import { encodeChangesFrame, encodeLiveFrame, LiveLinks, type LiveCounts } from './live.js'
import type { Changes, LiveFrame } from '../../protocol/pb/live.js'
import type { RelayInit } from './options.js'

const log = logger('chorus:relay')

/** Envelope kinds that travel on inbox shards. */
const INBOX_KINDS = new Set(
  [Envelope.Kind.CHAT, Envelope.Kind.HEADLINE, Envelope.Kind.ERROR, Envelope.Kind.RECEIPT, Envelope.Kind.PRESENCE,
    Envelope.Kind.SECRET, Envelope.Kind.ROOM]
)

/** Envelope kinds that travel on room topics. */
const ROOM_KINDS = new Set([Envelope.Kind.GROUPCHAT, Envelope.Kind.ROOM])

/** Stands for the topic of a live frame that names none (judged as on the wrong topic). */
const LIVE_NO_TOPIC = ''

/** Live envelopes older than this are refused as replays (stored ones still arrive by sync). */
export const MAX_RELAY_AGE_MS = 10 * 60_000

/** How often a node re-checks that it is connected to a topic's relays. */
const RELAY_DIAL_INTERVAL_MS = 5000

/** A room's verdict on a live envelope (from the room's state as this node knows it). */
export type RoomVerdict = 'accept' | 'reject' | 'ignore'

/** What the relay uses of libp2p: gossipsub, the connections to a topic's relays, and the live hop's protocol. */
export type RelayLibp2p = Pick<Libp2p<{ pubsub: GossipSub }>, 'peerId' | 'services' | 'getConnections' | 'dial' | 'handle' | 'unhandle' | 'dialProtocol'>

/** What the relay needs from the node. */
export interface RelayComponents {
  libp2p: RelayLibp2p
  placement: Placement
  isServer: boolean
  keys: SenderKeyCache
  maxDriftMs: number
  /** the mesh's time (ms) @default Date.now */
  now?: () => number
  /** count a rejected input: component 'relay', this reason */
  reject: (reason: string) => void
  /** rooms this server owns (and so relays) */
  ownedRooms?: () => string[]
  /** an owner's push of writes to mailboxes this node watches (node/replication/change-watch.ts) */
  onChanges?: (from: string, changes: Changes) => void
  /** told when this relay starts hearing pushes (it started) and stops (it is stopping) */
  hearing?: (hearing: boolean) => void
}

/** Something listening for live envelopes: the recipient's session, or a room. */
export type LiveHandler = (env: Envelope, bytes: Uint8Array) => void

export class Relay {
  private readonly inboxHandlers = new Map<string, Set<LiveHandler>>()
  private readonly roomHandlers = new Map<string, Set<LiveHandler>>()
  private readonly roomPolicies = new Map<string, (env: Envelope) => RoomVerdict>()
  private readonly decoded = new WeakMap<Uint8Array, Envelope>()
  private readonly dialedAt = new Map<string, number>()
  private readonly senders: TokenBuckets
  private subscribed = new Set<string>()
  private roomPolicy?: (env: Envelope) => RoomVerdict | Promise<RoomVerdict>
  private started = false
  /** counters for metrics */
  readonly stats = { published: 0, delivered: 0, publishFailed: 0, relayed: 0 }
  private readonly live: LiveLinks
  private readonly onMessage = (evt: CustomEvent<PubsubMessage>): void => { this.dispatch(evt.detail) }

  constructor (private readonly c: RelayComponents, init: RelayInit = {}) {
    this.senders = new TokenBuckets(init.senderRate ?? 200, init.senderBurst ?? 1000)
    this.live = new LiveLinks(c.libp2p, (from, frame) => { void this.onFrame(from, frame) }, c.reject)
  }

  async start (): Promise<void> {
    await this.live.start()
    this.started = true
    this.c.libp2p.services.pubsub.addEventListener('message', this.onMessage)
    this.refresh()
    this.c.hearing?.(true)
  }

  async stop (): Promise<void> {
    this.c.hearing?.(false)
    this.started = false
    this.c.libp2p.services.pubsub.removeEventListener('message', this.onMessage)
    for (const t of this.subscribed) this.leaveTopic(t)
    this.subscribed.clear()
    await this.live.stop()
  }

  /** What the live hop's links carried (running totals). */
  get liveCounts (): LiveCounts {
    return this.live.counts
  }

  /**
   * A fallback judge of room traffic for rooms no local session has joined (a server relaying the
   * rooms it owns judges by the state log on its own disk).
   */
  setRoomPolicy (policy: (env: Envelope) => RoomVerdict | Promise<RoomVerdict>): void {
    this.roomPolicy = policy
  }

  /** Deliver live envelopes addressed to `userId` to `handler`; returns the unsubscribe. */
  subscribeInbox (userId: string, handler: LiveHandler): () => void {
    return this.add(this.inboxHandlers, userId, handler)
  }

  /**
   * Deliver a room's live envelopes to `handler`, judged by `policy` (the room's state as the local
   * session knows it); returns the unsubscribe.
   */
  subscribeRoom (roomId: string, handler: LiveHandler, policy: (env: Envelope) => RoomVerdict): () => void {
    this.roomPolicies.set(roomId, policy)
    const off = this.add(this.roomHandlers, roomId, handler)
    return () => {
      off()
      if (this.roomHandlers.get(roomId) == null) this.roomPolicies.delete(roomId)
    }
  }

  /**
   * Send a signed envelope live: to one relay of the recipient's inbox shard, or on the room's topic; and
   * hand it to any local session it is for. Best effort: live delivery failing is not an error (sync
   * delivers).
   */
  async publish (env: Envelope, bytes: Uint8Array): Promise<void> {
    const topic = topicOf(env.recipient)
    if (topic == null) return
    this.deliverLocally(topic, env, bytes)
    if (parseTopic(topic)?.kind === 'inbox') {
      await this.sendLive(topic, bytes)
      return
    }
    this.ensureRelays(topic)
    try {
      await this.c.libp2p.services.pubsub.publish(topic, bytes)
      this.stats.published++
    } catch (err: any) {
      this.stats.publishFailed++
      log('publish on %s failed: %s', topic, err.message)
    }
  }

  /**
   * Re-derive this node's subscriptions: local sessions, plus the room topics a server relays (a relay of
   * an inbox shard need not subscribe to it: the live hop reaches it directly). Call on view changes.
   */
  refresh (): void {
    if (!this.started) return
    const want = new Set<string>()
    for (const userId of this.inboxHandlers.keys()) want.add(inboxTopicOf(userId))
    for (const roomId of this.roomHandlers.keys()) want.add(roomTopic(roomId))
    if (this.c.isServer) {
      const self = this.c.libp2p.peerId.toString()
      for (const roomId of this.c.ownedRooms?.() ?? []) {
        const t = roomTopic(roomId)
        if (this.c.placement.ownersOfTopic(t).includes(self)) want.add(t)
      }
    }
    for (const t of this.subscribed) if (!want.has(t)) this.leaveTopic(t)
    for (const t of want) {
      if (!this.subscribed.has(t)) this.joinTopic(t)
      if (!this.c.isServer) this.ensureRelays(t)
    }
    this.subscribed = want
  }

  /** Topics this node is subscribed to (for status and tests). */
  topics (): string[] {
    return [...this.subscribed].sort()
  }

  private add (map: Map<string, Set<LiveHandler>>, key: string, handler: LiveHandler): () => void {
    let set = map.get(key)
    if (set == null) { set = new Set(); map.set(key, set) }
    set.add(handler)
    this.refresh()
    return () => {
      const s = map.get(key)
      if (s == null) return
      s.delete(handler)
      if (s.size === 0) map.delete(key)
      this.refresh()
    }
  }

  private joinTopic (topic: string): void {
    const pubsub = this.c.libp2p.services.pubsub
    const params = scoreParamsOf(pubsub).topics
    if (params[topic] == null) params[topic] = chatTopicScore()
    pubsub.topicValidators.set(topic, async (_from, msg) => {
      const verdict = await this.judge(topic, msg.data)
      if (verdict.env != null) this.decoded.set(msg.data, verdict.env)
      return verdict.result
    })
    pubsub.subscribe(topic)
  }

  private leaveTopic (topic: string): void {
    const pubsub = this.c.libp2p.services.pubsub
    pubsub.unsubscribe(topic)
    pubsub.topicValidators.delete(topic)
    if (parseTopic(topic)?.kind === 'room') delete scoreParamsOf(pubsub).topics[topic]
  }

  /** Be connected to a topic's relays (servers are connected to each other by membership already). */
  private ensureRelays (topic: string): void {
    const now = Date.now()
    if (now - (this.dialedAt.get(topic) ?? 0) < RELAY_DIAL_INTERVAL_MS) return
    this.dialedAt.set(topic, now)
    if (this.dialedAt.size > 4096) this.dialedAt.delete(this.dialedAt.keys().next().value as string)
    const self = this.c.libp2p.peerId.toString()
    const connected = new Set(this.c.libp2p.getConnections().map((c) => c.remotePeer.toString()))
    for (const peer of this.c.placement.ownersOfTopic(topic)) {
      if (peer === self || connected.has(peer)) continue
      void this.c.libp2p.dial(peerIdOf(peer)).catch((err: Error) => { log('dial of relay %s for %s failed: %s', peer, topic, err.message) })
    }
  }

  /**
   * The live hop's sending side: hand the envelope to one relay of `topic`, the first in ring order this
   * node is connected to (the next one when a link will not open), or be the relay when this node is one.
   */
  private async sendLive (topic: string, bytes: Uint8Array): Promise<void> {
    const self = this.c.libp2p.peerId.toString()
    const relays = this.c.placement.ownersOfTopic(topic)
    if (relays.length === 0) { this.stats.publishFailed++; return }
    if (this.c.isServer && relays.includes(self)) {
      this.stats.published++
      this.forward(topic, bytes, self)
      return
    }
    this.ensureRelays(topic)
    // the relays' own connections, not every connection of the node: a server may hold thousands
    const connected = relays.filter((p) => this.c.libp2p.getConnections(peerIdOf(p)).length > 0)
    const order = [...connected, ...relays.filter((p) => !connected.includes(p))]
    const frame = encodeLiveFrame(bytes, true)
    for (const peer of order) {
      try {
        await this.live.send(peer, frame)
        this.stats.published++
        return
      } catch (err: any) {
        log('live hop to relay %s failed: %s', peer, err.message)
      }
    }
    this.stats.publishFailed++
  }

  /** A relay's part: hand an accepted inbox envelope to every node subscribed to its shard but `from`. */
  private forward (topic: string, bytes: Uint8Array, from: string): void {
    const self = this.c.libp2p.peerId.toString()
    let frame: Uint8Array | undefined
    for (const peer of this.c.libp2p.services.pubsub.getSubscribers(topic)) {
      const id = peer.toString()
      if (id === from || id === self) continue
      frame ??= encodeLiveFrame(bytes, false)
      this.live.send(id, frame).then(() => { this.stats.relayed++ }, (err: Error) => { log('live hop to %s failed: %s', id, err.message) })
    }
  }

  /** Send an owner's push of changes to `peer` on the live hop; rejects when the link cannot take it. */
  async sendChanges (peer: string, changes: Changes): Promise<void> {
    await this.live.send(peer, encodeChangesFrame(changes))
  }

  /**
   * A frame of the live hop: an owner's push of changes goes to the watcher; an envelope is judged like a
   * gossipsub message, delivered here, and passed on when asked.
   */
  private async onFrame (from: string, frame: LiveFrame): Promise<void> {
    if (frame.changes != null) {
      // the watcher takes a change only from an owner of its mailbox (in this node's view)
      if (frame.envelope.byteLength > 0) { this.c.reject('bad-push'); return }
      this.c.onChanges?.(from, frame.changes)
      return
    }
    let topic: string | undefined
    let decoded: Envelope | undefined
    try {
      decoded = decodeEnvelope(frame.envelope)
      topic = topicOf(decoded.recipient)
    } catch {}
    // what does not decode, or is not inbox traffic, is counted by `judge`
    const verdict = await this.judge(topic == null || parseTopic(topic)?.kind !== 'inbox' ? LIVE_NO_TOPIC : topic,
      frame.envelope, decoded)
    if (verdict.env == null || topic == null) return
    if (frame.relay) {
      if (this.c.isServer) this.forward(topic, frame.envelope, from)
      else this.c.reject('not-relay')
    }
    this.deliverLocally(topic, verdict.env, frame.envelope)
  }

  /**
   * Judge one live envelope on `topic` (`decoded`: its bytes already decoded): Accept / Reject / Ignore,
   * and the envelope when accepted. Every refusal is counted by reason.
   */
  private async judge (
    topic: string,
    data: Uint8Array,
    decoded?: Envelope
  ): Promise<{ result: TopicValidatorResult, env?: Envelope }> {
    const refuse = (reason: string, result = TopicValidatorResult.Reject): { result: TopicValidatorResult } => {
      this.c.reject(reason)
      return { result }
    }
    let env: Envelope
    try {
      env = decoded ?? decodeEnvelope(data)
    } catch (err: any) {
      return refuse(err.code === 'ERR_ENVELOPE_TOO_LARGE' ? 'oversize' : 'malformed')
    }
    const where = parseTopic(topic)
    if (where == null) return refuse('wrong-topic')
    const to = parseMailbox(env.recipient)
    if (where.kind === 'inbox') {
      if (to?.kind !== 'user' || to.log !== '' || inboxShard(to.id) !== where.shard || !INBOX_KINDS.has(env.kind)) {
        return refuse('wrong-topic')
      }
    } else if (to?.kind !== 'room' || to.id !== where.roomId || !ROOM_KINDS.has(env.kind)) {
      return refuse('wrong-topic')
    }
    const now = (this.c.now ?? Date.now)()
    const at = hlcMillis(env.timestamp)
    // judged by this node's clock, which may be the one that is wrong: not forwarded, nobody punished
    if (at - now > this.c.maxDriftMs) return refuse('clock-drift', TopicValidatorResult.Ignore)
    if (now - at > MAX_RELAY_AGE_MS) return refuse('stale', TopicValidatorResult.Ignore)
    try {
      verifyEnvelope(env, this.c.keys, data)
    } catch {
      return refuse('bad-signature')
    }
    if (where.kind === 'room') {
      const policy = this.roomPolicies.get(where.roomId) ?? this.roomPolicy
      const verdict = policy == null ? 'ignore' : await policy(env)
      if (verdict === 'reject') return refuse('not-member')
      if (verdict === 'ignore') return refuse('room-unknown', TopicValidatorResult.Ignore)
    }
    if (!this.senders.take(Buffer.from(env.senderKey).toString('base64'))) return refuse('rate-limited', TopicValidatorResult.Ignore)
    return { result: TopicValidatorResult.Accept, env }
  }

  private dispatch (msg: PubsubMessage): void {
    const where = parseTopic(msg.topic)
    if (where == null) return
    const env = this.decoded.get(msg.data)
    if (env == null) return
    this.deliverLocally(msg.topic, env, msg.data)
  }

  private deliverLocally (topic: string, env: Envelope, bytes: Uint8Array): void {
    const where = parseTopic(topic)
    const handlers = where?.kind === 'inbox'
      ? this.inboxHandlers.get(env.recipient)
      : where?.kind === 'room' ? this.roomHandlers.get(where.roomId) : undefined
    if (handlers == null) return
    for (const h of handlers) {
      try {
        this.stats.delivered++
        h(env, bytes)
      } catch (err: any) {
        log.error('live handler failed: %s', err.stack ?? err.message)
      }
    }
  }
}

/** The live score parameters of a gossipsub instance (the class has them; its interface type does not say so). */
function scoreParamsOf (pubsub: GossipSub): PeerScoreParams {
  return (pubsub as unknown as { score: { params: PeerScoreParams } }).score.params
}

/** The topic an envelope travels on, from its recipient: a user's inbox shard or a room's topic. */
export function topicOf (recipient: string): string | undefined {
  const to = parseMailbox(recipient)
  if (to == null) return undefined
  if (to.kind === 'room') return roomTopic(to.id)
  if (to.log !== '') return undefined
  return inboxTopicOf(to.id)
}
