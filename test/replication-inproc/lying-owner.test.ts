/**
 * An owner that lies in reads (issue 20's adversary harness, test/helpers/adversary.ts): one of the three
 * owners of bob's mailbox answers every FETCH with nothing of what it holds, plus a corrupted copy of an
 * entry. Readers merge every owner's answer and verify each envelope, so bob still reads every message
 * alice sent while he was away, once each, and never the corrupted copy. And a server that answers room
 * address lookups with claims of its own. Both run on one mesh (3 servers, 2 clients): each lie is undone
 * when its test ends, and the two tests use users of their own.
 */

import { strict as assert } from 'node:assert'
import type { Message } from '../../node/session/user.js'
import { signRoomAddressClaim, type HandleClaim } from '../../protocol/handle.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { newRoomNonce } from '../../protocol/room.js'
import { Adversary, freshIdentity } from '../helpers/adversary.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('lying owners (one mesh: 3 servers, 2 clients)', function () {
  this.timeout(scaled(90_000))
  let mesh: Mesh

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2 })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  describe('an owner that lies in reads cannot hide or forge messages', function () {
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

  describe('a server that lies about room addresses cannot steer a room JID or fill the room directory', function () {
    it('one server answering RESOLVE and ADDRESSES with its own claims: the address still names the real room, the lure is not listed', async () => {
      const ann = await mesh.clients[0].openUser('ann')
      const team = await ann.rooms.create({ name: 'team', address: 'team', public: true })
      const evil = new Adversary(mesh.servers[2])
      const liar = freshIdentity()
      const forged = (address: string): HandleClaim =>
        signRoomAddressClaim(address, liar, newRoomNonce(), BigInt(Date.now()) << 16n)
      let asked = 0
      evil.answer(StoreRequest.Kind.RESOLVE, async (req) => {
        asked++
        return req.handle.startsWith('#')
          ? { status: StoreResponse.Status.OK, claim: forged(req.handle.slice(1)) }
          : { status: StoreResponse.Status.NOT_FOUND }
      })
      evil.answer(StoreRequest.Kind.ADDRESSES, async () => ({
        status: StoreResponse.Status.OK,
        claims: [forged('lure'), forged('team'), { ...forged('zzz'), signature: new Uint8Array(64) }]
      }))
      try {
        const ben = await mesh.clients[1].openUser('ben')
        assert.equal((await ben.rooms.resolve('team')).roomId, team.id, 'the address names ann\'s room')
        const listed = await ben.rooms.directoryList()
        assert.deepEqual(listed.map((r) => [r.address, r.id]), [['team', team.id]], 'only the real room is listed')
        await assert.rejects(ben.rooms.resolve('lure'), (err: Error) => err.name === 'UnknownRoomAddressError' || err.name === 'QuorumError')
        assert.ok(asked > 0, 'the liar was asked')
      } finally {
        evil.restore()
      }
    })
  })
})
