/**
 * SWIM's indirect probe: when the path between two servers breaks but both are alive and reach everyone
 * else, neither may suspect the other; members asked with PING_REQ answer for them. A PING_REQ is
 * answered ACK only for a live member that answered, NACK otherwise.
 */

import { strict as assert } from 'node:assert'
import { lpStream } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ChorusNode } from '../../node/index.js'
import { MAX_FRAME_BYTES } from '../../node/membership/constants.js'
import { toPb } from '../../node/membership/member.js'
import { MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { FAST_MEMBERSHIP, startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { PartitionGater, heal, isolate } from '../helpers/partition.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('indirect probes (SWIM PING_REQ)', function () {
  this.timeout(60_000)
  let mesh: Mesh

  before(async () => {
    mesh = await startMesh({ servers: 4, options: () => ({ connectionGater: new PartitionGater() }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
  })
  after(async () => { await mesh?.cleanup() })

  it('keeps two servers that cannot reach each other alive in each other\'s view, through the others', async () => {
    const [a, b] = mesh.servers
    const A = a.peerId.toString()
    const B = b.peerId.toString()
    const before = { a: a.membership.stats.indirectAcks, b: b.membership.stats.indirectAcks }
    await isolate(a, [b])
    // watch for three suspicion timeouts: without indirect probes, the first failed probe suspects
    const states = new Set<string>()
    const until = Date.now() + 3 * (FAST_MEMBERSHIP.suspicionTimeoutMs ?? 1500)
    while (Date.now() < until) {
      states.add(`a sees b ${a.membership.stateOf(B) ?? 'nothing'}`)
      states.add(`b sees a ${b.membership.stateOf(A) ?? 'nothing'}`)
      await sleep(20)
    }
    await heal(a, [b])
    assert.deepEqual([...states].sort(), ['a sees b alive', 'b sees a alive'])
    assert.ok(a.membership.stats.indirectAcks > before.a, `a had acks through others (${a.membership.stats.indirectAcks - before.a})`)
    assert.ok(b.membership.stats.indirectAcks > before.b, `b had acks through others (${b.membership.stats.indirectAcks - before.b})`)
    assert.ok(mesh.servers.slice(2).some((s) => s.membership.stats.pingReqsServed > 0), 'the others served PING_REQs')
  })

  it('answers a PING_REQ with ACK for a live member and NACK for a peer it does not know', async () => {
    const [asker, helper, target] = mesh.servers
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const ask = async (node: ChorusNode, to: ChorusNode, about: string): Promise<MembershipMessage.Kind> => {
      const stream = await node.libp2p.dialProtocol(to.peerId, MEMBERSHIP_PROTOCOL, { signal: AbortSignal.timeout(5000) })
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      const me = { peerId: node.peerId.toString(), role: node.role, capacity: 1, addrs: [], incarnation: 0n, state: 'alive' as const, version: '' }
      await lp.write(MembershipMessage.encode({ kind: MembershipMessage.Kind.PING_REQ, sender: toPb(me), updates: [], target: about }))
      const reply = MembershipMessage.decode((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray())
      await stream.close().catch(() => {})
      return reply.kind
    }
    assert.equal(await ask(asker, helper, target.peerId.toString()), MembershipMessage.Kind.ACK)
    assert.equal(await ask(asker, helper, stranger), MembershipMessage.Kind.NACK)
    assert.equal(await ask(asker, helper, asker.peerId.toString()), MembershipMessage.Kind.NACK, 'not about the asker itself')
  })
})
