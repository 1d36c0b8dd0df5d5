/**
 * The work counters (`node.work()`, node/status/work.ts) on a real mesh: what the benchmarks divide by
 * the sends. Every store frame one node sends is one another node serves, so the sums over the mesh
 * must balance; a send from a client costs exactly 2 mailboxes × N owners puts when every owner is up,
 * and one frame of the live hop to a relay, which passes it on to the recipient's node; LevelDB and the
 * wire show the traffic too, and the Prometheus endpoint exposes the same figures.
 */

import { strict as assert } from 'node:assert'
import { STORE_PROTOCOL } from '../../protocol/constants.js'
import type { User, WorkSnapshot } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

const SENDS = 20

describe('work counters (node.work())', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let alice: User
  let bob: User

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
  })
  after(async () => { await mesh?.cleanup() })

  /** Sum of STORE traffic over the mesh, both directions. */
  const storeTotals = (snaps: WorkSnapshot[]): {
    sentRequests: number
    servedRequests: number
    sentPuts: number
    servedPuts: number
    sentResponses: number
    servedResponses: number
  } => {
    const t = { sentRequests: 0, servedRequests: 0, sentPuts: 0, servedPuts: 0, sentResponses: 0, servedResponses: 0 }
    for (const s of snaps) {
      const sent = s.store?.sent.STORE
      const served = s.store?.served.STORE
      t.sentRequests += sent?.requests ?? 0
      t.sentPuts += sent?.puts ?? 0
      t.sentResponses += sent?.responses ?? 0
      t.servedRequests += served?.requests ?? 0
      t.servedPuts += served?.puts ?? 0
      t.servedResponses += served?.responses ?? 0
    }
    return t
  }
  const snapshotAll = async (): Promise<WorkSnapshot[]> =>
    await Promise.all(mesh.nodes.map(async (n) => await n.work()))

  it('counts every store frame, envelope, live frame, LevelDB write and wire byte of a send', async () => {
    const got: string[] = []
    bob.on('message', (m) => { got.push(m.text) })
    const aliceNode = mesh.clients[0]
    const before = await aliceNode.work()
    const serversBefore = await Promise.all(mesh.servers.map(async (s) => await s.work()))
    for (let i = 0; i < SENDS; i++) await alice.send('bob', `work ${i}`)
    await waitFor(`bob to get ${SENDS} messages`, () => got.length >= SENDS)
    const after = await aliceNode.work()

    assert.equal((after.envelopesWritten.CHAT ?? 0) - (before.envelopesWritten.CHAT ?? 0), SENDS, 'one CHAT envelope replicated per send')
    const sent = after.store?.sent.STORE
    const sent0 = before.store?.sent.STORE ?? { requests: 0, puts: 0, requestBytes: 0 }
    assert.ok(sent != null, 'alice\'s node sent STORE requests')
    // every owner up: each send goes to the 3 owners of bob's mailbox and the 3 of alice's
    assert.equal(sent.puts - sent0.puts, SENDS * 2 * 3)
    assert.ok(sent.requests - sent0.requests >= 3 && sent.requests - sent0.requests <= SENDS * 6,
      `${sent.requests - sent0.requests} STORE requests`)
    assert.ok(sent.requestBytes - sent0.requestBytes > SENDS * 6 * 64, 'request bytes carry the envelopes')
    // the live copy: one frame to one relay of bob's shard, none on gossipsub
    assert.equal(after.live!.framesSent - before.live!.framesSent, SENDS, 'each send is one frame of the live hop')
    assert.ok(after.live!.bytesSent - before.live!.bytesSent > SENDS * 64, 'live frames carry the envelopes')
    assert.equal(after.pubsub.published - before.pubsub.published, 0, 'no direct message is published on gossipsub')
    assert.ok(after.cpu.userMs + after.cpu.systemMs > before.cpu.userMs + before.cpu.systemMs)

    const wire = after.wire
    const storeWire = wire[STORE_PROTOCOL]?.sent ?? 0
    assert.ok(storeWire >= sent.requestBytes, `${storeWire} bytes on ${STORE_PROTOCOL} ≥ ${sent.requestBytes} of frames (length prefixes added)`)
    assert.ok((wire.global?.sent ?? 0) > storeWire, 'the socket carries more than the store protocol (encryption, muxing, gossipsub)')

    const serversAfter = await Promise.all(mesh.servers.map(async (s) => await s.work()))
    const served = serversAfter.reduce(
      (n, s, i) => n + (s.store?.served.STORE?.puts ?? 0) - (serversBefore[i].store?.served.STORE?.puts ?? 0), 0
    )
    assert.ok(served >= SENDS * 6, `the servers were handed ${served} puts`)
    const synced = serversAfter.reduce((n, s, i) => n + s.db.syncedBatches - serversBefore[i].db.syncedBatches, 0)
    const writes = serversAfter.reduce((n, s, i) => n + s.db.writes - serversBefore[i].db.writes, 0)
    assert.ok(synced > 0 && writes >= synced, `${synced} synced batches within ${writes} LevelDB writes on the servers`)
    // the relays passed the live copies on, each once: the messages to bob's node, and bob's delivered
    // receipts (some batched) to alice's
    const relayed = serversAfter.reduce((n, s, i) => n + s.live!.relayed - serversBefore[i].live!.relayed, 0)
    assert.ok(relayed > 0 && relayed <= 2 * SENDS, `${relayed} envelopes relayed for ${SENDS} sends and their receipts (one relay each)`)
  })

  it('balances over the mesh: every STORE frame sent is served, every response served is received', async () => {
    await alice.send('bob', 'one more')
    // in-flight frames settle (the owners beyond W answer after the acknowledgement)
    const t = await waitFor('sent and served STORE traffic to balance', async () => {
      const totals = storeTotals(await snapshotAll())
      return totals.sentRequests === totals.servedRequests && totals.sentResponses === totals.servedResponses &&
        totals.sentRequests === totals.sentResponses
        ? totals
        : undefined
    }) as ReturnType<typeof storeTotals>
    assert.equal(t.sentPuts, t.servedPuts, 'envelopes carried = envelopes received')
    assert.ok(t.sentRequests > 0)
  })

  it('exposes the counters as Prometheus metrics', async () => {
    const text = await mesh.clients[0].registry.metrics()
    const requests = /^chorus_store_rpc_frames_total\{direction="sent",frame="request",kind="STORE"\} (\d+)$/m.exec(text)
    assert.ok(requests != null && Number(requests[1]) > 0, 'STORE requests sent')
    assert.match(text, /^chorus_envelopes_written_total\{kind="CHAT"\} \d+$/m)
    assert.match(text, /^chorus_live_frames_total\{direction="sent"\} [1-9]\d*$/m)
    assert.match(text, /^chorus_pubsub_work_total\{figure="rpcSent"\} [1-9]\d*$/m)
    assert.match(text, /^chorus_db_writes_total [1-9]\d*$/m)
    const served = await mesh.servers[0].registry.metrics()
    assert.match(served, /^chorus_store_rpc_puts_total\{direction="served"\} [1-9]\d*$/m)
  })
})
