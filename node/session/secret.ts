/**
 * Secret chats: end-to-end encrypted direct chats, bound to two devices (protocol/secret: X3DH, then the
 * Double Ratchet). Servers store and relay only SECRET envelopes — ratchet headers and ciphertext — in the
 * recipient's mailbox, and delete them when the recipient's device asks (after delivery) or at their
 * expiry. Everything secret stays on the device, in the node's own LevelDB (sublevel `secret`): the
 * device's keys (device-keys.ts), the plaintext history (secret-history.ts), and here:
 *
 *   `sess!<me>!<peer>`         the ratchet state with a peer, and the session's X3DH facts (JSON)
 *   `peer!<me>!<peer>`         the peer's identity keys as first seen (for the change warning)
 *
 * A session's state is written before its ciphertext leaves the device and after each message is
 * decrypted, so a restart neither reuses a message key nor loses one.
 */

import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { Envelope, userIdOf } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { SecretBody, SecretPlaintext } from '../../protocol/pb/secret.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { deleteScope, signReadAuth } from '../../protocol/read-auth.js'
import {
  RatchetSession, decodeBundle, decodeInitialHeader, encodeInitialHeader, initiate, respond, safetyNumber, verifyBundle,
  BadBundleSignatureError, PrekeyUsedError, SecretChatError, MalformedSecretMessageError, type InitialHeader, type SafetyNumber
} from '../../protocol/secret/index.js'
import { NoServersError } from '../replication/errors.js'
import { cursorOf } from '../store/mailbox-store.js'
import type { SessionContext } from './context.js'
import { DeviceKeys } from './device-keys.js'
import { SessionStore, type SessionRecord } from './secret-sessions.js'
import { SecretHistory, type HistoryEntry, type SecretMessage } from './secret-history.js'

export type { SecretMessage } from './secret-history.js'
import type { SendResult } from './events.js'
import { b64, unb64 } from './base64.js'
import { IdentityChangedError, NoPrekeysError } from './secret-errors.js'

const log = logger('chorus:secret')

/** How long a self-destructing message waits at the servers for delivery before they delete it anyway. */
export const UNDELIVERED_TTL_MS = 7 * 24 * 3600_000
/** Longest self-destruct timer. */
export const MAX_TTL_MS = 7 * 24 * 3600_000
/** How often prekey supply and self-destruct timers are checked. */
const MAINTENANCE_INTERVAL_MS = 1000
const PREKEY_CHECK_INTERVAL_MS = 10 * 60_000
/** Deletions of delivered ciphertext are coalesced for this long. */
const DELETE_FLUSH_MS = 100

/** Events of one secret chat. */
export interface SecretChatEvents {
  message: [SecretMessage]
  /** the peer's identity keys differ from the ones first seen: compare safety numbers again */
  'identity-changed': [{ peer: string, safetyNumber: SafetyNumber }]
  /** a self-destructing message's plaintext was deleted */
  expired: [{ id: string }]
}

/** The secret chats of one user on this device. */
export class Secrets {
  private readonly sub
  private readonly chats = new Map<string, SecretChat>()
  private readonly sessions: SessionStore
  private readonly keys: DeviceKeys
  private readonly history: SecretHistory
  private readonly locks = new Map<string, Promise<unknown>>()
  private timer?: NodeJS.Timeout
  private deletions: Uint8Array[] = []
  private deleteTimer?: NodeJS.Timeout
  private readonly me: string

  constructor (private readonly ctx: SessionContext) {
    this.sub = ctx.secretLevel()
    this.keys = new DeviceKeys(ctx)
    this.sessions = new SessionStore(ctx)
    this.history = new SecretHistory(ctx, (peer, id) => { this.chats.get(peer)?.emit('expired', { id }) })
    this.me = ctx.userId
  }

  /** Load (or create) this device's secret-chat keys: before the first sync, which may bring initiations. */
  async load (): Promise<void> {
    await this.keys.load()
  }

  /** Make sure this device's prekeys are published, then keep them supplied and run self-destruct timers. */
  async start (): Promise<void> {
    await this.load()
    await this.keys.maintain(true).catch((err: Error) => { log('publishing prekeys of %s failed (retried later): %s', this.ctx.handle, err.message) })
    this.timer = setInterval(() => { void this.maintain() }, MAINTENANCE_INTERVAL_MS)
    this.timer.unref()
  }

