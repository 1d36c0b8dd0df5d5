import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { DigestCache, type BucketDigest } from '../../node/store/digest-cache.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { MailboxStore } from '../../node/store/mailbox-store.js'
import { COARSE_BUCKET_MS, FINE_BUCKET_MS } from '../../node/replication/constants.js'
import { entry } from '../helpers/envelopes.js'
import { TempDirs } from '../helpers/wait.js'

const alice = generateIdentity()
const bob = generateIdentity()
const B = userIdOf(bob.publicKey)
const HOUR = 3_600_000

const show = (ds: BucketDigest[]): string[] =>
  ds.map((b) => `${b.start.toString(16)}:${b.count}:${Buffer.from(b.hash).toString('hex')}`)

describe('DigestCache: whole-mailbox digests kept between rounds, read again where writes landed', () => {
  const dirs = new TempDirs()
  let db: ChorusDb
  let store: MailboxStore
  /** what a store that keeps nothing answers: the digest read whole from disk */
  let fromDisk: () => Promise<string[]>

  beforeEach(async () => {
    db = await openDb(dirs.make())
    const commit = new GroupCommit(db)
    store = new MailboxStore(db, commit)
    fromDisk = async () => show(await new MailboxStore(db, commit).digest(B, COARSE_BUCKET_MS))
  })
  afterEach(async () => { await db.close(); dirs.cleanup() })

  it('answers what a whole read answers after puts, tombstones, expiries and hand-offs, reading only touched buckets', async () => {
    const t0 = 1_700_000_000_000
    // four coarse buckets (~18.6 h each) of history
    const es = Array.from({ length: 40 }, (_, i) => entry(B, alice, B, t0 + i * 2 * HOUR))
    await store.put(es)
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk())
    assert.equal(store.digests.stats.whole, 1)
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk())
    assert.equal(store.digests.stats.unchanged, 1, 'nothing written: nothing read')

    await store.put([entry(B, alice, B, t0 + 3)])
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk())
    assert.equal(store.digests.stats.buckets, 1, 'one bucket read again, not the mailbox')
    assert.equal(store.digests.stats.whole, 1)

    await store.tombstone(B, [{ cursor: es[10].cursor, peer: es[10].peer, expiresAt: 5000 }])
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk(), 'a tombstone changes its bucket')
    assert.equal(await store.sweepExpired(6000), 1)
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk(), 'and its expiry too')
    await store.delete(B, es.slice(0, 12).map((e) => ({ cursor: e.cursor, peer: e.peer })))
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk(), 'a bucket emptied by a hand-off is gone')
    await store.put([entry(B, alice, B, t0 + 400 * HOUR)])
    assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk(), 'a new bucket appears')
    assert.equal(store.digests.stats.whole, 1)
  })

  it('a digest asked while writes land covers every write that landed before it was asked', async () => {
    const t0 = 1_700_000_000_000
    await store.put([entry(B, alice, B, t0)])
    await store.digest(B, COARSE_BUCKET_MS)
    for (let round = 0; round < 20; round++) {
      const writes = Array.from({ length: 20 }, async (_, i) => {
        await store.put([entry(B, alice, B, t0 + round * 7 * HOUR + i * 1000)])
      })
      const digests = Array.from({ length: 5 }, async () => await store.digest(B, COARSE_BUCKET_MS))
      await Promise.all([...writes, ...digests])
      assert.deepEqual(show(await store.digest(B, COARSE_BUCKET_MS)), await fromDisk(), `round ${round}`)
    }
  })

  it('keeps only coarse digests of whole mailboxes; ranges and fine buckets are read each time', async () => {
    const t0 = 1_700_000_000_000
    await store.put([entry(B, alice, B, t0), entry(B, alice, B, t0 + 1000)])
    assert.equal(store.digests.keeps(COARSE_BUCKET_MS), true)
    assert.equal(store.digests.keeps(FINE_BUCKET_MS), false)
    await store.digest(B, FINE_BUCKET_MS)
    await store.digest(B, COARSE_BUCKET_MS, 0n, 2n ** 62n)
    assert.deepEqual(store.digests.stats, { whole: 0, buckets: 0, unchanged: 0 })
  })

  it('is bounded: the least recently asked mailbox is dropped, and read whole when asked again', async () => {
    let reads = 0
    const cache = new DigestCache(async () => { reads++; return [] }, 2)
    await cache.digest('a', COARSE_BUCKET_MS)
    await cache.digest('b', COARSE_BUCKET_MS)
    await cache.digest('a', COARSE_BUCKET_MS)
    await cache.digest('c', COARSE_BUCKET_MS) // drops b, the least recently asked
    assert.equal(reads, 3)
    await cache.digest('a', COARSE_BUCKET_MS)
    assert.equal(reads, 3, 'a is kept')
    await cache.digest('b', COARSE_BUCKET_MS)
    assert.equal(reads, 4, 'b was dropped')
  })

  it('a read that fails is not kept: the next digest reads whole again', async () => {
    let fail = true
    const cache = new DigestCache(async () => {
      if (fail) throw new Error('disk')
      return [{ start: 0n, count: 1, hash: new Uint8Array(16) }]
    })
    await assert.rejects(cache.digest('a', COARSE_BUCKET_MS), /disk/)
    fail = false
    assert.equal((await cache.digest('a', COARSE_BUCKET_MS)).length, 1)
    assert.equal(cache.stats.whole, 1)
  })
})
