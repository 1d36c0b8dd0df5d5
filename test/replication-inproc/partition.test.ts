/**
 * Issue 3 acceptance, in process: one owner of a mailbox is cut off from the whole mesh for 10 s
 * while a sender keeps writing to that mailbox. Nothing acknowledged may be lost, the isolated owner
 * must get every envelope back (hinted handoff and repair), and the server that stood in for it must
 * hand its copies off and not get them back.
 *
 * Each phase (before the cut, during it, after the heal) lasts until enough sends of the stream were
 * acknowledged in it, however slow the machine; the partition also lasts at least its 10 s. How many
 * sends that took is reported in the title, not asserted.
 */

import { strict as assert } from 'node:assert'
import type { ChorusNode } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import { Envelope, envelopeIdHex } from '../../protocol/envelope.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { PartitionGater, heal, isolate } from '../helpers/partition.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** How long the owner stays cut off, at least. */
const PARTITION_MS = 10_000

/** Sends acknowledged before the cut, during the partition, and after the heal, at least. */
const SENDS_PER_PHASE = 20

/** Ids (hex) of the envelopes `node` holds in `mailbox`, read from its MailboxStore directly. */
async function held (node: ChorusNode, mailbox: string): Promise<Set<string>> {
  const page = await node.replication.mailboxes.range(mailbox, { limit: 100_000 })
  return new Set(page.entries.map((e) => envelopeIdHex(Envelope.decode(e.bytes))))
}

/** The whole conversation, paged backwards from the newest message (a page is bounded by the protocol). */
async function fullHistory (user: User, withHandle: string): Promise<Message[]> {
  const out: Message[] = []
  for (let before: Message | undefined; ;) {
    const page = await user.history(withHandle, { limit: 100, before })
    if (page.length === 0) return out
    out.unshift(...page)
    before = page[0]
  }
}

function repairTotals (nodes: ChorusNode[]): { hintsDelivered: number, moved: number, handedOff: number } {
  const t = { hintsDelivered: 0, moved: 0, handedOff: 0 }
  for (const n of nodes) {
    const s = n.replication.repair?.stats
    if (s == null) continue
    t.hintsDelivered += s.hintsDelivered
    t.moved += s.pushed + s.pulled
    t.handedOff += s.handedOff
  }
  return t
}

/** How many hints `nodes` still keep for `peer`. */
async function hintsFor (nodes: ChorusNode[], peer: string): Promise<number> {
  let n = 0
  for (const node of nodes) n += (await node.replication.context.hints.byPeer()).get(peer)?.length ?? 0
  return n
}

/**
 * A steady stream of sends, `m1`, `m2` … every `intervalMs`, none awaited before the next starts. The
 * pause between two sends paces the load; it synchronises nothing (the test waits on `acked`).
 */
class SteadySender {
  readonly acked: Array<{ seq: number, id: string }> = []
  readonly failed: Array<{ seq: number, err: Error }> = []
  private readonly inFlight = new Set<Promise<void>>()
  private seq = 0
  private running = true
  private readonly loop: Promise<void>

  constructor (user: User, to: string, intervalMs: number) {
    this.loop = (async () => {
      while (this.running) {
        const n = ++this.seq
        const p = user.send(to, `m${n}`).then(
          (r) => { this.acked.push({ seq: n, id: r.id }) },
          (err: Error) => { this.failed.push({ seq: n, err }) }
        )
        this.inFlight.add(p)
        void p.finally(() => this.inFlight.delete(p))
        await new Promise((resolve) => setTimeout(resolve, intervalMs))
      }
    })()
  }

  get sent (): number { return this.seq }

  /** Stop, and wait for every send in flight to settle. */
  async stop (): Promise<void> {
    this.running = false
    await this.loop
    await Promise.all([...this.inFlight])
  }
}

