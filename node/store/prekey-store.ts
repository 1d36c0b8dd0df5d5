/**
 * Prekeys held by this server as one of a user's owners (sublevel `prekeys`):
 *
 *   `b!<userId>`             → the newest signed upload's bundle and timestamp (JSON)
 *   `o!<userId>!<id, hex8>`  → a one-time prekey's public key, not yet handed out
 *   `u!<userId>!<id, hex8>`  → a one-time prekey handed out (here or by another owner): never again
 */

import type { ChorusDb } from './db.js'
import type { GroupCommit } from './group-commit.js'

const idKey = (id: number): string => id.toString(16).padStart(8, '0')

export class PrekeyStore {
  private readonly sub
  private readonly taking = new Map<string, Promise<{ id: number, publicKey: Uint8Array } | undefined>>()

  constructor (db: ChorusDb, private readonly commit: GroupCommit) {
    this.sub = db.sublevel<string, string>('prekeys', { valueEncoding: 'utf8' })
  }

  /** The stored bundle (encoded) and its upload time. */
  async bundle (userId: string): Promise<{ bundle: Uint8Array, timestamp: number } | undefined> {
    const raw = await this.sub.get(`b!${userId}`)
    if (raw == null) return undefined
    const j = JSON.parse(raw)
    return { bundle: new Uint8Array(Buffer.from(j.bundle, 'base64')), timestamp: j.timestamp }
  }

  /** Store an upload: the bundle if it is newer, and every one-time prekey not already handed out. */
  async put (userId: string, bundle: Uint8Array, timestamp: number, oneTime: Array<{ id: number, publicKey: Uint8Array }>): Promise<void> {
    const current = await this.bundle(userId)
    const ops: any[] = []
    if (current == null || timestamp >= current.timestamp) {
      ops.push({ type: 'put', sublevel: this.sub, key: `b!${userId}`, value: JSON.stringify({ bundle: Buffer.from(bundle).toString('base64'), timestamp }) })
    }
    const used = await this.sub.getMany(oneTime.map((k) => `u!${userId}!${idKey(k.id)}`))
    oneTime.forEach((k, i) => {
      if (used[i] == null) ops.push({ type: 'put', sublevel: this.sub, key: `o!${userId}!${idKey(k.id)}`, value: Buffer.from(k.publicKey).toString('base64') })
    })
    await this.commit.write(ops)
  }

  /** Hand out the oldest unused one-time prekey, retiring it here; `undefined` when none is left. Serialised per user. */
  async take (userId: string): Promise<{ id: number, publicKey: Uint8Array } | undefined> {
    const prev = this.taking.get(userId) ?? Promise.resolve(undefined)
    const run = prev.catch(() => undefined).then(async () => this.takeNow(userId))
    this.taking.set(userId, run)
    try {
      return await run
    } finally {
      if (this.taking.get(userId) === run) this.taking.delete(userId)
    }
  }

  private async takeNow (userId: string): Promise<{ id: number, publicKey: Uint8Array } | undefined> {
    for await (const [key, value] of this.sub.iterator({ gt: `o!${userId}!`, lt: `o!${userId}!\xff`, limit: 1 })) {
      const id = parseInt(key.slice(key.lastIndexOf('!') + 1), 16)
      await this.retire(userId, id)
      return { id, publicKey: new Uint8Array(Buffer.from(value, 'base64')) }
    }
    return undefined
  }

  /** Mark a one-time prekey handed out (by this owner or another): it is never handed out here again. */
  async retire (userId: string, id: number): Promise<void> {
    await this.commit.write([
      { type: 'del', sublevel: this.sub, key: `o!${userId}!${idKey(id)}` },
      { type: 'put', sublevel: this.sub, key: `u!${userId}!${idKey(id)}`, value: '' }
    ])
  }

  /** One-time prekeys left here for `userId`. */
  async remaining (userId: string): Promise<number> {
    let n = 0
    for await (const _ of this.sub.keys({ gt: `o!${userId}!`, lt: `o!${userId}!\xff` })) n++
    return n
  }
}
