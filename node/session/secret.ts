/**
 * Secret chats: end-to-end encrypted direct chats, bound to two devices (protocol/secret: X3DH, then the
 * Double Ratchet). Servers store and relay only SECRET envelopes — ratchet headers and ciphertext — in the
 * recipient's mailbox, and delete them when the recipient's device asks (after delivery) or at their
 * expiry. Everything secret stays on the device, in the node's own LevelDB (sublevel `secret`, through
 * one SecretStore, sealed by the user's vault when it has a passphrase): the device's keys
 * (device-keys.ts), its ratchet sessions (secret-ratchets.ts), the peers' identity keys (secret-peers.ts) and the
 * plaintext history (secret-history.ts). Starting sessions is secret-initiation.ts; reading a message,
 * secret-receive.ts.
 *
 * A session's state is written before its ciphertext leaves the device and after each message is
 * decrypted, so a restart neither reuses a message key nor loses one. Every public method checks its
 * arguments first (secret-arguments.ts: `InvalidOptionError` naming the argument).
 */

import { PendingDeletions } from './secret-deletions.js'
import { EventEmitter } from 'node:events'
import { logger } from '@libp2p/logger'
import { Envelope, userIdOf } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { SecretBody, SecretPlaintext } from '../../protocol/pb/secret.js'
import { SessionStateError, safetyNumber, type SafetyNumber } from '../../protocol/secret/index.js'
import { cursorOf } from '../../protocol/mailbox.js'
import { unb64 } from './base64.js'
import { DeviceKeys } from './device-keys.js'
import type { Lookups, Outbox, Owners, Rejections, SessionEvents, SessionState, Signer, Storage } from './ports.js'
import type { SendResult } from './events.js'
import {
  requireBytes, requireHandle, requireIds, requireMessage, requireSecretEnvelope, requireSendOptions, requireText,
  requireTtl, requireUserId
} from './secret-arguments.js'
import {
  DEFAULT_DELETE_FLUSH_MS, DEFAULT_MAINTENANCE_INTERVAL_MS, DEFAULT_MAX_BUNDLE_AGE_MS, DEFAULT_MAX_PREVIOUS_SESSIONS,
  DEFAULT_PREKEY_CHECK_INTERVAL_MS, UNDELIVERED_TTL_MS
} from './secret-constants.js'
import { IdentityChangedError } from './secret-errors.js'
import { SecretHistory, type HistoryEntry, type SecretMessage } from './secret-history.js'
import { Initiations } from './secret-initiation.js'
import { PeerIdentities } from './secret-peers.js'
import { SecretReceiver } from './secret-receive.js'
import { RatchetStore } from './secret-ratchets.js'
import { SecretStore } from './secret-store.js'
import { Periodic } from '../timers/periodic.js'
import { everyTick } from './ticker.js'

export type { SecretMessage } from './secret-history.js'
export { MAX_TTL_MS, UNDELIVERED_TTL_MS } from './secret-constants.js'

const log = logger('chorus:secret')

/** Events of one secret chat. */
export interface SecretChatEvents {
  message: [SecretMessage]
  /** the peer's identity keys differ from the ones first seen: compare safety numbers again */
  'identity-changed': [{ peer: string, safetyNumber: SafetyNumber }]
  /** a self-destructing message's plaintext was destroyed: deleted, and compacted out of the database's files */
  expired: [{ id: string }]
}

/** Options of a user's secret chats (tests shorten them; a user gets the defaults). */
export interface SecretsInit {
  /** the oldest signed prekey accepted in a fetched bundle @default DEFAULT_MAX_BUNDLE_AGE_MS */
  maxBundleAgeMs?: number
  /** sessions kept per peer besides the one this device sends with @default DEFAULT_MAX_PREVIOUS_SESSIONS */
  maxPreviousSessions?: number
  /** ms since the epoch @default the mesh's time (`Owners.now`) */
  now?: () => number
}

