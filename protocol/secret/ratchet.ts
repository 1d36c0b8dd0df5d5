/**
 * The Double Ratchet (https://signal.org/docs/specifications/doubleratchet/), started from an X3DH
 * shared key.
 *
 * - KDF_RK(rk, dh) = HKDF-SHA-256(salt = rk, ikm = dh, info "chorus/ratchet/root") → 64 bytes: rk' ‖ ck.
 * - KDF_CK(ck): message key = HMAC-SHA-256(ck, 0x01), next chain key = HMAC-SHA-256(ck, 0x02).
 * - ENCRYPT(mk, pt, AD ‖ header) = nonce ‖ ChaCha20-Poly1305(mk, nonce, pt, AD ‖ header). The message
 *   key is the AEAD key itself: it is a fresh PRF output used for this one message. There is no HKDF
 *   step per message: node's hkdfSync costs ~15 µs a call, more than the HMACs and the AEAD together.
 *   The nonce is 12 random bytes drawn once per session object, not derived from the key. Within one
 *   object no message key is ever used twice. A sender restored from a stale copy of its state (a crash
 *   between sending and storing) is a new object, so a message key it reuses meets a fresh nonce, never
 *   the same key-and-nonce pair. The spec allows either choice (§5.2, "the AEAD nonce may be handled in
 *   several ways").
 *
 * Decryption is transactional. Every check that needs no key (header shape, replay, skip bounds) runs
 * first; then everything the message would change (skipped keys, chain keys, a ratchet step) is computed
 * into locals and the AEAD opens. Nothing is changed until the caller commits (`open` then `commit`), so
 * a forged, tampered, replayed or too-far-ahead message, or one the caller refuses after reading it,
 * leaves the session exactly as it was.
 */

import { randomBytes, type KeyObject } from 'node:crypto'
import { concatBytes, equalBytes } from './codec.js'
import { MAX_ASSOCIATED_DATA_BYTES, MAX_PREVIOUS_CHAINS, MAX_SKIP, MAX_SKIPPED_KEYS } from './constants.js'
import { DecryptError, ReplayError, SessionStateError, TooFarAheadError, TooManySkippedError } from './errors.js'
import { decodeHeader, encodeHeader } from './header.js'
import {
  AEAD_NONCE_BYTES, AEAD_TAG_BYTES, aeadOpen, aeadSeal, hkdf, hmacSha256, x25519, x25519GenerateWithObject,
  x25519PrivateKeyObject, x25519PublicKeyObject, type X25519KeyPair
} from './primitives.js'
import { decodeState, encodeState, skippedKeyId, type RatchetState, type SkippedKey } from './ratchet-state.js'

const ROOT_INFO = 'chorus/ratchet/root'
const MESSAGE_KEY_INPUT = new Uint8Array([0x01])
const CHAIN_KEY_INPUT = new Uint8Array([0x02])
const MAX_COUNTER = 0xffffffff

/** An encrypted message: the header (in the clear, authenticated) and nonce ‖ ciphertext ‖ tag. */
export interface SecretMessage {
  header: Uint8Array
  ciphertext: Uint8Array
}

/** A decrypted message whose change to the session is not applied yet (`RatchetSession.open`). */
export interface OpenedMessage {
  plaintext: Uint8Array
  /** Apply the session's change (delete the used key, step the chain or the ratchet). */
  commit: () => void
}

/** One side of a Double Ratchet session. Not safe to share between concurrent callers without a lock. */
export class RatchetSession {
  private sendingKeyObject?: KeyObject
  /** The AEAD nonce of this object's messages: random, drawn at the first `encrypt`. */
  private nonce?: Uint8Array
  /**
   * Bumped by every change of the state, so that an opened message commits only onto the state it was opened against.
   */
  private generation = 0

  private constructor (private readonly state: RatchetState) {}

