import { strict as assert } from 'node:assert'
import { closeOwnSublevel, openDb, peerMemory, type ChorusDb } from '../../node/store/db.js'
import { TempDirs } from '../helpers/wait.js'

describe('store (node/store/db.ts)', () => {
  const dirs = new TempDirs()
  const open: ChorusDb[] = []
  const track = (db: ChorusDb): ChorusDb => { open.push(db); return db }
  afterEach(async () => { await Promise.allSettled(open.splice(0).map(async (db) => { await db.close() })) })
  after(() => { dirs.cleanup() })

  it('refuses a second open of the same data dir with DataDirError, and the first stays usable', async () => {
    const dir = dirs.make()
    const first = track(await openDb(dir))
    await assert.rejects(openDb(dir), (err: any) => {
      assert.equal(err.name, 'DataDirError')
      assert.equal(err.code, 'ERR_DATA_DIR')
      assert.match(err.message, /in use/)
      return true
    })
    await first.put('k', 'v')
    assert.equal(await first.get('k'), 'v')
  })

  it('opens again once the first holder has closed', async () => {
    const dir = dirs.make()
    const first = await openDb(dir)
    await first.put('k', 'v')
    await first.close()
    const second = track(await openDb(dir))
    assert.equal(await second.get('k'), 'v')
  })

  it('hands every caller one sublevel per name and encodings; closing one\'s own leaves the shared ones open', async () => {
    const db = track(await openDb(dirs.make()))
    const a = db.sublevel<string, string>('seen', { valueEncoding: 'utf8' })
    assert.equal(db.sublevel<string, string>('seen', { valueEncoding: 'utf8' }), a, 'shared')
    // an encoding object (a user's vault) makes a sublevel of the caller's own
    const sealed = { name: 'own', format: 'utf8' as const, encode: (v: string) => v, decode: (v: string) => v }
    const own = db.sublevel<string, string>('secret', { valueEncoding: sealed })
    assert.notEqual(db.sublevel<string, string>('secret', { valueEncoding: sealed }), own, 'not shared')
    await closeOwnSublevel(a)
    await a.put('k', 'v')
    assert.equal(await a.get('k'), 'v', 'a shared sublevel stays open')
    await closeOwnSublevel(own)
    assert.equal(own.status, 'closed', 'a caller\'s own sublevel is closed')
  })

  describe('peerMemory', () => {
    it('is empty at first and returns what was saved', async () => {
      const db = track(await openDb(dirs.make()))
      const memory = peerMemory(db)
      assert.deepEqual(await memory.load(), [])
      const peers = [{ peerId: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'] }, { peerId: 'b', addrs: [] }]
      await memory.save(peers)
      assert.deepEqual(await memory.load(), peers)
      await memory.save(peers.slice(1))
      assert.deepEqual(await peerMemory(db).load(), peers.slice(1), 'a save replaces the whole list')
    })

    it('survives a reopen', async () => {
      const dir = dirs.make()
      const db = await openDb(dir)
      await peerMemory(db).save([{ peerId: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'] }])
      await db.close()
      const again = track(await openDb(dir))
      assert.deepEqual(await peerMemory(again).load(), [{ peerId: 'a', addrs: ['/ip4/127.0.0.1/tcp/1'] }])
    })

    it('reads garbage as an empty or filtered list, never an exception', async () => {
      const db = track(await openDb(dirs.make()))
      const raw = db.sublevel<string, string>('membership', { valueEncoding: 'utf8' })
      for (const garbage of ['not json', '{"peerId":"a"}', '42', 'null', '"x"']) {
        await raw.put('peers', garbage)
        assert.deepEqual(await peerMemory(db).load(), [], garbage)
      }
      await raw.put('peers', JSON.stringify([null, 1, { peerId: 2, addrs: [] }, { peerId: 'x' }, { peerId: 'ok', addrs: ['/ip4/127.0.0.1/tcp/1'] }]))
      assert.deepEqual(await peerMemory(db).load(), [{ peerId: 'ok', addrs: ['/ip4/127.0.0.1/tcp/1'] }])
    })

    it('loads at most 64 peers', async () => {
      const db = track(await openDb(dirs.make()))
      const raw = db.sublevel<string, string>('membership', { valueEncoding: 'utf8' })
      await raw.put('peers', JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ peerId: `p${i}`, addrs: [] }))))
      assert.equal((await peerMemory(db).load()).length, 64)
    })

    it('saving to a closed database is a no-op, not an error', async () => {
      const db = await openDb(dirs.make())
      const memory = peerMemory(db)
      await db.close()
      await memory.save([{ peerId: 'a', addrs: [] }])
    })
  })
})
