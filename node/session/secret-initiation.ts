/**
 * Starting secret sessions (X3DH, protocol/secret/x3dh.ts), on both sides, and which session a device
 * sends with when there is more than one.
 *
 * Initiating: claim the peer's bundle from its owners (one one-time prekey each claim), check it is of
 * the user the handle names, signed, and not older than DEFAULT_MAX_BUNDLE_AGE_MS (its `createdAt` is
 * signed), and try the next owner when it is not.
 *
 * Responding: an initiation is accepted once per (signed prekey id, ephemeral key) pair. The pair is
 * remembered (`x3dh!…`, device-keys.ts) with the session's first save, for as long as the signed prekey
 * is kept; a first message replayed later (by a malicious owner, or from an old copy of the mailbox) is
 * an `InitiationReplayError` and cannot start the session again from an old state.
 *
 * Which session sends (`supersedes`): a new initiation from the peer replaces the session this device
 * sends with when the peer sent it after it began using that session (a peer that started again), or
 * when the two devices initiated at once and neither has heard from the other yet: then both keep the
 * one whose ephemeral key is lower, so they end on the same session. The other is kept to decrypt what
 * was sent under it (secret-ratchets.ts).
 */

import { sameBytes } from '../../protocol/bytes.js'
import type { Envelope } from '../../protocol/envelope.js'
import { userIdOf } from '../../protocol/envelope.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import {
  BadBundleSignatureError, InitiationReplayError, PrekeyUsedError, RatchetSession, SecretChatError, checkBundleAge,
  decodeBundle,
  encodeInitialHeader, initiate, respond, verifyBundle, type InitialHeader, type PrekeyBundle
} from '../../protocol/secret/index.js'
import { NoServersError } from '../replication/errors.js'
import { b64, unb64 } from './base64.js'
import type { DeviceKeys } from './device-keys.js'
import type { Owners } from './ports.js'
import { NoPrekeysError } from './secret-errors.js'
import type { SessionRecord } from './secret-ratchets.js'
import type { SecretOp, SecretStore } from './secret-store.js'

/** What starting sessions uses. */
export interface InitiationComponents {
  keys: DeviceKeys
  store: SecretStore
  owners: Pick<Owners, 'ownersOf' | 'call'>
  /** ms since the epoch */
  now: () => number
  /** the oldest signed prekey accepted in a fetched bundle */
  maxBundleAgeMs: number
}

/** A session just made, not yet stored, and the writes that go with its first save. */
export interface StartedSession { session: RatchetSession, record: SessionRecord, ops: SecretOp[] }

export class Initiations {
  constructor (private readonly c: InitiationComponents) {}

  /** Claim `peer`'s prekeys (one coordinating owner hands out a one-time prekey once) and run X3DH as the initiator. */
  async initiate (
    peer: string,
    peerKey: Uint8Array
  ): Promise<{ session: RatchetSession, record: SessionRecord, bundle: PrekeyBundle }> {
    const bundle = await this.claimBundle(peer, peerKey)
    const x = initiate(this.c.keys.identity, bundle)
    return {
      session: RatchetSession.initAlice(x.sharedKey, bundle.signedPrekey.publicKey, x.associatedData),
      record: {
        state: '',
        initial: b64(encodeInitialHeader(x.header)),
        ephemeral: b64(x.ephemeralPublic),
        peerIdentityKey: b64(bundle.identityKey),
        peerIdentityDhKey: b64(bundle.identityDhKey)
      },
      bundle
    }
  }

