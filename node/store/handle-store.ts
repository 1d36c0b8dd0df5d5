/** Handle claims held by this server as one of a handle's owners: sublevel `handles`, handle → claim. */

import { HandleClaim } from '../../protocol/pb/store.js'
import type { ChorusDb } from './db.js'
import type { GroupCommit } from './group-commit.js'

export class HandleStore {
  private readonly sub
  /**
   * Bumped after each put or delete has landed: repair compares it before and after a pass, so a claim
   * written while a pass ran (which the pass may not have read) is never taken as settled.
   */
  writes = 0

  constructor (db: ChorusDb, private readonly commit: GroupCommit) {
    this.sub = db.sublevel<string, Uint8Array>('handles', { valueEncoding: 'view' })
  }

  async get (handle: string): Promise<HandleClaim | undefined> {
    const bytes = await this.sub.get(handle)
    return bytes == null ? undefined : HandleClaim.decode(bytes)
  }

  async put (claim: HandleClaim): Promise<void> {
    try {
      await this.commit.write(
        [{ type: 'put', sublevel: this.sub as any, key: claim.handle, value: HandleClaim.encode(claim) }]
      )
    } finally {
      this.writes++
    }
  }

  /** Every handle held here, for repair. */
  async * all (): AsyncGenerator<HandleClaim> {
    for await (const bytes of this.sub.values()) yield HandleClaim.decode(bytes)
  }

  /** Claims held here whose keys are in (`after`, `below`), in key order, at most `limit`. */
  async range (after: string, below: string, limit: number): Promise<HandleClaim[]> {
    const out: HandleClaim[] = []
    for await (const bytes of this.sub.values({ gt: after, lt: below, limit })) out.push(HandleClaim.decode(bytes))
    return out
  }

  async delete (handle: string): Promise<void> {
    try {
      await this.sub.del(handle)
    } finally {
      this.writes++
    }
  }
}
