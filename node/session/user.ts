/**
 * A user's session on this node: send, read history, and receive. Receiving is a sync loop over the
 * user's mailbox at its owners: everything after the user's cursor, merged from every owner, in
 * (timestamp, id) order, each message emitted once. The cursor and the ids seen near it persist in the
 * node's own database, so a user who was offline gets everything, in order, when the session reopens.
 * What the catch-up inside `openUser` finds is held for the first 'message' listener, since the caller
 * cannot attach one before `openUser` resolves.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { Envelope, envelopeIdHex, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { hlcMillis, hlcPack, type HybridClock } from '../../protocol/hlc.js'
import type { Replication } from '../replication/replication.js'
import { cursorAt, cursorOf, cursorTimestamp, type Cursor } from '../store/mailbox-store.js'
import type { ChorusDb } from '../store/db.js'
import type { HandleDirectory } from './directory.js'

const log = logger('chorus:session')

/** How often an open session asks its owners for new messages. @default 500 */
export const DEFAULT_SYNC_INTERVAL_MS = 500

/** How far behind its cursor a sync looks again, for messages whose write landed late. @default 5000 */
export const DEFAULT_REFETCH_WINDOW_MS = 5000

/** How often a sync looks back over the refetch window. @default 2000 */
export const DEFAULT_SWEEP_INTERVAL_MS = 2000

/** Messages held for a session's first 'message' listener at most; older ones are dropped (and logged). @default 10000 */
export const DEFAULT_HOLD_MAX = 10_000

const KIND_NAMES: Record<string, Message['kind']> = {
  CHAT: 'chat', GROUPCHAT: 'groupchat', HEADLINE: 'headline', ERROR: 'error', RECEIPT: 'receipt', PRESENCE: 'presence', SECRET: 'secret'
}

/** A message as the library hands it out. */
export interface Message {
  /** envelope id, hex */
  id: string
  /** the sender's handle (verified against its claim), or its userId if it sent none */
  from: string
  fromId: string
  /** the recipient's userId */
  to: string
  text: string
  /** ms since the epoch (the wall-clock part of the hybrid timestamp) */
  timestamp: number
  kind: 'chat' | 'groupchat' | 'headline' | 'error' | 'receipt' | 'presence' | 'secret'
  /** opaque position, for `history({ before })` */
  cursor: string
}

/** The result of a send: the "sent" tick. */
export interface SendResult {
  id: string
  timestamp: number
  /** servers that have the envelope on disk when the send resolved */
  storedOn: string[]
}

/** Events of a session. */
export interface UserEvents {
  message: [Message]
  error: [Error]
}

/** Everything a session uses. */
export interface UserComponents {
  replication: Replication
  directory: HandleDirectory
  clock: HybridClock
  db: ChorusDb
  syncIntervalMs?: number
}

export class User extends EventEmitter<UserEvents> {
  readonly userId: string
  private timer?: NodeJS.Timeout
  private syncing?: Promise<void>
  private closed = false
  private lastSweep = 0
  private readonly cursors
  private readonly seen
  /**
   * Messages found before anyone listened: the catch-up sync runs inside `openUser`, before the caller
   * can attach a listener, and the cursor moves past what it finds. They go to the first listener.
   */
  private held: Message[] | undefined = []

  constructor (readonly handle: string, private readonly identity: IdentityKey, private readonly c: UserComponents) {
    super()
    this.userId = userIdOf(identity.publicKey)
    this.cursors = c.db.sublevel<string, string>('cursors', { valueEncoding: 'utf8' })
    this.seen = c.db.sublevel<string, string>('seen', { valueEncoding: 'utf8' })
    ;(this as EventEmitter).on('newListener', (event: string | symbol) => { if (event === 'message' && this.held != null) process.nextTick(() => { this.release() }) })
  }

  /** Send a chat message; resolves when W owners of both mailboxes have it on disk. */
  async send (to: string, text: string): Promise<SendResult> {
    const recipient = await this.c.directory.resolve(to)
    const env = signEnvelope({
      kind: Envelope.Kind.CHAT,
      recipient: recipient.userId,
      body: new TextEncoder().encode(text),
      timestamp: this.c.clock.now(),
      senderHandle: this.handle
    }, this.identity)
    const { storedOn } = await this.c.replication.writer.write(env, Envelope.encode(env))
    return { id: envelopeIdHex(env), timestamp: hlcMillis(env.timestamp), storedOn }
  }

  /** The conversation with `withHandle`, oldest → newest: the newest `limit` before `before`, merged from the owners. */
  async history (withHandle: string, o: { limit?: number, before?: string | Message } = {}): Promise<Message[]> {
    const other = await this.c.directory.resolve(withHandle)
    const before = o.before == null ? undefined : new Uint8Array(Buffer.from(typeof o.before === 'string' ? o.before : o.before.cursor, 'hex'))
    const page = await this.c.replication.reader.read(this.userId, { peer: other.userId, limit: o.limit ?? 50, before, newestFirst: true })
    const out: Message[] = []
    for (const env of page.envelopes) {
      const m = await this.toMessage(env)
      if (m != null) out.push(m)
    }
    return out
  }

