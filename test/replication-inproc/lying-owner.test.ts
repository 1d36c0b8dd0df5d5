/**
 * An owner that lies in reads (issue 20's adversary harness, test/helpers/adversary.ts): one of the three
 * owners of bob's mailbox answers every FETCH with nothing of what it holds, plus a corrupted copy of an
 * entry. Readers merge every owner's answer and verify each envelope, so bob still reads every message
 * alice sent while he was away, once each, and never the corrupted copy.
 */

import { strict as assert } from 'node:assert'
import type { Message } from '../../node/session/user.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { Adversary } from '../helpers/adversary.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('an owner that lies in reads cannot hide or forge messages', function () {
  this.timeout(scaled(90_000))
  let mesh: Mesh

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2 })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('bob reads every message sent while he was away, once each, though one owner answers nothing but a corrupted copy', async () => {
    const bobNode = mesh.clients[1]
    await (await bobNode.openUser('bob')).close()
    await bobNode.closeUser('bob')
    const evil = new Adversary(mesh.servers[2])
    const honest = mesh.servers[2].replication.server?.handlers[StoreRequest.Kind.FETCH]
    assert.ok(honest != null)
    let lies = 0
    evil.answer(StoreRequest.Kind.FETCH, async (req, from, ctx) => {
      const truth = await honest(req, from, ctx)
      const first = truth.envelopes?.[0]
      if (first == null) return { status: StoreResponse.Status.OK, envelopes: [] }
      lies++
      const corrupted = Uint8Array.from(first)
      corrupted[corrupted.length - 1] ^= 1
      return { status: StoreResponse.Status.OK, envelopes: [corrupted] }
    })
    try {
      const alice = await mesh.clients[0].openUser('alice')
      const texts = ['one', 'two', 'three', 'four', 'five']
      for (const t of texts) await alice.send('bob', t)
      const got: Message[] = []
      const bob = await bobNode.openUser('bob')
      bob.on('message', (m) => { got.push(m) })
      await waitFor('bob to read all five', () => texts.every((t) => got.some((m) => m.text === t)), { timeoutMs: scaled(30_000) })
      const history = (await bob.history('alice', { limit: 100 })).map((m) => m.text)
      assert.deepEqual(history, texts, 'the history holds each message once, in order')
      assert.equal(new Set(got.map((m) => m.id)).size, got.length, 'each shown once')
      assert.ok(lies > 0, 'the lying owner was asked')
    } finally {
      evil.restore()
    }
  })
})
