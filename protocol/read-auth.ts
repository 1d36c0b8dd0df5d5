/**
 * Read authorisation: a reader proves which user it is by signing the mailbox name and the time with
 * its identity key. Owners of a room's logs serve them only to members; the proof is bound to one
 * mailbox and expires, so a captured one is of little use.
 */

import { createHash } from 'node:crypto'
import { ed25519Sign, ed25519Verify } from './ed25519.js'
import { userIdOf, type IdentityKey, type SenderKeyCache } from './envelope.js'
import { BadSignatureError, MalformedEnvelopeError } from './errors.js'
import type { ReadAuth } from './pb/store.js'

const DOMAIN = 'chorus/read/v1\n'

/** How far a proof's time may be from the owner's clock. */
export const READ_AUTH_WINDOW_MS = 5 * 60_000

/**
 * How long a reader uses one proof of a mailbox before it signs a new one: well inside the window, so
 * that a proof is never refused as expired, and an owner verifies each proof once (it remembers the
 * proofs that verified) however often the reader syncs.
 */
export const READ_AUTH_REUSE_MS = 60_000

function signed (mailbox: string, timestamp: bigint): Uint8Array {
  return new TextEncoder().encode(`${DOMAIN}${mailbox}\n${timestamp}`)
}

/** Sign a read of `mailbox` now. */
export function signReadAuth (mailbox: string, identity: IdentityKey, nowMs = Date.now()): ReadAuth {
  const timestamp = BigInt(nowMs)
  return {
    publicKey: new Uint8Array(identity.publicKey),
    timestamp,
    signature: ed25519Sign(identity.privateKey, signed(mailbox, timestamp))
  }
}

/**
 * Check a proof for `mailbox`; returns the reader's userId. Throws `BadSignatureError` or
 * `MalformedEnvelopeError`. With `keys`, a proof that verified before (the same key, signature, mailbox
 * and time) is not verified again, and the key object is cached; its time is checked on every use.
 */
export function verifyReadAuth (auth: ReadAuth, mailbox: string, nowMs = Date.now(), keys?: SenderKeyCache): string {
  if (auth.publicKey.byteLength !== 32 || auth.signature.byteLength !== 64) throw new MalformedEnvelopeError('read proof has the wrong key or signature length')
  if (Math.abs(Number(auth.timestamp) - nowMs) > READ_AUTH_WINDOW_MS) throw new BadSignatureError('read proof expired or from the future')
  const message = signed(mailbox, auth.timestamp)
  const digest = keys != null
    ? createHash('sha256').update(DOMAIN).update(auth.publicKey).update(auth.signature).update(message).digest('base64')
    : undefined
  if (digest != null && keys?.verified(digest) === true) return userIdOf(auth.publicKey)
  if (!ed25519Verify(keys?.get(auth.publicKey) ?? auth.publicKey, message, auth.signature)) {
    throw new BadSignatureError('read proof signature does not verify')
  }
  if (digest != null) keys?.remember(digest)
  return userIdOf(auth.publicKey)
}

/** The scope a deletion proof signs: the mailbox and a hash of the cursors deleted. */
export function deleteScope (mailbox: string, cursors: Uint8Array[]): string {
  const h = createHash('sha256')
  for (const c of cursors) h.update(c)
  return `${mailbox}\ndelete:${h.digest('hex')}`
}
