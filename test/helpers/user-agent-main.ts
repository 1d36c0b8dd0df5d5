/**
 * The child side of `UserAgent` (user-agent.ts): one client-role Chorus node in its own process, driven
 * over the IPC channel of `child_process.fork`. It runs the library from the TypeScript sources in
 * node/ (the parent forks it with `--import tsx`), so it needs no build; the servers it talks to run
 * the compiled dist/ through `bin/chorus`.
 *
 * Protocol: the parent sends `{ id, cmd, args }`; the child answers `{ id, ok: true, value }` or
 * `{ id, ok: false, error: { name, code, message } }`. While a `sendMany` runs, the child also sends
 * `{ event: 'progress', done, ok }` after each send settles. Every received message is kept in order
 * (per started node: `received` returns those of the current node only) until asked for.
 */

import { createNode, type ChorusNode, type ChorusNodeOptions } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import { Envelope } from '../../protocol/envelope.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { LIVE_PROTOCOL } from '../../protocol/constants.js'
import { inboxTopicOf } from '../../protocol/topics.js'
import { signReadAuth } from '../../protocol/read-auth.js'
import { COARSE_BUCKET_MS } from '../../node/replication/constants.js'
import type { AgentEvent, AgentMessage, AgentSendOutcome, AgentDigest } from './user-agent.js'

if (process.send == null) {
  process.stderr.write('user-agent-main: must be started with child_process.fork\n')
  process.exit(2)
}

let node: ChorusNode | undefined
const users = new Map<string, User>()
let received: AgentMessage[] = []
/** raw messages seen on an eavesdropped topic, hex */
const overheard: string[] = []
/** Every session event (message, receipt, presence, typing, subscription, room:member), in order. */
let events: AgentEvent[] = []
const EVENTS = ['message', 'receipt', 'presence', 'typing', 'subscription', 'room:member'] as const

function need (): ChorusNode {
  if (node == null) throw Object.assign(new Error('agent node not started'), { code: 'ERR_AGENT_STATE' })
  return node
}

function user (handle: string): User {
  const u = users.get(handle)
  if (u == null) throw Object.assign(new Error(`user ${handle} not open in this agent`), { code: 'ERR_AGENT_STATE' })
  return u
}

const brief = (m: Message, to: string): AgentMessage => ({ id: m.id, from: m.from, to, text: m.text, timestamp: m.timestamp, cursor: m.cursor })

/** A value as plain JSON: what `toJSON` says, Uint8Arrays as hex, undefined as null. */
function plain (v: unknown): unknown {
  if (v === undefined) return null
  return JSON.parse(JSON.stringify(v, (_k, x) => x instanceof Uint8Array ? Buffer.from(x).toString('hex') : typeof x === 'bigint' ? Number(x) : x))
}

const send = (msg: unknown): void => { process.send?.(msg) }

type Handler = (args: any) => Promise<unknown>

