/**
 * Issue 9, prekeys: owners budget one-time prekey claims per asking peer and per user (past either, the
 * bundle alone, counted; the keys left stay for others, and a session still starts); one-time prekeys
 * expire at the owners after DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS and on the device after
 * DEFAULT_ONE_TIME_PREKEY_KEEP_MS; a client refuses a bundle older than two signed-prekey rotations
 * (`StaleBundleError`) and takes a fresh one from another owner.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { decodeBundle, encodeBundle, generateSignedPrekey, prekeyBundle, type SecretIdentity } from '../../protocol/secret/index.js'
import { DEFAULT_CLAIMS_PER_PEER_BURST, DEFAULT_CLAIMS_PER_USER_BURST } from '../../node/store/prekey-claims.js'
import { DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS, PrekeyStore } from '../../node/store/prekey-store.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { openDb } from '../../node/store/db.js'
import { DEFAULT_MAX_BUNDLE_AGE_MS, DEFAULT_ONE_TIME_PREKEY_KEEP_MS } from '../../node/session/secret-constants.js'
import { TempDirs } from '../helpers/wait.js'
import { SecretWorld, type Device } from './secret-harness.js'

const DAY = 24 * 3600_000

/** One claim of `user`'s prekeys by `peer` at the first owner: the one-time prekey id, if one came. */
async function claim (world: SecretWorld, peer: string, user: string): Promise<number | undefined> {
  const res = await world.call(peer, world.owners[0].id, {
    kind: StoreRequest.Kind.PREKEYS_GET,
    user,
    claimOneTime: true,
    coordinate: true
  })
  return decodeBundle(res.bundle).oneTimePrekey?.id
}

/** Ids of the one-time prekeys whose private halves `d` keeps. */
async function heldOneTime (d: Device): Promise<number[]> {
  const ids: number[] = []
  for await (const key of (d.secrets as any).store.keys({ gt: `otk!${d.userId}!`, lt: `otk!${d.userId}!\xff` })) {
    ids.push(parseInt(key.slice(key.lastIndexOf('!') + 1), 16))
  }
  return ids
}

