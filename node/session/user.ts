/**
 * A user's session on this node: direct chat, receipts, typing, and the parts that hang off it
 * (roster and presence, rooms, secret chats), each built from the session's ports (ports.ts), which the
 * session assembles from the node's replication, relay and database. Receiving has two paths that meet
 * in a `Feed`: live envelopes from the user's inbox shard on gossipsub, and a sync loop over the user's
 * mailbox at its owners that catches everything the live path missed (the user was offline, the relay
 * dropped it). Each message is emitted once, whichever path brings it first.
 *
 * What the catch-up inside `openUser` finds is held for the first 'message' listener, since the caller
 * cannot attach one before `openUser` resolves.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { Envelope, envelopeIdHex, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { hlcMillis, type HybridClock } from '../../protocol/hlc.js'
import { cursorOf, isUserId, mailboxesOf, parseMailbox } from '../../protocol/mailbox.js'
import { Presence, Receipt } from '../../protocol/pb/chat.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import { READ_AUTH_REUSE_MS, signReadAuth } from '../../protocol/read-auth.js'
import { everyTick } from './ticker.js'
import type { Relay } from '../relay/relay.js'
import type { ChangeWatch } from '../replication/change-watch.js'
import type { ReplicationContext, StoreCall } from '../replication/context.js'
import { ForbiddenError, RateLimitedError, UnknownHandleError } from '../replication/errors.js'
import type { Placement } from '../replication/placement.js'
import type { ReadResult, Reader } from '../replication/reader.js'
import type { Replicator } from '../replication/replicator.js'
import { closeOwnSublevel, type ChorusDb } from '../store/db.js'
import type { LogReadOptions, SecretLevel, SessionPorts } from './ports.js'
import type { Vault } from './vault.js'
import type { HandleDirectory, UserRef } from './directory.js'
import type { Message, MessageKind, SendResult, UserEvents } from './events.js'
import {
  HISTORY_OPTIONS, INBOX_OPTIONS, SEND_OPTIONS, requireBoolean, requireEnvelope, requireHandle, requireMessages,
  requireOptions, requireText
} from './arguments.js'
import { DirectSeal } from './direct-seal.js'
import { Feed, type FeedConsumer, type FeedInit } from './feed.js'
import { Receipts, decodeReceipt } from './receipts.js'
import type { RoomDirectory } from './room-addresses.js'
import { Rooms, type RoomsComponents } from './rooms.js'
import { Roster } from './roster.js'
import { Secrets, type SecretMessage } from './secret.js'
import { compactRangeOf } from './secret-store.js'

export type { Message, SendResult, UserEvents } from './events.js'

const log = logger('chorus:session')

/** How often an open session asks its owners for what the live path missed. @default 1000 */
export const DEFAULT_SYNC_INTERVAL_MS = 1000

/**
 * Messages held for a session's first 'message' listener at most; older ones are dropped (and logged).
 * @default 10000
 */
export const DEFAULT_HOLD_MAX = 10_000

/** Read proofs kept for reuse, one per mailbox read (the inbox, each room's two logs, contacts' presence). */
const MAX_KEPT_PROOFS = 1024

/** Kinds whose envelopes name the one signed before them to the same recipient (Envelope.prev). */
const ORDERED_KINDS = new Set([Envelope.Kind.CHAT, Envelope.Kind.GROUPCHAT, Envelope.Kind.SECRET])

/** Recipients whose last signed envelope a session remembers for `prev` (the least recent is forgotten). */
const MAX_ORDERED_RECIPIENTS = 1024

const KIND_NAMES: Partial<Record<Envelope.Kind, MessageKind>> = {
  [Envelope.Kind.CHAT]: 'chat',
  [Envelope.Kind.GROUPCHAT]: 'groupchat',
  [Envelope.Kind.HEADLINE]: 'headline',
  [Envelope.Kind.ERROR]: 'error',
  [Envelope.Kind.RECEIPT]: 'receipt',
  [Envelope.Kind.PRESENCE]: 'presence',
  [Envelope.Kind.SECRET]: 'secret'
}

/** Kinds that show in a conversation's history. */
const HISTORY_KINDS = new Set([Envelope.Kind.CHAT, Envelope.Kind.ERROR])

