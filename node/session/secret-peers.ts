/**
 * The identity keys a device last saw for each secret-chat peer (`peer!<me>!<peer>`, JSON), so that a
 * change (another device, or someone in between) is told to the user: compare safety numbers again.
 */

import { b64, unb64 } from './base64.js'
import type { SecretOp, SecretStore } from './secret-store.js'

export class PeerIdentities {
  constructor (private readonly store: SecretStore, private readonly me: string) {}

  /**
   * The write that records `peer`'s keys, and whether they differ from the ones seen before (none seen is no change).
   */
  async note (
    peer: string,
    identityKey: Uint8Array,
    identityDhKey: Uint8Array
  ): Promise<{ ops: SecretOp[], changed: boolean }> {
    const key = `peer!${this.me}!${peer}`
    const now = JSON.stringify({ ik: b64(identityKey), dh: b64(identityDhKey) })
    const before = await this.store.get(key)
    return { ops: before === now ? [] : [{ type: 'put', key, value: now }], changed: before != null && before !== now }
  }

  /** `peer`'s Ed25519 identity key as this device knows it. */
  async identityKey (peer: string): Promise<Uint8Array | undefined> {
    const raw = await this.store.get(`peer!${this.me}!${peer}`)
    return raw == null ? undefined : unb64(JSON.parse(raw).ik)
  }
}
