/**
 * User identities kept on the user's own node: sublevel `identities`, handle → raw Ed25519 keys. The
 * private key never leaves this database; servers only ever see the public key and signatures.
 */

import { generateIdentity, type IdentityKey } from '../../protocol/envelope.js'
import type { ChorusDb } from '../store/db.js'

export class IdentityStore {
  private readonly sub

  constructor (db: ChorusDb) {
    this.sub = db.sublevel<string, string>('identities', { valueEncoding: 'utf8' })
  }

  /** The identity stored for `handle`, created (and synced to disk) on first use. */
  async loadOrCreate (handle: string): Promise<{ identity: IdentityKey, created: boolean }> {
    const raw = await this.sub.get(handle)
    if (raw != null) {
      const j = JSON.parse(raw)
      return { identity: { publicKey: new Uint8Array(Buffer.from(j.publicKey, 'base64')), privateKey: new Uint8Array(Buffer.from(j.privateKey, 'base64')) }, created: false }
    }
    const identity = generateIdentity()
    await this.sub.put(handle, JSON.stringify({ publicKey: Buffer.from(identity.publicKey).toString('base64'), privateKey: Buffer.from(identity.privateKey).toString('base64') }))
    return { identity, created: true }
  }
}
