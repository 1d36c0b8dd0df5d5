/**
 * Prekeys held by this server as one of a user's owners (sublevel `prekeys`):
 *
 *   `b!<userId>`             → the newest signed upload's bundle and timestamp (JSON)
 *   `o!<userId>!<id, hex8>`  → a one-time prekey not yet handed out: JSON `{ k, at }`, its public key and
 *                              the signed time of the upload that brought it (older entries: the key alone)
 *   `u!<userId>!<id, hex8>`  → a one-time prekey handed out (here or by another owner), or expired: never again
 *
 * A one-time prekey is handed out only within `oneTimeLifetimeMs` of its upload; after that its device
 * deletes the private half (device-keys.ts), so an initiation naming it would fail. Expired keys are
 * dropped as they are met.
 */

import type { ChorusDb } from './db.js'
import type { GroupCommit } from './group-commit.js'
import { PrekeyClaims, type PrekeyClaimsInit } from './prekey-claims.js'

/**
 * How long after its upload an owner hands out a one-time prekey. Long enough that a user few people
 * contact re-uploads rarely (100 keys a month is ~3 KiB per owner); short enough to bound how long an
 * unused private key waits on the device for a thief (the device keeps it two signed-prekey rotations
 * longer, for initiations in flight). @default 30 days
 */
export const DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS = 30 * 24 * 3600_000

/** Options of a prekey store. */
export interface PrekeyStoreInit {
  /** @default DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS */
  oneTimeLifetimeMs?: number
  /** budgets of one-time prekey claims */
  claims?: PrekeyClaimsInit
}

const idKey = (id: number): string => id.toString(16).padStart(8, '0')

/** A stored one-time prekey: its public key (base64) and upload time. Legacy entries are the key alone. */
function parseOneTime (value: string, legacyAt: number): { k: string, at: number } {
  return value.startsWith('{') ? JSON.parse(value) : { k: value, at: legacyAt }
}

export class PrekeyStore {
  /** who may have how many one-time prekeys (the PREKEYS_GET handler charges each claim) */
  readonly claims: PrekeyClaims
  private readonly sub
  private readonly lifetimeMs: number
  private readonly taking = new Map<string, Promise<{ id: number, publicKey: Uint8Array } | undefined>>()

  constructor (db: ChorusDb, private readonly commit: GroupCommit, init: PrekeyStoreInit = {}) {
    this.sub = db.sublevel<string, string>('prekeys', { valueEncoding: 'utf8' })
    this.lifetimeMs = init.oneTimeLifetimeMs ?? DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS
    this.claims = new PrekeyClaims(init.claims)
  }

  /** The stored bundle (encoded) and its upload time. */
  async bundle (userId: string): Promise<{ bundle: Uint8Array, timestamp: number } | undefined> {
    const raw = await this.sub.get(`b!${userId}`)
    if (raw == null) return undefined
    const j = JSON.parse(raw)
    return { bundle: new Uint8Array(Buffer.from(j.bundle, 'base64')), timestamp: j.timestamp }
  }

  /**
   * Store an upload: the bundle if it is newer, and every one-time prekey neither handed out nor held
   * already (a key uploaded again keeps its first upload time: its age is what expires it).
   */
  async put (
    userId: string,
    bundle: Uint8Array,
    timestamp: number,
    oneTime: Array<{ id: number, publicKey: Uint8Array }>
  ): Promise<void> {
    const current = await this.bundle(userId)
    const ops: any[] = []
    if (current == null || timestamp >= current.timestamp) {
      ops.push({
        type: 'put',
        sublevel: this.sub,
        key: `b!${userId}`,
        value: JSON.stringify({ bundle: Buffer.from(bundle).toString('base64'), timestamp })
      })
    }
    const used = await this.sub.getMany(oneTime.map((k) => `u!${userId}!${idKey(k.id)}`))
    const held = await this.sub.getMany(oneTime.map((k) => `o!${userId}!${idKey(k.id)}`))
    oneTime.forEach((k, i) => {
      if (used[i] != null || held[i] != null) return
      ops.push({
        type: 'put',
        sublevel: this.sub,
        key: `o!${userId}!${idKey(k.id)}`,
        value: JSON.stringify({ k: Buffer.from(k.publicKey).toString('base64'), at: timestamp })
      })
    })
    await this.commit.write(ops)
  }

  /**
   * Hand out the oldest unused one-time prekey still within its lifetime, retiring it here; `undefined` when
   * none is left. Serialised per user.
   */
  async take (userId: string, now = Date.now()): Promise<{ id: number, publicKey: Uint8Array } | undefined> {
    const prev = this.taking.get(userId) ?? Promise.resolve(undefined)
    const run = prev.catch(() => undefined).then(async () => this.takeNow(userId, now))
    this.taking.set(userId, run)
    try {
      return await run
    } finally {
      if (this.taking.get(userId) === run) this.taking.delete(userId)
    }
  }

  private async takeNow (userId: string, now: number): Promise<{ id: number, publicKey: Uint8Array } | undefined> {
    const legacyAt = (await this.bundle(userId))?.timestamp ?? 0
    const expired: number[] = []
    let found: { id: number, publicKey: Uint8Array } | undefined
    for await (const [key, value] of this.sub.iterator({ gt: `o!${userId}!`, lt: `o!${userId}!\xff` })) {
      const id = parseInt(key.slice(key.lastIndexOf('!') + 1), 16)
      const { k, at } = parseOneTime(value, legacyAt)
      if (now - at > this.lifetimeMs) { expired.push(id); continue }
      found = { id, publicKey: new Uint8Array(Buffer.from(k, 'base64')) }
      break
    }
    const retiring = found != null ? [...expired, found.id] : expired
    await this.commit.write(retiring.flatMap((id) => this.retireOps(userId, id)))
    return found
  }

  /** Mark a one-time prekey handed out (by this owner or another): it is never handed out here again. */
  async retire (userId: string, id: number): Promise<void> {
    await this.commit.write(this.retireOps(userId, id))
  }

  private retireOps (userId: string, id: number): any[] {
    return [
      { type: 'del', sublevel: this.sub, key: `o!${userId}!${idKey(id)}` },
      { type: 'put', sublevel: this.sub, key: `u!${userId}!${idKey(id)}`, value: '' }
    ]
  }

  /** One-time prekeys left here for `userId` and still within their lifetime (what the device refills by). */
  async remaining (userId: string, now = Date.now()): Promise<number> {
    const legacyAt = (await this.bundle(userId))?.timestamp ?? 0
    let n = 0
    for await (const value of this.sub.values({ gt: `o!${userId}!`, lt: `o!${userId}!\xff` })) {
      if (now - parseOneTime(value, legacyAt).at <= this.lifetimeMs) n++
    }
    return n
  }
}
