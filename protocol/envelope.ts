/**
 * Envelopes: immutable, signed chat messages. The sender's device signs; every node verifies once, on
 * receipt, with the native Ed25519 of node:crypto (~12× faster than a JS implementation, measured).
 */

import { createHash, randomBytes } from 'node:crypto'
import { boundedMemo } from './bounded-memo.js'
import {
  ed25519Generate, ed25519PublicKeyObject, ed25519Sign, ed25519Verify, type Ed25519KeyPair, type Ed25519PublicKey
} from './ed25519.js'
import { BadSignatureError, EnvelopeTooLargeError, MalformedEnvelopeError } from './errors.js'
import { Envelope } from './pb/envelope.js'

export { Envelope }

/** Largest body (text or ciphertext) in bytes. */
export const MAX_BODY_BYTES = 64 * 1024

/** Largest encoded envelope in bytes (body plus headers). */
export const MAX_ENVELOPE_BYTES = MAX_BODY_BYTES + 1024

/** Longest recipient id. */
export const MAX_RECIPIENT_LENGTH = 128

const DOMAIN = new TextEncoder().encode('chorus/envelope/v1')

/** A user's (or device's) Ed25519 identity: raw 32-byte keys. */
export type IdentityKey = Ed25519KeyPair

/** A fresh identity key pair. */
export const generateIdentity = ed25519Generate

/** The userId of a public key: base32 (RFC 4648, lower case) of the first 20 bytes of its sha256. */
export function userIdOf (publicKey: Uint8Array): string {
  return base32(createHash('sha256').update(publicKey).digest().subarray(0, 20))
}

/** What a sender fills in; id, timestamp and signature are added by `signEnvelope`. */
export interface EnvelopeDraft {
  kind: Envelope.Kind
  recipient: string
  body: Uint8Array
  timestamp: bigint
  id?: Uint8Array
  senderHandle?: string
  /** the cursor of what this sender sent this recipient just before (Envelope.prev) */
  prev?: Uint8Array
}

/** Build and sign an envelope. Throws `EnvelopeTooLargeError` for an oversized body. */
export function signEnvelope (draft: EnvelopeDraft, identity: IdentityKey): Envelope {
  if (draft.body.byteLength > MAX_BODY_BYTES) throw new EnvelopeTooLargeError(`body of ${draft.body.byteLength} bytes exceeds ${MAX_BODY_BYTES}`)
  if (draft.recipient.length === 0 || draft.recipient.length > MAX_RECIPIENT_LENGTH) throw new MalformedEnvelopeError('recipient must be 1..128 characters')
  const env: Envelope = {
    id: new Uint8Array(draft.id ?? randomBytes(16)),
    timestamp: draft.timestamp,
    kind: draft.kind,
    senderKey: new Uint8Array(identity.publicKey),
    recipient: draft.recipient,
    body: new Uint8Array(draft.body),
    signature: new Uint8Array(0),
    senderHandle: draft.senderHandle ?? '',
    prev: new Uint8Array(draft.prev ?? new Uint8Array(0))
  }
  env.signature = ed25519Sign(identity.privateKey, signedBytes(env))
  return env
}

/**
 * Decode and verify an envelope from the wire. Throws `EnvelopeTooLargeError`, `MalformedEnvelopeError`
 * or `BadSignatureError`; returns the envelope only when its signature holds.
 */
export function openEnvelope (bytes: Uint8Array, keys?: SenderKeyCache): Envelope {
  const env = decodeEnvelope(bytes)
  verifyEnvelope(env, keys, bytes)
  return env
}

/**
 * Decode an envelope and check its bounds and shape, without verifying the signature: for a caller that
 * must look at it (say, to drop a duplicate) before paying for `verifyEnvelope`.
 */
export function decodeEnvelope (bytes: Uint8Array): Envelope {
  if (bytes.byteLength > MAX_ENVELOPE_BYTES) throw new EnvelopeTooLargeError(`envelope of ${bytes.byteLength} bytes exceeds ${MAX_ENVELOPE_BYTES}`)
  let env: Envelope
  try {
    env = Envelope.decode(bytes)
  } catch (err: any) {
    throw new MalformedEnvelopeError(`envelope does not decode: ${err.message}`)
  }
  checkShape(env)
  return env
}

