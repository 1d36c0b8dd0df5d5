/**
 * Issue 9, self-destruct destroys: a LevelDB `del` leaves a value in the write-ahead log and the table
 * files until a compaction rewrites them. Each secret history entry is sealed under its own key; at its
 * deadline the entry and its key are deleted and the range is compacted. A scan of the device's raw
 * files (byte by byte) and of every value LevelDB still holds then finds neither the plaintext nor the
 * entry's key, on the reader's device and on the sender's; before, the key was there to find.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { SecretStore, compactRangeOf } from '../../node/session/secret-store.js'
import { Vault } from '../../node/session/vault.js'
import { openDb } from '../../node/store/db.js'
import { filesHolding, valuesHolding } from '../helpers/scan.js'
import { TempDirs } from '../helpers/wait.js'
import { SecretWorld, type Device } from './secret-harness.js'

/** The key an entry of `d`'s history with `peer` is sealed under (b64), read from its store. */
async function entryKey (d: Device, peer: Device, cursor: string): Promise<string> {
  const key = await (d.secrets as any).store.get(`hkey!${d.userId}!${peer.userId}!${cursor}`)
  assert.ok(typeof key === 'string', 'the entry has its own key')
  return key
}

describe('secret history: self-destruct shreds and compacts', function () {
  this.timeout(60_000)

  it('a deleted value stays in the files, even after one compaction; destroy removes it (why, and how)', async () => {
    const dirs = new TempDirs()
    const dir = dirs.make()
    const db = await openDb(dir)
    try {
      const vault = await Vault.open(db, 'x', undefined, false)
      const level = db.sublevel<string, string>('secret', { valueEncoding: vault.encoding as any })
      const store = new SecretStore(level, compactRangeOf(db))
      const range = { gt: 'hist!me!', lt: 'hist!me!\xff' }
      const secret = randomBytes(24).toString('hex')
      await store.put('hist!me!peer!01', secret)
      await store.del('hist!me!peer!01')
      assert.notDeepEqual(filesHolding(dir, [Buffer.from(secret)]).found, [], 'deleted, still in the log')
      await store.compact(range)
      assert.notDeepEqual(filesHolding(dir, [Buffer.from(secret)]).found, [], 'compacted once, still in a table: flushed with its tombstone to the bottom level, which compactRange never rewrites')
      const other = randomBytes(24).toString('hex')
      await store.put('hist!me!peer!02', other)
      await store.destroy([{ type: 'del', key: 'hist!me!peer!02' }, { type: 'del', key: 'hist!me!peer!01' }], range)
      assert.deepEqual(filesHolding(dir, [Buffer.from(secret), Buffer.from(other)]).found, [], 'destroyed: gone from every file')
    } finally {
      await db.close()
      dirs.cleanup()
    }
  })

  it('destroys a read message on both devices: neither its text nor its key is left in their files or databases', async () => {
    const world = await new SecretWorld().start()
    try {
      const alice = await world.device('alice')
      const bob = await world.device('bob')
      // random text: table files are compressed, and only incompressible bytes show as they are
      const text = `burn ${randomBytes(32).toString('hex')}`
      await (await alice.secrets.open('bob')).send(text, { ttlMs: 60_000 })
      assert.deepEqual(await world.flush(alice), [true])
      const m = bob.shown[0]
      const bobKey = await entryKey(bob, alice, m.cursor)
      const aliceKey = await entryKey(alice, bob, m.cursor)
      const needles = [Buffer.from(text), Buffer.from(bobKey), Buffer.from(bobKey, 'base64'), Buffer.from(aliceKey),
        Buffer.from(aliceKey, 'base64')]
      assert.deepEqual(filesHolding(bob.dir, [Buffer.from(text)]).found, [], 'the text was never written in the clear')
      assert.notDeepEqual(filesHolding(bob.dir, [Buffer.from(bobKey)]).found, [], 'the entry\'s key is in the files (the scan sees it)')

      const expired: string[] = []
      ;(await bob.secrets.open('alice')).on('expired', (e) => expired.push(e.id))
      ;(await alice.secrets.open('bob')).on('expired', (e) => expired.push(e.id))
      await bob.secrets.markRead(m)
      await alice.secrets.onRead(bob.userId, [m.id]) // bob's read receipt
      world.advance(60_001)
      await (bob.secrets as any).history.expire()
      await (alice.secrets as any).history.expire()
      assert.deepEqual(expired, [m.id, m.id])
      assert.deepEqual(await (await bob.secrets.open('alice')).history(), [])
      assert.deepEqual(await (await alice.secrets.open('bob')).history(), [])

      for (const d of [bob, alice]) {
        assert.deepEqual(filesHolding(d.dir, needles).found, [], `${d.handle}'s files`)
        await world.stop(d)
        const values = await valuesHolding(join(d.dir, 'db'), needles)
        assert.deepEqual(values.found, [], `${d.handle}'s database`)
        assert.ok(values.entries > 0)
      }
    } finally {
      await world.close()
    }
  })
})
