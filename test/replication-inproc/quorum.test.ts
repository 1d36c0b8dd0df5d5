/**
 * Issue 3 acceptance, in process: the write quorum. With one owner down a send still reaches W = 2
 * and leaves a hint that is delivered when the owner is back; with too few servers to reach W and no
 * stand-in, a send fails at once with QuorumError instead of hanging. A client-role node never keeps
 * a copy, not even when owners are missing.
 */

import { strict as assert } from 'node:assert'
import type { ChorusNode } from '../../node/index.js'
import type { Message, SendResult, User } from '../../node/session/user.js'
import { Envelope, envelopeIdHex } from '../../protocol/envelope.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { PartitionGater, heal, isolate } from '../helpers/partition.js'
import { scaled, waitFor } from '../helpers/wait.js'

/**
 * Suspicion timeout of these meshes: as long as a test may take, so that a server that went silent
 * stays in the view (as suspect) for the whole test, as it does in a real mesh during the seconds before
 * it is declared dead.
 */
const SLOW_SUSPICION = { suspicionTimeoutMs: scaled(120_000) }

async function held (node: ChorusNode, mailbox: string): Promise<Set<string>> {
  const page = await node.replication.mailboxes.range(mailbox, { limit: 100_000 })
  return new Set(page.entries.map((e) => envelopeIdHex(Envelope.decode(e.bytes))))
}

/** Every mailbox and hint a node keeps on disk. */
async function storedOn (node: ChorusNode): Promise<{ mailboxes: string[], hints: number }> {
  const mailboxes: string[] = []
  for await (const m of node.replication.mailboxes.mailboxes()) mailboxes.push(m)
  return { mailboxes, hints: await node.replication.context.hints.count() }
}

/**
 * `servers` servers (N = 3, W = 2, partitionable) and two clients with alice and bob; bob's messages go to `received`.
 */
async function chatMesh (
  servers: number,
  repairIntervalMs: number,
  received: Message[]
): Promise<{ mesh: Mesh, alice: User, bob: User }> {
  const mesh = await startMesh({
    servers,
    clients: 2,
    options: () =>
      ({
        connectionGater: new PartitionGater(),
        replicas: 3,
        writeQuorum: 2,
        membership: SLOW_SUSPICION,
        replication: { repairIntervalMs, hintIntervalMs: 200 }
      })
  })
  try {
    await waitForServers(mesh.nodes, mesh.servers)
    const alice = await mesh.clients[0].openUser('alice')
    const bob = await mesh.clients[1].openUser('bob', { syncIntervalMs: 200 })
    bob.on('message', (m) => received.push(m))
    await alice.send('bob', 'warm-up')
    return { mesh, alice, bob }
  } catch (err) {
    // the caller never gets the mesh to clean up
    await mesh.cleanup()
    throw err
  }
}

describe('write quorum with one owner of three down (N=3, W=2)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  const received: Message[] = []

  before(async function () {
    this.timeout(scaled(120_000))
    ;({ mesh, alice, bob } = await chatMesh(3, 600_000, received))
  })
  after(async () => { await mesh?.cleanup() })

  it('acknowledges sends on the two owners left, hints the third, and delivers the hint when it is back', async () => {
    const down = mesh.servers[0]
    const downId = down.peerId.toString()
    const up = mesh.servers.slice(1)
    const delivered0 = up.reduce((n, s) => n + (s.replication.repair?.stats.hintsDelivered ?? 0), 0)
    await isolate(down, mesh.nodes)
    assert.ok(mesh.clients[0].membership.servers().includes(downId), 'the silent owner is still in the sender\'s view')

    const sent: SendResult[] = []
    for (let i = 0; i < 10; i++) sent.push(await alice.send('bob', `while one owner is down ${i}`))
    for (const s of sent) {
      assert.equal(s.storedOn.length, 2, 'stored on W owners')
      assert.ok(!s.storedOn.includes(downId), 'not on the owner that is down')
    }
    await waitFor('bob to receive every message', () => sent.every((s) => received.some((m) => m.id === s.id)))
    await waitFor('a hint for the owner that is down', async () => {
      for (const s of up) {
        if ((await s.replication.context.hints.byPeer()).get(downId)?.includes(bob.userId) === true) return true
      }
      return false
    })

    // a client-role node stores nothing, not even while an owner is missing
    for (const c of mesh.clients) assert.deepEqual(await storedOn(c), { mailboxes: [], hints: 0 }, `client ${c.peerId.toString()} keeps no mailbox and no hint`)

    await heal(down, mesh.nodes)
    // anti-entropy runs every 10 minutes here: what brings the owner up to date is the hint
    await waitFor('the owner back to hold every message', async () => {
      const have = await held(down, bob.userId)
      return sent.every((s) => have.has(s.id))
    })
    await waitFor('the hint to be counted as delivered', () => up.reduce((n, s) => n + (s.replication.repair?.stats.hintsDelivered ?? 0), 0) > delivered0)
    await waitFor('the hints to be dropped once delivered', async () => {
      for (const s of up) if ((await s.replication.context.hints.byPeer()).has(downId)) return false
      return true
    })
    for (const c of mesh.clients) assert.deepEqual(await storedOn(c), { mailboxes: [], hints: 0 }, `client ${c.peerId.toString()} still keeps nothing`)
  })
})

