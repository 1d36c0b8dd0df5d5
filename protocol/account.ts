/**
 * Gateway accounts on the mesh: what an XMPP gateway keeps about a user it serves (its SCRAM verifiers,
 * its account key wrapped under each SCRAM ClientKey, its identity key sealed under the account key) is
 * stored at the owners of the user's handle, signed by the user's identity key, so that any gateway can
 * log the user in and no server can change the record. A newer version replaces an older one; a version
 * is the mesh time it was signed at, and one further ahead of the reader's mesh clock than
 * MAX_ACCOUNT_VERSION_AHEAD_MS is not believed (else a record signed once with version 2^64 − 1 would win
 * for ever). A record counts only where its key is the key that holds the handle's claim: checking that
 * is the reader's job (the owners check it against the claim they hold, a gateway against the claim a
 * majority of the owners hold).
 */

import { createHash } from 'node:crypto'
import { ed25519Sign, ed25519Verify, type Ed25519KeyPair } from './ed25519.js'
import { BadSignatureError, ChorusError, MalformedEnvelopeError } from './errors.js'
import { checkHandle } from './handle.js'
import type { GatewayAccount } from './pb/store.js'

export type { GatewayAccount }

/** Largest account record, bytes. */
export const MAX_ACCOUNT_RECORD_BYTES = 8192

/**
 * How far ahead of the reader's mesh clock an account's version (its signing time, ms) may be: the
 * certificates' issue skew, room for two clocks that disagree within what the mesh corrects.
 * @default 300000
 */
export const MAX_ACCOUNT_VERSION_AHEAD_MS = 5 * 60 * 1000

/** An account record whose version is further in the future than MAX_ACCOUNT_VERSION_AHEAD_MS. */
export class FutureAccountVersionError extends ChorusError {
  static readonly code = 'ERR_FUTURE_ACCOUNT_VERSION'
  override readonly name = 'FutureAccountVersionError'
  constructor (message: string) { super(message, FutureAccountVersionError.code) }
}

/** An account record signed by a key other than the one that holds its handle's claim. */
export class AccountKeyMismatchError extends ChorusError {
  static readonly code = 'ERR_ACCOUNT_KEY_MISMATCH'
  override readonly name = 'AccountKeyMismatchError'
  constructor (message: string) { super(message, AccountKeyMismatchError.code) }
}

function signedBytes (handle: string, publicKey: Uint8Array, version: bigint, record: Uint8Array): Uint8Array {
  const head = Buffer.from(`chorus/account/v1\0${handle}\0`)
  const v = Buffer.alloc(8)
  v.writeBigUInt64BE(version)
  return Buffer.concat([head, publicKey, v, createHash('sha256').update(record).digest()])
}

/** Sign `record` as version `version` of `handle`'s account. */
export function signAccount (
  handle: string,
  identity: Ed25519KeyPair,
  version: bigint,
  record: Uint8Array
): GatewayAccount {
  checkHandle(handle)
  if (record.byteLength > MAX_ACCOUNT_RECORD_BYTES) throw new MalformedEnvelopeError(`an account record is at most ${MAX_ACCOUNT_RECORD_BYTES} bytes`)
  const publicKey = new Uint8Array(identity.publicKey)
  return {
    handle,
    publicKey,
    version,
    record: new Uint8Array(record),
    signature: ed25519Sign(identity.privateKey, signedBytes(handle, publicKey, version, record))
  }
}

/** Throw unless the account is well formed and its signature holds. */
export function verifyAccount (a: GatewayAccount | undefined): GatewayAccount {
  if (a == null) throw new MalformedEnvelopeError('account missing')
  checkHandle(a.handle)
  if (a.publicKey.byteLength !== 32) throw new MalformedEnvelopeError('account public key must be 32 bytes')
  if (a.record.byteLength === 0 || a.record.byteLength > MAX_ACCOUNT_RECORD_BYTES) {
    throw new MalformedEnvelopeError(`an account record is 1 to ${MAX_ACCOUNT_RECORD_BYTES} bytes`)
  }
  if (!ed25519Verify(a.publicKey, signedBytes(a.handle, a.publicKey, a.version, a.record), a.signature)) {
    throw new BadSignatureError(`account of ${a.handle} does not verify`)
  }
  return a
}

/**
 * Throw unless `a` (verified) belongs to the handle's claimed key `claimKey` and its version is no more than
 * MAX_ACCOUNT_VERSION_AHEAD_MS ahead of `now` (the reader's mesh time, ms).
 */
export function checkAccountAuthority (a: GatewayAccount, claimKey: Uint8Array, now: number): GatewayAccount {
  if (!Buffer.from(a.publicKey).equals(Buffer.from(claimKey))) {
    throw new AccountKeyMismatchError(`the account of ${a.handle} is not signed by the key that holds the handle`)
  }
  if (a.version > BigInt(Math.max(0, Math.floor(now))) + BigInt(MAX_ACCOUNT_VERSION_AHEAD_MS)) {
    throw new FutureAccountVersionError(`the account of ${a.handle} has a version from the future (${a.version})`)
  }
  return a
}
