/**
 * Wire forms of X3DH data: the prekey bundle a device publishes and the initial header an initiator
 * sends. Fixed layouts with a version byte, big-endian integers; decoding checks every length and
 * throws `MalformedSecretMessageError`. Decoding does not verify signatures: `verifyBundle` and
 * `respond` do.
 *
 *   bundle:  v=1 ‖ IK 32 ‖ IK_dh 32 ‖ sig(IK_dh) 64 ‖ SPK id u32 ‖ createdAt u64 ‖ SPK 32 ‖ sig(SPK) 64 ‖ 0 | 1 ‖ [OPK
 * id u32 ‖ OPK 32]   initial: v=1 ‖ IK 32 ‖ IK_dh 32 ‖ sig(IK_dh) 64 ‖ EK 32 ‖ SPK id u32 ‖ 0 | 1 ‖ [OPK id u32]
 */

import { Reader, Writer } from './codec.js'
import { MalformedSecretMessageError } from './errors.js'
import { checkInitialHeader, verifyBundle, type InitialHeader, type PrekeyBundle } from './x3dh.js'

const VERSION = 1
const BUNDLE_BYTES = 1 + 32 + 32 + 64 + 4 + 8 + 32 + 64 + 1
const INITIAL_BYTES = 1 + 32 + 32 + 64 + 32 + 4 + 1

/** Largest encoded bundle. */
export const MAX_BUNDLE_BYTES = BUNDLE_BYTES + 4 + 32

/** Largest encoded initial header. */
export const MAX_INITIAL_HEADER_BYTES = INITIAL_BYTES + 4

const malformed = (what: string) => (reason: string) => new MalformedSecretMessageError(`${what}: ${reason}`)

/** Encode a bundle (its shape is checked, and its signatures too: a device should never publish a bad one). */
export function encodeBundle (bundle: PrekeyBundle): Uint8Array {
  verifyBundle(bundle)
  const opk = bundle.oneTimePrekey
  const w = new Writer(opk == null ? BUNDLE_BYTES : MAX_BUNDLE_BYTES)
    .u8(VERSION).raw(bundle.identityKey).raw(bundle.identityDhKey).raw(bundle.identityDhSignature)
    .u32(bundle.signedPrekey.id).u64(bundle.signedPrekey.createdAt)
    .raw(bundle.signedPrekey.publicKey).raw(bundle.signedPrekey.signature)
  if (opk == null) w.u8(0)
  else w.u8(1).u32(opk.id).raw(opk.publicKey)
  return w.finish()
}

/**
 * Decode a bundle. Throws `MalformedSecretMessageError`; call `verifyBundle` (or `initiate`,
 * which does) before trusting it.
 */
export function decodeBundle (bytes: Uint8Array): PrekeyBundle {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) throw new MalformedSecretMessageError(`bundle of ${bytes.byteLength} bytes exceeds ${MAX_BUNDLE_BYTES}`)
  const r = new Reader(bytes, malformed('bundle'))
  const version = r.u8('version')
  if (version !== VERSION) throw new MalformedSecretMessageError(`bundle version ${version} is not ${VERSION}`)
  const bundle: PrekeyBundle = {
    identityKey: r.raw(32, 'identity key'),
    identityDhKey: r.raw(32, 'identity DH key'),
    identityDhSignature: r.raw(64, 'identity DH signature'),
    signedPrekey: { id: r.u32('signed prekey id'), createdAt: r.u64('createdAt'), publicKey: r.raw(32, 'signed prekey'), signature: r.raw(64, 'signed prekey signature') }
  }
  const hasOneTime = r.u8('one-time prekey flag')
  if (hasOneTime === 1) bundle.oneTimePrekey = { id: r.u32('one-time prekey id'), publicKey: r.raw(32, 'one-time prekey') }
  else if (hasOneTime !== 0) throw new MalformedSecretMessageError('bundle: bad one-time prekey flag')
  r.end()
  return bundle
}

/** Encode an initial header. */
export function encodeInitialHeader (header: InitialHeader): Uint8Array {
  checkInitialHeader(header)
  const w = new Writer(header.oneTimePrekeyId == null ? INITIAL_BYTES : MAX_INITIAL_HEADER_BYTES)
    .u8(VERSION).raw(header.identityKey).raw(header.identityDhKey).raw(header.identityDhSignature)
    .raw(header.ephemeralKey).u32(header.signedPrekeyId)
  if (header.oneTimePrekeyId == null) w.u8(0)
  else w.u8(1).u32(header.oneTimePrekeyId)
  return w.finish()
}

/** Decode an initial header. Throws `MalformedSecretMessageError`. */
export function decodeInitialHeader (bytes: Uint8Array): InitialHeader {
  if (bytes.byteLength > MAX_INITIAL_HEADER_BYTES) {
    throw new MalformedSecretMessageError(`initial header of ${bytes.byteLength} bytes exceeds ${MAX_INITIAL_HEADER_BYTES}`)
  }
  const r = new Reader(bytes, malformed('initial header'))
  const version = r.u8('version')
  if (version !== VERSION) throw new MalformedSecretMessageError(`initial header version ${version} is not ${VERSION}`)
  const header: InitialHeader = {
    identityKey: r.raw(32, 'identity key'),
    identityDhKey: r.raw(32, 'identity DH key'),
    identityDhSignature: r.raw(64, 'identity DH signature'),
    ephemeralKey: r.raw(32, 'ephemeral key'),
    signedPrekeyId: r.u32('signed prekey id')
  }
  const hasOneTime = r.u8('one-time prekey flag')
  if (hasOneTime === 1) header.oneTimePrekeyId = r.u32('one-time prekey id')
  else if (hasOneTime !== 0) throw new MalformedSecretMessageError('initial header: bad one-time prekey flag')
  r.end()
  return header
}
