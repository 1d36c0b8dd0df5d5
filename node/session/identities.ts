/**
 * User identities kept on the user's own node: sublevel `identities`, handle → raw Ed25519 keys, sealed
 * by the user's vault when it has a passphrase (vault.ts). The private key never leaves this database;
 * servers only ever see the public key and signatures.
 */

import { generateIdentity, type IdentityKey } from '../../protocol/envelope.js'
import { ChorusError } from '../errors.js'
import type { ChorusDb } from '../store/db.js'
import type { Vault } from './vault.js'

/** An identity offered for a handle this device holds with another key. */
export class IdentityMismatchError extends ChorusError {
  static readonly code = 'ERR_IDENTITY_MISMATCH'
  override readonly name = 'IdentityMismatchError'
  constructor (message: string) { super(message, IdentityMismatchError.code) }
}

export class IdentityStore {
  private readonly sub

  constructor (db: ChorusDb) {
    this.sub = db.sublevel<string, string>('identities', { valueEncoding: 'utf8' })
  }

  /** Whether this device holds an identity for `handle`. */
  async has (handle: string): Promise<boolean> {
    return await this.sub.get(handle) != null
  }

  /**
   * Keep `identity` for `handle` (a gateway restoring a user whose key it holds for them elsewhere): stored
   * sealed by `vault` when this device has none; when it has one, it must be the same key.
   */
  async adopt (handle: string, identity: IdentityKey, vault: Vault): Promise<IdentityKey> {
    const raw = await this.sub.get(handle)
    if (raw != null) {
      const held = JSON.parse(vault.open(raw))
      if (held.publicKey !== Buffer.from(identity.publicKey).toString('base64')) throw new IdentityMismatchError(`${handle} is held here with another identity key`)
      return identity
    }
    await this.sub.put(handle,
      vault.seal(
        JSON.stringify({
          publicKey: Buffer.from(identity.publicKey).toString('base64'),
          privateKey: Buffer.from(identity.privateKey).toString('base64')
        })
      ))
    return identity
  }

  /** The identity stored for `handle`, created (and synced to disk) on first use. */
  async loadOrCreate (handle: string, vault: Vault): Promise<{ identity: IdentityKey, created: boolean }> {
    const raw = await this.sub.get(handle)
    if (raw != null) {
      const j = JSON.parse(vault.open(raw))
      return {
        identity: {
          publicKey: new Uint8Array(Buffer.from(j.publicKey, 'base64')),
          privateKey: new Uint8Array(Buffer.from(j.privateKey, 'base64'))
        },
        created: false
      }
    }
    const identity = generateIdentity()
    await this.sub.put(handle,
      vault.seal(
        JSON.stringify({
          publicKey: Buffer.from(identity.publicKey).toString('base64'),
          privateKey: Buffer.from(identity.privateKey).toString('base64')
        })
      ))
    return { identity, created: true }
  }
}
