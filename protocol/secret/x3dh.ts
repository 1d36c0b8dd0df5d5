/**
 * X3DH key agreement (https://signal.org/docs/specifications/x3dh/) over X25519 and HKDF-SHA-256.
 *
 * Identity: a device's Chorus user key is Ed25519 and signs; X3DH needs a Diffie-Hellman identity key.
 * Signal converts one key between the two curve forms and signs with XEdDSA. We keep two keys instead,
 * an Ed25519 identity key and an X25519 identity DH key, and bind them with an Ed25519 signature over the
 * DH key. Both node:crypto primitives are then used as they are, with no birational map or XEdDSA of our
 * own. The binding signature travels in the bundle and in the initial message. Without it, anyone could
 * pair a victim's Ed25519 key with their own DH key and pass as that victim in DH1.
 *
 * Both identity keys go into the associated data. The safety number covers the Ed25519 key, which
 * covers the DH key through the binding signature.
 */

import { ed25519Sign, ed25519Verify, type Ed25519KeyPair } from '../ed25519.js'
import { concatBytes, Writer } from './codec.js'
import { MAX_ONE_TIME_PREKEY_BATCH } from './constants.js'
import {
  BadBundleSignatureError, MalformedSecretMessageError, PrekeyUsedError, SessionStateError, StaleBundleError
} from './errors.js'
import {
  hkdf, x25519, x25519GenerateWithObject, x25519PrivateKeyObject, x25519PublicKeyObject, type X25519KeyPair
} from './primitives.js'

const encoder = new TextEncoder()
const IDENTITY_DH_DOMAIN = encoder.encode('chorus/x3dh/identity-dh/v1\0')
const SIGNED_PREKEY_DOMAIN = encoder.encode('chorus/x3dh/signed-prekey/v1\0')
const KDF_INFO = 'chorus/x3dh/v1'
const KDF_PAD = new Uint8Array(32).fill(0xff)
const KDF_SALT = new Uint8Array(32)

/** A device's long-term keys for secret chats. */
export interface SecretIdentity {
  /** The Ed25519 identity (the Chorus user key): signs, and is what the safety number shows. */
  identityKey: Ed25519KeyPair
  /** The X25519 identity DH key. */
  identityDhKey: X25519KeyPair
  /** Ed25519 signature by `identityKey` over the domain string ‖ `identityDhKey.publicKey`. */
  identityDhSignature: Uint8Array
}

/** A medium-term signed prekey, rotated by its owner (Signal: weekly to monthly). */
export interface SignedPrekey {
  id: number
  keyPair: X25519KeyPair
  /** Ed25519 over the domain string ‖ id (u32) ‖ createdAt (u64) ‖ public key. */
  signature: Uint8Array
  /** Milliseconds since the epoch; signed, so a server cannot pass an old prekey off as fresh. */
  createdAt: number
}

/** A one-time prekey: used by at most one initiator, then deleted by its owner. */
export interface OneTimePrekey {
  id: number
  keyPair: X25519KeyPair
}

/** What a device publishes so that others can start a session with it while it is offline. */
export interface PrekeyBundle {
  identityKey: Uint8Array
  identityDhKey: Uint8Array
  identityDhSignature: Uint8Array
  signedPrekey: { id: number, publicKey: Uint8Array, signature: Uint8Array, createdAt: number }
  oneTimePrekey?: { id: number, publicKey: Uint8Array }
}

/** The X3DH part of the initiator's first message(s): who it is, its ephemeral key, the prekeys it used. */
export interface InitialHeader {
  identityKey: Uint8Array
  identityDhKey: Uint8Array
  identityDhSignature: Uint8Array
  ephemeralKey: Uint8Array
  signedPrekeyId: number
  oneTimePrekeyId?: number
}

