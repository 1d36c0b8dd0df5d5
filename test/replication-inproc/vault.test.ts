/**
 * A user opened with a passphrase keeps its keys and its secret chats sealed on its device: after a
 * secret conversation, the device's data directory (LevelDB's files byte by byte, and every value read
 * through LevelDB) holds neither the plaintexts nor the identity's private key; the node reopened on the
 * same directory refuses the user without its passphrase or with a wrong one, and with it has everything.
 */

import { strict as assert } from 'node:assert'
import { join } from 'node:path'
import type { ChorusNode } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { filesHolding, valuesHolding } from '../helpers/scan.js'
import { scaled, waitFor } from '../helpers/wait.js'

const PASSPHRASE = 'four gray geese over the fjord'

describe('a user with a passphrase: keys and secret chats sealed at rest', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  let dir: string
  let aliceNode: ChorusNode
  let alice: User
  let bob: User
  const texts = ['the vault code is 4471', 'meet me at the old mill', 'bring the second key']
  const bobGot: Message[] = []

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 1, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    dir = mesh.dirs.make('chorus-alice-')
    aliceNode = await mesh.spawn('client', { dataDir: dir })
    alice = await aliceNode.openUser('alice', { passphrase: PASSPHRASE })
    bob = await mesh.clients[0].openUser('bob')
    bob.on('message', (m) => { if (m.kind === 'secret') bobGot.push(m) })
  })
  after(async () => { await mesh?.cleanup() })

  it('leaves neither plaintext nor private key in the device\'s files or database', async () => {
    const chat = await alice.secret.open('bob')
    for (const t of texts.slice(0, 2)) await chat.send(t)
    await waitFor('bob to read both', () => texts.slice(0, 2).every((t) => bobGot.some((m) => m.text === t)),
      { timeoutMs: scaled(10_000) })
    await (await bob.secret.open('alice')).send(texts[2])
    await waitFor('alice to have bob\'s answer in her history', async () => (await chat.history()).some((m) => m.text === texts[2]), { timeoutMs: scaled(10_000) })
    const key = alice.identity.privateKey
    await aliceNode.stop()

    const needles = [...texts.map((t) => Buffer.from(t)), Buffer.from(key), Buffer.from(Buffer.from(key).toString('base64'))]
    const files = filesHolding(dir, needles)
    assert.deepEqual(files.found, [], 'the device\'s files hold a secret')
    assert.ok(files.bytes > 0)
    const values = await valuesHolding(join(dir, 'db'), needles)
    assert.deepEqual(values.found, [], 'the device\'s database holds a secret')
    assert.ok(values.entries > 0, 'the scan read the database')
  })

  it('reopened, refuses the user without its passphrase or with a wrong one, and with it has everything', async () => {
    aliceNode = await mesh.spawn('client', { dataDir: dir })
    await assert.rejects(aliceNode.openUser('alice'), { name: 'PassphraseError', code: 'ERR_PASSPHRASE', reason: 'required' })
    await assert.rejects(aliceNode.openUser('alice', { passphrase: 'five gray geese' }), { name: 'PassphraseError', reason: 'wrong' })
    alice = await aliceNode.openUser('alice', { passphrase: PASSPHRASE })
    const history = await (await alice.secret.open('bob')).history()
    for (const t of texts) assert.ok(history.some((m) => m.text === t), `"${t}" is in the history`)
    const chat = await alice.secret.open('bob')
    await chat.send('still here')
    await waitFor('bob to read the message sent after the reopen', () => bobGot.some((m) => m.text === 'still here'), { timeoutMs: scaled(10_000) })
  })
})
