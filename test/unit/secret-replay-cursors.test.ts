/**
 * Issue 9, replays through the read path: an owner lists only cursors strictly after `after` (and
 * before `before`), and a reader ignores any cursor an owner lists outside the range it asked for, so a
 * lying owner cannot make a feed list (and fetch, and hand to the secret chats) entries it has passed.
 * The store is real LevelDB; the reader's owners are one honest store and one liar.
 */

import { strict as assert } from 'node:assert'
import { SenderKeyCache, generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { MailboxStore, type Cursor } from '../../node/store/mailbox-store.js'
import { MAX_CURSOR_PAGES, Reader, type ReaderContext } from '../../node/replication/reader.js'
import type { StoreCall } from '../../node/replication/context.js'
import { handleFetch, type FetchContext } from '../../node/replication/handlers/fetch.js'
import { entry } from '../helpers/envelopes.js'
import { TempDirs } from '../helpers/wait.js'

const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')
/** An owner's answer listing `cursors`: every other field at its protobuf default (what an empty frame decodes to). */
const listing = (cursors: Cursor[], more: boolean): StoreResponse =>
  ({ ...StoreResponse.decode(new Uint8Array(0)), cursors, more })

describe('cursor listing stays inside the range asked for (replays through the read path)', () => {
  const dirs = new TempDirs()
  const alice = generateIdentity()
  const bob = generateIdentity()
  const B = userIdOf(bob.publicKey)
  let db: ChorusDb
  let store: MailboxStore
  let cursors: Cursor[]

  beforeEach(async () => {
    db = await openDb(dirs.make())
    store = new MailboxStore(db, new GroupCommit(db))
    const es = [1000, 2000, 3000, 4000, 5000].map((ms) => entry(B, alice, B, ms))
    await store.put(es)
    cursors = es.map((e) => e.cursor)
  })
  afterEach(async () => { await db.close(); dirs.cleanup() })

  it('the store lists strictly after `after` and before `before`; an empty bound is open', async () => {
    assert.deepEqual((await store.cursors(B, { after: cursors[1], limit: 10 })).cursors.map(hex),
      cursors.slice(2).map(hex))
    assert.deepEqual((await store.cursors(B, { after: cursors[1], before: cursors[3], limit: 10 })).cursors.map(hex),
      [hex(cursors[2])])
    assert.equal(
      (await store.cursors(B, { after: new Uint8Array(0), before: new Uint8Array(0), limit: 10 })).cursors.length, 5
    )
    const page = await store.cursors(B, { after: cursors[0], limit: 2 })
    assert.deepEqual(page.cursors.map(hex), cursors.slice(1, 3).map(hex))
    assert.equal(page.more, true)
  })

  it('the FETCH cursorsOnly handler answers strictly after `after`', async () => {
    const ctx: FetchContext = { mailboxes: store, guard: { checkRead: () => {} } }
    // the request as the handler gets it: decoded from the wire, every field not sent at its default
    const sent: Partial<StoreRequest> = { mailbox: B, cursorsOnly: true, after: cursors[2], limit: 10 }
    const req = StoreRequest.decode(StoreRequest.encode(sent))
    const res = await handleFetch(req, 'peer', ctx)
    assert.deepEqual(res.cursors?.map(hex), cursors.slice(3).map(hex))
  })

  describe('a reader with one honest owner and one liar', () => {
    const rejected: string[] = []
    /** what the liar lists, whatever it is asked */
    let lies: Cursor[] = []
    let liarCalls = 0

    /** The owners' answers: the honest one's from the store, the liar's `lies`, always with more to come. */
    const owners: StoreCall = async (owner, req) => {
      if (owner === 'liar') {
        liarCalls++
        return listing(lies, true)
      }
      const page = await store.cursors(B, { after: req.after, before: req.before, limit: req.limit ?? 100 })
      return listing(page.cursors, page.more)
    }

    /** A reader of a node that is not an owner itself, asking the owners through `call`. */
    function reader (call: StoreCall = owners): Reader {
      const ctx: ReaderContext = {
        selfId: 'me',
        placement: { ownersOf: () => ['honest', 'liar'] },
        mailboxes: store,
        keys: new SenderKeyCache(),
        guard: { checkRead: () => {} },
        reject: (reason) => { rejected.push(reason) }
      }
      return new Reader(ctx, call, false)
    }

    beforeEach(() => { rejected.length = 0; liarCalls = 0 })

    it('listCursors ignores cursors at or before `after`, and ones that are not cursors', async () => {
      lies = [cursors[0], cursors[1], cursors[2], new Uint8Array(5)]
      const page = await reader().listCursors(B, { after: cursors[2], limit: 10 })
      assert.deepEqual(page.cursors, cursors.slice(3).map(hex), 'only what follows `after`')
      assert.equal(rejected.filter((r) => r === 'out-of-range-cursor').length, 4, 'each lie is counted')
    })

    it('readCursors ignores cursors outside (after, before) and stops paging a liar that does not move forward', async () => {
      lies = [cursors[0], cursors[4], cursors[1]]
      const listed = await reader().readCursors(B, { after: cursors[1], before: cursors[4] })
      assert.deepEqual([...listed].sort(), cursors.slice(2, 4).map(hex))
      assert.equal(liarCalls, 1, 'a page with nothing new in range ends the liar\'s paging')
      assert.equal(rejected.length, 3)
    })

    it('readCursors pages a liar that does move forward at most a bounded number of times', async () => {
      // every page lists one cursor further on and says there is more: the reader stops by itself
      let ms = 1500
      const r = reader(async (owner) => {
        if (owner !== 'liar') return listing([], false)
        ms += 1
        return listing([entry(B, alice, B, ms).cursor], true)
      })
      const listed = await r.readCursors(B, { after: cursors[0], before: cursors[4] })
      assert.equal(listed.size, MAX_CURSOR_PAGES, 'one cursor a page, MAX_CURSOR_PAGES pages')
    })
  })
})