/**
 * What a session uses of the node's replication (`Replication` has all of it): merged reads (and the
 * feeds' cursor listings), W-of-N writes, the owners' change counters, requests to owners, and the
 * counter of refused input.
 */
export interface SessionReplication {
  reader: Pick<Reader, 'read'> & FeedInit['reader']
  writer: Pick<Replicator, 'write'>
  changes: Pick<ChangeWatch, 'versions' | 'follow'>
  placement: Pick<Placement, 'ownersOf'>
  call: StoreCall
  /** `keys.trust`: what this session signed needs no verification when it comes back */
  context: Pick<ReplicationContext, 'reject' | 'writeQuorum' | 'now'> & {
    keys: Pick<ReplicationContext['keys'], 'trust'>
  }
}

/** Everything a session uses. */
export interface UserComponents {
  replication: SessionReplication
  directory: Pick<HandleDirectory, 'resolve'> & RoomDirectory
  /** the node's room directory list, shared by its sessions (room-list.ts) */
  roomList: RoomsComponents['roomList']
  relay: Pick<Relay, 'publish' | 'subscribeInbox' | 'subscribeRoom'>
  clock: HybridClock
  /** the node's database: the session's feeds and its parts' sublevels (through `Storage`) live in it */
  db: ChorusDb
  /** how the user's secret values are kept at rest (sealed with a passphrase, or as they are) */
  vault: Pick<Vault, 'encoding'>
  syncIntervalMs?: number
}

/** Options of `inbox`: a page of the mailbox, by cursor. */
export interface InboxOptions {
  /** only the conversation with this handle (or userId): its envelopes both ways */
  with?: string
  /** exclusive bounds: a message, or its cursor */
  after?: string | Message
  before?: string | Message
  /** envelopes to read (at most MAX_FETCH_LIMIT are served a page) @default 50 */
  limit?: number
  /** the newest `limit` before `before` (paging back) instead of the oldest after `after` @default false */
  newestFirst?: boolean
}

/** A page of the mailbox (`inbox`). */
export interface InboxPage {
  /** the page's envelopes, oldest first, of every kind the mailbox holds (verified, as the owners keep them) */
  envelopes: Envelope[]
  /** the owners hold more beyond the page (before it when paging back, after it otherwise) */
  more: boolean
}

/** Options of a send. */
export interface SendOptions {
  /** 'chat' (default): stored, receipted; 'headline': live only, no history, no receipts */
  type?: 'chat' | 'headline'
  /**
   * Called with the envelope id (hex) once the message is signed, before it leaves this node: a receipt
   * for it can come back before `send` resolves (the live copy goes out first), and a caller that maps
   * receipts to its own ids (the XMPP gateway) must know the id by then.
   */
  signed?: (id: string) => void
}

export class User extends EventEmitter<UserEvents> {
  readonly userId: string
  /** Contacts, subscriptions and presence. */
  readonly roster: Roster
  /** Group chat. */
  readonly rooms: Rooms
  /** End-to-end encrypted chats with other devices. */
  readonly secret: Secrets
  private stopTicking?: () => void
  private isClosed = false
  private readonly feeds = new Map<string, Feed>()
  private readonly inboxFeed: Feed
  private readonly receipts: Receipts
  private unsubscribe?: () => void
  private ticking?: Promise<void>
  private readonly proofs = new Map<string, { auth: ReadAuth, at: number }>()
  /** the cursor of the last ordered envelope signed to each recipient (Envelope.prev of the next) */
  private readonly lastSigned = new Map<string, Uint8Array>()
  /**
   * Events raised before anyone listened to them: the catch-up inside `openUser` (messages, subscription
   * requests that came while the user was away, contacts' presence, receipts) runs before the caller can
   * attach a listener. Each kind is held until its first listener, then goes to it in order.
   */
  private readonly held = new Map<string, unknown[][]>()
  private readonly released = new Set<string>()
  /** plain chat and headline texts travel sealed to their two users */
  private readonly sealed: DirectSeal
  /** the `secret` sublevel, sealed by the user's vault: one instance for every part that keeps secrets */
  private secretSub?: SecretLevel

