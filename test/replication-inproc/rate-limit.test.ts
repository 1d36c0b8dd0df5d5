/**
 * Issue 4, abuse control at the node that accepts a send: every owner keeps a token bucket per sender.
 * A sender past its burst gets RateLimitedError (and a bounce of condition resource-constraint), the
 * refusal is counted, nothing of the refused send is stored, and other senders are served as before.
 */

import { strict as assert } from 'node:assert'
import type { Message, User } from '../../node/session/user.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

const RATE = 5
const BURST = 10

describe('per-sender rate limit at the owners', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let spammer: User
  let alice: User
  const bounces: Message[] = []

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({
      servers: 3,
      clients: 2,
      options: () => ({ replicas: 3, writeQuorum: 2, replication: { senderRate: RATE, senderBurst: BURST } })
    })
    await waitForServers(mesh.nodes, mesh.servers)
    spammer = await mesh.clients[0].openUser('spammer')
    alice = await mesh.clients[0].openUser('alice')
    await mesh.clients[1].openUser('bob') // bob exists: every send here is to him
    spammer.on('message', (m) => { if (m.kind === 'error') bounces.push(m) })
  })
  after(async () => { await mesh?.cleanup() })

  it('refuses a sender past its burst with RateLimitedError, and serves the others', async function () {
    // alice, on the same node, sends at the same time: her puts travel in the same batches as the spam
    const aliceSends = Promise.all(Array.from({ length: 5 }, async (_, i) => alice.send('bob', `alice ${i}`)))
    const started = Date.now()
    const results = await Promise.allSettled(Array.from({ length: BURST * 4 }, async (_, i) => spammer.send('bob', `spam ${i}`)))
    const seconds = (Date.now() - started) / 1000
    assert.equal((await aliceSends).length, 5, 'every send of the other user on the node succeeded')
    const ok = results.filter((r) => r.status === 'fulfilled').length
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as Error).name === 'RateLimitedError').length
    // each owner's bucket holds BURST and refills RATE a second: however long the sends took, no more went through
    const allowed = BURST + Math.ceil(RATE * seconds)
    assert.ok(ok >= 1 && ok <= allowed, `${ok} of ${results.length} went through in ${seconds.toFixed(1)} s; the bucket allows ${allowed}`)
    this.test!.title += ` [${ok} of ${results.length} sends through in ${seconds.toFixed(1)} s]`
    assert.equal(ok + limited, results.length, 'every other send failed as RateLimitedError')
    assert.ok(bounces.some((m) => m.condition === 'resource-constraint'), 'the sender got a bounce')

    const metrics = (await Promise.all(mesh.servers.map(async (s) => await s.registry.metrics()))).join('')
    assert.match(metrics, /chorus_rejected_total\{component="store",reason="rate-limited"\} [1-9]/)

    // another sender on the same node is not affected
    const r = await alice.send('bob', 'hello from alice')
    assert.ok(r.storedOn.length >= 2)
    // and the spammer is served again once its bucket refills (a refused send costs no token)
    await waitFor('the spammer to be served again', async () => {
      try {
        await spammer.send('bob', 'sorry')
        return true
      } catch (err: any) {
        if (err.name === 'RateLimitedError') return false
        throw err
      }
    }, { intervalMs: 200 })
  })
})