  /** Alice, after `initiate`: she knows Bob's signed prekey (his first ratchet key) and can send at once. */
  static initAlice (sharedKey: Uint8Array, bobRatchetPublic: Uint8Array, associatedData: Uint8Array): RatchetSession {
    checkInit(sharedKey, associatedData)
    const ours = x25519GenerateWithObject()
    const [rootKey, sendingChainKey] = kdfRoot(sharedKey, x25519(ours.privateKeyObject, bobRatchetPublic))
    const session = new RatchetSession({
      ...emptyState(rootKey, ours, associatedData),
      receivingRatchetKey: new Uint8Array(bobRatchetPublic),
      sendingChainKey
    })
    session.sendingKeyObject = ours.privateKeyObject
    return session
  }

  /**
   * Bob, after `respond`: his ratchet key starts as the signed prekey pair; he can send
   * once Alice's first message is in.
   */
  static initBob (sharedKey: Uint8Array, bobRatchetKeyPair: X25519KeyPair, associatedData: Uint8Array): RatchetSession {
    checkInit(sharedKey, associatedData)
    return new RatchetSession(emptyState(new Uint8Array(sharedKey), bobRatchetKeyPair, associatedData))
  }

  /** Restore a session stored with `serialize`. Throws `SessionStateError` for corrupt input. */
  static deserialize (bytes: Uint8Array): RatchetSession {
    return new RatchetSession(decodeState(bytes))
  }

  /** The stored form of the session (see ratchet-state.ts). It holds private keys. */
  serialize (): Uint8Array {
    return encodeState(this.state)
  }

  /** Whether `encrypt` may be called: false for Bob until Alice's first message has been decrypted. */
  get canSend (): boolean {
    return this.state.sendingChainKey != null
  }

  /**
   * Whether a message of the peer has been decrypted. Alice sends the X3DH initial header with every
   * message until this turns true: until then Bob may not have a session to read them with.
   */
  get hasReceived (): boolean {
    return this.state.receivingChainKey != null
  }

  /** How many skipped message keys are held (at most `MAX_SKIPPED_KEYS`). */
  get skippedKeyCount (): number {
    return this.state.skipped.size
  }

  /** The associated data the session binds (the X3DH AD). */
  get associatedData (): Uint8Array {
    return new Uint8Array(this.state.associatedData)
  }

  /** Encrypt one message. Throws `SessionStateError` if the session cannot send yet. */
  encrypt (plaintext: Uint8Array): SecretMessage {
    const s = this.state
    if (s.sendingChainKey == null) throw new SessionStateError('cannot send before the first message of the peer is received')
    if (s.sendCount >= MAX_COUNTER) throw new SessionStateError('sending chain exhausted')
    const header = encodeHeader({ dh: s.sendingRatchetKey.publicKey, pn: s.previousSendCount, n: s.sendCount })
    const [messageKey, chainKey] = kdfChain(s.sendingChainKey)
    s.sendingChainKey = chainKey
    s.sendCount++
    this.generation++
    const nonce = this.nonce ??= new Uint8Array(randomBytes(AEAD_NONCE_BYTES))
    const sealed = aeadSeal(messageKey, nonce, plaintext, concatBytes(s.associatedData, header))
    messageKey.fill(0)
    return { header, ciphertext: concatBytes(nonce, sealed) }
  }

  /**
   * Decrypt one message, in any order, and commit the session's change at once. Throws
   * `MalformedSecretMessageError` (bad header), `DecryptError` (does not authenticate), `ReplayError` (its
   * key is gone: received before), `TooFarAheadError` / `TooManySkippedError` (would skip more than
   * `MAX_SKIP` keys), `InvalidKeyError` (a low-order ratchet key). After any throw the session is unchanged.
   */
  decrypt (headerBytes: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const opened = this.open(headerBytes, ciphertext)
    opened.commit()
    return opened.plaintext
  }