  constructor (readonly handle: string, readonly identity: IdentityKey, private readonly c: UserComponents) {
    super()
    this.userId = userIdOf(identity.publicKey)
    this.sealed = new DirectSeal(identity)
    this.inboxFeed = this.feed(this.userId, async (env) => this.prepare(env))
    const ports = this.ports()
    this.receipts = new Receipts(ports)
    this.roster = new Roster(ports)
    this.rooms = new Rooms({ ...ports, directory: this.c.directory, roomList: this.c.roomList })
    this.secret = new Secrets(ports)
    ;(this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (typeof event === 'string' && !this.released.has(event)) process.nextTick(() => { this.release(event) })
    })
  }

  get clock (): HybridClock { return this.c.clock }
  get closed (): boolean { return this.isClosed }

  /**
   * Send a direct message. A chat message resolves when W owners of both mailboxes have it on disk (the
   * "sent" tick) and is published live at the same time; a headline is only published. An unknown
   * recipient rejects with `UnknownHandleError`, and (as a Jabber server bounces) listeners also get a
   * message of kind 'error' about it.
   */
  async send (to: string, text: string, o?: SendOptions): Promise<SendResult>
  async send (env: Envelope): Promise<SendResult>
  async send (toOrEnv: string | Envelope, text?: string, o: SendOptions = {}): Promise<SendResult> {
    if (typeof toOrEnv !== 'string') return this.store(requireEnvelope('to', toOrEnv))
    requireHandle('to', toOrEnv)
    requireText('text', text)
    requireOptions('options', o, SEND_OPTIONS)
    let recipient: UserRef
    try {
      recipient = await this.resolve(toOrEnv)
    } catch (err: any) {
      if (err instanceof UnknownHandleError) this.bounce(toOrEnv, 'item-not-found', err.message)
      throw err
    }
    const headline = o.type === 'headline'
    const body = this.sealed.seal(recipient, text ?? '')
    const env = this.sign(headline ? Envelope.Kind.HEADLINE : Envelope.Kind.CHAT, recipient.userId, body)
    o.signed?.(envelopeIdHex(env))
    if (headline) {
      await this.publish(env)
      return { id: envelopeIdHex(env), timestamp: hlcMillis(env.timestamp), storedOn: [] }
    }
    try {
      return await this.store(env)
    } catch (err: any) {
      if (err instanceof RateLimitedError) this.bounce(toOrEnv, 'resource-constraint', err.message)
      if (err instanceof ForbiddenError) this.bounce(toOrEnv, 'forbidden', err.message)
      throw err
    }
  }

  /** Tell `to` this user is typing (or stopped). Live only. */
  async typing (to: string, active = true): Promise<void> {
    requireHandle('to', to)
    requireBoolean('active', active)
    const ref = await this.resolve(to)
    const body = Presence.encode({
      type: Presence.Type.TYPING,
      state: active ? Presence.State.ONLINE : Presence.State.OFFLINE,
      status: '',
      lastSeen: 0n
    })
    await this.publish(this.sign(Envelope.Kind.PRESENCE, ref.userId, body))
  }

  /** Mark messages read: their senders get a read receipt. */
  markRead (messages: Message | Message[]): void {
    requireMessages('messages', messages)
    for (const m of Array.isArray(messages) ? messages : [messages]) {
      if (m.fromId === this.userId || (m.kind !== 'chat' && m.kind !== 'groupchat' && m.kind !== 'secret')) continue
      if (m.kind === 'secret') void this.secret.markRead(m as SecretMessage).catch((err: Error) => { log('self-destruct timer of %s: %s', m.id, err.message) })
      this.receipts.ack(m.fromId, 'read', new Uint8Array(Buffer.from(m.id, 'hex')), m.room ?? '')
    }
  }

  /** Set this user's presence; contacts who may see it are told at once. */
  async setPresence (state: 'online' | 'away' | 'busy' | 'offline', status = ''): Promise<void> {
    await this.roster.setPresence(state, status)
  }

  /**
   * The conversation with `withHandle`, oldest → newest: the newest `limit` before `before`, merged from the owners.
   */
  async history (withHandle: string, o: { limit?: number, before?: string | Message } = {}): Promise<Message[]> {
    requireHandle('withHandle', withHandle)
    requireOptions('options', o, HISTORY_OPTIONS)
    const other = await this.resolve(withHandle)
    const before = o.before == null
      ? undefined
      : new Uint8Array(Buffer.from(typeof o.before === 'string' ? o.before : o.before.cursor, 'hex'))
    const page = await this.read(this.userId, { peer: other.userId, limit: o.limit ?? 50, before, newestFirst: true })
    const out: Message[] = []
    for (const env of page.envelopes) {
      if (!HISTORY_KINDS.has(env.kind)) continue
      const m = await this.toMessage(env)
      if (m != null) out.push(m)
    }
    return out
  }

  /**
   * A page of this user's mailbox as its owners hold it, merged: every envelope, of every kind (direct
   * messages both ways, receipts, subscription requests, room invitations, secret-chat ciphertext), oldest
   * first. `toMessage` shows a message, `rooms.invitationIn` an invitation; page on from the cursor of a
   * page's first envelope (`before`, newest first) or its last (`after`). The archive (XEP-0313) and
   * `chorus read` read history so, where `history` (one conversation, its messages only) is not enough.
   */
  async inbox (o: InboxOptions = {}): Promise<InboxPage> {
    requireOptions('options', o, INBOX_OPTIONS)
    const peer = o.with == null ? undefined : (await this.resolve(o.with)).userId
    const page = await this.read(this.userId, {
      peer,
      after: cursorBytes(o.after),
      before: cursorBytes(o.before),
      limit: o.limit ?? 50,
      newestFirst: o.newestFirst === true
    })
    return { envelopes: page.envelopes, more: page.more }
  }

  /**
   * Start receiving: subscribe live, one catch-up sync now, then a poll every sync interval (a sync when
   * the owners say something changed: Feed.poll). The sessions of a process tick on one timer, so that
   * their questions to each owner travel in one request (change-watch.ts).
   */
  async open (): Promise<void> {
    await this.secret.load()
    this.unsubscribe = this.c.relay.subscribeInbox(this.userId, (env) => { this.onLive(env) })
    await this.sync()
    await this.roster.open()
    await this.rooms.open()
    await this.secret.start()
    this.stopTicking = everyTick(this.c.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS, () => { void this.tick() })
  }

  /**
   * Stop receiving; tell contacts this user went offline. What the feeds have taken is shown (and its
   * seen-marks written) before this resolves, so nothing shown now is shown again by the next session.
   */
  async close (): Promise<void> {
    if (this.isClosed) return
    await this.roster.close().catch((err: Error) => { log('closing the roster of %s: %s', this.handle, err.message) })
    this.isClosed = true
    this.stopTicking?.()
    this.unsubscribe?.()
    await this.rooms.close().catch((err: Error) => { log('closing the rooms of %s: %s', this.handle, err.message) })
    await this.ticking?.catch(() => {})
    await Promise.all([...this.feeds.values()].map(async (f) => { await f.close() }))
    await this.secret.close().catch((err: Error) => { log('closing the secret chats of %s: %s', this.handle, err.message) })
    await this.receipts.close().catch((err: Error) => { log('flushing the receipts of %s: %s', this.handle, err.message) })
    // a sealed user's own sublevel stays attached to the database until it is closed (a plain one is shared)
    if (this.secretSub != null) {
      await closeOwnSublevel(this.secretSub).catch((err: Error) => { log('closing the secret sublevel of %s: %s', this.handle, err.message) })
    }
  }

  /**
   * Fetch everything new in this user's mailbox and hand it out, each envelope once, in order. Safe to
   * call at any time: one sync runs at a time per feed, and the feed, not the caller, hands envelopes out.
   */
  async sync (): Promise<void> {
    await this.inboxFeed.sync()
  }

  /**
   * Sign an envelope from this user, stamped by the node's clock (the low-level form of `send`). A chat
   * message, room post or secret message names the one this session signed to the same recipient before
   * it (`prev`): receivers show each sender's messages in that order even when the live path lost one.
   */
  sign (kind: Envelope.Kind, recipient: string, body: Uint8Array): Envelope {
    const ordered = ORDERED_KINDS.has(kind)
    const prev = ordered ? this.lastSigned.get(recipient) : undefined
    const timestamp = this.c.clock.now()
    const env = signEnvelope({ kind, recipient, body, timestamp, senderHandle: this.handle, prev }, this.identity)
    if (ordered) {
      this.lastSigned.delete(recipient)
      this.lastSigned.set(recipient, cursorOf(env))
      if (this.lastSigned.size > MAX_ORDERED_RECIPIENTS) {
        this.lastSigned.delete(this.lastSigned.keys().next().value as string)
      }
    }
    return env
  }

  /** Publish an envelope live only (headlines, typing, presence broadcasts); never throws. */
  async publish (env: Envelope): Promise<void> {
    await this.c.relay.publish(env, Envelope.encode(env))
  }

  /** Where secret-chat keys, sessions and history live: sealed at rest when the user has a passphrase. */
  private secretLevel (): SecretLevel {
    this.secretSub ??= this.c.db.sublevel<string, string>('secret', { valueEncoding: this.c.vault.encoding as any })
    return this.secretSub
  }

  /** A proof that this user reads `mailbox`: one is signed per mailbox and used for READ_AUTH_REUSE_MS. */
  readAuth (mailbox: string): ReadAuth {
    const now = Date.now()
    const kept = this.proofs.get(mailbox)
    if (kept != null && now - kept.at < READ_AUTH_REUSE_MS && now >= kept.at) return kept.auth
    const auth = signReadAuth(mailbox, this.identity, now)
    this.proofs.set(mailbox, { auth, at: now })
    if (this.proofs.size > MAX_KEPT_PROOFS) this.proofs.delete(this.proofs.keys().next().value as string)
    return auth
  }

  /** The session's feed of a log, created once per mailbox; a later consumer replaces an earlier one. */
  private feed (mailbox: string, consumer: FeedConsumer): Feed {
    let f = this.feeds.get(mailbox)
    if (f == null) {
      // every log a session follows is its user's own or a room's: the owners want a read proof
      const auth = (): ReadAuth => this.readAuth(mailbox)
      const key = mailbox === this.userId ? this.userId : `${this.userId}@${mailbox}`
      f = new Feed({
        db: this.c.db,
        reader: this.c.replication.reader,
        mailbox,
        key,
        auth,
        consumer,
        changes: this.c.replication.changes
      })
      this.feeds.set(mailbox, f)
    } else {
      f.consume(consumer)
    }
    return f
  }

  /** A handle (or a userId) to a verified user reference. Throws `UnknownHandleError`. */
  async resolve (handleOrId: string): Promise<UserRef> {
    if (isUserId(handleOrId)) {
      return { handle: handleOrId, userId: handleOrId, publicKey: this.sealed.keyOf(handleOrId) ?? new Uint8Array(0) }
    }
    const ref = await this.c.directory.resolve(handleOrId)
    this.sealed.learn(ref.userId, ref.publicKey)
    return ref
  }

  /** A verified envelope as a message; a sender whose claimed handle is not its own is refused. */
  async toMessage (env: Envelope): Promise<Message | undefined> {
    const fromId = userIdOf(env.senderKey)
    let from = fromId
    if (env.senderHandle !== '') {
      try {
        const ref = await this.c.directory.resolve(env.senderHandle)
        if (ref.userId !== fromId) { this.c.replication.context.reject('forged-handle'); return undefined }
        from = ref.handle
      } catch {
        from = fromId
      }
    }
    let text = ''
    if (env.kind === Envelope.Kind.CHAT || env.kind === Envelope.Kind.HEADLINE) {
      const opened = this.sealed.open(env, (reason) => { this.c.replication.context.reject(reason) })
      if (opened == null) return undefined
      text = opened
    } else if (env.kind !== Envelope.Kind.SECRET) {
      text = new TextDecoder().decode(env.body)
    }
    const to = parseMailbox(env.recipient)
    return {
      id: envelopeIdHex(env),
      from,
      fromId,
      to: env.recipient,
      text,
      timestamp: hlcMillis(env.timestamp),
      kind: KIND_NAMES[env.kind] ?? 'chat',
      cursor: Buffer.from(cursorOf(env)).toString('hex'),
      ...(to?.kind === 'room' ? { room: to.id } : {})
    }
  }

  override emit<K extends keyof UserEvents>(event: K, ...args: UserEvents[K]): boolean {
    if (!this.released.has(event)) {
      if (this.listenerCount(event) === 0) { this.hold(event, args); return true }
      this.release(event)
    }
    return super.emit(event as any, ...(args as any[]))
  }

  /**
   * The session's ports (ports.ts), assembled once and handed to each part, which declares the few members
   * it uses: no part gets the replication, the relay or the database whole.
   */
  private ports (): SessionPorts {
    const { replication: r, relay, db } = this.c
    const closed = (): boolean => this.isClosed
    return {
      signer: {
        handle: this.handle,
        userId: this.userId,
        identity: this.identity,
        clock: this.c.clock,
        sign: (kind, to, body) => this.sign(kind, to, body)
      },
      outbox: {
        send: async (env) => await this.store(env),
        publish: async (env) => { await this.publish(env) },
        write: async (env) => await this.write(env)
      },
      logs: {
        feed: (mailbox, consumer) => this.feed(mailbox, consumer),
        read: async (mailbox, o) => await this.read(mailbox, o)
      },
      lookups: {
        resolve: async (handleOrId) => await this.resolve(handleOrId),
        toMessage: async (env) => await this.toMessage(env)
      },
      rejections: { reject: (reason) => { r.context.reject(reason) } },
      storage: {
        sublevel: db.sublevel.bind(db),
        secretLevel: () => this.secretLevel(),
        compactRange: compactRangeOf(db)
      },
      live: { subscribeRoom: (roomId, handler, policy) => relay.subscribeRoom(roomId, handler, policy) },
      owners: {
        ownersOf: (key) => r.placement.ownersOf(key),
        call: async (peer, req, timeoutMs) => await r.call(peer, req, timeoutMs),
        get writeQuorum () { return r.context.writeQuorum },
        now: () => r.context.now()
      },
      events: {
        emit: (event, ...args) => { this.emit(event, ...args) },
        listenerCount: (event) => this.listenerCount(event),
        onListener: (fn) => {
          (this as EventEmitter).on('newListener', (event: string | symbol) => { if (typeof event === 'string') fn(event) })
        }
      },
      session: { get closed () { return closed() } }
    }
  }

  /** One page of a log from its owners, with this user's read proof. */
  private async read (mailbox: string, o: LogReadOptions = {}): Promise<ReadResult> {
    return await this.c.replication.reader.read(mailbox, { ...o, auth: this.readAuth(mailbox) })
  }

  // sending and receiving

  /** Store at W of N owners, not published live (a room post from outside the room: the owners refuse it). */
  private async write (env: Envelope): Promise<SendResult> {
    const { storedOn } = await this.c.replication.writer.write(env, Envelope.encode(env))
    return { id: envelopeIdHex(env), timestamp: hlcMillis(env.timestamp), storedOn }
  }

  private async store (env: Envelope): Promise<SendResult> {
    const bytes = Envelope.encode(env)
    // signed here: when sync brings it back from this user's own mailbox, it needs no verification
    this.c.replication.context.keys.trust(bytes)
    // a session ignores its own chat and room posts when sync brings them back: it need not fetch them
    if (env.kind === Envelope.Kind.CHAT || env.kind === Envelope.Kind.GROUPCHAT) {
      for (const mailbox of mailboxesOf(env)) this.feeds.get(mailbox)?.own(env)
    }
    // the live copy first: publishing is cheap, and the durable write's six puts would delay it
    const published = this.c.relay.publish(env, bytes)
    const [{ storedOn }] = await Promise.all([this.c.replication.writer.write(env, bytes), published])
    return { id: envelopeIdHex(env), timestamp: hlcMillis(env.timestamp), storedOn }
  }

  private onLive (env: Envelope): void {
    if (this.isClosed || env.recipient !== this.userId) return
    // headlines and typing are never stored: no feed, nothing to deduplicate against sync
    if (env.kind === Envelope.Kind.HEADLINE || env.kind === Envelope.Kind.PRESENCE) {
      void this.prepare(env).then((show) => { show?.() })
      return
    }
    this.inboxFeed.offer(env)
  }

  private async tick (): Promise<void> {
    if (this.ticking != null || this.isClosed) return
    // an idle session: the owners' pushes say nothing changed since the last catch-up
    if (this.inboxFeed.idle() && this.rooms.idle()) return
    this.ticking = (async () => {
      try { await this.inboxFeed.poll() } catch (err: any) { log('sync of %s failed: %s', this.handle, err.message) }
      try { await this.rooms.poll() } catch (err: any) { log('room sync of %s failed: %s', this.handle, err.message) }
    })().finally(() => { this.ticking = undefined })
    await this.ticking
  }

  /**
   * One envelope of this user's mailbox, from either path, in the inbox's order: do what it asks and
   * return what shows it (the feed runs that once the envelope's seen-mark is on disk).
   */
  private async prepare (env: Envelope): Promise<(() => void) | undefined> {
    const sender = userIdOf(env.senderKey)
    try {
      switch (env.kind) {
        case Envelope.Kind.CHAT:
        case Envelope.Kind.ERROR:
        case Envelope.Kind.HEADLINE: {
          if (sender === this.userId) return
          const m = await this.toMessage(env)
          if (m == null) return
          return () => {
            this.emit('message', m)
            if (env.kind === Envelope.Kind.CHAT) this.receipts.ack(sender, 'delivered', env.id)
          }
        }
        case Envelope.Kind.RECEIPT: {
          const r = decodeReceipt(env.body)
          if (r == null) { this.c.replication.context.reject('bad-receipt'); return }
          const by = (await this.toMessage(env))?.from ?? sender
          if (r.status === Receipt.Status.READ && r.room === '') {
            await this.secret.onRead(sender, r.ids.map((id) => Buffer.from(id).toString('hex')))
          }
          return () => {
            for (const id of r.ids) {
              this.emit('receipt', {
                id: Buffer.from(id).toString('hex'),
                status: r.status === Receipt.Status.READ ? 'read' : 'delivered',
                by,
                byId: sender,
                at: hlcMillis(env.timestamp),
                ...(r.room !== '' ? { room: r.room } : {})
              })
            }
          }
        }
        case Envelope.Kind.PRESENCE:
          if (sender === this.userId) return
          await this.roster.handle(env)
          return
        case Envelope.Kind.ROOM:
          await this.rooms.handleInvite(env)
          return
        case Envelope.Kind.SECRET:
          if (sender === this.userId) return
          if (await this.secret.handle(env)) return () => { this.receipts.ack(sender, 'delivered', env.id) }
      }
    } catch (err: any) {
      log.error('handling %s from %s failed: %s', KIND_NAMES[env.kind] ?? env.kind, sender, err.stack ?? err.message)
    }
  }

  /** A local bounce, as a Jabber server sends `<message type='error'>` back to the sender. */
  private bounce (to: string, condition: string, text: string): void {
    const now = Date.now()
    this.emit('message', { id: '', from: to, fromId: '', to: this.userId, text, timestamp: now, kind: 'error', cursor: '', condition })
  }

  /** Keep an event for its first listener (bounded: past DEFAULT_HOLD_MAX the oldest goes, and is logged). */
  private hold (event: string, args: unknown[]): void {
    let list = this.held.get(event)
    if (list == null) { list = []; this.held.set(event, list) }
    list.push(args)
    if (list.length > DEFAULT_HOLD_MAX) { list.shift(); log('%s: no %s listener; dropped the oldest held event', this.handle, event) }
  }

  /** The first listener of `event` is here: hand it what was held, in order; from now on emit directly. */
  private release (event: string): void {
    if (this.released.has(event) || this.listenerCount(event) === 0) return
    this.released.add(event)
    const list = this.held.get(event) ?? []
    this.held.delete(event)
    for (const args of list) super.emit(event as any, ...(args as any[]))
  }
}

/** A cursor option (a message or its hex) as bytes; none for '' (an open bound). */
function cursorBytes (c: string | Message | undefined): Uint8Array<ArrayBuffer> | undefined {
  const hex = typeof c === 'string' ? c : c?.cursor
  return hex == null || hex === '' ? undefined : new Uint8Array(Buffer.from(hex, 'hex'))
}
