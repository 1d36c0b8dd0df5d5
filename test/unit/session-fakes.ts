/**
 * Typed fakes of the session's ports (node/session/ports.ts) for unit tests of one part: an outbox that
 * records, logs in memory (a feed that only records what it is offered), a directory of known users, and
 * the session's events recorded. Storage is a real LevelDB in a temporary directory (`FakeSession.open`):
 * a sublevel factory is what the parts take, and LevelDB's is the one they get.
 */

import { type Envelope, envelopeIdHex, generateIdentity, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { HybridClock, hlcMillis } from '../../protocol/hlc.js'
import { ROOM_ADDRESS_PREFIX, roomOfClaim } from '../../protocol/handle.js'
import { cursorOf } from '../../protocol/mailbox.js'
import { RoomAddressTakenError } from '../../node/replication/errors.js'
import type { RoomAddress, UserRef } from '../../node/session/directory.js'
import type { Message, SendResult, UserEvents } from '../../node/session/events.js'
import type { FeedConsumer } from '../../node/session/feed.js'
import type {
  LiveRooms, LogFeed, LogReadOptions, Logs, Lookups, Outbox, Rejections, SessionEvents, SessionState, Signer
} from '../../node/session/ports.js'
import type { ReadResult } from '../../node/replication/reader.js'
import type { HandleClaim } from '../../protocol/pb/store.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import type { TempDirs } from '../helpers/wait.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** One event the session emitted. */
export interface Emitted { event: keyof UserEvents, args: unknown[] }

/**
 * A feed that records what it is offered and where it was asked to start; syncing does nothing, and it is
 * never idle.
 */
export class FakeFeed implements LogFeed {
  readonly offered: Envelope[] = []
  startedAt?: Uint8Array
  syncs = 0

  constructor (readonly mailbox: string, public consumer: FeedConsumer) {}

  offer (env: Envelope): boolean { this.offered.push(env); return true }
  async sync (): Promise<void> { this.syncs++ }
  async poll (): Promise<void> { this.syncs++ }
  /** never idle: every tick polls, so a test sees each one */
  idle (): boolean { return false }
  async startAt (cursor: Uint8Array): Promise<void> { this.startedAt ??= cursor }
}

/**
 * One user's session as the parts see it: every port a fake, over logs this object keeps (what the
 * outbox sends and writes lands in the recipient's log, as the owners would store it).
 */
export class FakeSession {
  readonly identity: IdentityKey
  readonly userId: string
  readonly clock = new HybridClock()
  /** envelopes sent (stored and published), published only, and written only, in order */
  readonly sent: Envelope[] = []
  readonly published: Envelope[] = []
  readonly written: Envelope[] = []
  /** every log's envelopes, oldest first */
  readonly logs = new Map<string, Envelope[]>()
  readonly feeds = new Map<string, FakeFeed>()
  readonly rejected: string[] = []
  readonly emitted: Emitted[] = []
  /** room topics subscribed to (and not yet unsubscribed) */
  readonly subscribed = new Set<string>()
  /** users `resolve` knows, by handle and by userId */
  readonly known = new Map<string, UserRef>()
  /** what `send` throws, when set (an owner refusing, a quorum not reached) */
  failSend?: Error
  listeners = 0
  closed = false
  db!: ChorusDb
  private readonly onListener: Array<(event: string) => void> = []

  constructor (readonly handle: string, identity = generateIdentity()) {
    this.identity = identity
    this.userId = userIdOf(identity.publicKey)
  }

  /** Open a LevelDB in a fresh directory of `dirs` for the storage port. */
  async open (dirs: TempDirs): Promise<this> {
    this.db = await openDb(dirs.make('chorus-fake-session-'))
    return this
  }

  async close (): Promise<void> {
    if (this.db?.status === 'open') await this.db.close()
  }

  /** Make `ref` known to `resolve` (by handle and by userId). */
  know (who: { handle: string, userId: string, identity: IdentityKey }): void {
    const ref = { handle: who.handle, userId: who.userId, publicKey: who.identity.publicKey }
    this.known.set(who.handle, ref)
    this.known.set(who.userId, ref)
  }

  /** Put envelopes in their log, as if the owners held them. */
  store (mailbox: string, ...envs: Envelope[]): void {
    const list = this.logs.get(mailbox) ?? []
    list.push(...envs)
    list.sort((a, b) => Buffer.compare(Buffer.from(cursorOf(a)), Buffer.from(cursorOf(b))))
    this.logs.set(mailbox, list)
  }

  /** Someone (a listener) now listens to `event`. */
  listen (event: keyof UserEvents): void {
    this.listeners++
    for (const fn of this.onListener) fn(event)
  }

  of (event: keyof UserEvents): unknown[][] {
    return this.emitted.filter((e) => e.event === event).map((e) => e.args)
  }

  get signer (): Signer {
    return {
      handle: this.handle,
      userId: this.userId,
      identity: this.identity,
      clock: this.clock,
      sign: (kind, to, body) => this.sign(kind, to, body)
    }
  }

  get outbox (): Outbox {
    return {
      send: async (env) => {
        if (this.failSend != null) throw this.failSend
        this.sent.push(env)
        this.store(env.recipient, env)
        return resultOf(env, ['owner-1', 'owner-2'])
      },
      publish: async (env) => { this.published.push(env) },
      write: async (env) => {
        if (this.failSend != null) throw this.failSend
        this.written.push(env)
        this.store(env.recipient, env)
        return resultOf(env, ['owner-1'])
      }
    }
  }

  get logsPort (): Logs {
    return {
      feed: (mailbox, consumer) => {
        let f = this.feeds.get(mailbox)
        if (f == null) { f = new FakeFeed(mailbox, consumer); this.feeds.set(mailbox, f) } else f.consumer = consumer
        return f
      },
      read: async (mailbox, o) => this.read(mailbox, o)
    }
  }

  get lookups (): Lookups {
    return {
      resolve: async (handleOrId) => {
        const ref = this.known.get(handleOrId)
        if (ref == null) throw new Error(`no user ${handleOrId}`)
        return ref
      },
      toMessage: async (env) => {
        const sender = [...this.known.values()].find((r) => r.userId === userIdOf(env.senderKey))
        return messageOf(env, sender?.handle)
      }
    }
  }

  get rejections (): Rejections { return { reject: (reason) => { this.rejected.push(reason) } } }

  get live (): LiveRooms {
    return {
      subscribeRoom: (roomId) => {
        this.subscribed.add(roomId)
        return () => { this.subscribed.delete(roomId) }
      }
    }
  }

  get events (): SessionEvents {
    return {
      emit: (event, ...args) => { this.emitted.push({ event, args }) },
      listenerCount: () => this.listeners,
      onListener: (fn) => { this.onListener.push(fn) }
    }
  }

  get session (): SessionState {
    const closed = (): boolean => this.closed
    return { get closed () { return closed() } }
  }

  sign (kind: Envelope.Kind, recipient: string, body: Uint8Array): Envelope {
    return signEnvelope({
      kind,
      recipient,
      body,
      timestamp: this.clock.now(),
      senderHandle: this.handle
    }, this.identity)
  }

  /** A page of a log, as the merged read gives it: oldest first, by cursor. */
  read (mailbox: string, o: LogReadOptions = {}): ReadResult {
    const after = o.after != null && o.after.byteLength > 0 ? hex(o.after) : ''
    const before = o.before != null && o.before.byteLength > 0 ? hex(o.before) : undefined
    let list = (this.logs.get(mailbox) ?? [])
      .filter((e) => hex(cursorOf(e)) > after && (before == null || hex(cursorOf(e)) < before))
    const limit = o.limit ?? 50
    const more = list.length > limit
    list = o.newestFirst === true ? list.slice(-limit) : list.slice(0, limit)
    return { envelopes: list, more, answeredBy: ['owner-1'] }
  }
}

/** A room directory in memory: the first claim of an address holds it, as the owners' majority would. */
export class FakeRoomDirectory {
  readonly claims = new Map<string, HandleClaim>()
  /** room id by address */
  readonly rooms = new Map<string, string>()

  async claimRoom (claim: HandleClaim): Promise<RoomAddress> {
    const address = claim.handle.slice(ROOM_ADDRESS_PREFIX.length)
    const had = this.claims.get(address)
    if (had != null && roomOfClaim(had) !== roomOfClaim(claim)) throw new RoomAddressTakenError(address, had)
    this.claims.set(address, claim)
    this.rooms.set(address, roomOfClaim(claim))
    return { address, roomId: roomOfClaim(claim) }
  }

  async resolveRoom (address: string): Promise<RoomAddress> {
    const roomId = this.rooms.get(address)
    if (roomId == null) throw new Error(`no room at ${address}`)
    return { address, roomId }
  }

  async listRooms (): Promise<RoomAddress[]> {
    return [...this.rooms].map(([address, roomId]) => ({ address, roomId }))
  }
}

function resultOf (env: Envelope, storedOn: string[]): SendResult {
  return { id: envelopeIdHex(env), timestamp: hlcMillis(env.timestamp), storedOn }
}

function messageOf (env: Envelope, handle?: string): Message {
  const fromId = userIdOf(env.senderKey)
  return {
    id: envelopeIdHex(env),
    from: handle ?? fromId,
    fromId,
    to: env.recipient,
    text: '',
    timestamp: hlcMillis(env.timestamp),
    kind: 'chat',
    cursor: hex(cursorOf(env))
  }
}