/** What a user's secret chats use of the session (ports.ts). */
export interface SecretsComponents {
  signer: Pick<Signer, 'handle' | 'userId' | 'identity' | 'sign'>
  outbox: Pick<Outbox, 'send'>
  lookups: Lookups
  rejections: Rejections
  /** the sealed `secret` sublevel, its compaction, and the `deletions` sublevel */
  storage: Storage
  /** to publish prekeys at, fetch peers' bundles from, and delete delivered ciphertext at */
  owners: Owners
  events: Pick<SessionEvents, 'emit'>
  session: SessionState
}

/** The secret chats of one user on this device. */
export class Secrets {
  private readonly chats = new Map<string, SecretChat>()
  private readonly store: SecretStore
  private readonly ratchets: RatchetStore
  private readonly keys: DeviceKeys
  private readonly history: SecretHistory
  private readonly peers: PeerIdentities
  private readonly initiations: Initiations
  private readonly receiver: SecretReceiver
  private readonly locks = new Map<string, Promise<unknown>>()
  private readonly now: () => number
  /** the maintenance runs (self-destruct compactions take a while): one at a time, the last awaited by close */
  private upkeep?: Periodic
  /** stops this session's place in the process's shared 1 s tick (ticker.ts) */
  private stopTicking?: () => void
  private readonly deletions: PendingDeletions
  private deleteTimer?: NodeJS.Timeout
  private readonly me: string

  constructor (private readonly c: SecretsComponents, init: SecretsInit = {}) {
    this.me = c.signer.userId
    // the mesh's time, as the owners judge prekey uploads and as envelopes are stamped
    this.now = init.now ?? (() => c.owners.now())
    this.store = new SecretStore(c.storage.secretLevel(), c.storage.compactRange)
    this.keys = new DeviceKeys({
      userId: this.me,
      identity: c.signer.identity,
      store: this.store,
      owners: c.owners,
      now: this.now
    })
    this.ratchets = new RatchetStore(this.store, this.me, init.maxPreviousSessions ?? DEFAULT_MAX_PREVIOUS_SESSIONS)
    this.history = new SecretHistory(
      this.store,
      this.me,
      (peer, id) => { this.chats.get(peer)?.emit('expired', { id }) },
      this.now
    )
    this.peers = new PeerIdentities(this.store, this.me)
    this.initiations = new Initiations({
      keys: this.keys,
      store: this.store,
      owners: c.owners,
      now: this.now,
      maxBundleAgeMs: init.maxBundleAgeMs ?? DEFAULT_MAX_BUNDLE_AGE_MS
    })
    this.deletions = new PendingDeletions({
      storage: c.storage,
      userId: this.me,
      identity: c.signer.identity,
      owners: c.owners
    })
    this.receiver = new SecretReceiver({
      ratchets: this.ratchets,
      initiations: this.initiations,
      history: this.history,
      peers: this.peers,
      toMessage: async (env) => this.c.lookups.toMessage(env),
      reject: (reason, err) => { this.reject(reason, err) },
      now: this.now
    })
  }

  /** Load (or create) this device's secret-chat keys: before the first sync, which may bring initiations. */
  async load (): Promise<void> {
    await this.keys.load()
  }

  /** Make sure this device's prekeys are published, then keep them supplied and run self-destruct timers. */
  async start (): Promise<void> {
    await this.load()
    await this.keys.maintain(true).catch((err: Error) => { log('publishing prekeys of %s failed (retried later): %s', this.c.signer.handle, err.message) })
    const upkeep = new Periodic(async () => {
      await this.maintain()
    }, { intervalMs: DEFAULT_MAINTENANCE_INTERVAL_MS, log, name: 'secret maintenance' })
    this.upkeep = upkeep
    // the shared tick asks, without a read, whether anything is due; an idle session costs a comparison
    this.stopTicking = everyTick(DEFAULT_MAINTENANCE_INTERVAL_MS, () => {
      if (this.maintenanceDue()) void upkeep.run()
    })
  }