/** The responder's side of an agreement: the secret, and the associated data both sides bind. */
export interface X3dhResult {
  /** SK: 32 bytes, the Double Ratchet's first root key. */
  sharedKey: Uint8Array
  /** AD = Encode(IK_A) ‖ Encode(IK_B), with Encode(IK) = Ed25519 identity ‖ X25519 identity DH (128 bytes). */
  associatedData: Uint8Array
}

/** The initiator's side: also what it must send so the responder can agree. */
export interface X3dhInitiation extends X3dhResult {
  ephemeralPublic: Uint8Array
  usedSignedPrekeyId: number
  usedOneTimePrekeyId?: number
  /** To send with every message until the responder's first reply arrives. */
  header: InitialHeader
}

/**
 * Secret-chat keys for a device: the given Ed25519 identity, plus a DH identity key (fresh unless given) that it signs.
 */
export function createSecretIdentity (identityKey: Ed25519KeyPair, identityDhKey?: X25519KeyPair): SecretIdentity {
  const dh = identityDhKey ?? x25519GenerateWithObject()
  const keyPair = { publicKey: dh.publicKey, privateKey: dh.privateKey }
  return {
    identityKey,
    identityDhKey: keyPair,
    identityDhSignature: ed25519Sign(identityKey.privateKey, identityDhMessage(keyPair.publicKey))
  }
}

/** A fresh signed prekey with the given id and creation time. */
export function generateSignedPrekey (identity: SecretIdentity, id: number, createdAt: number): SignedPrekey {
  checkId(id, 'signed prekey id')
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) throw new RangeError('createdAt must be a non-negative integer of milliseconds')
  const { publicKey, privateKey } = x25519GenerateWithObject()
  const signature = ed25519Sign(identity.identityKey.privateKey, signedPrekeyMessage(id, createdAt, publicKey))
  return { id, keyPair: { publicKey, privateKey }, signature, createdAt }
}

/** `count` fresh one-time prekeys with ids `firstId`, `firstId + 1`, … (at most `MAX_ONE_TIME_PREKEY_BATCH`). */
export function generateOneTimePrekeys (firstId: number, count: number): OneTimePrekey[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_ONE_TIME_PREKEY_BATCH) {
    throw new RangeError(`count must be 0..${MAX_ONE_TIME_PREKEY_BATCH}`)
  }
  checkId(firstId, 'one-time prekey id')
  checkId(firstId + Math.max(count - 1, 0), 'one-time prekey id')
  return Array.from({ length: count }, (_, i) => {
    const { publicKey, privateKey } = x25519GenerateWithObject()
    return { id: firstId + i, keyPair: { publicKey, privateKey } }
  })
}

/** The public bundle of an identity, its current signed prekey and (if any are left) one one-time prekey. */
export function prekeyBundle (
  identity: SecretIdentity,
  signedPrekey: SignedPrekey,
  oneTimePrekey?: OneTimePrekey
): PrekeyBundle {
  const bundle: PrekeyBundle = {
    identityKey: identity.identityKey.publicKey,
    identityDhKey: identity.identityDhKey.publicKey,
    identityDhSignature: identity.identityDhSignature,
    signedPrekey: {
      id: signedPrekey.id,
      publicKey: signedPrekey.keyPair.publicKey,
      signature: signedPrekey.signature,
      createdAt: signedPrekey.createdAt
    }
  }
  if (oneTimePrekey != null) bundle.oneTimePrekey = { id: oneTimePrekey.id, publicKey: oneTimePrekey.keyPair.publicKey }
  return bundle
}

/**
 * Check a bundle's shape and both its signatures. Throws `MalformedSecretMessageError` for a bad shape and
 * `BadBundleSignatureError` when the DH identity key or the signed prekey is not signed by the identity key.
 * (How old a signed prekey may be is the caller's policy: `createdAt` is signed.)
 */
