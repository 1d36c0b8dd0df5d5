/**
 * Issue 5, self-destruct and deletion after delivery, in process (real nodes, real LevelDB): a secret
 * message with a timer is shown, its plaintext is deleted on the reader's device `ttl` after it is read
 * (and on the sender's when the read receipt arrives), and the servers drop the ciphertext once the
 * recipient's device has it.
 */

import { strict as assert } from 'node:assert'
import type { Message, User } from '../../node/session/user.js'
import type { SecretChat } from '../../node/session/secret.js'
import { Envelope } from '../../protocol/envelope.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('secret chats: self-destruct timers and deletion after delivery', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  let aliceChat: SecretChat
  const got: Message[] = []

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
    bob.on('message', (m) => { if (m.kind === 'secret') got.push(m) })
    aliceChat = await alice.secret.open('bob')
  })
  after(async () => { await mesh?.cleanup() })

  /** SECRET envelopes still held (not tombstoned) in bob's mailbox, on any server. */
  async function heldOnServers (): Promise<number> {
    let n = 0
    for (const s of mesh.servers) {
      const page = await s.replication.mailboxes.range(bob.userId, { limit: 10_000 })
      n += page.entries.filter((e) => Envelope.decode(e.bytes).kind === Envelope.Kind.SECRET).length
    }
    return n
  }

  it('servers drop the ciphertext once the recipient has it', async () => {
    await aliceChat.send('read me once')
    await waitFor('bob to read it', () => got.some((m) => m.text === 'read me once'), { timeoutMs: scaled(10_000) })
    await waitFor('every server to drop the ciphertext', async () => (await heldOnServers()) === 0, { timeoutMs: scaled(10_000) })
  })

  it('deletes the plaintext ttl after it is read, on both devices', async () => {
    await aliceChat.send('burn after reading', { ttlMs: 500 })
    await waitFor('bob to get it', () => got.some((m) => m.text === 'burn after reading'), { timeoutMs: scaled(10_000) })
    const bobChat = await bob.secret.open('alice')
    const expired: string[] = []
    bobChat.on('expired', (e) => expired.push(e.id))
    const m = got.find((x) => x.text === 'burn after reading') as Message
    assert.equal((m as any).ttlMs, 500)
    assert.ok((await bobChat.history()).some((x) => x.text === 'burn after reading'), 'kept until read')
    await new Promise((resolve) => setTimeout(resolve, 1200))
    assert.ok((await bobChat.history()).some((x) => x.text === 'burn after reading'), 'the timer starts when it is read, not when it arrives')
    bob.markRead(m)
    await waitFor('bob\'s copy to self-destruct', async () => !(await bobChat.history()).some((x) => x.text === 'burn after reading'), { timeoutMs: scaled(5000) })
    // 'expired' comes once the plaintext is compacted out of the files too (secret-shred.test.ts)
    await waitFor('the expired event', () => expired.length > 0, { timeoutMs: scaled(5000) })
    assert.deepEqual(expired, [m.id])
    // the read receipt starts the sender's timer too
    await waitFor('alice\'s copy to self-destruct', async () => !(await aliceChat.history()).some((x) => x.text === 'burn after reading'), { timeoutMs: scaled(5000) })
    assert.ok((await aliceChat.history()).some((x) => x.text === 'read me once'), 'messages without a timer stay')
  })
})