  /** Start receiving: one catch-up sync now, then one every sync interval. */
  async open (): Promise<void> {
    await this.sync()
    this.timer = setInterval(() => { void this.sync().catch((err) => { log('sync of %s failed: %s', this.handle, err.message) }) }, this.c.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS)
    this.timer.unref()
  }

  /** Stop receiving. */
  async close (): Promise<void> {
    this.closed = true
    if (this.timer != null) clearInterval(this.timer)
    await this.syncing?.catch(() => {})
  }

  /** Fetch and emit everything new in this user's mailbox. Concurrent calls share one run. */
  async sync (): Promise<void> {
    if (this.syncing != null) return this.syncing
    this.syncing = this.syncOnce().finally(() => { this.syncing = undefined })
    return this.syncing
  }

  private async syncOnce (): Promise<void> {
    const stored = await this.cursors.get(this.userId)
    let cursor: Cursor | undefined = stored != null ? new Uint8Array(Buffer.from(stored, 'hex')) : undefined
    // most syncs read only what follows the cursor; every DEFAULT_SWEEP_INTERVAL_MS (and on the first
    // sync of a session) one also looks DEFAULT_REFETCH_WINDOW_MS behind it for writes that landed late.
    // Re-reading the window on every sync cost more than the sends themselves under load.
    const sweep = Date.now() - this.lastSweep >= DEFAULT_SWEEP_INTERVAL_MS
    if (sweep) this.lastSweep = Date.now()
    const windowStart = cursor != null && sweep ? cursorTimestamp(cursor) - hlcPack(DEFAULT_REFETCH_WINDOW_MS, 0) : 0n
    let after: Cursor | undefined = windowStart > 0n ? cursorAt(windowStart) : cursor
    for (;;) {
      if (this.closed) return
      const page = await this.c.replication.reader.read(this.userId, { after, limit: 500 })
      const fresh: Array<{ env: Envelope, c: Cursor }> = []
      for (const env of page.envelopes) {
        const c = cursorOf(env)
        after = c
        if (cursor != null && Buffer.compare(c, cursor) <= 0 && await this.seen.get(`${this.userId}!${Buffer.from(c).toString('hex')}`) != null) continue
        fresh.push({ env, c })
      }
      const ops: any[] = []
      for (const { env, c } of fresh) {
        const key = Buffer.from(c).toString('hex')
        ops.push({ type: 'put', sublevel: this.seen, key: `${this.userId}!${key}`, value: '' })
        if (cursor == null || Buffer.compare(c, cursor) > 0) cursor = c
        if (userIdOf(env.senderKey) === this.userId) continue
        const m = await this.toMessage(env)
        if (m != null) this.deliver(m)
      }
      if (cursor != null) ops.push({ type: 'put', sublevel: this.cursors, key: this.userId, value: Buffer.from(cursor).toString('hex') })
      if (ops.length > 0) await this.c.db.batch(ops)
      if (!page.more) break
    }
    await this.pruneSeen(cursor)
  }

  /** Emit, or hold until the first 'message' listener (in order: nothing overtakes what is held). */
  private deliver (m: Message): void {
    if (this.held == null) { this.emit('message', m); return }
    this.held.push(m)
    if (this.listenerCount('message') > 0) { this.release(); return }
    if (this.held.length > DEFAULT_HOLD_MAX) { this.held.shift(); log('%s: no message listener; dropped the oldest held message', this.handle) }
  }

  private release (): void {
    if (this.held == null || this.listenerCount('message') === 0) return
    const list = this.held
    this.held = undefined
    for (const m of list) this.emit('message', m)
  }

  /** Forget seen-marks older than the refetch window: they can never be fetched again. */
  private async pruneSeen (cursor: Cursor | undefined): Promise<void> {
    if (cursor == null) return
    const edge = cursorTimestamp(cursor) - hlcPack(DEFAULT_REFETCH_WINDOW_MS * 2, 0)
    if (edge <= 0n) return
    await this.seen.clear({ gt: `${this.userId}!`, lt: `${this.userId}!${Buffer.from(cursorAt(edge)).toString('hex')}` })
  }

  /** A verified envelope as a message; a sender whose claimed handle is not its own is refused. */
  private async toMessage (env: Envelope): Promise<Message | undefined> {
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
    return {
      id: envelopeIdHex(env),
      from,
      fromId,
      to: env.recipient,
      text: new TextDecoder().decode(env.body),
      timestamp: hlcMillis(env.timestamp),
      kind: KIND_NAMES[env.kind] ?? 'chat',
      cursor: Buffer.from(cursorOf(env)).toString('hex')
    }
  }
}