export function verifyBundle (bundle: PrekeyBundle): void {
  checkKey(bundle.identityKey, 'identity key')
  checkKey(bundle.identityDhKey, 'identity DH key')
  checkSignature(bundle.identityDhSignature, 'identity DH signature')
  const spk = bundle.signedPrekey
  checkWireId(spk.id, 'signed prekey id')
  checkKey(spk.publicKey, 'signed prekey')
  checkSignature(spk.signature, 'signed prekey signature')
  if (!Number.isSafeInteger(spk.createdAt) || spk.createdAt < 0) throw new MalformedSecretMessageError('bad signed prekey createdAt')
  if (bundle.oneTimePrekey != null) {
    checkWireId(bundle.oneTimePrekey.id, 'one-time prekey id')
    checkKey(bundle.oneTimePrekey.publicKey, 'one-time prekey')
  }
  if (!ed25519Verify(bundle.identityKey, identityDhMessage(bundle.identityDhKey), bundle.identityDhSignature)) {
    throw new BadBundleSignatureError('identity DH key is not signed by the identity key')
  }
  if (!ed25519Verify(bundle.identityKey, signedPrekeyMessage(spk.id, spk.createdAt, spk.publicKey), spk.signature)) {
    throw new BadBundleSignatureError('signed prekey is not signed by the identity key')
  }
}

/**
 * Refuse a bundle whose signed prekey was made more than `maxAgeMs` before `now` (`StaleBundleError`). A
 * server can hand out an old bundle it kept, whose signed prekey the device may have deleted, or whose
 * private half leaked since; the signed `createdAt` lets the client tell. A `createdAt` in the future
 * (the device's clock is ahead) is not refused: it proves nothing old.
 */
export function checkBundleAge (bundle: PrekeyBundle, now: number, maxAgeMs: number): void {
  const age = now - bundle.signedPrekey.createdAt
  if (age > maxAgeMs) {
    throw new StaleBundleError(`signed prekey ${bundle.signedPrekey.id} is ${Math.round(age / 3600_000)} h old, more than ${Math.round(maxAgeMs / 3600_000)} h`)
  }
}

/**
 * Alice's side: verify Bob's bundle and derive SK with a fresh ephemeral key (DH4 only if the
 * bundle has a one-time prekey).
 */
export function initiate (ours: SecretIdentity, bundle: PrekeyBundle): X3dhInitiation {
  verifyBundle(bundle)
  const ephemeral = x25519GenerateWithObject()
  const signedPrekey = x25519PublicKeyObject(bundle.signedPrekey.publicKey)
  const dhs = [
    x25519(ours.identityDhKey, signedPrekey),
    x25519(ephemeral.privateKeyObject, bundle.identityDhKey),
    x25519(ephemeral.privateKeyObject, signedPrekey)
  ]
  if (bundle.oneTimePrekey != null) dhs.push(x25519(ephemeral.privateKeyObject, bundle.oneTimePrekey.publicKey))
  const header: InitialHeader = {
    identityKey: ours.identityKey.publicKey,
    identityDhKey: ours.identityDhKey.publicKey,
    identityDhSignature: ours.identityDhSignature,
    ephemeralKey: ephemeral.publicKey,
    signedPrekeyId: bundle.signedPrekey.id
  }
  if (bundle.oneTimePrekey != null) header.oneTimePrekeyId = bundle.oneTimePrekey.id
  const result: X3dhInitiation = {
    sharedKey: kdf(dhs),
    associatedData: concatBytes(ours.identityKey.publicKey, ours.identityDhKey.publicKey, bundle.identityKey,
      bundle.identityDhKey),
    ephemeralPublic: ephemeral.publicKey,
    usedSignedPrekeyId: bundle.signedPrekey.id,
    header
  }
  if (bundle.oneTimePrekey != null) result.usedOneTimePrekeyId = bundle.oneTimePrekey.id
  return result
}

/**
 * Bob's side, given the prekeys the header names (the caller looks them up by id). Throws
 * `BadBundleSignatureError` if Alice's DH identity key is not signed by her identity key,
 * `PrekeyUsedError` if the header names a one-time prekey and none is given (it was used or never
 * existed: the caller must then delete nothing and reject), and `SessionStateError` if the given prekeys
 * are not the ones the header names.
 */
