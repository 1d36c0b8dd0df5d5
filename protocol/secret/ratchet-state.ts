/**
 * The stored form of a Double Ratchet session, versioned and bounded, for the node to keep in LevelDB
 * across restarts. Decoding checks every length, every bound of `constants.ts` and the invariants
 * between fields, and throws `SessionStateError` for anything off: a corrupt session must not half-load.
 *
 *   v=1 ‖ flags u8 (1 DHr, 2 CKs, 4 CKr) ‖ RK 32 ‖ DHs.pub 32 ‖ DHs.priv 32 ‖ [DHr 32] ‖ [CKs 32] ‖ [CKr 32]
 *     ‖ Ns u32 ‖ Nr u32 ‖ PN u32 ‖ |AD| u16 ‖ AD ‖ |prev| u8 ‖ prev 32 × |prev|
 *     ‖ |skipped| u16 ‖ (dh 32 ‖ n u32 ‖ mk 32) × |skipped|
 *
 * It holds private key material: store it as such.
 */

import { Reader, Writer } from './codec.js'
import { MAX_ASSOCIATED_DATA_BYTES, MAX_PREVIOUS_CHAINS, MAX_SKIPPED_KEYS } from './constants.js'
import { SessionStateError } from './errors.js'
import type { X25519KeyPair } from './primitives.js'

const VERSION = 1
const HAS_DHR = 1
const HAS_CKS = 2
const HAS_CKR = 4
const SKIPPED_BYTES = 32 + 4 + 32

/** Largest stored session, in bytes. */
export const MAX_STATE_BYTES = 2 + 32 * 6 + 12 + 2 + MAX_ASSOCIATED_DATA_BYTES + 1 + 32 * MAX_PREVIOUS_CHAINS + 2 +
  SKIPPED_BYTES * MAX_SKIPPED_KEYS

/** A message key kept for a message not yet received. */
export interface SkippedKey {
  dh: Uint8Array
  n: number
  messageKey: Uint8Array
}

/** The variables of the Double Ratchet specification (§3.2), names spelled out. */
export interface RatchetState {
  /** RK */
  rootKey: Uint8Array
  /** DHs: our current ratchet key pair. */
  sendingRatchetKey: X25519KeyPair
  /** DHr: the peer's current ratchet public key; none until the first message arrives (Bob). */
  receivingRatchetKey?: Uint8Array
  /** CKs; none until Bob has received. */
  sendingChainKey?: Uint8Array
  /** CKr; none until the first message of the peer arrives. */
  receivingChainKey?: Uint8Array
  /** Ns */
  sendCount: number
  /** Nr */
  receiveCount: number
  /** PN */
  previousSendCount: number
  /** The X3DH associated data, prefixed to every header in the AEAD's associated data. */
  associatedData: Uint8Array
  /** DHr values of closed receiving chains, oldest first, at most `MAX_PREVIOUS_CHAINS`. */
  previousReceivingKeys: Uint8Array[]
  /** MKSKIPPED, keyed by `skippedKeyId`; Map order is age order, oldest first. */
  skipped: Map<string, SkippedKey>
}

/** The map key of a skipped message key. */
export function skippedKeyId (dh: Uint8Array, n: number): string {
  return `${Buffer.from(dh.buffer, dh.byteOffset, dh.byteLength).toString('hex')}:${n}`
}

/** Encode a state. */
export function encodeState (s: RatchetState): Uint8Array {
  const flags = (s.receivingRatchetKey != null ? HAS_DHR : 0) | (s.sendingChainKey != null ? HAS_CKS : 0) |
    (s.receivingChainKey != null ? HAS_CKR : 0)
  const length = 2 + 32 * 3 + 32 * popcount(flags) + 12 + 2 + s.associatedData.byteLength + 1 +
    32 * s.previousReceivingKeys.length + 2 + SKIPPED_BYTES * s.skipped.size
  const w = new Writer(length).u8(VERSION).u8(flags).raw(s.rootKey)
    .raw(s.sendingRatchetKey.publicKey).raw(s.sendingRatchetKey.privateKey)
  if (s.receivingRatchetKey != null) w.raw(s.receivingRatchetKey)
  if (s.sendingChainKey != null) w.raw(s.sendingChainKey)
  if (s.receivingChainKey != null) w.raw(s.receivingChainKey)
  w.u32(s.sendCount).u32(s.receiveCount).u32(s.previousSendCount).u16(s.associatedData.byteLength).raw(s.associatedData)
  w.u8(s.previousReceivingKeys.length)
  for (const k of s.previousReceivingKeys) w.raw(k)
  w.u16(s.skipped.size)
  for (const k of s.skipped.values()) w.raw(k.dh).u32(k.n).raw(k.messageKey)
  return w.finish()
}

