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
import { StoreRequest } from '../../protocol/pb/store.js'
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
    // bob's node asks alice's owners with bob's proof: refused, whether it probes or watches
    for (const kind of [StoreRequest.Kind.PROBE, StoreRequest.Kind.WATCH]) {
      const owners = mesh.clients[1].replication.placement.ownersOf(alice.userId)
      const answers = await Promise.all(owners.map(async (o) => await mesh.clients[1].replication.call(o, {
        kind,
        probes: [{ mailbox: alice.userId, auth: bob.readAuth(alice.userId) }]
      })))
      assert.deepEqual(answers.map((a) => a.versions), owners.map(() => [0n]), `bob's proof opens nothing of alice's (${StoreRequest.Kind[kind]})`)
    }
  })

  it('sends the questions of every session of a node in one request per owner', async () => {
    const changes = node.replication.changes
    const users = await Promise.all(
      Array.from({ length: SESSIONS }, async (_, i) => await node.openUser(`idle-${i}`, { syncIntervalMs: 60_000 }))
    )
    // closed, the sessions follow nothing: the table answers none of their logs, every question goes out
    await Promise.all(users.map(async (u) => { await u.close() }))
    const requests = changes.stats.requests
    const probes = changes.stats.probes
    const keys = await Promise.all(users.map(async (u) => await changes.versions(u.userId, u.readAuth(u.userId))))
    assert.ok(keys.every((k) => k != null))
    // the users' mailboxes spread over the owners: every owner gets at most one request for all of them
    assert.ok(changes.stats.requests - requests <= OWNERS, `${changes.stats.requests - requests} requests for ${SESSIONS} mailboxes`)
    assert.equal(changes.stats.probes - probes, OWNERS * SESSIONS)
  })

  it('an idle session\'s ticks cost no frame once its owners watch its logs', async () => {
    const carol = await node.openUser('carol', { syncIntervalMs: 200 })
    // her first sync read the counters before it listed, and registered the watches: from here on, nothing
    const before = await node.work()
    assert.ok(node.replication.changes.known(carol.userId) != null, 'the table vouches for her log once she is open')
    const known = node.replication.changes.stats.known
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const after = await node.work()
    const sent = (kind: string): number =>
      (after.store?.sent[kind]?.requests ?? 0) - (before.store?.sent[kind]?.requests ?? 0)
    assert.equal(sent('FETCH'), 0, 'no listing while nothing changed')
    assert.equal(sent('PROBE'), 0, 'no probe: the owners push what changes')
    assert.equal(sent('WATCH'), 0, 'no renewal within a third of the lease')
    assert.ok(node.replication.changes.stats.known - known >= 5, 'each tick found the session idle by the pushed counters, asking nothing')
    await carol.close()
  })

  it('what the live path lost, an owner\'s push brings at once (no sync interval passes)', async () => {
    // no tick within the test: only a push can bring what the live path lost
    const dave = await node.openUser('dave', { syncIntervalMs: 60_000 })
    await waitFor('dave\'s owners to watch his mailbox', async () => {
      const before = node.replication.changes.stats.local
      await node.replication.changes.versions(dave.userId, dave.readAuth(dave.userId))
      return node.replication.changes.stats.local > before
    })
    const got: string[] = []
    dave.on('message', (m) => { got.push(m.text) })
    // bob's node loses what it publishes live (a fault injected in the live path): only the owners know of it
    const relay = mesh.clients[1].relay
    const publish = relay.publish
    relay.publish = async () => {}
    try {
      const pushes = node.replication.changes.stats.pushes
      const before = await node.work()
      const t0 = Date.now()
      await bob.send('dave', 'by push')
      await waitFor('dave to get the message by the owners\' push', () => got.includes('by push'))
      assert.ok(Date.now() - t0 < scaled(3000), `it came in ${Date.now() - t0} ms`)
      assert.ok(node.replication.changes.stats.pushes > pushes, 'pushed changes were taken')
      const after = await node.work()
      const fetches = (after.store?.sent.FETCH?.requests ?? 0) - (before.store?.sent.FETCH?.requests ?? 0)
      assert.equal(fetches, 0, 'the primary owner\'s push carried the message itself: nothing was fetched')
    } finally {
      relay.publish = publish
      await dave.close()
    }
  })

  it('a node that cannot hear pushes probes its owners again; what only sync brings still arrives', async () => {
    const carol = await node.openUser('carol', { syncIntervalMs: 200 })
    // a message alice's node cannot get live (no relay knows of a subscriber there), nor by push:
    // only a tick's sync brings it
    const got: string[] = []
    carol.on('message', (m) => { got.push(m.text) })
    await node.relay.stop()
    try {
      const before = await node.work()
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const after = await node.work()
      const probes = (after.store?.sent.PROBE?.requests ?? 0) - (before.store?.sent.PROBE?.requests ?? 0)
      assert.ok(probes >= 2, `${probes} probes in 1 s of 200 ms ticks`)
      const t0 = Date.now()
      await bob.send('carol', 'by sync alone')
      await waitFor('carol to get the message by sync', () => got.includes('by sync alone'))
      assert.ok(Date.now() - t0 < scaled(5000), `it came in ${Date.now() - t0} ms`)
    } finally {
      await node.relay.start()
      await carol.close()
    }
  })
})
