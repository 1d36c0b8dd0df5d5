/**
 * PendingDeletions over a real LevelDB and stand-in owners: a deletion is kept on the device until W
 * owners confirmed it, sent again after failures, and found again by a device that restarted.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import type { Owners } from '../../node/session/ports.js'
import { PendingDeletions } from '../../node/session/secret-deletions.js'
import { MAX_FETCH_LIMIT } from '../../node/replication/constants.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { TempDirs } from '../helpers/wait.js'

describe('PendingDeletions: delivered secret ciphertext is deleted at the owners, durably', () => {
  const dirs = new TempDirs()
  const identity = generateIdentity()
  const me = userIdOf(identity.publicKey)
  let db: ChorusDb
  let dir: string
  /** owners that answer; the rest fail */
  let up = new Set<string>()
  let deleted: Map<string, string[]>

  const owners: Pick<Owners, 'ownersOf' | 'call' | 'writeQuorum'> = {
    ownersOf: () => ['o1', 'o2', 'o3'],
    writeQuorum: 2,
    call: async (owner, req) => {
      assert.equal(req.kind, StoreRequest.Kind.DELETE)
      if (!up.has(owner)) throw new Error(`${owner} is down`)
      deleted.set(owner, [...(deleted.get(owner) ?? []), ...(req.cursors ?? []).map((c) => Buffer.from(c).toString('hex'))])
      return StoreResponse.decode(new Uint8Array(0))
    }
  }
  const pending = (): PendingDeletions => new PendingDeletions({ storage: db, userId: me, identity, owners })
  const cursor = (n: number): Uint8Array => new Uint8Array(24).fill(n)

  beforeEach(async () => { dir = dirs.make(); db = await openDb(dir); deleted = new Map(); up = new Set() })
  afterEach(async () => { if (db.status === 'open') await db.close(); dirs.cleanup() })

  it('a deletion added while a batch is out is sent too (not forgotten when that batch is confirmed)', async () => {
    const p = pending()
    await p.add(cursor(1))
    up = new Set(['o1', 'o2', 'o3'])
    // the owners answer the first batch only after the second deletion was added
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const call = owners.call
    let first = true
    owners.call = async (owner, req) => {
      if (first) { first = owner !== 'o3'; await gate }
      return await call(owner, req)
    }
    try {
      const flushing = p.flush()
      await p.add(cursor(2))
      release()
      await flushing
      await p.flush()
    } finally {
      owners.call = call
    }
    assert.deepEqual(deleted.get('o1')?.sort(),
      [Buffer.from(cursor(1)).toString('hex'), Buffer.from(cursor(2)).toString('hex')].sort())
  })

  it('keeps a deletion until W owners confirmed it, across failures and a restart', async () => {
    const p = pending()
    await p.add(cursor(1))
    await p.add(cursor(2))
    up = new Set(['o1'])
    await p.flush()
    assert.deepEqual(deleted.get('o1')?.length, 2, 'sent to the owner that answered')
    // one of three is not a quorum: the device keeps it; restart the device
    await db.close()
    db = await openDb(dir)
    const again = pending()
    up = new Set(['o2', 'o3'])
    await again.flush()
    assert.equal(deleted.get('o2')?.length, 2, 'the restarted device sent it again')
    assert.equal(deleted.get('o3')?.length, 2)
    deleted.clear()
    await again.flush()
    await pending().flush()
    assert.equal(deleted.size, 0, 'confirmed by W owners: forgotten, never sent again')
  })

  it('sends a backlog larger than one request in requests the owners take (at most MAX_FETCH_LIMIT each)', async () => {
    const p = pending()
    for (let i = 0; i < 300; i++) {
      await p.add(new Uint8Array(24).fill(0).map((_, j) => (j === 0 ? i >> 8 : j === 1 ? i & 255 : 7)))
    }
    up = new Set(['o1', 'o2', 'o3'])
    const sizes: number[] = []
    const call = owners.call
    owners.call = async (owner, req) => {
      if (owner === 'o1') sizes.push(req.cursors?.length ?? 0)
      return await call(owner, req)
    }
    try { await p.flush() } finally { owners.call = call }
    assert.ok(sizes.every((n) => n <= MAX_FETCH_LIMIT), `every request within the owners' bound (${sizes.join(', ')})`)
    assert.equal(sizes.reduce((a, b) => a + b, 0), 300, 'all 300 sent in one flush')
    assert.equal(deleted.get('o1')?.length, 300)
  })
})