/** Decode a state. Throws `SessionStateError` for any malformed, out-of-bound or inconsistent input. */
export function decodeState (bytes: Uint8Array): RatchetState {
  if (!(bytes instanceof Uint8Array)) throw new SessionStateError('stored session must be bytes')
  if (bytes.byteLength > MAX_STATE_BYTES) throw new SessionStateError(`stored session of ${bytes.byteLength} bytes exceeds ${MAX_STATE_BYTES}`)
  const r = new Reader(bytes, (reason) => new SessionStateError(`stored session: ${reason}`))
  const version = r.u8('version')
  if (version !== VERSION) throw new SessionStateError(`stored session version ${version} is not ${VERSION}`)
  const flags = r.u8('flags')
  if ((flags & ~(HAS_DHR | HAS_CKS | HAS_CKR)) !== 0) throw new SessionStateError('stored session: unknown flags')
  // Alice starts with DHr and CKs; Bob with neither, and gains DHr, CKr and CKs at his first receive.
  if (((flags & HAS_DHR) !== 0) !== ((flags & HAS_CKS) !== 0)) throw new SessionStateError('stored session: DHr and CKs must come together')
  if ((flags & HAS_CKR) !== 0 && (flags & HAS_DHR) === 0) throw new SessionStateError('stored session: CKr without DHr')
  const state: RatchetState = {
    rootKey: r.raw(32, 'root key'),
    sendingRatchetKey: { publicKey: r.raw(32, 'DHs public'), privateKey: r.raw(32, 'DHs private') },
    sendCount: 0,
    receiveCount: 0,
    previousSendCount: 0,
    associatedData: new Uint8Array(0),
    previousReceivingKeys: [],
    skipped: new Map()
  }
  if ((flags & HAS_DHR) !== 0) state.receivingRatchetKey = r.raw(32, 'DHr')
  if ((flags & HAS_CKS) !== 0) state.sendingChainKey = r.raw(32, 'CKs')
  if ((flags & HAS_CKR) !== 0) state.receivingChainKey = r.raw(32, 'CKr')
  state.sendCount = r.u32('Ns')
  state.receiveCount = r.u32('Nr')
  state.previousSendCount = r.u32('PN')
  const adLength = r.u16('AD length')
  if (adLength > MAX_ASSOCIATED_DATA_BYTES) throw new SessionStateError('stored session: associated data too long')
  state.associatedData = r.raw(adLength, 'AD')
  const previous = r.u8('previous chain count')
  if (previous > MAX_PREVIOUS_CHAINS) throw new SessionStateError('stored session: too many previous chains')
  for (let i = 0; i < previous; i++) state.previousReceivingKeys.push(r.raw(32, 'previous chain key'))
  const skipped = r.u16('skipped count')
  if (skipped > MAX_SKIPPED_KEYS) throw new SessionStateError('stored session: too many skipped keys')
  for (let i = 0; i < skipped; i++) {
    const key = { dh: r.raw(32, 'skipped dh'), n: r.u32('skipped n'), messageKey: r.raw(32, 'skipped key') }
    const id = skippedKeyId(key.dh, key.n)
    if (state.skipped.has(id)) throw new SessionStateError('stored session: duplicate skipped key')
    state.skipped.set(id, key)
  }
  r.end()
  return state
}

function popcount (flags: number): number {
  return (flags & 1) + ((flags >> 1) & 1) + ((flags >> 2) & 1)
}