/**
 * Verify the signature of a decoded envelope. Throws `BadSignatureError`. Given the envelope's encoded
 * `bytes` and a cache, an envelope this process verified before (the same bytes, by sha256) is not
 * verified again: a node sees one envelope on several paths (relay, store, sync, repair).
 */
export function verifyEnvelope (env: Envelope, keys?: SenderKeyCache, bytes?: Uint8Array): void {
  const digest = keys != null && bytes != null ? createHash('sha256').update(bytes).digest('base64') : undefined
  if (digest != null && keys?.verified(digest) === true) return
  const key = keys?.get(env.senderKey) ?? env.senderKey
  if (!ed25519Verify(key, signedBytes(env), env.signature)) throw new BadSignatureError('envelope signature does not verify')
  if (digest != null) keys?.remember(digest)
}

/** The hex form of an envelope id, for maps and logs. */
export function envelopeIdHex (env: Pick<Envelope, 'id'>): string {
  return Buffer.from(env.id).toString('hex')
}

/**
 * A bounded cache of sender keys made ready to verify with (with node:crypto, building one costs more than
 * half a verification), and of the envelopes verified recently, by the sha256 of their bytes (hashing costs
 * a few percent of one).
 */
export class SenderKeyCache {
  private readonly key: (raw: Uint8Array) => Ed25519PublicKey
  private readonly done = new Set<string>()
  constructor (max = 10_000, private readonly maxVerified = 50_000) {
    this.key = boundedMemo(max, (raw: Uint8Array) => Buffer.from(raw).toString('base64'), ed25519PublicKeyObject)
  }

  /** Whether the envelope with this digest was verified here. */
  verified (digest: string): boolean {
    return this.done.has(digest)
  }

  /** Note an envelope as verified by its bytes (one this process signed itself, say). */
  trust (bytes: Uint8Array): void {
    this.remember(createHash('sha256').update(bytes).digest('base64'))
  }

  /** Note a verified envelope. */
  remember (digest: string): void {
    this.done.add(digest)
    if (this.done.size > this.maxVerified) this.done.delete(this.done.values().next().value as string)
  }

  get (raw: Uint8Array): Ed25519PublicKey {
    return this.key(raw)
  }
}

function checkShape (env: Envelope): void {
  if (env.id.byteLength !== 16) throw new MalformedEnvelopeError('envelope id must be 16 bytes')
  if (env.senderKey.byteLength !== 32) throw new MalformedEnvelopeError('sender key must be 32 bytes')
  if (env.signature.byteLength !== 64) throw new MalformedEnvelopeError('signature must be 64 bytes')
  if (env.recipient.length === 0 || env.recipient.length > MAX_RECIPIENT_LENGTH) throw new MalformedEnvelopeError('recipient must be 1..128 characters')
  if (env.body.byteLength > MAX_BODY_BYTES) throw new EnvelopeTooLargeError(`body of ${env.body.byteLength} bytes exceeds ${MAX_BODY_BYTES}`)
  if (env.timestamp === 0n) throw new MalformedEnvelopeError('timestamp missing')
  if (env.senderHandle.length > 64) throw new MalformedEnvelopeError('sender handle too long')
  if (env.prev.byteLength !== 0 && env.prev.byteLength !== 24) throw new MalformedEnvelopeError('prev must be a 24-byte cursor or empty')
}

function signedBytes (env: Envelope): Uint8Array {
  return domainSeparated(DOMAIN, Envelope.encode({ ...env, signature: new Uint8Array(0) }))
}

/** `domain ‖ body`: what a signature covers, so that a signature of one kind of object is no signature of another. */
export function domainSeparated (domain: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.length + body.length)
  out.set(domain)
  out.set(body, domain.length)
  return out
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/** RFC 4648 base32, lower case, unpadded: the alphabet of user ids and room ids. */
export function base32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff
    bits += 8
    while (bits >= 5) { out += ALPHABET[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}
