/** Gateway accounts held by this server as one of their handle's owners: sublevel `accounts`, handle → record. */

import { checkAccountAuthority } from '../../protocol/account.js'
import { GatewayAccount } from '../../protocol/pb/store.js'
import type { ChorusDb } from './db.js'
import type { GroupCommit } from './group-commit.js'

export class AccountRecordStore {
  private readonly sub

  constructor (db: ChorusDb, private readonly commit: GroupCommit) {
    this.sub = db.sublevel<string, Uint8Array>('accounts', { valueEncoding: 'view' })
  }

  /** The record held for `handle`, as stored (the caller judges it against the claim). */
  async get (handle: string): Promise<GatewayAccount | undefined> {
    const bytes = await this.sub.get(handle)
    return bytes == null ? undefined : GatewayAccount.decode(bytes)
  }

  /**
   * The record held for `handle` if it belongs to the handle's claimed key `claimKey` and its version is not
   * from the future at mesh time `now`; a record that fails either (planted before this owner held the
   * claim, or from before versions were bounded) counts as none.
   */
  async valid (handle: string, claimKey: Uint8Array, now: number): Promise<GatewayAccount | undefined> {
    const held = await this.get(handle)
    if (held == null) return undefined
    try {
      return checkAccountAuthority(held, claimKey, now)
    } catch {
      return undefined
    }
  }

  /**
   * Keep `a` (verified, and checked against the claim `claimKey` by the caller) unless a valid record of a
   * newer or the same version is held; returns what is held after. A held record that is not valid is
   * replaced whatever its version.
   */
  async put (a: GatewayAccount, claimKey: Uint8Array, now: number): Promise<GatewayAccount> {
    const held = await this.valid(a.handle, claimKey, now)
    if (held != null && held.version >= a.version) return held
    await this.commit.write([{ type: 'put', sublevel: this.sub as any, key: a.handle, value: GatewayAccount.encode(a) }])
    return a
  }

  async delete (handle: string): Promise<void> {
    await this.sub.del(handle)
  }
}
