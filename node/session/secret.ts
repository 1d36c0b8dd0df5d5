/**
 * Secret chats: end-to-end encrypted direct chats, bound to two devices (protocol/secret: X3DH, then the
 * Double Ratchet). Servers store and relay only SECRET envelopes — ratchet headers and ciphertext — in the
 * recipient's mailbox, and delete them when the recipient's device asks (after delivery) or at their
 * expiry. Everything secret stays on the device, in the node's own LevelDB (sublevel `secret`):
 *
 *   `dh!<me>`                  this device's X25519 identity key and its signature (JSON)
 *   `spk!<me>!<id hex8>`       signed prekeys (the current and the previous, for initiations in flight)
 *   `otk!<me>!<id hex8>`       one-time prekeys not yet used (deleted on first use: forward secrecy)
 *   `meta!<me>`                next prekey ids, current signed prekey, last rotation (JSON)
 *   `sess!<me>!<peer>`         the ratchet state with a peer, and the session's X3DH facts (JSON)
 *   `peer!<me>!<peer>`         the peer's identity keys as first seen (for the change warning)
 *   `hist!<me>!<peer>!<cursor>` the plaintext history of the chat, with self-destruct times
 *   `hid!<me>!<peer>!<id>`     → the history key of a message, by envelope id
 *   `hexp!<me>!<ms hex12>!<history key>` self-destruct deadlines, in time order
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
import { signPrekeyUpload } from '../../protocol/prekeys.js'
import { deleteScope, signReadAuth } from '../../protocol/read-auth.js'
import {
  RatchetSession, createSecretIdentity, decodeBundle, decodeInitialHeader, encodeBundle, encodeInitialHeader, generateOneTimePrekeys,
  generateSignedPrekey, initiate, prekeyBundle, respond, safetyNumber, verifyBundle, BadBundleSignatureError, PrekeyUsedError,
  SecretChatError, MalformedSecretMessageError, type InitialHeader, type OneTimePrekey, type SafetyNumber, type SecretIdentity, type SignedPrekey
} from '../../protocol/secret/index.js'
import { NoServersError, QuorumError } from '../replication/errors.js'
import { cursorOf } from '../store/mailbox-store.js'
import type { SessionContext } from './context.js'
import type { Message, SendResult } from './events.js'

const log = logger('chorus:secret')

/** One-time prekeys uploaded in a batch; a refill happens when fewer than REFILL_BELOW are left at the owners. */
export const ONE_TIME_BATCH = 100
export const REFILL_BELOW = 25
/** A signed prekey is replaced after this long (Signal: weekly to monthly). */
export const SIGNED_PREKEY_ROTATION_MS = 7 * 24 * 3600_000
/** How long a self-destructing message waits at the servers for delivery before they delete it anyway. */
export const UNDELIVERED_TTL_MS = 7 * 24 * 3600_000
/** Longest self-destruct timer. */
export const MAX_TTL_MS = 7 * 24 * 3600_000
/** How often prekey supply and self-destruct timers are checked. */
const MAINTENANCE_INTERVAL_MS = 1000
const PREKEY_CHECK_INTERVAL_MS = 10 * 60_000
/** Deletions of delivered ciphertext are coalesced for this long. */
const DELETE_FLUSH_MS = 100

const hex8 = (n: number): string => n.toString(16).padStart(8, '0')
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'))

/** A decrypted secret message as the library hands it out (kind 'secret'). */
export interface SecretMessage extends Message {
  /** self-destruct timer: the plaintext is deleted this long after it is read (0: never) */
  ttlMs: number
}

/** Events of one secret chat. */
export interface SecretChatEvents {
  message: [SecretMessage]
  /** the peer's identity keys differ from the ones first seen: compare safety numbers again */
  'identity-changed': [{ peer: string, safetyNumber: SafetyNumber }]
  /** a self-destructing message's plaintext was deleted */
  expired: [{ id: string }]
}

interface SessionRecord {
  state: string
  /** our initial header, sent until the peer's first message arrives (initiator only) */
  initial?: string
  /** the ephemeral key of the initial header the session came from (both sides) */
  ephemeral: string
  peerIdentityKey: string
  peerIdentityDhKey: string
}

