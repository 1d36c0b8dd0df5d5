/**
 * Feed, the exactly-once, in-order view of one log, over a real LevelDB and a stand-in for the owners
 * (the reader is the one component doubled here): live and synced envelopes go out once each, in order,
 * also across a reopened feed and a database that fails a write; a sync lists cursors and fetches only
 * what the live path did not bring, pages through long logs, starts where it is told, and does not let an
 * owner that lists what it cannot give hold it back; `poll` syncs only when the owners' change counters
 * moved (or cannot be read, or the backstop is due), and then also looks behind its cursor.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { DEFAULT_FULL_SYNC_MS, DEFAULT_HOLD_MS, DEFAULT_RECENT_MAX, Feed, type FeedConsumer, type FeedInit } from '../../node/session/feed.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { cursorAt, cursorOf, type Cursor } from '../../node/store/mailbox-store.js'
import { hlcPack } from '../../protocol/hlc.js'
import { entry } from '../helpers/envelopes.js'
import { TempDirs, waitFor } from '../helpers/wait.js'

const alice = generateIdentity()
const bob = generateIdentity()
const B = userIdOf(bob.publicKey)
const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')
const keyOf = (env: Envelope): string => hex(cursorOf(env))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The owners of one log, as the reader sees them: what they list and what they hand out, counted. */
class Owners {
  readonly log = new Map<string, Envelope>()
  /** listed but never handed out (an owner that lost the entry between the two calls, or lies) */
  readonly withheld = new Set<string>()
  fetched = 0
  listed = 0
  /** each listing waits this long first (to hold a sync open while a test acts) */
  delayMs = 0

  add (ms: number): Envelope {
    const { env } = entry(B, alice, B, ms)
    this.log.set(keyOf(env), env)
    return env
  }

  private sorted (): string[] { return [...this.log.keys()].sort() }

  reader (): FeedInit['reader'] {
    return {
      listCursors: async (_m: string, o: { after?: Cursor, limit: number }) => {
        if (this.delayMs > 0) await sleep(this.delayMs)
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
        const out = cursors.map(hex).filter((c) => !this.withheld.has(c)).map((c) => this.log.get(c))
          .filter((e) => e != null)
        this.fetched += out.length
        return out
      }
    }
  }
}

/** A consumer that records what it shows, with an optional delay per envelope in `prepare`. */
class Screen {
  readonly shown: string[] = []
  readonly prepareMs = new Map<string, number>()
  private taken = 0

  readonly consumer: FeedConsumer = async (env) => {
    const ms = this.prepareMs.get(keyOf(env)) ?? 0
    if (ms > 0) await sleep(ms)
    return () => { this.shown.push(keyOf(env)) }
  }

  /** What was shown since the last call. */
  shownCount (): number { return this.shown.length }

  fresh (): string[] {
    const out = this.shown.slice(this.taken)
    this.taken = this.shown.length
    return out
  }
}

