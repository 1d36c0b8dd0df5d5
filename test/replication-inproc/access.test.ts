/**
 * Read access at the owners: a user's mailbox and roster are readable by that user only (a signed read
 * proof), presence logs by anyone; clients cannot use the servers' reconciliation requests to get
 * around that (IDS and GET are for servers). A refusal is ForbiddenError, counted, and the owner keeps
 * serving the user itself.
 */

import { strict as assert } from 'node:assert'
import type { User } from '../../node/session/user.js'
import { userLog } from '../../protocol/mailbox.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { signReadAuth } from '../../protocol/read-auth.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'

describe('read access to user logs at the owners', function () {
  this.timeout(60_000)
  let mesh: Mesh
  let alice: User
  let bob: User
  let mallory: User

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
    mallory = await mesh.clients[0].openUser('mallory')
    await alice.send('bob', 'for bob only')
  })
  after(async () => { await mesh?.cleanup() })

  it('serves a mailbox to its user and refuses everyone else (no proof, or another user\'s)', async () => {
    const reader = mesh.clients[0].replication.reader
    const page = await mesh.clients[1].replication.reader.read(bob.userId, { auth: signReadAuth(bob.userId, bob.identity) })
    assert.ok(page.envelopes.length >= 1, 'bob reads his mailbox')
    await assert.rejects(reader.read(bob.userId, {}), { name: 'ForbiddenError' })
    await assert.rejects(reader.read(bob.userId, { auth: signReadAuth(bob.userId, mallory.identity) }), { name: 'ForbiddenError' })
    await assert.rejects(reader.read(userLog(bob.userId, 'roster'), { auth: signReadAuth(userLog(bob.userId, 'roster'), mallory.identity) }), { name: 'ForbiddenError' })
    // a proof for another mailbox does not open this one
    await assert.rejects(reader.read(bob.userId, { auth: signReadAuth(mallory.userId, mallory.identity) }), { name: 'ForbiddenError' })
    // presence is public: contacts read "last seen" from it
    await reader.read(userLog(bob.userId, 'presence'), { newestFirst: true, limit: 1 })
  })

  it('refuses IDS and GET from a client, so reconciliation cannot be used to read', async () => {
    const page = await mesh.clients[1].replication.reader.read(bob.userId, { auth: signReadAuth(bob.userId, bob.identity) })
    const cursor = cursorOf(page.envelopes[0])
    const server = mesh.servers[0].peerId.toString()
    await assert.rejects(mesh.clients[0].replication.call(server, { kind: StoreRequest.Kind.GET, mailbox: bob.userId, cursors: [cursor] }), { name: 'ForbiddenError' })
    await assert.rejects(mesh.clients[0].replication.call(server, { kind: StoreRequest.Kind.IDS, mailbox: bob.userId, bucketMs: 1000n, buckets: [] }), /FORBIDDEN|REJECTED/)
    const metrics = await mesh.servers[0].registry.metrics()
    assert.match(metrics, /chorus_rejected_total\{component="store",reason="not-a-server"\} [1-9]/)
    // the user itself is still served
    const again = await mesh.clients[1].replication.reader.read(bob.userId, { auth: signReadAuth(bob.userId, bob.identity) })
    assert.ok(again.envelopes.length >= 1)
    void alice
  })
})