describe('replication across a partition (5 servers, N=3, W=2)', function () {
  this.timeout(scaled(180_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  let sender: SteadySender | undefined
  const received: Message[] = []

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({
      servers: 5,
      clients: 2,
      options: () =>
        ({
          connectionGater: new PartitionGater(),
          replicas: 3,
          writeQuorum: 2,
          replication: { repairIntervalMs: 1000, hintIntervalMs: 300 }
        })
    })
    await waitForServers(mesh.nodes, mesh.servers)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob', { syncIntervalMs: 200 })
    bob.on('message', (m) => received.push(m))
  })
  after(async () => {
    await sender?.stop()
    await mesh?.cleanup()
  })

  it('loses no acknowledged send while an owner of the recipient is cut off, and hands everything back after', async function () {
    const [aliceNode] = mesh.clients
    // warm up: both handles resolved and cached, bob's session has seen alice
    const warm = await alice.send('bob', 'warm-up')
    await waitFor('bob to receive the warm-up', () => received.some((m) => m.id === warm.id))

    const ownersBefore = aliceNode.replication.placement.ownersOf(bob.userId)
    const isolated = mesh.servers.find((s) => s.peerId.toString() === ownersBefore[0]) as ChorusNode
    const others = mesh.nodes.filter((n) => n !== isolated)
    const survivors = mesh.servers.filter((s) => s !== isolated)
    const before = repairTotals(mesh.servers)

    const stream = new SteadySender(alice, 'bob', 50) // ~20 messages a second on an idle machine
    sender = stream
    await waitFor(`${SENDS_PER_PHASE} sends acknowledged before the cut`, () => stream.acked.length >= SENDS_PER_PHASE)
    await isolate(isolated, others)
    const cutAt = Date.now()
    // the rest of the mesh declares the owner dead, and bob's mailbox gets a stand-in third owner
    await waitForServers(others, survivors)
    // the isolated node, alone, sees everyone else dead
    await waitFor('the isolated node to see no other server', () => isolated.membership.servers().length === 1)
    const ownersDuring = aliceNode.replication.placement.ownersOf(bob.userId)
    const standIns = ownersDuring.filter((o) => !ownersBefore.includes(o))
    assert.equal(standIns.length, 1, 'one server stands in for the isolated owner')
    const standIn = mesh.servers.find((s) => s.peerId.toString() === standIns[0]) as ChorusNode
    // the partition lasts its 10 s, and until the stand-in holds sends of the stream acknowledged while it stood in
    const sentWithStandIn = stream.sent
    await waitFor(`the partition to last ${PARTITION_MS} ms and the stand-in to hold ${SENDS_PER_PHASE} sends made during it`, async () => {
      if (Date.now() - cutAt < PARTITION_MS) return false
      const during = stream.acked.filter((a) => a.seq > sentWithStandIn)
      if (during.length < SENDS_PER_PHASE) return false
      const have = await held(standIn, bob.userId)
      return during.every((a) => have.has(a.id))
    }, { timeoutMs: scaled(PARTITION_MS + 60_000), intervalMs: 100 })
    const partitionMs = Date.now() - cutAt

    // reconnect: without it, client nodes keep the healed owner out of their view (see heal())
    await heal(isolated, others, { reconnect: true })
    await waitForServers(mesh.nodes, mesh.servers)
    // sends with the whole mesh back
    const sentAtHeal = stream.sent
    await waitFor(`${SENDS_PER_PHASE} sends acknowledged after the heal`, () => stream.acked.filter((a) => a.seq > sentAtHeal).length >= SENDS_PER_PHASE)
    await stream.stop()
    assert.deepEqual(stream.failed.map((f) => `m${f.seq}: ${f.err.name} ${f.err.message}`), [], 'no send failed')
    const ackedIds = stream.acked.map((a) => a.id)

    // hinted handoff and repair: the isolated owner ends up with every acknowledged envelope
    await waitFor('the isolated owner to hold every acknowledged envelope', async () => {
      const have = await held(isolated, bob.userId)
      const missing = ackedIds.filter((id) => !have.has(id)).length
      // waitFor ends at the first truthy value: say how many are missing by throwing, not by returning it
      if (missing > 0) throw new Error(`${missing} of ${ackedIds.length} missing`)
      return true
    }, { timeoutMs: scaled(60_000) })

    // bob gets every acknowledged send exactly once; the history lists each once, in send order
    await waitFor('bob to receive every acknowledged message', () => {
      const got = new Set(received.map((m) => m.id))
      return ackedIds.every((id) => got.has(id))
    }, { timeoutMs: scaled(60_000) })
    // one more sync (it resolves once it has shown what it brought): a second copy of any would be shown by now
    await bob.sync()
    const deliveries = new Map<string, number>()
    for (const m of received) deliveries.set(m.id, (deliveries.get(m.id) ?? 0) + 1)
    for (const a of stream.acked) assert.equal(deliveries.get(a.id), 1, `m${a.seq} was delivered exactly once`)
    const history = (await fullHistory(bob, 'alice')).filter((m) => /^m\d+$/.test(m.text))
    assert.equal(new Set(history.map((m) => m.id)).size, history.length, 'the history lists each message once')
    const seqs = history.map((m) => Number(m.text.slice(1)))
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'the history is in send order')
    const inHistory = new Set(history.map((m) => m.id))
    for (const a of stream.acked) assert.ok(inHistory.has(a.id), `acknowledged m${a.seq} is in the history`)

    // repair moved envelopes (pushed by the survivors or pulled by the healed owner), and no hint for the
    // healed owner is left anywhere. How many hints there were depends on how many sends were in flight
    // in the second before the owner was suspected (the placement skips it from then on), so the count
    // is reported, not asserted; hinted handoff itself is asserted in sloppy-quorum.test.ts.
    const after = repairTotals(mesh.servers)
    assert.ok(after.moved > before.moved, 'repair moved envelopes to the healed owner')
    await waitFor('every hint for the healed owner to be delivered', async () => (await hintsFor(survivors, isolated.peerId.toString())) === 0)
    this.test!.title += ` [${stream.acked.length} of ${stream.sent} sends acknowledged, the partition lasted ${partitionMs} ms;` +
      ` ${after.hintsDelivered - before.hintsDelivered} hints delivered, ${after.moved - before.moved} envelopes moved by repair]`

    // nothing deleted comes back: the stand-in hands bob's mailbox off to the owners, deletes it, and
    // further repair rounds do not bring it back
    // the healed owner is back in the servers' views; alice's node learns it too, a probe round or two later
    const original = JSON.stringify([...ownersBefore].sort())
    const sameOwners = (): boolean =>
      JSON.stringify([...aliceNode.replication.placement.ownersOf(bob.userId)].sort()) === original
    await waitFor('alice\'s node to take the original three for the owners again', sameOwners, { timeoutMs: scaled(30_000), intervalMs: 100 })
    const ownersAfter = aliceNode.replication.placement.ownersOf(bob.userId)
    const nonOwners = mesh.servers.filter((s) => !ownersAfter.includes(s.peerId.toString()))
    await waitFor('the non-owners to hand bob\'s mailbox off', async () => {
      for (const s of nonOwners) if ((await held(s, bob.userId)).size > 0) return false
      return true
    }, { timeoutMs: scaled(60_000) })
    assert.ok((standIn.replication.repair?.stats.handedOff ?? 0) > 0, 'the stand-in deleted entries it handed off')
    const rounds = nonOwners.map((n) => n.replication.repair?.stats.rounds ?? 0)
    await waitFor('three more repair rounds on the non-owners', () => nonOwners.every((n, i) => (n.replication.repair?.stats.rounds ?? 0) >= rounds[i] + 3))
    for (const s of nonOwners) assert.equal((await held(s, bob.userId)).size, 0, `non-owner ${s.peerId.toString()} holds nothing of bob's mailbox after more repair rounds`)
    for (const o of ownersAfter) {
      const have = await held(mesh.servers.find((s) => s.peerId.toString() === o) as ChorusNode, bob.userId)
      assert.deepEqual(ackedIds.filter((id) => !have.has(id)), [], `owner ${o} holds every acknowledged envelope`)
    }
  })
})