  async close (): Promise<void> {
    this.stopTicking?.()
    this.stopTicking = undefined
    await this.upkeep?.idle()
    await Promise.allSettled([...this.locks.values()])
    // sessions still being written reach the disk before the database closes
    for (let i = 0; i < 100 && this.ratchets.writing; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await this.flushDeletes().catch(() => {})
  }

  /**
   * The secret chat with `handle` (or a user id): the stored session, or a new one from the peer's published prekeys.
   */
  async open (handle: string): Promise<SecretChat> {
    requireHandle('handle', handle)
    const ref = await this.c.lookups.resolve(handle)
    let chat = this.chats.get(ref.userId)
    if (chat != null) return chat
    await this.serial(ref.userId, async () => {
      if (await this.ratchets.load(ref.userId) != null) return
      const { session, record, bundle } = await this.initiations.initiate(ref.userId, ref.publicKey)
      const noted = await this.peers.note(ref.userId, bundle.identityKey, bundle.identityDhKey)
      await this.ratchets.replace(ref.userId, undefined, { session, record }, noted.ops, this.now())
      if (noted.changed) this.identityChanged(ref.userId, ref.handle, bundle.identityKey)
    })
    chat = this.chatFor(ref.userId, ref.handle)
    return chat
  }

  /** Secret chats this device has a session for (the peers' user ids). */
  async list (): Promise<string[]> {
    const out: string[] = []
    for await (const key of this.store.keys({ gt: `sess!${this.me}!`, lt: `sess!${this.me}!\xff` })) out.push(key.slice(key.lastIndexOf('!') + 1))
    return out
  }

  /** A SECRET envelope from this user's mailbox (either path, exactly once); true when it decrypted. */
  async handle (env: Envelope): Promise<boolean> {
    requireSecretEnvelope('env', env)
    const peer = userIdOf(env.senderKey)
    // decryption is serialised per peer; waiting for the disk is not (writes coalesce, in order)
    const done = await this.serial(peer, async () => this.receiver.receive(env, peer))
    if (done == null) return false
    await done.saved
    if (done.identityChanged) this.identityChanged(peer, done.message.from, env.senderKey)
    this.queueDelete(cursorOf(env))
    this.chatFor(peer, done.message.from).emit('message', done.message)
    this.c.events.emit('message', done.message)
    return true
  }

  /** A read receipt from `peer` for messages of ours (`ids`, hex): start their self-destruct timers on this side. */
  async onRead (peer: string, ids: string[]): Promise<void> {
    requireUserId('peer', peer)
    requireIds('ids', ids)
    for (const id of ids) await this.history.startTimer(peer, id, false)
  }

  /** Mark a secret message read: starts its self-destruct timer here. */
  async markRead (m: SecretMessage): Promise<void> {
    const { id, fromId } = requireMessage('message', m)
    await this.history.startTimer(fromId, id, true)
  }

  /**
   * Encrypt and send one message to `peer` (a user id); the new state is on disk before the envelope
   * leaves. Only the encryption is serialised per peer: sends are stored in parallel, and the ratchet
   * takes them in any order.
   */
  async send (peer: string, text: string, ttlMs: number): Promise<SendResult> {
    requireUserId('peer', peer)
    requireText('text', text)
    requireTtl('ttlMs', ttlMs)
    const { env, saved } = await this.serial(peer, async () => {
      const active = await this.ratchets.load(peer)
      if (active == null) throw new SessionStateError(`no secret session with ${peer}: open the chat first`)
      const sealed = active.session.encrypt(SecretPlaintext.encode({ text, ttlMs }))
      const body = SecretBody.encode({
        initial: active.record.initial != null
          ? unb64(active.record.initial) as Uint8Array<ArrayBuffer>
          : new Uint8Array(0),
        header: sealed.header as Uint8Array<ArrayBuffer>,
        ciphertext: sealed.ciphertext as Uint8Array<ArrayBuffer>,
        expiresAt: ttlMs > 0 ? BigInt(this.now() + UNDELIVERED_TTL_MS) : 0n
      })
      const env = this.c.signer.sign(Envelope.Kind.SECRET, peer, body)
      const entry: HistoryEntry = {
        id: Buffer.from(env.id).toString('hex'),
        from: this.c.signer.handle,
        fromId: this.me,
        text,
        timestamp: hlcMillis(env.timestamp),
        ttlMs,
        expiresAt: 0,
        outgoing: true
      }
      return { env, saved: this.ratchets.save(peer, [active], this.history.ops(peer, env, entry)) }
    })
    await saved
    return this.c.outbox.send(env)
  }

  /** The safety number of this device and a peer (its Ed25519 identity key; the handle is the stable id). */
  safetyNumberWith (peer: string, peerIdentityKey: Uint8Array): SafetyNumber {
    requireUserId('peer', peer)
    requireBytes('peerIdentityKey', peerIdentityKey, 32)
    return safetyNumber(
      { identityKey: this.c.signer.identity.publicKey, id: this.me },
      { identityKey: peerIdentityKey, id: peer }
    )
  }

  /** The peer's identity key as this device knows it. */
  async peerIdentity (peer: string): Promise<Uint8Array | undefined> {
    requireUserId('peer', peer)
    return this.peers.identityKey(peer)
  }

  /** This device's plaintext history of the chat with `peer` (a user id), oldest first. */
  async historyWith (peer: string): Promise<SecretMessage[]> {
    requireUserId('peer', peer)
    return this.history.list(peer)
  }

  /** Upkeep (the `upkeep` loop's task, one run at a time): self-destruct, unconfirmed deletions, prekeys. */
  /** Is a self-destruct deadline, an unconfirmed deletion or the prekey check due? */
  private maintenanceDue (): boolean {
    if (this.c.session.closed) return false
    return this.history.due() || this.deletions.pending ||
      this.now() - this.keys.checkedAt > DEFAULT_PREKEY_CHECK_INTERVAL_MS
  }

  private async maintain (): Promise<void> {
    if (this.c.session.closed) return
    try {
      await this.history.expire()
      // deletions no quorum of owners confirmed yet (busy, down, or this device restarted) go again
      await this.flushDeletes()
      if (this.now() - this.keys.checkedAt > DEFAULT_PREKEY_CHECK_INTERVAL_MS) {
        await this.serial('#prekeys', async () => { await this.keys.maintain(false) })
      }
    } catch (err: any) {
      log('secret maintenance of %s: %s', this.c.signer.handle, err.message)
    }
  }

  private identityChanged (peer: string, handle: string, identityKey: Uint8Array): void {
    log('%s: the identity keys of %s changed', this.c.signer.handle, peer)
    this.chatFor(peer, handle).emit('identity-changed', { peer, safetyNumber: this.safetyNumberWith(peer, identityKey) })
    this.c.events.emit('error', new IdentityChangedError(peer))
  }

  // deleting delivered ciphertext at the servers

  private queueDelete (cursor: Uint8Array): void {
    void this.deletions.add(cursor).then(() => {
      this.deleteTimer ??= setTimeout(() => { void this.flushDeletes() }, DEFAULT_DELETE_FLUSH_MS)
    }, (err: Error) => { log('%s: remembering a deletion failed: %s', this.c.signer.handle, err.message) })
  }

  private async flushDeletes (): Promise<void> {
    if (this.deleteTimer != null) { clearTimeout(this.deleteTimer); this.deleteTimer = undefined }
    await this.deletions.flush()
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
    this.c.rejections.reject(`secret-${reason}`)
    log('%s: secret message refused (%s): %s', this.c.signer.handle, reason, (err as Error)?.message ?? err)
  }

  /** Run `fn` after everything queued for `key` (one peer's sessions are never changed by two at once). */
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
    requireText('text', text)
    const { ttlMs } = requireSendOptions('options', o)
    return this.secrets.send(this.peerId, text, ttlMs ?? 0)
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
    if (key == null) throw new SessionStateError('no identity known for this peer yet')
    return this.secrets.safetyNumberWith(this.peerId, key)
  }

  toJSON (): { peer: string, peerId: string } {
    return { peer: this.peer, peerId: this.peerId }
  }
}