describe('write quorum out of reach (2 servers, one killed, W=2)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let alice: User

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({
      servers: 2,
      clients: 2,
      options: () => ({ replicas: 3, writeQuorum: 2, membership: SLOW_SUSPICION })
    })
    await waitForServers(mesh.nodes, mesh.servers)
    alice = await mesh.clients[0].openUser('alice')
    await mesh.clients[1].openUser('bob')
    const ok = await alice.send('bob', 'while both servers run')
    assert.equal(ok.storedOn.length, 2)
  })
  after(async () => { await mesh?.cleanup() })

  it('rejects a send with QuorumError instead of hanging', async function () {
    const [victim] = mesh.servers
    // a crash: the transport goes away without a LEAVE; the others still count it as an owner
    await victim.libp2p.stop()
    assert.ok(mesh.clients[0].membership.servers().includes(victim.peerId.toString()), 'the killed server is still in the sender\'s view')
    const started = Date.now()
    await assert.rejects(alice.send('bob', 'nobody can take this'), { name: 'QuorumError', code: 'ERR_QUORUM' })
    const firstMs = Date.now() - started
    // and again: a retry fails the same way, it does not queue up or hang
    const again = Date.now()
    await assert.rejects(alice.send('bob', 'nor this'), { name: 'QuorumError', code: 'ERR_QUORUM' })
    this.test!.title += ` [rejected in ${firstMs} ms, the retry in ${Date.now() - again} ms]`
  })
})

describe('sloppy quorum: two owners of three down (4 servers, N=3, W=2)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  const received: Message[] = []

  before(async function () {
    this.timeout(scaled(120_000))
    ;({ mesh, alice, bob } = await chatMesh(4, 500, received))
  })
  after(async () => { await mesh?.cleanup() })

  it('lets the next server stand in, then hands off to the owners and deletes its copies for good', async () => {
    const placement = mesh.clients[0].replication.placement
    const chain = placement.successorsOf(bob.userId, 4)
    const byId = (id: string): ChorusNode => mesh.servers.find((s) => s.peerId.toString() === id) as ChorusNode
    const [down1, down2] = [byId(chain[0]), byId(chain[1])]
    const standIn = byId(chain[3])
    await isolate(down1, mesh.nodes)
    await isolate(down2, mesh.nodes)

    const sent: SendResult[] = []
    for (let i = 0; i < 10; i++) sent.push(await alice.send('bob', `sloppy ${i}`))
    for (const s of sent) assert.ok(s.storedOn.includes(standIn.peerId.toString()), 'the stand-in took the write')
    await waitFor('bob to receive every message', () => sent.every((s) => received.some((m) => m.id === s.id)))
    const atStandIn = await held(standIn, bob.userId)
    for (const s of sent) assert.ok(atStandIn.has(s.id), 'the stand-in holds the envelope')
    const hints = (await standIn.replication.context.hints.byPeer())
    for (const d of [down1, down2]) assert.ok(hints.get(d.peerId.toString())?.includes(bob.userId), 'the stand-in keeps a hint for each missing owner')
    // with owners unreachable, the stand-in deletes nothing
    const roundsBefore = standIn.replication.repair?.stats.rounds ?? 0
    await waitFor('two repair rounds on the stand-in', () => (standIn.replication.repair?.stats.rounds ?? 0) >= roundsBefore + 2)
    assert.equal((await held(standIn, bob.userId)).size, atStandIn.size, 'nothing handed off while owners are missing')

    await heal(down1, mesh.nodes)
    await heal(down2, mesh.nodes)
    for (const d of [down1, down2]) {
      await waitFor('a returning owner to hold every message', async () => {
        const have = await held(d, bob.userId)
        return sent.every((s) => have.has(s.id))
      })
    }
    await waitFor('the stand-in to hand bob\'s mailbox off', async () => (await held(standIn, bob.userId)).size === 0)
    assert.ok((standIn.replication.repair?.stats.handedOff ?? 0) > 0)
    // anti-entropy may hand the mailbox over before the hint loop's next tick: the hints are delivered (and dropped)
    // after
    await waitFor('the stand-in\'s hints for the returning owners to be delivered', async () => {
      const left = await standIn.replication.context.hints.byPeer()
      return (standIn.replication.repair?.stats.hintsDelivered ?? 0) > 0 &&
        [down1, down2].every((d) => !(left.get(d.peerId.toString()) ?? []).includes(bob.userId))
    })
    const rounds = standIn.replication.repair?.stats.rounds ?? 0
    await waitFor('three more repair rounds on the stand-in', () => (standIn.replication.repair?.stats.rounds ?? 0) >= rounds + 3)
    assert.equal((await held(standIn, bob.userId)).size, 0, 'what the stand-in deleted does not come back')
    for (const id of chain.slice(0, 3)) {
      const have = await held(byId(id), bob.userId)
      assert.deepEqual(sent.filter((s) => !have.has(s.id)).map((s) => s.id), [], `owner ${id} holds every message`)
    }
  })
})
