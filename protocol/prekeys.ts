/**
 * Prekey uploads: what a device publishes at its user's owners so others can open secret chats with it
 * while it is offline. The upload is signed by the device's identity key (the Chorus user key), so an
 * owner stores only what the user published, and keeps the newest by its signed timestamp.
 */

import { ed25519Sign, ed25519Verify } from './ed25519.js'
import { domainSeparated, userIdOf, type IdentityKey } from './envelope.js'
import { BadSignatureError, MalformedEnvelopeError } from './errors.js'
import { OneTimePrekey, PrekeyUpload } from './pb/secret.js'
import { decodeBundle, verifyBundle, type PrekeyBundle } from './secret/index.js'

export { PrekeyUpload, OneTimePrekey }

/** One-time prekeys per upload at most. */
export const MAX_UPLOAD_ONE_TIME = 200

const DOMAIN = new TextEncoder().encode('chorus/prekeys/v1')

function signedBytes (u: PrekeyUpload): Uint8Array {
  return domainSeparated(DOMAIN, PrekeyUpload.encode({ ...u, signature: new Uint8Array(0) }))
}

/** Sign an upload of `bundle` (encoded, without a one-time prekey) and `oneTime` public keys. */
export function signPrekeyUpload (
  identity: IdentityKey,
  bundle: Uint8Array,
  oneTime: Array<{ id: number, publicKey: Uint8Array }>,
  timestamp = Date.now()
): Uint8Array {
  const u: PrekeyUpload = {
    identityKey: new Uint8Array(identity.publicKey),
    bundle: new Uint8Array(bundle),
    oneTime: oneTime.map((k) => ({ id: k.id, publicKey: new Uint8Array(k.publicKey) })),
    timestamp: BigInt(timestamp),
    signature: new Uint8Array(0)
  }
  u.signature = ed25519Sign(identity.privateKey, signedBytes(u))
  return PrekeyUpload.encode(u)
}

/** A verified upload: whose it is, its bundle, its one-time prekeys. */
export interface VerifiedUpload { userId: string, upload: PrekeyUpload, bundle: PrekeyBundle }

/**
 * Decode and verify an upload: its signature, and the bundle's own signatures by the same identity.
 * Throws `MalformedEnvelopeError` or `BadSignatureError` (or the bundle's typed errors).
 */
export function openPrekeyUpload (bytes: Uint8Array): VerifiedUpload {
  let u: PrekeyUpload
  try {
    u = PrekeyUpload.decode(bytes, { limits: { oneTime: MAX_UPLOAD_ONE_TIME } })
  } catch (err: any) {
    throw new MalformedEnvelopeError(`prekey upload does not decode: ${err.message}`)
  }
  if (u.identityKey.byteLength !== 32 || u.signature.byteLength !== 64) throw new MalformedEnvelopeError('prekey upload has a bad key or signature length')
  if (u.oneTime.some((k) => k.publicKey.byteLength !== 32)) throw new MalformedEnvelopeError('a one-time prekey must be 32 bytes')
  if (!ed25519Verify(u.identityKey, signedBytes(u), u.signature)) throw new BadSignatureError('prekey upload signature does not verify')
  const bundle = decodeBundle(u.bundle)
  if (bundle.oneTimePrekey != null) throw new MalformedEnvelopeError('the uploaded bundle must not carry a one-time prekey')
  if (Buffer.compare(Buffer.from(bundle.identityKey), Buffer.from(u.identityKey)) !== 0) throw new BadSignatureError('the bundle is of another identity')
  verifyBundle(bundle)
  return { userId: userIdOf(u.identityKey), upload: u, bundle }
}