  async close (): Promise<void> {
    if (this.timer != null) clearInterval(this.timer)
    await Promise.allSettled([...this.locks.values()])
    // sessions still being written reach the disk before the database closes
    for (let i = 0; i < 100 && this.sessions.writing; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await this.flushDeletes().catch(() => {})
  }

  /** The secret chat with `handle`: the stored session, or a new one from the peer's published prekeys. */
  async open (handle: string): Promise<SecretChat> {
    const ref = await this.ctx.resolve(handle)
    let chat = this.chats.get(ref.userId)
    if (chat != null) return chat
    await this.serial(ref.userId, async () => {
      if (await this.sub.get(`sess!${this.me}!${ref.userId}`) != null) return
      await this.initiateWith(ref.userId, ref.publicKey)
    })
    chat = this.chatFor(ref.userId, ref.handle)
    return chat
  }

  /** Secret chats this device has a session for. */
  async list (): Promise<string[]> {
    const out: string[] = []
    for await (const key of this.sub.keys({ gt: `sess!${this.me}!`, lt: `sess!${this.me}!\xff` })) out.push(key.slice(key.lastIndexOf('!') + 1))
    return out
  }

  /** A SECRET envelope from this user's mailbox (either path, exactly once); true when it decrypted. */
  async handle (env: Envelope): Promise<boolean> {
    const peer = userIdOf(env.senderKey)
    // decryption is serialised per session; waiting for the disk is not (writes coalesce, in order)
    const done = await this.serial(peer, async () => this.receive(env, peer))
    if (done == null) return false
    await done.saved
    done.emit()
    return true
  }

  /** A read receipt for messages of ours: start their self-destruct timers on this side. */
  async onRead (peer: string, ids: string[]): Promise<void> {
    for (const id of ids) await this.history.startTimer(peer, id, false)
  }

  /** Mark a secret message read: starts its self-destruct timer here. */
  async markRead (m: SecretMessage): Promise<void> {
    await this.history.startTimer(m.fromId, m.id, true)
  }

  private async maintain (): Promise<void> {
    if (this.ctx.closed) return
    try {
      await this.history.expire()
      if (Date.now() - this.keys.checkedAt > PREKEY_CHECK_INTERVAL_MS) await this.serial('#prekeys', async () => { await this.keys.maintain(false) })
    } catch (err: any) {
      log('secret maintenance of %s: %s', this.ctx.handle, err.message)
    }
  }

  // sessions

  /** Claim the peer's prekeys (one coordinating owner hands out a one-time prekey once), run X3DH, store the session. */
  private async initiateWith (peer: string, peerKey: Uint8Array): Promise<void> {
    const owners = this.ctx.replication.placement.ownersOf(peer)
    if (owners.length === 0) throw new NoServersError()
    let bytes: Uint8Array | undefined
    let lastError: Error | undefined
    for (const owner of owners) {
      try {
        const res = await this.ctx.replication.call(owner, { kind: StoreRequest.Kind.PREKEYS_GET, user: peer, claimOneTime: true, coordinate: true })
        if (res.status === StoreResponse.Status.OK) { bytes = res.bundle; break }
      } catch (err: any) {
        lastError = err
      }
    }
    if (bytes == null) throw new NoPrekeysError(peer, lastError)
    const bundle = decodeBundle(bytes)
    verifyBundle(bundle)
    // the bundle must be of the key the handle names: a server cannot substitute its own
    if (peerKey.byteLength === 32 && Buffer.compare(Buffer.from(bundle.identityKey), Buffer.from(peerKey)) !== 0) throw new BadBundleSignatureError('the prekey bundle is not of the user the handle names')
    if (userIdOf(bundle.identityKey) !== peer) throw new BadBundleSignatureError('the prekey bundle is of another user')
    const x = initiate(this.keys.identity, bundle)
    const session = RatchetSession.initAlice(x.sharedKey, bundle.signedPrekey.publicKey, x.associatedData)
    await this.notePeer(peer, bundle.identityKey, bundle.identityDhKey)
    await this.sessions.save(peer, session, {
      initial: b64(encodeInitialHeader(x.header)),
      ephemeral: b64(x.ephemeralPublic),
      peerIdentityKey: b64(bundle.identityKey),
      peerIdentityDhKey: b64(bundle.identityDhKey)
    })
  }

  /**
   * Encrypt and send one message to `peer`; the new state is on disk before the envelope leaves. Only the
   * encryption is serialised per session: sends are stored in parallel, and the ratchet takes them in any
   * order.
   */
  async send (peer: string, text: string, ttlMs: number): Promise<SendResult> {
    if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > MAX_TTL_MS) throw new RangeError(`ttlMs must be 0..${MAX_TTL_MS}`)
    const { env, saved } = await this.serial(peer, async () => {
      const loaded = await this.sessions.load(peer)
      if (loaded == null) throw new MalformedSecretMessageError(`no secret session with ${peer}`)
      const { session, record } = loaded
      const sealed = session.encrypt(SecretPlaintext.encode({ text, ttlMs }))
      const now = Date.now()
      const body = SecretBody.encode({
        initial: record.initial != null ? unb64(record.initial) as Uint8Array<ArrayBuffer> : new Uint8Array(0),
        header: sealed.header as Uint8Array<ArrayBuffer>,
        ciphertext: sealed.ciphertext as Uint8Array<ArrayBuffer>,
        expiresAt: ttlMs > 0 ? BigInt(now + UNDELIVERED_TTL_MS) : 0n
      })
      const env = this.ctx.sign(Envelope.Kind.SECRET, peer, body)
      const entry: HistoryEntry = { id: Buffer.from(env.id).toString('hex'), from: this.ctx.handle, fromId: this.me, text, timestamp: hlcMillis(env.timestamp), ttlMs, expiresAt: 0, outgoing: true }
      return { env, saved: this.sessions.save(peer, session, record, this.history.ops(peer, env, entry)) }
    })
    await saved
    return this.ctx.send(env)
  }

