/**
 * Feed, the exactly-once view of one log, over a real LevelDB and a stand-in for the owners (the reader
 * is the one component doubled here): a sync lists cursors and fetches only what the live path did not
 * bring, pages through long logs, starts where it is told, and does not let an owner that lists what it
 * cannot give hold it back.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { Feed, type FeedInit } from '../../node/session/feed.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { cursorAt, cursorOf, type Cursor } from '../../node/store/mailbox-store.js'
import { hlcPack } from '../../protocol/hlc.js'
import { entry } from '../helpers/envelopes.js'
import { TempDirs } from '../helpers/wait.js'

const alice = generateIdentity()
const bob = generateIdentity()
const B = userIdOf(bob.publicKey)
const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')

/** The owners of one log, as the reader sees them: what they list and what they hand out, counted. */
class Owners {
  readonly log = new Map<string, Envelope>()
  /** listed but never handed out (an owner that lost the entry between the two calls, or lies) */
  readonly withheld = new Set<string>()
  fetched = 0
  listed = 0
  reads = 0

  add (ms: number): Envelope {
    const { env } = entry(B, alice, B, ms)
    this.log.set(hex(cursorOf(env)), env)
    return env
  }

  private sorted (): string[] { return [...this.log.keys()].sort() }

  reader (): FeedInit['reader'] {
    return {
      read: async () => { this.reads++; throw new Error('a cursor-listing reader never reads whole pages') },
      listCursors: async (_m: string, o: { after?: Cursor, limit: number }) => {
        const after = o.after != null ? hex(o.after) : ''
        const all = this.sorted().filter((c) => c > after)
        this.listed += Math.min(all.length, o.limit)
        return { cursors: all.slice(0, o.limit), more: all.length > o.limit }
      },
      readCursors: async (_m: string, o: { after?: Cursor, before?: Cursor }) => {
        const after = o.after != null ? hex(o.after) : ''
        const before = o.before != null ? hex(o.before) : '\uffff'
        return new Set(this.sorted().filter((c) => c > after && c < before))
      },
      readEntries: async (_m: string, cursors: Cursor[]) => {
        const out = cursors.map(hex).filter((c) => !this.withheld.has(c)).map((c) => this.log.get(c)).filter((e) => e != null)
        this.fetched += out.length
        return out
      }
    }
  }
}

describe('Feed: exactly once, fetching only what live did not bring', () => {
  const dirs = new TempDirs()
  let db: ChorusDb
  let owners: Owners
  let feed: Feed

  beforeEach(async () => {
    db = await openDb(dirs.make())
    owners = new Owners()
    feed = new Feed({ db, reader: owners.reader(), mailbox: B, key: B })
  })
  afterEach(async () => { await db.close(); dirs.cleanup() })

  it('leaves live envelopes to sync until the first sync, then fetches none that live claimed', async () => {
    const t = Date.now()
    const early = owners.add(t)
    assert.equal(feed.claim(early), false, 'before the first sync, sync brings it')
    assert.deepEqual((await feed.sync()).map((e) => hex(cursorOf(e))), [hex(cursorOf(early))])
    const live = [owners.add(t + 1), owners.add(t + 2), owners.add(t + 3)]
    for (const env of live) assert.equal(feed.claim(env), true)
    for (const env of live) assert.equal(feed.claim(env), false, 'a second copy is not new')
    const missed = owners.add(t + 4)
    owners.fetched = 0
    const got = await feed.sync()
    assert.deepEqual(got.map((e) => hex(cursorOf(e))), [hex(cursorOf(missed))], 'sync brings only what live missed')
    assert.equal(owners.fetched, 1, 'and fetches only that one envelope')
    assert.equal(owners.reads, 0)
    assert.deepEqual(await feed.cursor(), cursorOf(missed))
  })

  it('does not fetch back what the session marked as its own', async () => {
    const t = Date.now()
    await feed.sync()
    const mine = owners.add(t)
    feed.own(mine)
    owners.fetched = 0
    assert.deepEqual(await feed.sync(), [])
    assert.equal(owners.fetched, 0)
    assert.deepEqual(await feed.cursor(), cursorOf(mine), 'the cursor still moves past it')
  })

  it('pages through a long log in order, each envelope once, also across a reopened feed', async () => {
    const t = Date.now() - 60_000
    const all = Array.from({ length: 4500 }, (_, i) => owners.add(t + i))
    const first = await feed.sync()
    assert.equal(first.length, all.length)
    assert.deepEqual(first.map((e) => hex(cursorOf(e))), all.map((e) => hex(cursorOf(e))).sort())
    const reopened = new Feed({ db, reader: owners.reader(), mailbox: B, key: B })
    owners.add(t + 5000)
    assert.equal((await reopened.sync()).length, 1, 'a feed reopened on the same key starts at its stored cursor')
  })

  it('starts where it is told when it has never synced (a new room member), and not once it has', async () => {
    const t = Date.now() - 60_000
    const before = Array.from({ length: 50 }, (_, i) => owners.add(t + i))
    const after = [owners.add(t + 20_000), owners.add(t + 20_001)]
    // 10 s after the last old post: the first sync's look back (5 s behind the cursor) finds none of them
    await feed.startAt(cursorAt(hlcPack(t + 10_000, 0)))
    owners.listed = 0
    owners.fetched = 0
    assert.deepEqual((await feed.sync()).map((e) => hex(cursorOf(e))), after.map((e) => hex(cursorOf(e))))
    assert.equal(owners.listed, 2, 'only the cursors after the starting point were listed')
    assert.equal(owners.fetched, 2)
    await feed.startAt(cursorOf(before[0]))
    assert.deepEqual(await feed.cursor(), cursorOf(after[1]), 'a feed with a cursor keeps it')
  })

  it('holds its cursor before an entry the owners list but do not hand out, and passes it after three syncs', async () => {
    const t = Date.now()
    await feed.sync()
    const a = owners.add(t + 1)
    const lost = owners.add(t + 2)
    const c = owners.add(t + 3)
    owners.withheld.add(hex(cursorOf(lost)))
    const got = await feed.sync()
    assert.deepEqual(got.map((e) => hex(cursorOf(e))).sort(), [a, c].map((e) => hex(cursorOf(e))).sort(), 'what could be fetched is shown')
    assert.deepEqual(await feed.cursor(), cursorOf(a), 'the cursor waits before the missing entry')
    owners.withheld.clear()
    assert.deepEqual((await feed.sync()).map((e) => hex(cursorOf(e))), [hex(cursorOf(lost))], 'it comes on the next sync, once')
    assert.deepEqual(await feed.cursor(), cursorOf(c))

    const ghost = owners.add(t + 10)
    const after = owners.add(t + 11)
    owners.withheld.add(hex(cursorOf(ghost)))
    await feed.sync()
    await feed.sync()
    assert.deepEqual(await feed.cursor(), cursorOf(c), 'two failed syncs: still waiting')
    await feed.sync()
    assert.deepEqual(await feed.cursor(), cursorOf(after), 'the third passes it by')
  })
})
