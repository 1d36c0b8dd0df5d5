/**
 * Issue 9, two users opening a secret chat to each other at the same moment (real nodes, real LevelDB):
 * both claim the other's prekeys and send at once, so two initiations cross. Both devices settle on one
 * session (secret-initiation.ts), every message sent during the race is shown, and messages both ways
 * decrypt afterwards, with no refusal counted.
 */

import { strict as assert } from 'node:assert'
import type { Message, User } from '../../node/session/user.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('secret chats: both users open at once', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  const got = { alice: [] as Message[], bob: [] as Message[] }

  /** Secret-chat refusals counted on a client's node. */
  async function refusals (client: number): Promise<string[]> {
    const text = await mesh.clients[client].registry.metrics()
    return [...text.matchAll(/chorus_rejected_total\{[^}]*reason="(secret-[^"]+)"\} (\d+)/g)].filter((m) => Number(m[2]) > 0).map((m) => m[1])
  }

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
    alice.on('message', (m) => { if (m.kind === 'secret') got.alice.push(m) })
    bob.on('message', (m) => { if (m.kind === 'secret') got.bob.push(m) })
  })
  after(async () => { await mesh?.cleanup() })

  it('ends with one working session: the crossing messages and every later one both ways decrypt', async () => {
    const [chatA, chatB] = await Promise.all([alice.secret.open('bob'), bob.secret.open('alice')])
    await Promise.all([chatA.send('alice first'), chatB.send('bob first')])
    await Promise.all([chatA.send('alice second'), chatB.send('bob second')])
    const shown = (who: Message[], text: string): boolean => who.some((m) => m.text === text)
    await waitFor('both to read the crossing messages',
      () => ['alice first', 'alice second'].every((t) => shown(got.bob, t)) && ['bob first', 'bob second'].every((t) => shown(got.alice, t)),
      { timeoutMs: scaled(15_000) })
    for (let i = 0; i < 3; i++) {
      await chatA.send(`alice ${i}`)
      await waitFor(`bob to read alice ${i}`, () => shown(got.bob, `alice ${i}`), { timeoutMs: scaled(10_000) })
      await chatB.send(`bob ${i}`)
      await waitFor(`alice to read bob ${i}`, () => shown(got.alice, `bob ${i}`), { timeoutMs: scaled(10_000) })
    }
    const ephemeral = async (u: User, peer: User): Promise<string> =>
      (await (u.secret as any).ratchets.load(peer.userId)).record.ephemeral
    assert.equal(await ephemeral(alice, bob), await ephemeral(bob, alice), 'both send with the same session')
    assert.equal(got.bob.length, 5, 'each of alice\'s messages shown once')
    assert.equal(got.alice.length, 5, 'each of bob\'s messages shown once')
    assert.deepEqual([...await refusals(0), ...await refusals(1)], [], 'nothing was refused')
  })
})
