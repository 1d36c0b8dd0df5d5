/**
 * Gateway accounts on the mesh: what an XMPP gateway keeps about a user it serves (its SCRAM verifiers,
 * its account key wrapped under each SCRAM ClientKey, its identity key sealed under the account key) is
 * stored at the owners of the user's handle, signed by the user's identity key, so that any gateway can
 * log the user in and no server can change the record. A newer version replaces an older one.
 */

import { createHash } from 'node:crypto'
import { ed25519Sign, ed25519Verify, type Ed25519KeyPair } from './ed25519.js'
import { BadSignatureError, MalformedEnvelopeError } from './errors.js'
import { checkHandle } from './handle.js'
import type { GatewayAccount } from './pb/store.js'

export type { GatewayAccount }

/** Largest account record, bytes. */
export const MAX_ACCOUNT_RECORD_BYTES = 8192

function signedBytes (handle: string, publicKey: Uint8Array, version: bigint, record: Uint8Array): Uint8Array {
  const head = Buffer.from(`chorus/account/v1\0${handle}\0`)
  const v = Buffer.alloc(8)
  v.writeBigUInt64BE(version)
  return Buffer.concat([head, publicKey, v, createHash('sha256').update(record).digest()])
}

/** Sign `record` as version `version` of `handle`'s account. */
export function signAccount (handle: string, identity: Ed25519KeyPair, version: bigint, record: Uint8Array): GatewayAccount {
  checkHandle(handle)
  if (record.byteLength > MAX_ACCOUNT_RECORD_BYTES) throw new MalformedEnvelopeError(`an account record is at most ${MAX_ACCOUNT_RECORD_BYTES} bytes`)
  const publicKey = new Uint8Array(identity.publicKey)
  return { handle, publicKey, version, record: new Uint8Array(record), signature: ed25519Sign(identity.privateKey, signedBytes(handle, publicKey, version, record)) }
}

/** Throw unless the account is well formed and its signature holds. */
export function verifyAccount (a: GatewayAccount | undefined): GatewayAccount {
  if (a == null) throw new MalformedEnvelopeError('account missing')
  checkHandle(a.handle)
  if (a.publicKey.byteLength !== 32) throw new MalformedEnvelopeError('account public key must be 32 bytes')
  if (a.record.byteLength === 0 || a.record.byteLength > MAX_ACCOUNT_RECORD_BYTES) throw new MalformedEnvelopeError(`an account record is 1 to ${MAX_ACCOUNT_RECORD_BYTES} bytes`)
  if (!ed25519Verify(a.publicKey, signedBytes(a.handle, a.publicKey, a.version, a.record), a.signature)) {
    throw new BadSignatureError(`account of ${a.handle} does not verify`)
  }
  return a
}
