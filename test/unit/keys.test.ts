import { strict as assert } from 'node:assert'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { NODE_KEY_FILE, loadOrCreateNodeKey } from '../../node/keys.js'
import { TempDirs } from '../helpers/wait.js'

describe('node key (node/keys.ts)', () => {
  const dirs = new TempDirs()
  after(() => { dirs.cleanup() })

  it('creates an Ed25519 key once, readable only by its owner, and no temporary file', async () => {
    const dir = dirs.make()
    const key = await loadOrCreateNodeKey(dir)
    assert.equal(key.type, 'Ed25519')
    assert.equal(statSync(join(dir, NODE_KEY_FILE)).mode & 0o777, 0o600)
    assert.deepEqual(readdirSync(dir), [NODE_KEY_FILE])
  })

  it('loads the same key, hence the same peer id, on every later start', async () => {
    const dir = dirs.make()
    const first = await loadOrCreateNodeKey(dir)
    const bytes = readFileSync(join(dir, NODE_KEY_FILE))
    const second = await loadOrCreateNodeKey(dir)
    assert.ok(first.equals(second))
    assert.equal(peerIdFromPrivateKey(second).toString(), peerIdFromPrivateKey(first).toString())
    assert.deepEqual(readFileSync(join(dir, NODE_KEY_FILE)), bytes, 'the file is not rewritten')
  })

  it('gives different directories different identities', async () => {
    const a = await loadOrCreateNodeKey(dirs.make())
    const b = await loadOrCreateNodeKey(dirs.make())
    assert.notEqual(peerIdFromPrivateKey(a).toString(), peerIdFromPrivateKey(b).toString())
  })

  it('refuses a file that is not a key with NodeKeyError, and leaves it in place', async () => {
    for (const garbage of ['not a key', '', '\x08\x01\x12\x03abc']) {
      const dir = dirs.make()
      writeFileSync(join(dir, NODE_KEY_FILE), garbage)
      await assert.rejects(loadOrCreateNodeKey(dir), (err: any) => {
        assert.equal(err.name, 'NodeKeyError', `${JSON.stringify(garbage)}: ${err.name} ${err.message}`)
        assert.equal(err.code, 'ERR_NODE_KEY')
        return true
      })
      assert.equal(readFileSync(join(dir, NODE_KEY_FILE), 'utf8'), garbage)
    }
  })

  it('reports an unreadable key path as NodeKeyError', async () => {
    const dir = dirs.make()
    // a directory where the key file should be: EISDIR, not ENOENT
    mkdirSync(join(dir, NODE_KEY_FILE))
    await assert.rejects(loadOrCreateNodeKey(dir), (err: any) => err.name === 'NodeKeyError')
  })
})
