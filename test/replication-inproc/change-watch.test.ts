/**
 * Idle sessions ask, they do not list: on a real mesh, a mailbox's change counters at its owners
 * (PROBE, node/replication/change-watch.ts) stand while nothing is written and move with a write; a
 * proof of another user gets no counters; the questions of every session of a node travel in one
 * request per owner; and an idle session's ticks cost probes, not listings, while a message that only
 * sync can bring (nobody listens live) still arrives within a tick or two.
 */

import { strict as assert } from 'node:assert'
import type { User } from '../../node/index.js'
import type { ChorusNode } from '../../node/chorus-node.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

const SESSIONS = 12
/** N: each mailbox is asked of each of its owners. */
const OWNERS = 3

describe('change watch: idle sessions probe their owners instead of listing', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let node: ChorusNode
  let alice: User
  let bob: User

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers)
    node = mesh.clients[0]
    // no session of alice's node ticks on its own until the last test: the counts below are the tests' own
    alice = await node.openUser('alice', { syncIntervalMs: 60_000 })
    bob = await mesh.clients[1].openUser('bob')
  })
  after(async () => { await mesh?.cleanup() })

  it('counters stand while nothing is written, move with a write, and are refused to another user\'s proof', async () => {
    const changes = node.replication.changes
    const before = await changes.versions(alice.userId, alice.readAuth(alice.userId))
    assert.ok(before != null && before.split(' ').length === OWNERS, `three owners answered: ${before}`)
    assert.equal(await changes.versions(alice.userId, alice.readAuth(alice.userId)), before, 'nothing written: the same counters')
    await bob.send('alice', 'a change')
    await waitFor('alice\'s counters to move', async () => (await changes.versions(alice.userId, alice.readAuth(alice.userId))) !== before)
    assert.equal(await changes.versions(alice.userId, bob.readAuth(alice.userId)), undefined, 'bob\'s proof opens nothing of alice\'s')
  })

  it('sends the questions of every session of a node in one request per owner', async () => {
    const changes = node.replication.changes
    const users = await Promise.all(
      Array.from({ length: SESSIONS }, async (_, i) => await node.openUser(`idle-${i}`, { syncIntervalMs: 60_000 }))
    )
    const requests = changes.stats.requests
    const probes = changes.stats.probes
    const keys = await Promise.all(users.map(async (u) => await changes.versions(u.userId, u.readAuth(u.userId))))
    assert.ok(keys.every((k) => k != null))
    // the users' mailboxes spread over the owners: every owner gets at most one request for all of them
    assert.ok(changes.stats.requests - requests <= OWNERS, `${changes.stats.requests - requests} requests for ${SESSIONS} mailboxes`)
    assert.equal(changes.stats.probes - probes, OWNERS * SESSIONS)
    await Promise.all(users.map(async (u) => { await u.close() }))
  })

  it('an idle session\'s ticks probe and list nothing; what only sync brings still arrives', async () => {
    const carol = await node.openUser('carol', { syncIntervalMs: 200 })
    await new Promise((resolve) => setTimeout(resolve, 600))
    const before = await node.work()
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const after = await node.work()
    const fetches = (after.store?.sent.FETCH?.requests ?? 0) - (before.store?.sent.FETCH?.requests ?? 0)
    const probes = (after.store?.sent.PROBE?.requests ?? 0) - (before.store?.sent.PROBE?.requests ?? 0)
    assert.equal(fetches, 0, 'no listing while nothing changed')
    assert.ok(probes >= 3, `${probes} probes in 2 s of 200 ms ticks`)

    // a message alice's node cannot get live (no relay knows of a subscriber there): only a tick's sync brings it
    const got: string[] = []
    carol.on('message', (m) => { got.push(m.text) })
    await node.relay.stop()
    try {
      const t0 = Date.now()
      await bob.send('carol', 'by sync alone')
      await waitFor('carol to get the message by sync', () => got.includes('by sync alone'))
      assert.ok(Date.now() - t0 < scaled(5000), `it came in ${Date.now() - t0} ms`)
    } finally {
      await node.relay.start()
    }
  })
})
