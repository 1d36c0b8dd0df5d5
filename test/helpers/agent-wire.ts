/**
 * Commands of the forked agent (agent-main.ts) that speak to the mesh below the session: raw gossipsub
 * and live-hop frames (a misbehaving peer, in the abuse tests), eavesdropping on an inbox shard (the
 * privacy tests), and replication requests asked of one server alone (what a server holds, past any
 * cache: repair, deletion and claim checks).
 */

import type { ChorusNode } from '../../node/index.js'
import type { User } from '../../node/session/user.js'
import { Envelope } from '../../protocol/envelope.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { LIVE_PROTOCOL } from '../../protocol/constants.js'
import { inboxTopicOf } from '../../protocol/topics.js'
import { signReadAuth } from '../../protocol/read-auth.js'
import { COARSE_BUCKET_MS } from '../../node/replication/constants.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import type { AgentDigest, AgentHolders } from './agent.js'

/** One command of the agent: its arguments as the parent sent them, its answer. */
export type Handler = (args: any) => Promise<unknown>

/** What these commands need of the agent: its started node and its open users. */
export interface WireContext {
  /** the started node; throws when there is none */
  node: () => ChorusNode
  /** an open user by handle; throws when it is not open */
  user: (handle: string) => User
}

/** Entries asked of a server per FETCH by cursor. */
const CURSORS_PER_FETCH = 200

/** The wire commands, bound to the agent's node and users. */
export function wireCommands (ctx: WireContext): Record<string, Handler> {
  /** raw messages seen on an eavesdropped topic, hex */
  const overheard: string[] = []

  return {
    /** Publish raw bytes on a gossipsub topic from this node (a misbehaving peer, in the abuse tests). */
    async publishRaw (a: { topic: string, hex: string }) {
      const r = await ctx.node().libp2p.services.pubsub.publish(a.topic, new Uint8Array(Buffer.from(a.hex, 'hex')))
      return { recipients: r.recipients.map(String) }
    },

    /**
     * Listen on another user's inbox shard and keep every envelope addressed to them that arrives (hex), by
     * gossipsub or the live hop: an eavesdropper, in the privacy tests.
     */
    async eavesdrop (a: { userId: string }) {
      const topic = inboxTopicOf(a.userId)
      ctx.node().libp2p.services.pubsub.addEventListener('message', (evt) => {
        if (evt.detail.topic === topic) overheard.push(Buffer.from(evt.detail.data).toString('hex'))
      })
      ctx.node().relay.subscribeInbox(a.userId, (_env, bytes) => { overheard.push(Buffer.from(bytes).toString('hex')) })
      return null
    },

    /** What `eavesdrop` kept. */
    async overheard () {
      return overheard
    },

    /** Send raw bytes as one live-hop frame to a peer (a misbehaving peer, in the abuse tests). */
    async sendLiveRaw (a: { peerId: string, hex: string }) {
      const { peerIdFromString } = await import('@libp2p/peer-id')
      const { lpStream } = await import('@libp2p/utils')
      const stream = await ctx.node().libp2p.dialProtocol(peerIdFromString(a.peerId), LIVE_PROTOCOL)
      await lpStream(stream).write(new Uint8Array(Buffer.from(a.hex, 'hex')))
      await stream.close()
      return null
    },

    /** Dial another node (by a full multiaddr). */
    async dial (a: { addr: string }) {
      const { multiaddr } = await import('@multiformats/multiaddr')
      await ctx.node().libp2p.dial(multiaddr(a.addr))
      return null
    },

    /** Peers this node knows to be subscribed to `topic`. */
    async subscribers (a: { topic: string }) {
      return ctx.node().libp2p.services.pubsub.getSubscribers(a.topic).map(String)
    },

    /** This node's gossipsub score of `peerId`. */
    async pubsubScore (a: { peerId: string }) {
      return (ctx.node().libp2p.services.pubsub as any).getScore(a.peerId) as number
    },

    /** This node's Prometheus text. */
    async metrics () {
      return await ctx.node().registry.metrics()
    },

    /** A server's coarse digest of one mailbox, over the replication protocol (what repair compares). */
    async digest (a: { peer: string, mailbox: string }): Promise<AgentDigest> {
      const res = await ctx.node().replication.call(a.peer, {
        kind: StoreRequest.Kind.DIGEST,
        mailbox: a.mailbox,
        bucketMs: BigInt(COARSE_BUCKET_MS)
      })
      const buckets = res.buckets.map((b) => `${b.start}:${b.count}:${Buffer.from(b.hash).toString('hex')}`)
      return { count: res.buckets.reduce((n, b) => n + b.count, 0), fingerprint: buckets.join(',') }
    },

    /**
     * How many envelopes of `kind` (an Envelope.Kind name, e.g. 'SECRET') each owner of the user's own
     * mailbox still serves (deleted ones are tombstones and are not served), asked of each owner alone.
     */
    async heldByOwners (a: { handle: string, kind: string }) {
      const u = ctx.user(a.handle)
      const n = ctx.node()
      const kind = Envelope.Kind[a.kind as keyof typeof Envelope.Kind]
      if (kind == null) throw new Error(`no envelope kind ${a.kind}`)
      const owners = n.replication.placement.ownersOf(u.userId)
      return Object.fromEntries(await Promise.all(owners.map(async (owner) => {
        const res = await n.replication.call(owner, {
          kind: StoreRequest.Kind.FETCH,
          mailbox: u.userId,
          limit: 1000,
          peer: '',
          newestFirst: false,
          after: new Uint8Array(0),
          before: new Uint8Array(0),
          auth: signReadAuth(u.userId, u.identity)
        })
        return [owner, res.envelopes.filter((bytes) => Envelope.decode(bytes).kind === kind).length]
      })))
    },

    /**
     * Which of `entries` (envelopes of the user's own mailbox, by cursor) each of `servers` still holds,
     * asked of each server alone (a raw FETCH by cursor with the user's read proof).
     */
    async holders (
      a: { handle: string, servers: string[], entries: Array<{ id: string, cursor: string }> }
    ): Promise<AgentHolders> {
      const u = ctx.user(a.handle)
      const n = ctx.node()
      const cursors = a.entries.map((e) => new Uint8Array(Buffer.from(e.cursor, 'hex')))
      const out: AgentHolders = {}
      await Promise.all(a.servers.map(async (server) => {
        try {
          const held: string[] = []
          for (let i = 0; i < cursors.length; i += CURSORS_PER_FETCH) {
            const res = await n.replication.call(server, {
              kind: StoreRequest.Kind.FETCH,
              mailbox: u.userId,
              cursors: cursors.slice(i, i + CURSORS_PER_FETCH) as Array<Uint8Array<ArrayBuffer>>,
              auth: u.readAuth(u.userId)
            })
            for (const bytes of res.envelopes) held.push(Buffer.from(cursorOf(Envelope.decode(bytes))).toString('hex'))
          }
          out[server] = held
        } catch (err: any) {
          out[server] = `unanswered: ${err.message}`
        }
      }))
      return out
    },

    /** Does `peer` hold a claim of `handle`? (RESOLVE at that one server, no cache.) */
    async claimAt (a: { peer: string, handle: string }) {
      const res = await ctx.node().replication.call(a.peer, { kind: StoreRequest.Kind.RESOLVE, handle: a.handle })
      return res.claim != null
    }
  }
}
