/**
 * Read access at the owners: a user's mailbox and roster are readable by that user only (a signed read
 * proof), its presence log by the user and the contacts it approved; a server is no exception (it reads
 * with FETCH only with a proof, like anyone), and the servers' reconciliation request that hands out
 * entries (GET) is for the mailbox's owners alone. A refusal is ForbiddenError, counted, and the owner
 * keeps serving the user itself.
 */

import { strict as assert } from 'node:assert'
import type { User } from '../../node/session/user.js'
import { userLog } from '../../protocol/mailbox.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { signReadAuth } from '../../protocol/read-auth.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('read access to user logs at the owners', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  let mallory: User

  before(async function () {
    this.timeout(scaled(120_000))
    // four servers for three copies: one server owns none of bob's logs
    mesh = await startMesh({ servers: 4, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
    mallory = await mesh.clients[0].openUser('mallory')
    await alice.send('bob', 'for bob only')
  })
  after(async () => { await mesh?.cleanup() })

  it('serves a mailbox to its user and refuses everyone else (no proof, or another user\'s)', async () => {
    const reader = mesh.clients[0].replication.reader
    const page = await mesh.clients[1].replication.reader.read(bob.userId, {
      auth: signReadAuth(bob.userId, bob.identity)
    })
    assert.ok(page.envelopes.length >= 1, 'bob reads his mailbox')
    await assert.rejects(reader.read(bob.userId, {}), { name: 'ForbiddenError' })
    await assert.rejects(reader.read(bob.userId, { auth: signReadAuth(bob.userId, mallory.identity) }), { name: 'ForbiddenError' })
    await assert.rejects(
      reader.read(userLog(bob.userId, 'roster'), { auth: signReadAuth(userLog(bob.userId, 'roster'), mallory.identity) }),
      { name: 'ForbiddenError' }
    )
    // a proof for another mailbox does not open this one
    await assert.rejects(reader.read(bob.userId, { auth: signReadAuth(mallory.userId, mallory.identity) }), { name: 'ForbiddenError' })
  })

  it('serves a presence log to its user and the contacts it approved, and to nobody else', async () => {
    const log = userLog(bob.userId, 'presence')
    const reader = mesh.clients[0].replication.reader
    const read = async (who: User): Promise<unknown> =>
      reader.read(log, { newestFirst: true, limit: 1, auth: signReadAuth(log, who.identity) })
    const page = await mesh.clients[1].replication.reader.read(log, {
      newestFirst: true,
      limit: 1,
      auth: signReadAuth(log, bob.identity)
    })
    assert.equal(page.envelopes.length, 1, 'bob reads his own presence (stored when his session opened)')
    await assert.rejects(reader.read(log, { newestFirst: true, limit: 1 }), { name: 'ForbiddenError' }, 'no proof')
    await assert.rejects(read(alice), { name: 'ForbiddenError' }, 'alice has not asked yet')
    await alice.roster.add('bob')
    await assert.rejects(read(alice), { name: 'ForbiddenError' }, 'asking is not being approved')
    await waitFor('bob to see the request', () => bob.roster.requests().some((r) => r.handle === 'alice'))
    await bob.roster.accept('alice')
    assert.equal((await read(alice) as { envelopes: unknown[] }).envelopes.length, 1, 'approved: alice reads his last seen')
    await assert.rejects(read(mallory), { name: 'ForbiddenError' }, 'mallory was never approved')
    await bob.roster.remove('alice')
    // W owners had the removal when remove() resolved; the third gets it a moment later
    await waitFor('alice to be refused by every owner after the removal', async () => {
      try { await read(alice) } catch (err: any) {
        if (err.name === 'ForbiddenError') return true
        throw err // not the refusal: keep waiting, and name it should the wait time out
      }
      return false
    })
    // counted at each owner of bob's logs (one of the four servers owns none of them)
    const owner = mesh.servers.find((s) => s.replication.placement.ownersOf(bob.userId).includes(s.peerId.toString()))
    const metrics = await owner?.registry.metrics() ?? ''
    assert.match(metrics, /chorus_rejected_total\{component="store",reason="not-approved"\} [1-9]/)
  })

  it('refuses IDS and GET from a client, so reconciliation cannot be used to read', async () => {
    const page = await mesh.clients[1].replication.reader.read(bob.userId, {
      auth: signReadAuth(bob.userId, bob.identity)
    })
    const cursor = cursorOf(page.envelopes[0])
    const server = mesh.servers[0].peerId.toString()
    await assert.rejects(
      mesh.clients[0].replication.call(server, { kind: StoreRequest.Kind.GET, mailbox: bob.userId, cursors: [cursor] }),
      { name: 'ForbiddenError' }
    )
    await assert.rejects(
      mesh.clients[0].replication.call(server, {
        kind: StoreRequest.Kind.IDS,
        mailbox: bob.userId,
        bucketMs: 1000n,
        buckets: []
      }),
      { name: 'ForbiddenError', reason: 'not-a-server' }
    )
    const metrics = await mesh.servers[0].registry.metrics()
    assert.match(metrics, /chorus_rejected_total\{component="store",reason="not-a-server"\} [1-9]/)
    // the user itself is still served
    const again = await mesh.clients[1].replication.reader.read(bob.userId, {
      auth: signReadAuth(bob.userId, bob.identity)
    })
    assert.ok(again.envelopes.length >= 1)
    void alice
  })

  it('refuses a user\'s logs to a server without a read proof, and GET to a server that does not own them', async () => {
    await alice.roster.add('mallory')
    const roster = userLog(alice.userId, 'roster')
    const presence = userLog(alice.userId, 'presence')
    const owners = mesh.servers[0].replication.placement.ownersOf(alice.userId)
    const stranger = mesh.servers.find((s) => !owners.includes(s.peerId.toString()))
    const owner = mesh.servers.find((s) => owners.includes(s.peerId.toString()))
    assert.ok(stranger != null && owner != null)
    const mine = await mesh.clients[0].replication.reader.read(roster, { auth: signReadAuth(roster, alice.identity) })
    assert.ok(mine.envelopes.length >= 1, 'alice reads her roster')
    const fetch = (log: string): Partial<StoreRequest> => ({ kind: StoreRequest.Kind.FETCH, mailbox: log, limit: 100 })
    for (const log of [roster, presence, alice.userId]) {
      // a certified server that owns none of alice's logs: no proof, no read
      await assert.rejects(stranger.replication.call(owners[0], fetch(log)), { code: 'ERR_FORBIDDEN' }, `FETCH ${log} by a stranger server`)
      // an owner repairs with DIGEST / IDS / GET; it has no business reading another owner's copy with FETCH
      const other = owners.find((o) => o !== owner.peerId.toString()) as string
      await assert.rejects(owner.replication.call(other, fetch(log)), { code: 'ERR_FORBIDDEN' }, `FETCH ${log} by an owner`)
    }
    const cursor = cursorOf(mine.envelopes[0])
    const get: Partial<StoreRequest> = { kind: StoreRequest.Kind.GET, mailbox: roster, cursors: [cursor] }
    await assert.rejects(stranger.replication.call(owners[0], get), { code: 'ERR_FORBIDDEN' }, 'GET by a stranger server')
    const got = await owner.replication.call(owners.find((o) => o !== owner.peerId.toString()) as string, get)
    assert.equal(got.envelopes.length, 1, 'an owner still pulls what it lacks from another owner')
    const metrics = await mesh.servers.find((s) => s.peerId.toString() === owners[0])?.registry.metrics()
    assert.match(metrics ?? '', /chorus_rejected_total\{component="store",reason="no-read-proof"\} [1-9]/)
    assert.match(metrics ?? '', /chorus_rejected_total\{component="store",reason="not-an-owner"\} [1-9]/)
  })
})