/** Coalesced writes of one session's state (see `saveSession`). */
interface SessionWriter {
  ops: any[]
  waiters: Array<{ resolve: () => void, reject: (err: Error) => void }>
  latest?: { session: RatchetSession, record: Omit<SessionRecord, 'state'> }
  running: boolean
}

interface HistoryEntry {
  id: string
  from: string
  fromId: string
  text: string
  timestamp: number
  ttlMs: number
  /** ms: when the plaintext goes (set when read, or when the peer's read receipt arrives) */
  expiresAt: number
  outgoing: boolean
}

/** The secret chats of one user on this device. */
export class Secrets {
  private readonly sub
  private readonly chats = new Map<string, SecretChat>()
  private readonly sessions = new Map<string, { session: RatchetSession, record: SessionRecord }>()
  private readonly writers = new Map<string, SessionWriter>()
  private identity?: SecretIdentity
  private readonly locks = new Map<string, Promise<unknown>>()
  private timer?: NodeJS.Timeout
  private lastPrekeyCheck = 0
  private deletions: Uint8Array[] = []
  private deleteTimer?: NodeJS.Timeout
  private readonly me: string

  constructor (private readonly ctx: SessionContext) {
    this.sub = ctx.db.sublevel<string, string>('secret', { valueEncoding: 'utf8' })
    this.me = ctx.userId
  }

  /** Load (or create) this device's secret-chat keys: before the first sync, which may bring initiations. */
  async load (): Promise<void> {
    this.identity ??= await this.loadIdentity()
  }

  /** Make sure this device's prekeys are published, then keep them supplied and run self-destruct timers. */
  async start (): Promise<void> {
    await this.load()
    await this.maintainPrekeys(true).catch((err: Error) => { log('publishing prekeys of %s failed (retried later): %s', this.ctx.handle, err.message) })
    this.timer = setInterval(() => { void this.maintain() }, MAINTENANCE_INTERVAL_MS)
    this.timer.unref()
  }