  /**
   * The peer's bundle from the first owner whose answer holds: of the user `peerKey` names, signed by it,
   * recent enough. Throws the last refusal (`BadBundleSignatureError`, `StaleBundleError`) when no owner's
   * bundle holds, `NoPrekeysError` when none answered with one.
   */
  private async claimBundle (peer: string, peerKey: Uint8Array): Promise<PrekeyBundle> {
    const owners = this.c.owners.ownersOf(peer)
    if (owners.length === 0) throw new NoServersError()
    let refusal: SecretChatError | undefined
    let lastError: Error | undefined
    for (const owner of owners) {
      let bytes: Uint8Array
      try {
        const res = await this.c.owners.call(owner, {
          kind: StoreRequest.Kind.PREKEYS_GET,
          user: peer,
          claimOneTime: true,
          coordinate: true
        })
        if (res.status !== StoreResponse.Status.OK) continue
        bytes = res.bundle
      } catch (err: any) {
        lastError = err
        continue
      }
      try {
        return this.check(peer, peerKey, bytes)
      } catch (err: any) {
        if (!(err instanceof SecretChatError)) throw err
        refusal = err // a server substituting keys, or keeping an old bundle: another owner may hold the real one
      }
    }
    throw refusal ?? new NoPrekeysError(peer, lastError)
  }

  private check (peer: string, peerKey: Uint8Array, bytes: Uint8Array): PrekeyBundle {
    const bundle = decodeBundle(bytes)
    verifyBundle(bundle)
    // the bundle must be of the key the handle names: a server cannot substitute its own
    if (peerKey.byteLength === 32 && !sameBytes(bundle.identityKey, peerKey)) {
      throw new BadBundleSignatureError('the prekey bundle is not of the user the handle names')
    }
    if (userIdOf(bundle.identityKey) !== peer) throw new BadBundleSignatureError('the prekey bundle is of another user')
    checkBundleAge(bundle, this.c.now(), this.c.maxBundleAgeMs)
    return bundle
  }

  /**
   * Respond to an initiation (the envelope `env` carries `header`): X3DH with our prekeys, and the writes
   * of the session's first save (the one-time prekey goes, the initiation is remembered). Throws
   * `BadBundleSignatureError` (the header names another identity than the envelope's signer),
   * `InitiationReplayError` (accepted before), `PrekeyUsedError` (a prekey it names is gone).
   */
  async respond (env: Envelope, header: InitialHeader): Promise<StartedSession> {
    if (!sameBytes(header.identityKey, env.senderKey)) throw new BadBundleSignatureError('the initiation names another identity than its signer')
    const used = this.c.keys.usedInitiationKey(header.signedPrekeyId, header.ephemeralKey)
    if (await this.c.store.get(used) != null) {
      throw new InitiationReplayError(`the initiation with ephemeral key ${Buffer.from(header.ephemeralKey).toString('hex').slice(0, 16)}… was accepted before`)
    }
    const spk = await this.c.keys.loadSignedPrekey(header.signedPrekeyId)
    if (spk == null) throw new PrekeyUsedError(`signed prekey ${header.signedPrekeyId} is no longer held`)
    const otk = header.oneTimePrekeyId != null ? await this.c.keys.loadOneTimePrekey(header.oneTimePrekeyId) : undefined
    const x = respond(this.c.keys.identity, spk, otk, header)
    const ops: SecretOp[] = [{ type: 'put', key: used, value: env.timestamp.toString() }]
    if (otk != null) ops.push({ type: 'del', key: this.c.keys.oneTimeKey(otk.id) })
    return {
      session: RatchetSession.initBob(x.sharedKey, spk.keyPair, x.associatedData),
      record: {
        state: '',
        ephemeral: b64(header.ephemeralKey),
        peerIdentityKey: b64(header.identityKey),
        peerIdentityDhKey: b64(header.identityDhKey),
        peerSince: env.timestamp.toString()
      },
      ops
    }
  }
}

/**
 * Whether an initiation from the peer (its ephemeral key, b64, and the hybrid timestamp of the message
 * that brought it) replaces `active`, the session this device sends with (see the header).
 */
export function supersedes (active: SessionRecord | undefined, ephemeral: string, sentAt: bigint): boolean {
  if (active == null) return true
  // the peer sent this after it had begun using the active session: it started again
  if (active.peerSince != null) return sentAt > BigInt(active.peerSince)
  // our own initiation, unanswered: the two crossed, and each device keeps the lower ephemeral key
  if (active.initial != null) return Buffer.compare(unb64(ephemeral), unb64(active.ephemeral)) < 0
  // a session stored before `peerSince` was recorded (it is set at its next message): the newer initiation wins, as it
  // did
  return true
}
