/**
 * Issue 9, self-destruct destroys (real nodes, real LevelDB): after a message's timer has run out on
 * both devices, a scan of each device's data directory (every file byte by byte, and every key and value
 * LevelDB holds) finds neither the message's text nor the key its history entry was sealed under.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { ChorusNode } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { filesHolding, valuesHolding } from '../helpers/scan.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('secret chats: a self-destructed message is gone from the devices\' files', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  const dirs: Record<string, string> = {}
  const nodes: Record<string, ChorusNode> = {}
  let alice: User
  let bob: User
  const got: Message[] = []

  before(async () => {
    mesh = await startMesh({ servers: 3, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    for (const who of ['alice', 'bob']) {
      dirs[who] = mesh.dirs.make(`chorus-${who}-`)
      nodes[who] = await mesh.spawn('client', { dataDir: dirs[who] })
    }
    alice = await nodes.alice.openUser('alice')
    bob = await nodes.bob.openUser('bob')
    bob.on('message', (m) => { if (m.kind === 'secret') got.push(m) })
  })
  after(async () => { await mesh?.cleanup() })

  it('leaves neither the text nor its entry\'s key in either device\'s files or database', async () => {
    // random text: LevelDB's tables are compressed, and only incompressible bytes are found as they are
    const text = `burn ${randomBytes(32).toString('hex')}`
    const aliceChat = await alice.secret.open('bob')
    await aliceChat.send(text, { ttlMs: 300 })
    await waitFor('bob to read it', () => got.some((m) => m.text === text), { timeoutMs: scaled(10_000) })
    const m = got.find((x) => x.text === text) as Message
    const entryKey = async (u: User, peer: User): Promise<string> =>
      (u.secret as any).store.get(`hkey!${u.userId}!${peer.userId}!${m.cursor}`)
    const keys = [await entryKey(bob, alice), await entryKey(alice, bob)]
    assert.ok(keys.every((k) => typeof k === 'string'), 'each copy is sealed under its own key')
    const needles = [Buffer.from(text), ...keys.flatMap((k) => [Buffer.from(k), Buffer.from(k, 'base64')])]

    const expired: string[] = []
    ;(await bob.secret.open('alice')).on('expired', (e) => expired.push(`bob ${e.id}`))
    aliceChat.on('expired', (e) => expired.push(`alice ${e.id}`))
    bob.markRead(m) // starts bob's timer, and alice's when the read receipt arrives
    await waitFor('both copies to self-destruct', () => expired.length === 2, { timeoutMs: scaled(10_000) })
    assert.deepEqual(expired.sort(), [`alice ${m.id}`, `bob ${m.id}`])

    for (const who of ['alice', 'bob']) {
      await nodes[who].stop()
      const files = filesHolding(dirs[who], needles)
      assert.deepEqual(files.found, [], `${who}'s files hold the message or its key`)
      assert.ok(files.bytes > 0)
      const values = await valuesHolding(join(dirs[who], 'db'), needles)
      assert.deepEqual(values.found, [], `${who}'s database holds the message or its key`)
      assert.ok(values.entries > 0)
    }
  })
})