  /**
   * Decrypt one message without changing the session: the caller checks what it got (the plaintext
   * decodes, the message is one it accepts) and only then calls `commit`, so a message refused after the
   * AEAD opened never moves the ratchet. Throws as `decrypt`. `commit` throws `SessionStateError` if the
   * session changed meanwhile (another message, a send): open again.
   */
  open (headerBytes: Uint8Array, ciphertext: Uint8Array): OpenedMessage {
    const header = decodeHeader(headerBytes)
    if (ciphertext.byteLength < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) throw new DecryptError('ciphertext too short')
    const s = this.state
    const ad = concatBytes(s.associatedData, headerBytes)

    if (s.skipped.size > 0) {
      const id = skippedKeyId(header.dh, header.n)
      const skipped = s.skipped.get(id)
      if (skipped != null) {
        const plaintext = open(skipped.messageKey, ciphertext, ad)
        return this.opened(plaintext, () => {
          s.skipped.delete(id)
          skipped.messageKey.fill(0)
        })
      }
    }

    if (s.receivingRatchetKey != null && equalBytes(header.dh, s.receivingRatchetKey)) {
      if (header.n < s.receiveCount) throw new ReplayError()
      // Alice's first DHr is Bob's signed prekey, with no receiving chain: Bob never sends under it.
      if (s.receivingChainKey == null) throw new DecryptError('no receiving chain for this ratchet key')
      if (header.n - s.receiveCount > MAX_SKIP) throw new TooFarAheadError(`message ${header.n} is ${header.n - s.receiveCount} past the chain`)
      const chain = skip(s.receivingChainKey, s.receiveCount, header.n, header.dh)
      const [messageKey, chainKey] = kdfChain(chain.chainKey)
      const plaintext = open(messageKey, ciphertext, ad)
      return this.opened(plaintext, () => {
        s.receivingChainKey = chainKey
        s.receiveCount = header.n + 1
        this.store(chain.skipped)
      })
    }

    if (s.previousReceivingKeys.some((k) => equalBytes(k, header.dh))) throw new ReplayError()
    return this.ratchetAndOpen(header.dh, header.pn, header.n, ciphertext, ad)
  }

  /** A header with a new ratchet key: close the current receiving chain, step the root, open the new chain. */
  private ratchetAndOpen (
    dh: Uint8Array,
    pn: number,
    n: number,
    ciphertext: Uint8Array,
    ad: Uint8Array
  ): OpenedMessage {
    const s = this.state
    const oldGap = s.receivingChainKey != null ? Math.max(0, pn - s.receiveCount) : 0
    if (oldGap > MAX_SKIP) throw new TooFarAheadError(`previous chain would skip ${oldGap} keys`)
    if (n > MAX_SKIP) throw new TooFarAheadError(`message ${n} is too far into a new chain`)
    if (oldGap + n > MAX_SKIP) throw new TooManySkippedError(`message would skip ${oldGap + n} keys`)

    const closing = s.receivingChainKey != null && s.receivingRatchetKey != null
      ? skip(s.receivingChainKey, s.receiveCount, s.receiveCount + oldGap, s.receivingRatchetKey).skipped
      : []
    const theirs = x25519PublicKeyObject(dh) // imported once for both DHs of the step
    const [midRoot, receivingChain] = kdfRoot(s.rootKey, x25519(this.sendingKey(), theirs))
    const chain = skip(receivingChain, 0, n, dh)
    const [messageKey, receivingChainKey] = kdfChain(chain.chainKey)
    const plaintext = open(messageKey, ciphertext, ad)

    // Authentic. The commit turns our sending chain with a fresh ratchet key (spec DHRatchet).
    return this.opened(plaintext, () => {
      const next = x25519GenerateWithObject()
      const [rootKey, sendingChainKey] = kdfRoot(midRoot, x25519(next.privateKeyObject, theirs))
      if (s.receivingRatchetKey != null) {
        s.previousReceivingKeys.push(s.receivingRatchetKey)
        if (s.previousReceivingKeys.length > MAX_PREVIOUS_CHAINS) s.previousReceivingKeys.shift()
      }
      this.store(closing)
      this.store(chain.skipped)
      s.previousSendCount = s.sendCount
      s.sendCount = 0
      s.receiveCount = n + 1
      s.receivingRatchetKey = new Uint8Array(dh)
      s.receivingChainKey = receivingChainKey
      s.sendingRatchetKey = { publicKey: next.publicKey, privateKey: next.privateKey }
      this.sendingKeyObject = next.privateKeyObject
      s.sendingChainKey = sendingChainKey
      s.rootKey = rootKey
    })
  }