export function respond (
  ours: SecretIdentity,
  signedPrekey: SignedPrekey,
  oneTimePrekey: OneTimePrekey | undefined,
  header: InitialHeader
): X3dhResult {
  checkInitialHeader(header)
  if (signedPrekey.id !== header.signedPrekeyId) throw new SessionStateError(`header names signed prekey ${header.signedPrekeyId}, given ${signedPrekey.id}`)
  if (header.oneTimePrekeyId != null && oneTimePrekey == null) throw new PrekeyUsedError(`one-time prekey ${header.oneTimePrekeyId} is no longer held`)
  if (header.oneTimePrekeyId == null && oneTimePrekey != null) throw new SessionStateError('a one-time prekey was given but the header names none')
  if (oneTimePrekey != null && oneTimePrekey.id !== header.oneTimePrekeyId) {
    throw new SessionStateError(`header names one-time prekey ${String(header.oneTimePrekeyId)}, given ${oneTimePrekey.id}`)
  }
  if (!ed25519Verify(header.identityKey, identityDhMessage(header.identityDhKey), header.identityDhSignature)) {
    throw new BadBundleSignatureError('initiator identity DH key is not signed by its identity key')
  }
  const spk = x25519PrivateKeyObject(signedPrekey.keyPair.privateKey, signedPrekey.keyPair.publicKey)
  const ephemeral = x25519PublicKeyObject(header.ephemeralKey)
  const dhs = [
    x25519(spk, header.identityDhKey),
    x25519(ours.identityDhKey, ephemeral),
    x25519(spk, ephemeral)
  ]
  if (oneTimePrekey != null) dhs.push(x25519(oneTimePrekey.keyPair, ephemeral))
  return {
    sharedKey: kdf(dhs),
    associatedData: concatBytes(header.identityKey, header.identityDhKey, ours.identityKey.publicKey,
      ours.identityDhKey.publicKey)
  }
}

/** Check an initial header's shape; throws `MalformedSecretMessageError`. */
export function checkInitialHeader (header: InitialHeader): void {
  checkKey(header.identityKey, 'identity key')
  checkKey(header.identityDhKey, 'identity DH key')
  checkSignature(header.identityDhSignature, 'identity DH signature')
  checkKey(header.ephemeralKey, 'ephemeral key')
  checkWireId(header.signedPrekeyId, 'signed prekey id')
  if (header.oneTimePrekeyId != null) checkWireId(header.oneTimePrekeyId, 'one-time prekey id')
}

function kdf (dhs: Uint8Array[]): Uint8Array {
  const ikm = concatBytes(KDF_PAD, ...dhs)
  const sk = hkdf(ikm, KDF_SALT, KDF_INFO, 32)
  ikm.fill(0)
  for (const dh of dhs) dh.fill(0)
  return sk
}

function identityDhMessage (publicKey: Uint8Array): Uint8Array {
  return concatBytes(IDENTITY_DH_DOMAIN, publicKey)
}

function signedPrekeyMessage (id: number, createdAt: number, publicKey: Uint8Array): Uint8Array {
  return new Writer(SIGNED_PREKEY_DOMAIN.byteLength + 4 + 8 + 32)
    .raw(SIGNED_PREKEY_DOMAIN).u32(id).u64(createdAt).raw(publicKey)
    .finish()
}

function checkId (id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`${what} must be a u32`)
}

function checkWireId (id: unknown, what: string): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new MalformedSecretMessageError(`${what} must be a u32`)
}

function checkKey (key: unknown, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) throw new MalformedSecretMessageError(`${what} must be 32 bytes`)
}

function checkSignature (sig: unknown, what: string): void {
  if (!(sig instanceof Uint8Array) || sig.byteLength !== 64) throw new MalformedSecretMessageError(`${what} must be 64 bytes`)
}