describe('Feed: exactly once and in order, fetching only what live did not bring', () => {
  const dirs = new TempDirs()
  let dir: string
  let db: ChorusDb
  let owners: Owners
  let screen: Screen
  let feed: Feed
  const open = (d: ChorusDb = db, s: Screen = screen): Feed =>
    new Feed({ db: d, reader: owners.reader(), mailbox: B, key: B, consumer: s.consumer })

  beforeEach(async () => {
    dir = dirs.make()
    db = await openDb(dir)
    owners = new Owners()
    screen = new Screen()
    feed = open()
  })
  afterEach(async () => {
    await feed.close()
    if (db.status === 'open') await db.close()
    dirs.cleanup()
  })

  it('holds live envelopes until the first sync has caught up, then shows each once, in order', async () => {
    const t = Date.now()
    const missed = owners.add(t)
    const early = owners.add(t + 1)
    assert.equal(feed.offer(early), false, 'before the first sync, the catch-up comes first')
    await feed.sync()
    assert.deepEqual(screen.fresh(), [keyOf(missed), keyOf(early)], 'the missed one, then the live one, once')
    const live = [owners.add(t + 2), owners.add(t + 3), owners.add(t + 4)]
    for (const env of live) assert.equal(feed.offer(env), true)
    for (const env of live) assert.equal(feed.offer(env), false, 'a second copy is not new')
    const gap = owners.add(t + 5)
    owners.fetched = 0
    await feed.sync()
    assert.deepEqual(screen.fresh(), [...live, gap].map(keyOf), 'live in arrival order, then what live missed')
    assert.equal(owners.fetched, 1, 'sync fetched only the one envelope live did not bring')
    assert.deepEqual(await feed.cursor(), cursorOf(gap))
  })

  it('a reopened feed shows nothing twice: not what live brought, not a replayed live copy, not a sync', async () => {
    const t = Date.now()
    await feed.sync()
    const live = Array.from({ length: 20 }, (_, i) => owners.add(t + i))
    for (const env of live) feed.offer(env)
    await feed.close()
    assert.deepEqual(screen.fresh(), live.map(keyOf), 'closing shows what was taken')
    // the node restarts on the same database: a new feed, an empty memory
    await db.close()
    db = await openDb(dir)
    const again = new Screen()
    feed = open(db, again)
    for (const env of live) feed.offer(env)
    await feed.sync()
    for (const env of live) feed.offer(env)
    const next = owners.add(t + 100)
    feed.offer(next)
    await feed.sync()
    assert.deepEqual(again.fresh(), [keyOf(next)], 'only the new one')
  })

  describe('each sender in its order: a live envelope waits briefly for the one it names as its predecessor', () => {
    /** A chat envelope from alice at `ms`, naming `prev` (an envelope) as the one sent before it. */
    const after = (ms: number, prev?: Envelope): Envelope => signEnvelope({
      kind: Envelope.Kind.CHAT,
      recipient: B,
      body: new TextEncoder().encode(`t${ms}`),
      timestamp: hlcPack(ms, 0),
      prev: prev == null ? undefined : cursorOf(prev)
    }, alice)

    it('a live envelope whose predecessor the live path lost is shown after it, once the predecessor comes', async () => {
      await feed.sync()
      const t = Date.now() + 10 * 60_000
      const first = after(t)
      const second = after(t + 1, first)
      const third = after(t + 2, second)
      assert.equal(feed.offer(second), true, 'taken (held)')
      assert.equal(feed.offer(third), true, 'taken (held behind the second)')
      await new Promise((resolve) => setTimeout(resolve, 50))
      assert.deepEqual(screen.fresh(), [], 'nothing shown while the first is missing')
      feed.offer(first)
      await waitFor('all three', () => screen.shownCount() === 3)
      assert.deepEqual(screen.fresh(), [first, second, third].map(keyOf), 'in the sender\'s order')
    })

    it('a predecessor that never comes holds nothing for long', async () => {
      await feed.sync()
      const t = Date.now() + 10 * 60_000
      const lost = after(t)
      const next = after(t + 1, lost)
      const t0 = Date.now()
      feed.offer(next)
      await waitFor('the next one after the hold', () => screen.shownCount() === 1)
      const waited = Date.now() - t0
      assert.ok(waited >= DEFAULT_HOLD_MS - 50 && waited < DEFAULT_HOLD_MS + 2000, `waited ${waited} ms`)
      assert.deepEqual(screen.fresh(), [keyOf(next)])
    })

    it('a predecessor shown by an earlier process (marked on disk) holds nothing', async () => {
      await feed.sync()
      const t = Date.now()
      const shownBefore = owners.add(t)
      await feed.sync()
      assert.deepEqual(screen.fresh(), [keyOf(shownBefore)])
      await feed.close()
      feed = open(db, screen)
      await feed.sync()
      const next = after(t + 1, shownBefore)
      const t0 = Date.now()
      feed.offer(next)
      await waitFor('the next one', () => screen.shownCount() === 2)
      assert.ok(Date.now() - t0 < DEFAULT_HOLD_MS / 2, `shown after ${Date.now() - t0} ms`)
    })
  })

  it('a live copy of an envelope made after the feed started, shown, then forgotten by memory, is not shown again', async function () {
    this.timeout(60_000)
    await feed.sync()
    // made after the feed started (beyond the drift margins): no earlier process can have shown them
    const t = Date.now() + 10 * 60_000
    const first = entry(B, alice, B, t).env
    feed.offer(first)
    // enough newer envelopes that the feed's memory of taken cursors forgets the first one
    for (let i = 1; i <= DEFAULT_RECENT_MAX; i++) feed.offer(entry(B, alice, B, t + i).env)
    let shown = 0
    await waitFor('every live envelope to be shown', () => { shown += screen.fresh().length; return shown === DEFAULT_RECENT_MAX + 1 })
    assert.equal(feed.offer(first), true, 'memory forgot it: taken again')
    const last = entry(B, alice, B, t + DEFAULT_RECENT_MAX + 1).env
    feed.offer(last)
    const after: string[] = []
    await waitFor('the envelope after it to be shown', () => { after.push(...screen.fresh()); return after.includes(keyOf(last)) })
    assert.deepEqual(after, [keyOf(last)], 'its seen-mark on disk kept it from being shown twice')
  })

  it('a replayed live copy older than the cursor and its look-back window is still not shown again', async () => {
    const t = Date.now() - 60_000
    await feed.sync()
    const old = owners.add(t)
    feed.offer(old)
    const later = owners.add(t + 30_000)
    await feed.sync()
    assert.deepEqual(screen.fresh(), [old, later].map(keyOf))
    await feed.close()
    feed = open(db, screen)
    await feed.sync()
    assert.equal(feed.offer(old), true, 'not in memory any more: the queue asks the disk')
    await feed.sync()
    assert.deepEqual(screen.fresh(), [], 'the seen-mark on disk stopped it')
  })

  it('after a restart, live copies of what an earlier process showed are known from one read of its marks', async () => {
    await feed.sync()
    const t = Date.now()
    // stamped where a relay may still bring them again (within its maximum age): in the range read once
    const recent = Array.from({ length: 30 }, (_, i) => owners.add(t - 300_000 + i * 1000))
    // the newest moves the cursor on: the next process's first sync looks back 5 s from it, not at these
    const newest = owners.add(t - 60_000)
    await feed.sync()
    assert.deepEqual(screen.fresh(), [...recent, newest].map(keyOf))
    await feed.close()
    feed = open(db, screen)
    await feed.sync()
    const fresh = [owners.add(t + 1), owners.add(t + 2)]
    for (const env of [recent[0], fresh[0], ...recent.slice(1), fresh[1]]) {
      assert.equal(feed.offer(env), true, 'not in this process\'s memory: the queue decides')
    }
    await waitFor('the new ones', () => screen.shownCount() >= 31 + 2)
    await feed.sync()
    assert.deepEqual(screen.fresh(), fresh.map(keyOf), 'only what no process showed')
  })

  it('a post whose preparing is slow is not overtaken by the one after it', async () => {
    await feed.sync()
    const t = Date.now()
    const first = owners.add(t)
    const second = owners.add(t + 1)
    screen.prepareMs.set(keyOf(first), 80)
    feed.offer(first)
    feed.offer(second)
    await feed.sync()
    assert.deepEqual(screen.fresh(), [first, second].map(keyOf))
  })

  it('concurrent syncs hand each envelope out once; a sync asked for during one runs after it', async () => {
    await feed.sync()
    const t = Date.now()
    const a = owners.add(t)
    owners.delayMs = 30
    const runs = [feed.sync(), feed.sync(), feed.sync()]
    const b = owners.add(t + 1)
    await Promise.all(runs)
    assert.deepEqual(screen.fresh(), [a, b].map(keyOf), 'b came after the first run listed: the follow-up run brought it')
  })

  it('what could not be marked on disk is not shown, and comes again', async () => {
    await feed.sync()
    const t = Date.now()
    const env = owners.add(t)
    const batch = db.batch.bind(db)
    let fail = true
    ;(db as any).batch = async (ops: any) => { if (fail) throw new Error('disk full'); return batch(ops) }
    feed.offer(env)
    await feed.sync().catch(() => {})
    assert.deepEqual(screen.fresh(), [], 'not shown without its mark')
    fail = false
    await feed.sync()
    assert.deepEqual(screen.fresh(), [keyOf(env)], 'the next sync brings it, once')
  })

  it('does not fetch back what the session marked as its own', async () => {
    const t = Date.now()
    await feed.sync()
    const mine = owners.add(t)
    feed.own(mine)
    owners.fetched = 0
    await feed.sync()
    assert.deepEqual(screen.fresh(), [])
    assert.equal(owners.fetched, 0)
    assert.deepEqual(await feed.cursor(), cursorOf(mine), 'the cursor still moves past it')
  })

  it('pages through a long log in order, each envelope once, also across a reopened feed', async () => {
    const t = Date.now() - 60_000
    const all = Array.from({ length: 4500 }, (_, i) => owners.add(t + i))
    await feed.sync()
    assert.deepEqual(screen.fresh(), all.map(keyOf).sort())
    await feed.close()
    feed = open()
    owners.add(t + 5000)
    await feed.sync()
    assert.equal(screen.fresh().length, 1, 'a feed reopened on the same key starts at its stored cursor')
  })

  it('starts where it is told when it has never synced (a new room member), and not once it has', async () => {
    const t = Date.now() - 60_000
    const before = Array.from({ length: 50 }, (_, i) => owners.add(t + i))
    const after = [owners.add(t + 20_000), owners.add(t + 20_001)]
    // 10 s after the last old post: the first sync's look back (5 s behind the cursor) finds none of them
    await feed.startAt(cursorAt(hlcPack(t + 10_000, 0)))
    owners.listed = 0
    owners.fetched = 0
    await feed.sync()
    assert.deepEqual(screen.fresh(), after.map(keyOf))
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
    owners.withheld.add(keyOf(lost))
    await feed.sync()
    assert.deepEqual(screen.fresh(), [a, c].map(keyOf), 'what could be fetched is shown')
    assert.deepEqual(await feed.cursor(), cursorOf(a), 'the cursor waits before the missing entry')
    owners.withheld.clear()
    await feed.sync()
    assert.deepEqual(screen.fresh(), [keyOf(lost)], 'it comes on the next sync, once')
    assert.deepEqual(await feed.cursor(), cursorOf(c))

    const ghost = owners.add(t + 10)
    const after = owners.add(t + 11)
    owners.withheld.add(keyOf(ghost))
    await feed.sync()
    await feed.sync()
    assert.deepEqual(await feed.cursor(), cursorOf(c), 'two failed syncs: still waiting')
    await feed.sync()
    assert.deepEqual(await feed.cursor(), cursorOf(after), 'the third passes it by')
  })

  describe('poll: sync only when the owners say the log changed', () => {
    /** the owners' change counters: a version bumped by each write, as ChangeWatch reports it */
    let version = 1
    let probes = 0
    let answer: (() => string | undefined) = () => `owner-a=7/${version}`
    let clock = Date.now()
    const polled = (d: ChorusDb = db, s: Screen = screen): Feed => new Feed({
      db: d,
      reader: owners.reader(),
      mailbox: B,
      key: B,
      consumer: s.consumer,
      now: () => clock,
      changes: { versions: async () => { probes++; return answer() } }
    })
    const write = (ms: number): Envelope => { version++; return owners.add(ms) }

    beforeEach(async () => {
      version = 1
      probes = 0
      answer = () => `owner-a=7/${version}`
      clock = Date.now()
      await feed.close()
      feed = polled()
    })

    it('syncs first, then lists nothing while the counters stand, and syncs when they move', async () => {
      const t = Date.now()
      write(t)
      await feed.poll()
      assert.deepEqual(screen.fresh().length, 1, 'the first poll is a sync')
      assert.equal(probes, 1, 'whose counters are read first, so the next poll need not sync again')
      const listed = owners.listed
      owners.listed = 0
      await feed.poll()
      await feed.poll()
      assert.equal(probes, 3, 'each later poll asks the owners')
      assert.equal(owners.listed, 0, 'and lists nothing while nothing changed')
      assert.equal(listed, 1)
      const next = write(t + 1)
      await feed.poll()
      assert.deepEqual(screen.fresh(), [keyOf(next)], 'a moved counter brings the new entry')
    })

    it('looks behind its cursor when a counter moves (a write that landed late)', async () => {
      const t = Date.now()
      write(t)
      const newest = write(t + 4000)
      await feed.poll()
      await feed.poll() // caught up, and looked behind the cursor once already: the clock stands still
      assert.deepEqual(screen.fresh().length, 2)
      // an entry older than the cursor lands at an owner (a slow writer): the forward listing cannot see it
      const late = write(t + 1000)
      await feed.poll()
      assert.deepEqual(screen.fresh(), [keyOf(late)], 'the changed counter made the sync look behind the cursor')
      assert.deepEqual(await feed.cursor(), cursorOf(newest))
    })

    it('syncs when the owners cannot tell, and at least every DEFAULT_FULL_SYNC_MS', async () => {
      const t = Date.now()
      await feed.poll()
      answer = () => undefined
      const a = owners.add(t) // no counter moves: only a sync that does not trust them finds it
      await feed.poll()
      assert.deepEqual(screen.fresh(), [keyOf(a)], 'no answer: sync')
      answer = () => `owner-a=7/${version}`
      await feed.poll()
      const b = owners.add(t + 1)
      await feed.poll()
      assert.deepEqual(screen.fresh(), [], 'the counters stand: no sync')
      clock += DEFAULT_FULL_SYNC_MS
      await feed.poll()
      assert.deepEqual(screen.fresh(), [keyOf(b)], 'the backstop sync')
    })

    it('is idle, without a question, while the table vouches for the answer it caught up at', async () => {
      let known: string | undefined
      feed = new Feed({
        db,
        reader: owners.reader(),
        mailbox: B,
        key: B,
        consumer: screen.consumer,
        now: () => clock,
        changes: { versions: async () => { probes++; return answer() }, known: () => known }
      })
      assert.equal(feed.idle(), false, 'never caught up: not idle')
      write(Date.now())
      await feed.poll()
      await feed.poll()
      known = `owner-a=7/${version}`
      const asked = probes
      assert.equal(feed.idle(), true, 'the table\'s answer is the one it caught up at')
      assert.equal(probes, asked, 'and nobody was asked')
      known = undefined
      assert.equal(feed.idle(), false, 'the table cannot vouch (an owner unsure, not hearing): poll')
      known = `owner-a=7/${version + 1}`
      assert.equal(feed.idle(), false, 'the answer moved: poll')
      known = `owner-a=7/${version}`
      clock += DEFAULT_FULL_SYNC_MS
      assert.equal(feed.idle(), false, 'the backstop sync is due')
      await feed.close()
      assert.equal(feed.idle(), true, 'a closed feed has nothing to do')
    })

    it('does not trust counters read before a sync that stopped short', async () => {
      const t = Date.now()
      await feed.poll()
      const lost = write(t)
      owners.withheld.add(keyOf(lost))
      await feed.poll()
      assert.deepEqual(screen.fresh(), [], 'listed but not handed out')
      owners.withheld.clear()
      await feed.poll()
      assert.deepEqual(screen.fresh(), [keyOf(lost)], 'the next poll syncs again though the counters stood')
    })
  })
})
