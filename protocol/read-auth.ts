/**
 * Read authorisation: a reader proves which user it is by signing the mailbox name and the time with
 * its identity key. Owners of a room's logs serve them only to members; the proof is bound to one
 * mailbox and expires, so a captured one is of little use.
 */

import { createHash } from 'node:crypto'
import { ed25519Sign, ed25519Verify } from './ed25519.js'
import { userIdOf, type IdentityKey } from './envelope.js'
import { BadSignatureError, MalformedEnvelopeError } from './errors.js'
import type { ReadAuth } from './pb/store.js'

const DOMAIN = 'chorus/read/v1\n'

/** How far a proof's time may be from the owner's clock. */
export const READ_AUTH_WINDOW_MS = 5 * 60_000

function signed (mailbox: string, timestamp: bigint): Uint8Array {
  return new TextEncoder().encode(`${DOMAIN}${mailbox}\n${timestamp}`)
}

/** Sign a read of `mailbox` now. */
export function signReadAuth (mailbox: string, identity: IdentityKey, nowMs = Date.now()): ReadAuth {
  const timestamp = BigInt(nowMs)
  return { publicKey: new Uint8Array(identity.publicKey), timestamp, signature: ed25519Sign(identity.privateKey, signed(mailbox, timestamp)) }
}

/** Check a proof for `mailbox`; returns the reader's userId. Throws `BadSignatureError` or `MalformedEnvelopeError`. */
export function verifyReadAuth (auth: ReadAuth, mailbox: string, nowMs = Date.now()): string {
  if (auth.publicKey.byteLength !== 32 || auth.signature.byteLength !== 64) throw new MalformedEnvelopeError('read proof has the wrong key or signature length')
  if (Math.abs(Number(auth.timestamp) - nowMs) > READ_AUTH_WINDOW_MS) throw new BadSignatureError('read proof expired or from the future')
  if (!ed25519Verify(auth.publicKey, signed(mailbox, auth.timestamp), auth.signature)) throw new BadSignatureError('read proof signature does not verify')
  return userIdOf(auth.publicKey)
}

/** The scope a deletion proof signs: the mailbox and a hash of the cursors deleted. */
export function deleteScope (mailbox: string, cursors: Uint8Array[]): string {
  const h = createHash('sha256')
  for (const c of cursors) h.update(c)
  return `${mailbox}\ndelete:${h.digest('hex')}`
}