  /** An opened message whose `commit` applies `change` once, and only to the state it was opened against. */
  private opened (plaintext: Uint8Array, change: () => void): OpenedMessage {
    const generation = this.generation
    let done = false
    return {
      plaintext,
      commit: () => {
        if (done) return
        if (this.generation !== generation) throw new SessionStateError('the session changed after this message was opened')
        change()
        done = true
        this.generation++
      }
    }
  }

  private sendingKey (): KeyObject {
    this.sendingKeyObject ??= x25519PrivateKeyObject(this.state.sendingRatchetKey.privateKey,
      this.state.sendingRatchetKey.publicKey)
    return this.sendingKeyObject
  }

  /** Add skipped keys, evicting the oldest past `MAX_SKIPPED_KEYS`. */
  private store (keys: SkippedKey[]): void {
    const skipped = this.state.skipped
    for (const k of keys) skipped.set(skippedKeyId(k.dh, k.n), k)
    while (skipped.size > MAX_SKIPPED_KEYS) {
      const oldest = skipped.keys().next().value as string
      skipped.get(oldest)?.messageKey.fill(0)
      skipped.delete(oldest)
    }
  }
}

function emptyState (rootKey: Uint8Array, ours: X25519KeyPair, associatedData: Uint8Array): RatchetState {
  return {
    rootKey,
    sendingRatchetKey: { publicKey: new Uint8Array(ours.publicKey), privateKey: new Uint8Array(ours.privateKey) },
    sendCount: 0,
    receiveCount: 0,
    previousSendCount: 0,
    associatedData: new Uint8Array(associatedData),
    previousReceivingKeys: [],
    skipped: new Map()
  }
}

function checkInit (sharedKey: Uint8Array, associatedData: Uint8Array): void {
  if (sharedKey.byteLength !== 32) throw new RangeError('the shared key is 32 bytes')
  if (associatedData.byteLength > MAX_ASSOCIATED_DATA_BYTES) throw new RangeError(`associated data exceeds ${MAX_ASSOCIATED_DATA_BYTES} bytes`)
}

/** The chain key after `from..until-1`, and the message keys of those numbers (to store as skipped). */
function skip (
  chainKey: Uint8Array,
  from: number,
  until: number,
  dh: Uint8Array
): { chainKey: Uint8Array, skipped: SkippedKey[] } {
  const skipped: SkippedKey[] = []
  let ck = chainKey
  for (let n = from; n < until; n++) {
    const [messageKey, next] = kdfChain(ck)
    skipped.push({ dh, n, messageKey })
    ck = next
  }
  return { chainKey: ck, skipped }
}

function kdfRoot (rootKey: Uint8Array, dhOut: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(dhOut, rootKey, ROOT_INFO, 64)
  dhOut.fill(0)
  return [out.slice(0, 32), out.slice(32)]
}

function kdfChain (chainKey: Uint8Array): [Uint8Array, Uint8Array] {
  return [hmacSha256(chainKey, MESSAGE_KEY_INPUT), hmacSha256(chainKey, CHAIN_KEY_INPUT)]
}

function open (messageKey: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  return aeadOpen(messageKey, ciphertext.subarray(0, AEAD_NONCE_BYTES), ciphertext.subarray(AEAD_NONCE_BYTES), ad)
}
