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
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { PartitionGater, heal, isolate } from '../helpers/partition.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** Indirect acks each of the two cut-off servers must have had for the other before the check. */
const ACKS = 5

/**
 * Record every time `node` starts to suspect `target` (`member:suspect`): what a failed probe of it does,
 * as does another member's report of one.
 */
function suspicions (node: ChorusNode, target: string): string[] {
  const seen: string[] = []
  node.membership.on('member:suspect', (m) => { if (m.peerId === target) seen.push(new Date().toISOString()) })
  return seen
}

describe('indirect probes (SWIM PING_REQ)', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh

  before(async function () {
    this.timeout(scaled(60_000))
    // probes get more time than the fast default: the check is that the path around the cut works, and a
    // host busy with other suites must not turn a slow two-hop answer into a failed probe
    mesh = await startMesh({
      servers: 4,
      options: () =>
        ({
          connectionGater: new PartitionGater(),
          membership: { probeIntervalMs: 200, probeTimeoutMs: scaled(2000), suspicionTimeoutMs: scaled(6000) }
        })
    })
    await waitForServers(mesh.nodes, mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('keeps two servers that cannot reach each other alive in each other\'s view, through the others', async () => {
    const [a, b] = mesh.servers
    const A = a.peerId.toString()
    const B = b.peerId.toString()
    const before = { a: a.membership.stats.indirectAcks, b: b.membership.stats.indirectAcks }
    // a failed probe is what makes a node suspect a peer: record every suspicion between the two
    const aSuspects = suspicions(a, B)
    const bSuspects = suspicions(b, A)
    const states = new Set<string>()
    const look = (): void => {
      states.add(`a sees b ${a.membership.stateOf(B) ?? 'nothing'}`)
      states.add(`b sees a ${b.membership.stateOf(A) ?? 'nothing'}`)
    }
    await isolate(a, [b])
    try {
      // each probe of the other now goes through the others: wait for several such probes on both sides,
      // each of which would have been a failed probe (a suspicion) without them
      await waitFor(`${ACKS} indirect acks on each side`, () => {
        look()
        return a.membership.stats.indirectAcks >= before.a + ACKS && b.membership.stats.indirectAcks >= before.b + ACKS
      }, { intervalMs: 10 })
    } finally {
      await heal(a, [b])
    }
    assert.deepEqual({ a: aSuspects, b: bSuspects }, { a: [], b: [] }, 'suspicions between the two')
    assert.deepEqual([...states].sort(), ['a sees b alive', 'b sees a alive'])
    assert.ok(mesh.servers.slice(2).some((s) => s.membership.stats.pingReqsServed > 0), 'the others served PING_REQs')
  })

  it('answers a PING_REQ with ACK for a live member and NACK for a peer it does not know', async () => {
    const [asker, helper, target] = mesh.servers
    // the helper answers ACK only for a member it sees alive (the cut before may have had it suspect a moment)
    await waitFor('the helper to see the target alive', () => helper.membership.stateOf(target.peerId.toString()) === 'alive', { timeoutMs: scaled(20_000) })
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const ask = async (node: ChorusNode, to: ChorusNode, about: string): Promise<MembershipMessage.Kind> => {
      const stream = await node.libp2p.dialProtocol(to.peerId, MEMBERSHIP_PROTOCOL, {
        signal: AbortSignal.timeout(scaled(10_000))
      })
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      const me = {
        peerId: node.peerId.toString(),
        role: node.role,
        capacity: 1,
        addrs: [],
        incarnation: 0n,
        state: 'alive' as const,
        version: ''
      }
      await lp.write(
        MembershipMessage.encode(
          { kind: MembershipMessage.Kind.PING_REQ, sender: toPb(me), updates: [], target: about }
        )
      )
      const reply = MembershipMessage.decode(
        (await lp.read({ signal: AbortSignal.timeout(scaled(10_000)) })).subarray()
      )
      await stream.close().catch(() => {})
      return reply.kind
    }
    assert.equal(await ask(asker, helper, target.peerId.toString()), MembershipMessage.Kind.ACK)
    assert.equal(await ask(asker, helper, stranger), MembershipMessage.Kind.NACK)
    assert.equal(await ask(asker, helper, asker.peerId.toString()), MembershipMessage.Kind.NACK, 'not about the asker itself')
  })
})