  /**
   * One incoming SECRET envelope: start the session if it is an initiation, decrypt, and start storing the
   * new state. Returns what remains once it is on disk (emit; the envelope is deleted at the servers),
   * or `undefined` when the message was refused.
   */
  private async receive (env: Envelope, peer: string): Promise<{ saved: Promise<void>, emit: () => void } | undefined> {
    let body: SecretBody
    try {
      body = SecretBody.decode(env.body)
      if (body.header.byteLength === 0 || body.ciphertext.byteLength === 0) throw new Error('empty header or ciphertext')
    } catch (err: any) {
      this.reject('malformed', err)
      return undefined
    }
    let loaded = await this.sessions.load(peer)
    const extra: any[] = []
    if (body.initial.byteLength > 0) {
      let header: InitialHeader
      try {
        header = decodeInitialHeader(body.initial)
      } catch (err) { this.reject('malformed', err); return undefined }
      const sameSession = loaded != null && loaded.record.ephemeral === b64(header.ephemeralKey)
      if (!sameSession) {
        try {
          const started = await this.accept(peer, env, header)
          loaded = started.loaded
          extra.push(...started.ops)
        } catch (err) { this.reject(err instanceof PrekeyUsedError ? 'prekey-used' : err instanceof BadBundleSignatureError ? 'bad-bundle-signature' : 'bad-initiation', err); return undefined }
      }
    }
    if (loaded == null) { this.reject('no-session', new Error(`no session with ${peer}`)); return undefined }
    let plain: SecretPlaintext
    try {
      plain = SecretPlaintext.decode(loaded.session.decrypt(body.header, body.ciphertext))
    } catch (err: any) {
      this.reject(err instanceof SecretChatError ? err.reason : 'malformed', err)
      return undefined
    }
    // the peer answered: our initiation is done, stop sending the initial header
    if (loaded.record.initial != null && loaded.record.peerIdentityKey === b64(env.senderKey) && body.initial.byteLength === 0) delete loaded.record.initial
    const ttlMs = Math.min(plain.ttlMs, MAX_TTL_MS)
    const m = await this.ctx.toMessage(env)
    if (m == null) return undefined
    const message: SecretMessage = { ...m, kind: 'secret', text: plain.text, ttlMs }
    const entry: HistoryEntry = { id: m.id, from: m.from, fromId: peer, text: plain.text, timestamp: m.timestamp, ttlMs, expiresAt: 0, outgoing: false }
    extra.push(...this.history.ops(peer, env, entry))
    const saved = this.sessions.save(peer, loaded.session, loaded.record, extra)
    return {
      saved,
      emit: () => {
        this.queueDelete(cursorOf(env))
        this.chatFor(peer, m.from).emit('message', message)
        this.ctx.emit('message', message)
      }
    }
  }

  /** Respond to an initiation: X3DH with our prekeys; the one-time prekey is deleted with the session's first save. */
  private async accept (peer: string, env: Envelope, header: InitialHeader): Promise<{ loaded: { session: RatchetSession, record: SessionRecord }, ops: any[] }> {
    if (Buffer.compare(Buffer.from(header.identityKey), Buffer.from(env.senderKey)) !== 0) throw new BadBundleSignatureError('the initiation names another identity than its signer')
    const spk = await this.keys.loadSignedPrekey(header.signedPrekeyId)
    if (spk == null) throw new PrekeyUsedError(`signed prekey ${header.signedPrekeyId} is no longer held`)
    const otk = header.oneTimePrekeyId != null ? await this.keys.loadOneTimePrekey(header.oneTimePrekeyId) : undefined
    const x = respond(this.keys.identity, spk, otk, header)
    const session = RatchetSession.initBob(x.sharedKey, spk.keyPair, x.associatedData)
    await this.notePeer(peer, header.identityKey, header.identityDhKey)
    const ops: any[] = otk != null ? [{ type: 'del', key: this.keys.oneTimeKey(otk.id) }] : []
    return { loaded: { session, record: { state: '', ephemeral: b64(header.ephemeralKey), peerIdentityKey: b64(header.identityKey), peerIdentityDhKey: b64(header.identityDhKey) } }, ops }
  }

