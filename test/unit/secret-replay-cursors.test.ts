/**
 * Issue 9, replays through the read path: an owner lists only cursors strictly after `after` (and
 * before `before`), and a reader ignores any cursor an owner lists outside the range it asked for, so a
 * lying owner cannot make a feed list (and fetch, and hand to the secret chats) entries it has passed.
 * The store is real LevelDB; the reader's owners are one honest store and one liar.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import type { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { MailboxStore, type Cursor } from '../../node/store/mailbox-store.js'
import { MAX_CURSOR_PAGES, Reader } from '../../node/replication/reader.js'
import type { ReplicationContext } from '../../node/replication/context.js'
import { handleFetch } from '../../node/replication/handlers/fetch.js'
import { entry } from '../helpers/envelopes.js'
import { TempDirs } from '../helpers/wait.js'

const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')

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
    const guard = { checkRead: () => {}, checkPut: () => {} }
    const ctx = { mailboxes: store, guard } as unknown as ReplicationContext
    const req = {
      mailbox: B,
      peer: '',
      cursorsOnly: true,
      after: cursors[2],
      before: new Uint8Array(0),
      limit: 10,
      cursors: []
    }
    const res = await handleFetch(req as unknown as StoreRequest, 'peer', ctx)
    assert.deepEqual(res.cursors?.map(hex), cursors.slice(3).map(hex))
  })

  describe('a reader with one honest owner and one liar', () => {
    const rejected: string[] = []
    /** what the liar lists, whatever it is asked */
    let lies: Uint8Array[] = []
    let liarCalls = 0

    function reader (): Reader {
      const ctx = {
        selfId: 'me',
        placement: { ownersOf: () => ['honest', 'liar'] },
        reject: (reason: string) => { rejected.push(reason) }
      } as unknown as ReplicationContext
      const call = async (owner: string, req: Partial<StoreRequest>): Promise<StoreResponse> => {
        if (owner === 'liar') {
          liarCalls++
          return { cursors: lies, more: true } as unknown as StoreResponse
        }
        const page = await store.cursors(B, { after: req.after, before: req.before, limit: req.limit ?? 100 })
        return { cursors: page.cursors, more: page.more } as unknown as StoreResponse
      }
      return new Reader(ctx, call as any, false)
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
      const r = reader()
      lies = []
      const moving = { get cursors () { ms += 1; return [entry(B, alice, B, ms).cursor] } }
      ;(r as any).call = async (owner: string) =>
        owner === 'liar' ? { cursors: moving.cursors, more: true } : { cursors: [], more: false }
      const listed = await r.readCursors(B, { after: cursors[0], before: cursors[4] })
      assert.equal(listed.size, MAX_CURSOR_PAGES, 'one cursor a page, MAX_CURSOR_PAGES pages')
    })
  })
})