const HANDLERS: Record<string, Handler> = {
  async start (a: { bootstrap: string[], dataDir: string, options?: Partial<ChorusNodeOptions> }) {
    if (node != null && node.state !== 'stopped') throw Object.assign(new Error('already started'), { code: 'ERR_AGENT_STATE' })
    received = []
    events = []
    users.clear()
    node = await createNode({ role: 'client', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: a.bootstrap, dataDir: a.dataDir, ...a.options })
    await node.start()
    return { peerId: node.peerId.toString() }
  },

  async status () {
    return need().status()
  },

  async openUser (a: { handle: string, syncIntervalMs?: number }) {
    const u = await need().openUser(a.handle, { syncIntervalMs: a.syncIntervalMs })
    if (!users.has(a.handle)) {
      users.set(a.handle, u)
      u.on('message', (m) => { received.push(brief(m, a.handle)) })
      for (const e of EVENTS) (u as any).on(e, (data: unknown) => { events.push({ handle: a.handle, event: e, data: plain(data), at: Date.now() }) })
    }
    return { handle: u.handle, userId: u.userId }
  },

  async send (a: { from: string, to: string, text: string }) {
    return user(a.from).send(a.to, a.text)
  },

  /** `count` sends, `window` at a time (1: strictly one after another), each outcome recorded in order. */
  async sendMany (a: { from: string, to: string, count: number, prefix: string, window?: number }) {
    const u = user(a.from)
    const outcomes: AgentSendOutcome[] = []
    let next = 0
    let ok = 0
    const worker = async (): Promise<void> => {
      while (next < a.count) {
        const i = next++
        const text = `${a.prefix}${i}`
        const started = Date.now()
        try {
          const r = await u.send(a.to, text)
          outcomes[i] = { i, text, ok: true, id: r.id, timestamp: r.timestamp, storedOn: r.storedOn, ms: Date.now() - started, resolvedAt: Date.now() }
          ok++
        } catch (err: any) {
          outcomes[i] = { i, text, ok: false, error: { name: err.name, code: err.code, message: err.message }, ms: Date.now() - started, resolvedAt: Date.now() }
        }
        send({ event: 'progress', done: outcomes.filter((o) => o != null).length, ok })
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, a.window ?? 1) }, worker))
    return outcomes
  },

  /** The whole conversation, oldest first, fetched page by page with `before`. */
  async history (a: { handle: string, with: string, pageSize?: number }) {
    const u = user(a.handle)
    const pages: Message[][] = []
    let before: string | undefined
    for (;;) {
      const page = await u.history(a.with, { limit: a.pageSize ?? 100, before })
      if (page.length === 0) break
      pages.unshift(page)
      before = page[0].cursor
    }
    return pages.flat().map((m) => brief(m, m.to))
  },

  async received () {
    return received
  },

  /** Publish raw bytes on a gossipsub topic from this node (a misbehaving peer, in the abuse tests). */
  async publishRaw (a: { topic: string, hex: string }) {
    const r = await need().libp2p.services.pubsub.publish(a.topic, new Uint8Array(Buffer.from(a.hex, 'hex')))
    return { recipients: r.recipients.map(String) }
  },

  /**
   * Listen on another user's inbox shard and keep every envelope addressed to them that arrives (hex), by
   * gossipsub or the live hop: an eavesdropper, in the privacy tests.
   */
  async eavesdrop (a: { userId: string }) {
    const topic = inboxTopicOf(a.userId)
    need().libp2p.services.pubsub.addEventListener('message', (evt) => { if (evt.detail.topic === topic) overheard.push(Buffer.from(evt.detail.data).toString('hex')) })
    need().relay.subscribeInbox(a.userId, (_env, bytes) => { overheard.push(Buffer.from(bytes).toString('hex')) })
    return null
  },

  /** Send raw bytes as one live-hop frame to a peer (a misbehaving peer, in the abuse tests). */
  async sendLiveRaw (a: { peerId: string, hex: string }) {
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const { lpStream } = await import('@libp2p/utils')
    const stream = await need().libp2p.dialProtocol(peerIdFromString(a.peerId), LIVE_PROTOCOL)
    await lpStream(stream).write(new Uint8Array(Buffer.from(a.hex, 'hex')))
    await stream.close()
    return null
  },

  /** What `eavesdrop` kept. */
  async overheard () {
    return overheard
  },

  /** Dial another node (by a full multiaddr). */
  async dial (a: { addr: string }) {
    const { multiaddr } = await import('@multiformats/multiaddr')
    await need().libp2p.dial(multiaddr(a.addr))
    return null
  },

  /** Peers this node knows to be subscribed to `topic`. */
  async subscribers (a: { topic: string }) {
    return need().libp2p.services.pubsub.getSubscribers(a.topic).map(String)
  },

  /** This node's gossipsub score of `peerId`. */
  async pubsubScore (a: { peerId: string }) {
    return (need().libp2p.services.pubsub as any).getScore(a.peerId) as number
  },

  /** This node's Prometheus text. */
  async metrics () {
    return await need().registry.metrics()
  },

  /** Session events since the node started (all users), optionally only those after index `from`. */
  async events (a: { from?: number }) {
    return events.slice(a.from ?? 0)
  },

  /**
   * Call a method of a session part: `target` is 'user', 'roster', 'rooms', or 'room:<id>' (a room of
   * `user.rooms`). The result comes back as plain JSON (objects with a toJSON are sent as that).
   */
  async call (a: { handle: string, target: string, method: string, args?: unknown[] }) {
    const u = user(a.handle)
    let obj: any
    if (a.target === 'user') obj = u
    else if (a.target === 'roster') obj = u.roster
    else if (a.target === 'rooms') obj = u.rooms
    else if (a.target.startsWith('room:')) obj = await (u.rooms as any).get(a.target.slice(5))
    else if (a.target === 'secret') obj = u.secret
    else if (a.target.startsWith('secret:')) obj = await u.secret.open(a.target.slice(7))
    else throw new Error(`unknown call target ${a.target}`)
    if (obj == null || typeof obj[a.method] !== 'function') throw new Error(`${a.target} has no method ${a.method}`)
    return plain(await obj[a.method](...(a.args ?? [])))
  },

  /** A server's coarse digest of one mailbox, over the replication protocol (what repair compares). */
  async digest (a: { peer: string, mailbox: string }): Promise<AgentDigest> {
    const res = await need().replication.call(a.peer, { kind: StoreRequest.Kind.DIGEST, mailbox: a.mailbox, bucketMs: BigInt(COARSE_BUCKET_MS) })
    const buckets = res.buckets.map((b) => `${b.start}:${b.count}:${Buffer.from(b.hash).toString('hex')}`)
    return { count: res.buckets.reduce((n, b) => n + b.count, 0), fingerprint: buckets.join(',') }
  },

  /**
   * How many envelopes of `kind` (an Envelope.Kind name, e.g. 'SECRET') each owner of the user's own
   * mailbox still serves (deleted ones are tombstones and are not served), asked of each owner alone.
   */
  async heldByOwners (a: { handle: string, kind: string }) {
    const u = user(a.handle)
    const n = need()
    const kind = Envelope.Kind[a.kind as keyof typeof Envelope.Kind]
    if (kind == null) throw new Error(`no envelope kind ${a.kind}`)
    const owners = n.replication.placement.ownersOf(u.userId)
    return Object.fromEntries(await Promise.all(owners.map(async (owner) => {
      const res = await n.replication.call(owner, {
        kind: StoreRequest.Kind.FETCH, mailbox: u.userId, limit: 1000, peer: '', newestFirst: false,
        after: new Uint8Array(0), before: new Uint8Array(0), auth: signReadAuth(u.userId, u.identity)
      })
      return [owner, res.envelopes.filter((bytes) => Envelope.decode(bytes).kind === kind).length]
    })))
  },

  /** Does `peer` hold a claim of `handle`? (RESOLVE at that one server, no cache.) */
  async claimAt (a: { peer: string, handle: string }) {
    const res = await need().replication.call(a.peer, { kind: StoreRequest.Kind.RESOLVE, handle: a.handle })
    return res.claim != null
  },

  async stop () {
    await node?.stop()
    users.clear()
    return null
  }
}

process.on('message', (msg: { id: number, cmd: string, args: unknown }) => {
  const handler = HANDLERS[msg.cmd]
  const run = handler == null ? Promise.reject(new Error(`unknown command ${msg.cmd}`)) : handler(msg.args ?? {})
  run.then(
    (value) => { send({ id: msg.id, ok: true, value: value ?? null }) },
    (err: any) => { send({ id: msg.id, ok: false, error: { name: err?.name ?? 'Error', code: err?.code, message: String(err?.message ?? err) } }) }
  )
})

// the parent going away (test run killed) must not leave this node behind
process.on('disconnect', () => {
  const bye = setTimeout(() => { process.exit(0) }, 2000)
  bye.unref()
  void node?.stop().finally(() => { process.exit(0) })
  if (node == null) process.exit(0)
})

send({ event: 'ready' })