  /** Remember a peer's identity keys; warn when they differ from the ones first seen. */
  private async notePeer (peer: string, identityKey: Uint8Array, identityDhKey: Uint8Array): Promise<void> {
    const now = JSON.stringify({ ik: b64(identityKey), dh: b64(identityDhKey) })
    const before = await this.sub.get(`peer!${this.me}!${peer}`)
    await this.sub.put(`peer!${this.me}!${peer}`, now)
    if (before != null && before !== now) {
      const chat = this.chatFor(peer, peer)
      log('%s: the identity keys of %s changed', this.ctx.handle, peer)
      chat.emit('identity-changed', { peer, safetyNumber: this.safetyNumberWith(peer, identityKey) })
      this.ctx.emit('error', new IdentityChangedError(peer))
    }
  }

  /** The safety number of this device and a peer (its Ed25519 identity key; the handle is the stable id). */
  safetyNumberWith (peer: string, peerIdentityKey: Uint8Array): SafetyNumber {
    return safetyNumber({ identityKey: this.ctx.identity.publicKey, id: this.me }, { identityKey: peerIdentityKey, id: peer })
  }

  /** The peer's identity key as this device knows it. */
  async peerIdentity (peer: string): Promise<Uint8Array | undefined> {
    const raw = await this.sub.get(`peer!${this.me}!${peer}`)
    return raw == null ? undefined : unb64(JSON.parse(raw).ik)
  }

  /** This device's plaintext history of the chat with `peer`, oldest first. */
  async historyWith (peer: string): Promise<SecretMessage[]> {
    return this.history.list(peer)
  }

  // deleting delivered ciphertext at the servers

  private queueDelete (cursor: Uint8Array): void {
    this.deletions.push(cursor)
    this.deleteTimer ??= setTimeout(() => { void this.flushDeletes() }, DELETE_FLUSH_MS)
  }

  private async flushDeletes (): Promise<void> {
    if (this.deleteTimer != null) { clearTimeout(this.deleteTimer); this.deleteTimer = undefined }
    const cursors = this.deletions.splice(0, 1000)
    if (cursors.length === 0) return
    const auth = signReadAuth(deleteScope(this.me, cursors), this.ctx.identity)
    const owners = this.ctx.replication.placement.ownersOf(this.me)
    await Promise.allSettled(owners.map(async (o) => this.ctx.replication.call(o, { kind: StoreRequest.Kind.DELETE, mailbox: this.me, cursors: cursors as Array<Uint8Array<ArrayBuffer>>, auth })))
  }

  // plumbing

  private chatFor (peer: string, handle: string): SecretChat {
    let chat = this.chats.get(peer)
    if (chat == null) {
      chat = new SecretChat(this, peer, handle)
      this.chats.set(peer, chat)
    }
    return chat
  }

  private reject (reason: string, err: unknown): void {
    this.ctx.replication.context.reject(`secret-${reason}`)
    log('%s: secret message refused (%s): %s', this.ctx.handle, reason, (err as Error)?.message ?? err)
  }

  /** Run `fn` after everything queued for `key` (one session's operations never interleave). */
  private async serial<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve()
    const run = prev.catch(() => {}).then(fn)
    this.locks.set(key, run)
    try {
      return await run
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key)
    }
  }
}

/** A secret chat with one peer: send, receive ('message'), history, safety number. */
export class SecretChat extends EventEmitter<SecretChatEvents> {
  constructor (private readonly secrets: Secrets, readonly peerId: string, readonly peer: string) {
    super()
  }

  /** Encrypt and send; `ttlMs` sets a self-destruct timer (the plaintext is deleted that long after it is read). */
  async send (text: string, o: { ttlMs?: number } = {}): Promise<SendResult> {
    return this.secrets.send(this.peerId, text, o.ttlMs ?? 0)
  }

  /** This device's plaintext history of the chat, oldest first (servers have none). */
  async history (): Promise<SecretMessage[]> {
    return this.secrets.historyWith(this.peerId)
  }

  /** Mark a message read: starts its self-destruct timer. */
  async markRead (m: SecretMessage): Promise<void> {
    await this.secrets.markRead(m)
  }

  /** The safety number and key picture both people can compare. */
  async safetyNumber (): Promise<SafetyNumber> {
    const key = await this.secrets.peerIdentity(this.peerId)
    if (key == null) throw new MalformedSecretMessageError('no identity known for this peer yet')
    return this.secrets.safetyNumberWith(this.peerId, key)
  }

  toJSON (): { peer: string, peerId: string } {
    return { peer: this.peer, peerId: this.peerId }
  }
}
