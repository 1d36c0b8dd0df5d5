/**
 * One incoming SECRET envelope, from its bytes to the message shown. Every check that needs no key runs
 * first: the body decodes, an initial header is well formed and names the envelope's signer, the
 * sender's handle holds. Then the session that can read it is found (by its initiation's ephemeral key,
 * or the one this device sends with, then the ones kept to decrypt) or started from its initiation
 * (secret-initiation.ts); the AEAD opens; the plaintext decodes. Only then does the ratchet move
 * (`open`, then `commit`) and the new state go to disk with the message's history. A message refused at
 * any step leaves every session as it was, and nothing is written.
 */

import type { Envelope } from '../../protocol/envelope.js'
import { SecretBody, SecretPlaintext } from '../../protocol/pb/secret.js'
import { BadBundleSignatureError, SecretChatError, decodeInitialHeader, type InitialHeader, type OpenedMessage } from '../../protocol/secret/index.js'
import { b64 } from './base64.js'
import type { Message } from './events.js'
import { MAX_TTL_MS } from './secret-constants.js'
import type { HistoryEntry, SecretHistory, SecretMessage } from './secret-history.js'
import { supersedes, type Initiations, type StartedSession } from './secret-initiation.js'
import type { PeerIdentities } from './secret-peers.js'
import type { RatchetStore, StoredSession } from './secret-ratchets.js'

/** What receiving uses. */
export interface ReceiverComponents {
  ratchets: RatchetStore
  initiations: Initiations
  history: SecretHistory
  peers: PeerIdentities
  /** the display form of an envelope; `undefined` for a forged handle (counted where it is found) */
  toMessage: (env: Envelope) => Promise<Message | undefined>
  /** count a refusal (`chorus_rejected_total{reason="secret-<reason>"}`) and log it */
  reject: (reason: string, err: unknown) => void
  /** ms since the epoch */
  now: () => number
}

/** A message accepted: what to show once `saved` resolves. */
export interface Received {
  /** resolves once the sessions and the history are on disk */
  saved: Promise<void>
  message: SecretMessage
  /** the peer's identity keys differ from the ones seen before */
  identityChanged: boolean
}

/** A message opened under one of the candidate sessions, not yet committed. */
interface Decrypted { session: StoredSession, opened: OpenedMessage, plaintext: SecretPlaintext }

export class SecretReceiver {
  constructor (private readonly c: ReceiverComponents) {}

  /** Accept `env` from `peer`, or refuse it (counted, logged) and answer `undefined`. */
  async receive (env: Envelope, peer: string): Promise<Received | undefined> {
    const parsed = this.parse(env)
    if (parsed == null) return undefined
    const { body, header } = parsed
    const shown = await this.c.toMessage(env)
    if (shown == null) return undefined

    const active = await this.c.ratchets.load(peer)
    let started: StartedSession | undefined
    let candidates: () => AsyncGenerator<StoredSession>
    if (header != null) {
      let only = await this.c.ratchets.byEphemeral(peer, b64(header.ephemeralKey))
      if (only == null) {
        try {
          started = await this.c.initiations.respond(env, header)
        } catch (err) {
          this.c.reject(err instanceof SecretChatError ? err.reason : 'bad-initiation', err)
          return undefined
        }
        only = { key: '', session: started.session, record: started.record }
      }
      const session = only
      candidates = async function * () { yield session }
    } else {
      // the previous sessions are read only when the one this device sends with cannot open it
      const sessions = this.c.ratchets
      candidates = async function * () {
        if (active != null) yield active
        yield * await sessions.previous(peer)
      }
    }
    const read = await this.decrypt(body, candidates)
    if (read == null) return undefined

    read.opened.commit()
    const ttlMs = Math.min(read.plaintext.ttlMs, MAX_TTL_MS)
    const message: SecretMessage = { ...shown, kind: 'secret', text: read.plaintext.text, ttlMs }
    const entry: HistoryEntry = {
      id: shown.id,
      from: shown.from,
      fromId: peer,
      text: message.text,
      timestamp: shown.timestamp,
      ttlMs,
      expiresAt: 0,
      outgoing: false
    }
    const extra = this.c.history.ops(peer, env, entry)
    if (started != null && header != null) {
      const noted = await this.c.peers.note(peer, header.identityKey, header.identityDhKey)
      extra.push(...started.ops, ...noted.ops)
      const next = { session: started.session, record: started.record }
      const saved = supersedes(active?.record, started.record.ephemeral, env.timestamp)
        ? this.c.ratchets.replace(peer, active, next, extra, this.c.now())
        : this.c.ratchets.keep(peer, next, extra, this.c.now())
      return { saved, message, identityChanged: noted.changed }
    }
    const target = read.session
    target.record.peerSince ??= env.timestamp.toString()
    // the peer answered our initiation: stop sending the initial header
    if (target.key === active?.key && header == null) delete target.record.initial
    return { saved: this.c.ratchets.save(peer, [target], extra), message, identityChanged: false }
  }

  /** The body and initial header, checked; `undefined` (refused) when either is malformed or names another signer. */
  private parse (env: Envelope): { body: SecretBody, header?: InitialHeader } | undefined {
    let body: SecretBody
    let header: InitialHeader | undefined
    try {
      body = SecretBody.decode(env.body)
      if (body.header.byteLength === 0 || body.ciphertext.byteLength === 0) throw new Error('empty header or ciphertext')
      if (body.initial.byteLength > 0) header = decodeInitialHeader(body.initial)
    } catch (err) {
      this.c.reject('malformed', err)
      return undefined
    }
    if (header != null && Buffer.compare(Buffer.from(header.identityKey), Buffer.from(env.senderKey)) !== 0) {
      this.c.reject('bad-bundle-signature', new BadBundleSignatureError('the initiation names another identity than its signer'))
      return undefined
    }
    return { body, header }
  }

  /**
   * Open the message with the first candidate session it authenticates under, and decode its plaintext.
   * A message that authenticates but does not decode is refused (it is the right session's, and bad). When
   * none opens it the refusal is the first candidate's (the session this device sends with, if any).
   */
  private async decrypt (
    body: SecretBody,
    candidates: () => AsyncGenerator<StoredSession>
  ): Promise<Decrypted | undefined> {
    let first: unknown
    for await (const session of candidates()) {
      let opened: OpenedMessage
      try {
        opened = session.session.open(body.header, body.ciphertext)
      } catch (err) {
        first ??= err
        continue
      }
      try {
        return { session, opened, plaintext: SecretPlaintext.decode(opened.plaintext) }
      } catch (err) {
        this.c.reject('malformed', err)
        return undefined
      }
    }
    if (first == null) this.c.reject('no-session', new Error('no session to read it with'))
    else this.c.reject(first instanceof SecretChatError ? first.reason : 'malformed', first)
    return undefined
  }
}