describe('secret-chat prekeys: claim budgets, lifetimes, stale bundles', function () {
  this.timeout(60_000)
  let world: SecretWorld
  afterEach(async () => { await world.close() })

  it(`hands one asking peer at most ${DEFAULT_CLAIMS_PER_PEER_BURST} one-time prekeys at once, then the bundle alone (counted)`, async () => {
    world = await new SecretWorld().start()
    const bob = await world.device('bob')
    const got: Array<number | undefined> = []
    for (let i = 0; i < DEFAULT_CLAIMS_PER_PEER_BURST + 5; i++) got.push(await claim(world, 'node-mallory', bob.userId))
    const handed = got.filter((id) => id != null)
    assert.equal(handed.length, DEFAULT_CLAIMS_PER_PEER_BURST)
    assert.equal(new Set(handed).size, handed.length, 'each once')
    assert.equal(world.count('prekey-claim-peer-rate'), 5)
    assert.notEqual(await claim(world, 'node-honest', bob.userId), undefined, 'another peer still gets one')
  })

  it(`hands out at most ${DEFAULT_CLAIMS_PER_USER_BURST} of one user's one-time prekeys at once, however many peers ask; the rest stay`, async () => {
    world = await new SecretWorld().start()
    const bob = await world.device('bob')
    const got: Array<number | undefined> = []
    for (let i = 0; i < DEFAULT_CLAIMS_PER_USER_BURST + 5; i++) got.push(await claim(world, `node-sybil-${i}`, bob.userId))
    assert.equal(got.filter((id) => id != null).length, DEFAULT_CLAIMS_PER_USER_BURST)
    assert.equal(world.count('prekey-claim-user-rate'), 5)
    assert.equal(await world.owners[0].prekeys.remaining(bob.userId), 100 - DEFAULT_CLAIMS_PER_USER_BURST, 'what was not handed out is still there')
    // a session started past the budget runs X3DH without a one-time prekey, and works
    const alice = await world.device('alice')
    await (await alice.secrets.open('bob')).send('past the budget')
    assert.deepEqual(await world.flush(alice), [true])
    assert.equal(world.count('prekey-claim-user-rate'), 6)
  })

  it('owners hand out a one-time prekey only within its lifetime of the upload, and count only those', async () => {
    const dirs = new TempDirs()
    const db = await openDb(dirs.make())
    try {
      const store = new PrekeyStore(db, new GroupCommit(db))
      const user = userIdOf(generateIdentity().publicKey)
      const t0 = 1_800_000_000_000
      const key = (id: number): { id: number, publicKey: Uint8Array } =>
        ({ id, publicKey: new Uint8Array(32).fill(id) })
      await store.put(user, new Uint8Array(1), t0, [key(1), key(2)])
      // key 1 again: keeps its first upload time
      await store.put(user, new Uint8Array(1), t0 + 10 * DAY, [key(3), key(1)])
      assert.equal(await store.remaining(user, t0 + 10 * DAY), 3)
      const late = t0 + DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS + DAY
      assert.equal(await store.remaining(user, late), 1, 'keys 1 and 2 are past their lifetime')
      assert.equal((await store.take(user, late))?.id, 3, 'the expired ones are skipped')
      assert.equal(await store.take(user, late), undefined)
      assert.equal(await store.remaining(user, t0), 0, 'the expired ones were retired as they were met')
    } finally {
      await db.close()
      dirs.cleanup()
    }
  })

  it('a device deletes one-time prekeys kept past DEFAULT_ONE_TIME_PREKEY_KEEP_MS, and publishes fresh ones', async () => {
    world = await new SecretWorld().start()
    const bob = await world.device('bob')
    const first = await heldOneTime(bob)
    assert.equal(first.length, 100)
    world.advance(DEFAULT_ONE_TIME_PREKEY_KEEP_MS - DAY)
    await (bob.secrets as any).keys.maintain(false)
    assert.ok(first.every((id) => id <= 100) && (await heldOneTime(bob)).includes(first[0]), 'kept until then')
    world.advance(2 * DAY)
    await (bob.secrets as any).keys.maintain(false)
    const now = await heldOneTime(bob)
    assert.ok(!now.some((id) => first.includes(id)), 'the first batch is gone')
    assert.ok(now.length >= 100, 'fresh ones were made')
  })

  describe('bundle age', () => {
    /**
     * Replace the bundle `owner` holds for `d` with one whose signed prekey was made `ageMs` ago
     * (signed by d: only its age is wrong).
     */
    async function staleAt (owner: number, d: Device, ageMs: number): Promise<void> {
      const identity: SecretIdentity = (d.secrets as any).keys.identity
      const old = generateSignedPrekey(identity, 999, world.now() - ageMs)
      const store = world.owners[owner].prekeys
      const current = await store.bundle(d.userId)
      await store.put(d.userId, encodeBundle(prekeyBundle(identity, old)), (current?.timestamp ?? 0) + 1, [])
    }

    it(`a client refuses a bundle older than ${DEFAULT_MAX_BUNDLE_AGE_MS / DAY} days (StaleBundleError) and takes a fresh one from another owner`, async () => {
      world = await new SecretWorld().start(2)
      const bob = await world.device('bob')
      const alice = await world.device('alice')
      const carol = await world.device('carol')
      await staleAt(0, bob, DEFAULT_MAX_BUNDLE_AGE_MS + DAY)
      await (await alice.secrets.open('bob')).send('through the fresh bundle')
      assert.deepEqual(await world.flush(alice), [true])
      await staleAt(1, bob, DEFAULT_MAX_BUNDLE_AGE_MS + DAY)
      await assert.rejects(carol.secrets.open('bob'), { name: 'StaleBundleError', code: 'ERR_STALE_BUNDLE' })
      // one just inside the limit is taken (it fails at bob only because this test made up its prekey)
      await staleAt(0, bob, DEFAULT_MAX_BUNDLE_AGE_MS - DAY)
      await carol.secrets.open('bob')
    })
  })
})