  async close (): Promise<void> {
    if (this.timer != null) clearInterval(this.timer)
    await Promise.allSettled([...this.locks.values()])
    // sessions still being written reach the disk before the database closes
    for (let i = 0; i < 100 && this.writers.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
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
    for (const id of ids) await this.startTimer(peer, id, false)
  }

  /** Mark a secret message read: starts its self-destruct timer here. */
  async markRead (m: SecretMessage): Promise<void> {
    await this.startTimer(m.fromId, m.id, true)
  }

  // device keys and prekeys

  private async loadIdentity (): Promise<SecretIdentity> {
    const raw = await this.sub.get(`dh!${this.me}`)
    if (raw != null) {
      const j = JSON.parse(raw)
      return { identityKey: this.ctx.identity, identityDhKey: { publicKey: unb64(j.pub), privateKey: unb64(j.priv) }, identityDhSignature: unb64(j.sig) }
    }
    const id = createSecretIdentity(this.ctx.identity)
    await this.sub.put(`dh!${this.me}`, JSON.stringify({ pub: b64(id.identityDhKey.publicKey), priv: b64(id.identityDhKey.privateKey), sig: b64(id.identityDhSignature) }))
    return id
  }

  private async meta (): Promise<{ nextSpk: number, nextOtk: number, spk: number, rotatedAt: number, published: number }> {
    const raw = await this.sub.get(`meta!${this.me}`)
    return raw != null ? JSON.parse(raw) : { nextSpk: 1, nextOtk: 1, spk: 0, rotatedAt: 0, published: 0 }
  }

  private async loadSignedPrekey (id: number): Promise<SignedPrekey | undefined> {
    const raw = await this.sub.get(`spk!${this.me}!${hex8(id)}`)
    if (raw == null) return undefined
    const j = JSON.parse(raw)
    return { id, keyPair: { publicKey: unb64(j.pub), privateKey: unb64(j.priv) }, signature: unb64(j.sig), createdAt: j.createdAt }
  }

  private async loadOneTimePrekey (id: number): Promise<OneTimePrekey | undefined> {
    const raw = await this.sub.get(`otk!${this.me}!${hex8(id)}`)
    if (raw == null) return undefined
    const j = JSON.parse(raw)
    return { id, keyPair: { publicKey: unb64(j.pub), privateKey: unb64(j.priv) } }
  }

  /**
   * Rotate the signed prekey when due (keeping the previous one for initiations still in flight), and
   * publish the bundle with fresh one-time prekeys when the owners run low (or `force`).
   */
  private async maintainPrekeys (force: boolean): Promise<void> {
    const identity = this.identity as SecretIdentity
    const m = await this.meta()
    const ops: any[] = []
    const now = Date.now()
    let fresh: OneTimePrekey[] = []
    if (m.spk === 0 || now - m.rotatedAt > SIGNED_PREKEY_ROTATION_MS) {
      const spk = generateSignedPrekey(identity, m.nextSpk, now)
      ops.push({ type: 'put', key: `spk!${this.me}!${hex8(spk.id)}`, value: JSON.stringify({ pub: b64(spk.keyPair.publicKey), priv: b64(spk.keyPair.privateKey), sig: b64(spk.signature), createdAt: spk.createdAt }) })
      // the one before the previous is no longer named by any bundle the owners hand out
      if (m.spk > 1) ops.push({ type: 'del', key: `spk!${this.me}!${hex8(m.spk - 1)}` })
      m.spk = spk.id
      m.nextSpk = spk.id + 1
      m.rotatedAt = now
      force = true
    }
    const spk = ops.length > 0 ? JSON.parse(ops[0].value) : undefined
    const current = spk != null ? { id: m.spk, keyPair: { publicKey: unb64(spk.pub), privateKey: unb64(spk.priv) }, signature: unb64(spk.sig), createdAt: spk.createdAt } : await this.loadSignedPrekey(m.spk)
    if (current == null) throw new Error('the current signed prekey is missing')
    if (m.published === 0 || force) {
      fresh = generateOneTimePrekeys(m.nextOtk, ONE_TIME_BATCH)
      m.nextOtk += ONE_TIME_BATCH
      for (const k of fresh) ops.push({ type: 'put', key: `otk!${this.me}!${hex8(k.id)}`, value: JSON.stringify({ pub: b64(k.keyPair.publicKey), priv: b64(k.keyPair.privateKey) }) })
    }
    // the private keys are on disk before anyone can be handed the public ones
    ops.push({ type: 'put', key: `meta!${this.me}`, value: JSON.stringify(m) })
    await this.sub.batch(ops)
    const remaining = await this.publish(prekeyBundle(identity, current), fresh)
    if (remaining < REFILL_BELOW && fresh.length === 0) await this.maintainPrekeys(true)
    m.published = Date.now()
    await this.sub.put(`meta!${this.me}`, JSON.stringify({ ...(await this.meta()), published: m.published }))
    this.lastPrekeyCheck = Date.now()
  }

  /** Upload to every owner of this user; resolves with the fewest one-time prekeys an owner reported. */
  private async publish (bundle: ReturnType<typeof prekeyBundle>, oneTime: OneTimePrekey[]): Promise<number> {
    const upload = signPrekeyUpload(this.ctx.identity, encodeBundle(bundle), oneTime.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })))
    const owners = this.ctx.replication.placement.ownersOf(this.me)
    if (owners.length === 0) throw new NoServersError()
    const answers = await Promise.allSettled(owners.map(async (o) => this.ctx.replication.call(o, { kind: StoreRequest.Kind.PREKEYS_PUT, prekeys: upload as Uint8Array<ArrayBuffer> })))
    const ok = answers.filter((a) => a.status === 'fulfilled').map((a) => (a as PromiseFulfilledResult<StoreResponse>).value.remaining)
    if (ok.length === 0) throw new QuorumError(`no owner of ${this.me} took the prekeys`)
    return Math.min(...ok)
  }

  private async maintain (): Promise<void> {
    if (this.ctx.closed) return
    try {
      await this.expireHistory()
      if (Date.now() - this.lastPrekeyCheck > PREKEY_CHECK_INTERVAL_MS) await this.serial('#prekeys', async () => { await this.maintainPrekeys(false) })
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
    const x = initiate(this.identity as SecretIdentity, bundle)
    const session = RatchetSession.initAlice(x.sharedKey, bundle.signedPrekey.publicKey, x.associatedData)
    await this.notePeer(peer, bundle.identityKey, bundle.identityDhKey)
    await this.saveSession(peer, session, {
      initial: b64(encodeInitialHeader(x.header)),
      ephemeral: b64(x.ephemeralPublic),
      peerIdentityKey: b64(bundle.identityKey),
      peerIdentityDhKey: b64(bundle.identityDhKey)
    })
  }

  /**
   * The session with `peer`: from memory, or from disk once. The object in memory is only ever changed by
   * operations that then save it (decrypt is transactional: a refused message leaves it as it was).
   */
  private async loadSession (peer: string): Promise<{ session: RatchetSession, record: SessionRecord } | undefined> {
    const cached = this.sessions.get(peer)
    if (cached != null) return cached
    const raw = await this.sub.get(`sess!${this.me}!${peer}`)
    if (raw == null) return undefined
    const record: SessionRecord = JSON.parse(raw)
    const loaded = { session: RatchetSession.deserialize(unb64(record.state)), record }
    this.sessions.set(peer, loaded)
    return loaded
  }

  /**
   * Store a session's state (and `extra` writes with it). Saves coalesce: while one write is on its way,
   * later saves of the same session wait and go together in the next, with the newest state — each
   * caller resolves once a write that includes its state is on disk.
   */
  private async saveSession (peer: string, session: RatchetSession, r: Omit<SessionRecord, 'state'>, extra: any[] = []): Promise<void> {
    this.sessions.set(peer, { session, record: r as SessionRecord })
    let w = this.writers.get(peer)
    if (w == null) { w = { ops: [], waiters: [], running: false }; this.writers.set(peer, w) }
    w.ops.push(...extra)
    w.latest = { session, record: r }
    const done = new Promise<void>((resolve, reject) => { w.waiters.push({ resolve, reject }) })
    if (!w.running) void this.drainWrites(peer, w)
    return done
  }

  private async drainWrites (peer: string, w: SessionWriter): Promise<void> {
    w.running = true
    while (w.waiters.length > 0 && w.latest != null) {
      const waiters = w.waiters.splice(0)
      const ops = w.ops.splice(0)
      const record: SessionRecord = { ...w.latest.record, state: b64(w.latest.session.serialize()) }
      try {
        await this.sub.batch([{ type: 'put', key: `sess!${this.me}!${peer}`, value: JSON.stringify(record) }, ...ops])
        for (const x of waiters) x.resolve()
      } catch (err: any) {
        // memory must not run ahead of the disk: reload from it next time
        this.sessions.delete(peer)
        for (const x of waiters) x.reject(err)
      }
    }
    w.running = false
    if (w.waiters.length === 0) this.writers.delete(peer)
  }

  /**
   * Encrypt and send one message to `peer`; the new state is on disk before the envelope leaves. Only the
   * encryption is serialised per session: sends are stored in parallel, and the ratchet takes them in any
   * order.
   */
  async send (peer: string, text: string, ttlMs: number): Promise<SendResult> {
    if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > MAX_TTL_MS) throw new RangeError(`ttlMs must be 0..${MAX_TTL_MS}`)
    const { env, saved } = await this.serial(peer, async () => {
      const loaded = await this.loadSession(peer)
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
      return { env, saved: this.saveSession(peer, session, record, this.historyOps(peer, env, entry)) }
    })
    await saved
    return this.ctx.send(env)
  }

  private histKey (peer: string, env: Envelope): string {
    return `hist!${this.me}!${peer}!${Buffer.from(cursorOf(env)).toString('hex')}`
  }

  /** The writes that put a message in the chat's history (and its id index). */
  private historyOps (peer: string, env: Envelope, entry: HistoryEntry): any[] {
    const key = this.histKey(peer, env)
    return [{ type: 'put', key, value: JSON.stringify(entry) }, { type: 'put', key: `hid!${this.me}!${peer}!${entry.id}`, value: key }]
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
    let loaded = await this.loadSession(peer)
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
      this.reject(err instanceof SecretChatError ? err.code : 'malformed', err)
      return undefined
    }
    // the peer answered: our initiation is done, stop sending the initial header
    if (loaded.record.initial != null && loaded.record.peerIdentityKey === b64(env.senderKey) && body.initial.byteLength === 0) delete loaded.record.initial
    const ttlMs = Math.min(plain.ttlMs, MAX_TTL_MS)
    const m = await this.ctx.toMessage(env)
    if (m == null) return undefined
    const message: SecretMessage = { ...m, kind: 'secret', text: plain.text, ttlMs }
    const entry: HistoryEntry = { id: m.id, from: m.from, fromId: peer, text: plain.text, timestamp: m.timestamp, ttlMs, expiresAt: 0, outgoing: false }
    extra.push(...this.historyOps(peer, env, entry))
    const saved = this.saveSession(peer, loaded.session, loaded.record, extra)
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
    const spk = await this.loadSignedPrekey(header.signedPrekeyId)
    if (spk == null) throw new PrekeyUsedError(`signed prekey ${header.signedPrekeyId} is no longer held`)
    const otk = header.oneTimePrekeyId != null ? await this.loadOneTimePrekey(header.oneTimePrekeyId) : undefined
    const x = respond(this.identity as SecretIdentity, spk, otk, header)
    const session = RatchetSession.initBob(x.sharedKey, spk.keyPair, x.associatedData)
    await this.notePeer(peer, header.identityKey, header.identityDhKey)
    const ops: any[] = otk != null ? [{ type: 'del', key: `otk!${this.me}!${hex8(otk.id)}` }] : []
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

  // history and self-destruct

  async history (peer: string): Promise<SecretMessage[]> {
    const out: SecretMessage[] = []
    for await (const [key, value] of this.sub.iterator({ gt: `hist!${this.me}!${peer}!`, lt: `hist!${this.me}!${peer}!\xff` })) {
      const e: HistoryEntry = JSON.parse(value)
      out.push({ id: e.id, from: e.from, fromId: e.fromId, to: e.outgoing ? peer : this.me, text: e.text, timestamp: e.timestamp, kind: 'secret', cursor: key.slice(key.lastIndexOf('!') + 1), ttlMs: e.ttlMs })
    }
    return out
  }

  private async startTimer (peer: string, id: string, reading: boolean): Promise<void> {
    const key = await this.sub.get(`hid!${this.me}!${peer}!${id}`)
    if (key == null) return
    const raw = await this.sub.get(key)
    if (raw == null) return
    const e: HistoryEntry = JSON.parse(raw)
    if (e.ttlMs === 0 || e.expiresAt !== 0 || e.outgoing === reading) return
    e.expiresAt = Date.now() + e.ttlMs
    await this.sub.batch([
      { type: 'put', key, value: JSON.stringify(e) },
      { type: 'put', key: `hexp!${this.me}!${e.expiresAt.toString(16).padStart(12, '0')}!${key}`, value: '' }
    ])
  }

  /** Delete the plaintext of every message whose self-destruct deadline has passed. */
  private async expireHistory (): Promise<void> {
    const now = Date.now()
    const prefix = `hexp!${this.me}!`
    const ops: Array<{ type: 'del', key: string }> = []
    const gone: Array<{ peer: string, id: string }> = []
    for await (const key of this.sub.keys({ gt: prefix, lt: `${prefix}${now.toString(16).padStart(12, '0')}!\xff`, limit: 1000 })) {
      const hist = key.slice(prefix.length + 13)
      const raw = await this.sub.get(hist)
      ops.push({ type: 'del', key })
      if (raw == null) continue
      const e: HistoryEntry = JSON.parse(raw)
      const peer = hist.split('!')[2]
      ops.push({ type: 'del', key: hist }, { type: 'del', key: `hid!${this.me}!${peer}!${e.id}` })
      gone.push({ peer, id: e.id })
    }
    if (ops.length === 0) return
    await this.sub.batch(ops)
    for (const d of gone) this.chats.get(d.peer)?.emit('expired', { id: d.id })
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
    return this.secrets.history(this.peerId)
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

/** The peer has published no prekeys (it never opened a session on a device that supports secret chats). */
export class NoPrekeysError extends SecretChatError {
  override readonly name = 'NoPrekeysError'
  override readonly code = 'ERR_NO_PREKEYS'
  constructor (peer: string, cause?: Error) { super(`no prekeys published for ${peer}${cause != null ? `: ${cause.message}` : ''}`) }
}

/** A peer's identity keys changed since they were first seen: verify the safety number again. */
export class IdentityChangedError extends SecretChatError {
  override readonly name = 'IdentityChangedError'
  override readonly code = 'ERR_IDENTITY_CHANGED'
  constructor (readonly peer: string) { super(`the identity keys of ${peer} changed: compare safety numbers again`) }
}
