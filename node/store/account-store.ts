/** Gateway accounts held by this server as one of their handle's owners: sublevel `accounts`, handle → record. */

import { GatewayAccount } from '../../protocol/pb/store.js'
import type { ChorusDb } from './db.js'
import type { GroupCommit } from './group-commit.js'

export class AccountRecordStore {
  private readonly sub

  constructor (db: ChorusDb, private readonly commit: GroupCommit) {
    this.sub = db.sublevel<string, Uint8Array>('accounts', { valueEncoding: 'view' })
  }

  async get (handle: string): Promise<GatewayAccount | undefined> {
    const bytes = await this.sub.get(handle)
    return bytes == null ? undefined : GatewayAccount.decode(bytes)
  }

  /** Keep `a` unless a newer (or the same) version is held; returns what is held after. */
  async put (a: GatewayAccount): Promise<GatewayAccount> {
    const held = await this.get(a.handle)
    if (held != null && held.version >= a.version) return held
    await this.commit.write([{ type: 'put', sublevel: this.sub as any, key: a.handle, value: GatewayAccount.encode(a) }])
    return a
  }

  async delete (handle: string): Promise<void> {
    await this.sub.del(handle)
  }
}
