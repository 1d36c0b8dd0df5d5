/**
 * A deletion an owner missed reaches it: three servers own bob's mailbox; bob deletes delivered secret
 * envelopes while one owner is cut off; when it is back, the next anti-entropy round hands it the
 * tombstones (digests mix them in, IDS lists them) and it deletes its copies. Nothing deleted comes back,
 * on any owner, and the other entries stay.
 */

import { strict as assert } from 'node:assert'
import type { ChorusNode } from '../../node/index.js'
import { Envelope, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { deleteScope, signReadAuth } from '../../protocol/read-auth.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { PartitionGater, heal, isolate } from '../helpers/partition.js'
import { scaled, waitFor } from '../helpers/wait.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function held (node: ChorusNode, mailbox: string): Promise<Set<string>> {
  const page = await node.replication.mailboxes.range(mailbox, { limit: 100_000 })
  return new Set(page.entries.map((e) => hex(e.cursor)))
}

describe('deletions are repaired like entries (3 servers, N=3, W=2)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({
      servers: 3,
      clients: 1,
      options: () =>
        ({
          connectionGater: new PartitionGater(),
          replicas: 3,
          writeQuorum: 2,
          membership: { suspicionTimeoutMs: scaled(120_000) },
          replication: { repairIntervalMs: 300, hintIntervalMs: 200 }
        })
    })
    await waitForServers(mesh.nodes, mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('an owner cut off during a deletion deletes its copies once it is back', async () => {
    const client = mesh.clients[0]
    const alice = await client.openUser('alice')
    const bob = await client.openUser('bob')
    const bobId = bob.userId
    const identity: IdentityKey = bob.identity
    // secret envelopes from alice to bob (the kind a user may delete), stored on all three owners
    const envs = Array.from({ length: 6 },
      (_, i) =>
        signEnvelope(
          {
            kind: Envelope.Kind.SECRET,
            recipient: bobId,
            body: new TextEncoder().encode(`ciphertext ${i}`),
            timestamp: hlcPack(Date.now() + i, 0),
            senderHandle: 'alice'
          },
          alice.identity
        ))
    for (const env of envs) await client.replication.writer.write(env, Envelope.encode(env))
    const all = envs.map((e) => hex(cursorOf(e)))
    await waitFor('every owner to hold the six envelopes', async () => {
      for (const s of mesh.servers) { const h = await held(s, bobId); if (!all.every((c) => h.has(c))) return false }
      return true
    }, { timeoutMs: scaled(20_000), intervalMs: 100 })

    const away = mesh.servers[0]
    await isolate(away, mesh.nodes)
    const dead = envs.slice(1, 4).map((e) => cursorOf(e))
    const auth = signReadAuth(deleteScope(bobId, dead), identity)
    for (const s of mesh.servers.slice(1)) {
      await client.replication.call(s.peerId.toString(), {
        kind: StoreRequest.Kind.DELETE,
        mailbox: bobId,
        cursors: dead,
        auth
      })
    }
    assert.equal((await held(away, bobId)).size, 6, 'the cut-off owner still holds all six')
    await heal(away, mesh.nodes, { reconnect: true })

    const gone = new Set(dead.map(hex))
    await waitFor('the owner that was away to delete the three',
      async () => [...await held(away, bobId)].every((c) => !gone.has(c)),
      { timeoutMs: scaled(30_000), intervalMs: 100 })
    for (const s of mesh.servers) {
      const h = await held(s, bobId)
      assert.deepEqual([...h].sort(), all.filter((c) => !gone.has(c)).sort(), `${s.peerId.toString().slice(-8)} holds exactly the three not deleted`)
    }
    assert.equal(userIdOf(identity.publicKey), bobId)
  })
})
