/**
 * The prober alone, over a stand-in for the wire and the member table (the one component under test is
 * real): a direct ack clears a peer; silence asks others (PING_REQ) while retrying; a refused connection
 * is suspected at once; PING_REQs are served only for live members, and at most MAX_PING_REQS at a time.
 */

import { strict as assert } from 'node:assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { MAX_PING_REQS } from '../../node/membership/constants.js'
import type { Member } from '../../node/membership/member.js'
import { Prober, type ProbeStats } from '../../node/membership/prober.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'

const K = MembershipMessage.Kind
const newId = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
const silence = (): Error => Object.assign(new Error('the operation was aborted'), { name: 'AbortError' })

interface Call { to: string, kind: MembershipMessage.Kind, target?: string }

/** A prober whose requests are answered by `answer`; members alive unless listed in `states`. */
function setUp (
  peers: string[],
  answer: (c: Call) => Promise<MembershipMessage.Kind>,
  states: Record<string, string> = {}
): { prober: Prober, calls: Call[], suspected: string[], stats: ProbeStats } {
  const calls: Call[] = []
  const suspected: string[] = []
  const stats: ProbeStats = { probesSent: 0, probesFailed: 0, indirectProbes: 0, indirectAcks: 0, pingReqsServed: 0 }
  const member = (peerId: string): Member =>
    ({ peerId, role: 'server', capacity: 1, addrs: [], state: 'alive', lastSeen: 0, version: '' })
  const prober = new Prober({
    selfId: 'self',
    probeTimeoutMs: 50,
    stats,
    connected: () => true,
    request: async (to, kind, _timeoutMs, target) => {
      calls.push({ to, kind, target })
      return {
        kind: await answer({ to, kind, target }),
        updates: [],
        target: '',
        wallTime: 0n,
        mesh: new Uint8Array(0),
        revocations: [],
        revokedCertificates: [],
        requestId: 0
      }
    },
    table: {
      get: (p: string) =>
        peers.includes(p) ? { state: (states[p] ?? 'alive') as any, record: {} as any, since: 0, lastSeen: 0 } : undefined,
      live: () => peers.filter((p) => states[p] == null || states[p] === 'alive').map(member),
      probeFailed: (p: string) => { suspected.push(p) }
    }
  })
  return { prober, calls, suspected, stats }
}

describe('Prober (membership/prober.ts)', () => {
  let target: string
  let helpers: string[]
  before(async () => {
    target = await newId()
    helpers = [await newId(), await newId(), await newId(), await newId()]
  })

  it('a direct ack clears the peer, with no one else asked', async () => {
    const { prober, calls, suspected } = setUp([target, ...helpers], async () => K.ACK)
    await prober.probe(target)
    assert.deepEqual(calls.map((c) => c.kind), [K.PING])
    assert.deepEqual(suspected, [])
  })

  it('on silence, retries and asks 3 others at once; one ack through them clears the peer', async () => {
    // the target is silent to us; through the others it answers (a path broken between us alone)
    const { prober, calls, suspected, stats } = setUp([target, ...helpers], async (c) => {
      if (c.to === target) throw silence()
      return K.ACK
    })
    await prober.probe(target)
    assert.deepEqual(suspected, [])
    const reqs = calls.filter((c) => c.kind === K.PING_REQ)
    assert.equal(reqs.length, 3, 'three of the four other members asked')
    assert.ok(reqs.every((c) => c.target === target && c.to !== target))
    assert.equal(calls.filter((c) => c.to === target).length, 2, 'the direct ping and its longer retry')
    assert.equal(new Set(reqs.map((c) => c.to)).size, 3, 'three different members')
    assert.equal((stats as any).indirectProbes, 1)
    assert.equal((stats as any).indirectAcks, 1)
  })

  it('suspects a peer nobody hears, and one that refuses the connection at once, asking nobody', async () => {
    const silent = setUp([target, ...helpers], async (c) => { if (c.to === target) throw silence(); return K.NACK })
    await silent.prober.probe(target)
    assert.deepEqual(silent.suspected, [target])
    const dead = setUp([target, ...helpers], async (c) => { if (c.to === target) throw refused(); return K.ACK })
    await dead.prober.probe(target)
    assert.deepEqual(dead.suspected, [target])
    assert.deepEqual(dead.calls.map((c) => c.kind), [K.PING], 'a refused connection is not retried or asked about')
  })

  it('merges concurrent probes of one peer', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const { prober, calls } = setUp([target], async () => { await gate; return K.ACK })
    const a = prober.probe(target)
    const b = prober.probe(target)
    release()
    await Promise.all([a, b])
    assert.equal(calls.length, 1)
  })

  it('serves PING_REQ: ACK or NACK by the target\'s answer, NACK for strangers, the asker, itself', async () => {
    const stranger = await newId()
    const { prober } = setUp([target, helpers[0]], async (c) => c.to === target ? K.ACK : (() => { throw silence() })())
    assert.equal(await prober.pingFor(target, helpers[0]), K.ACK)
    assert.equal(await prober.pingFor(helpers[0], target), K.NACK, 'a live member that does not answer')
    assert.equal(await prober.pingFor(stranger, helpers[0]), K.NACK, 'not in the view')
    assert.equal(await prober.pingFor(helpers[0], helpers[0]), K.NACK, 'about the asker')
    await assert.rejects(prober.pingFor('not-a-peer-id', helpers[0]), { name: 'MalformedFrameError' })
    await assert.rejects(prober.pingFor('', helpers[0]), { name: 'MalformedFrameError' })
  })

  it('serves at most MAX_PING_REQS at a time, NACKing the rest at once', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const { prober, stats } = setUp([target, helpers[0]], async () => { await gate; return K.ACK })
    const held = Array.from({ length: MAX_PING_REQS }, async () => prober.pingFor(target, helpers[0]))
    assert.equal(await prober.pingFor(target, helpers[0]), K.NACK, 'one over the limit')
    release()
    assert.deepEqual(await Promise.all(held), held.map(() => K.ACK))
    assert.equal((stats as any).pingReqsServed, MAX_PING_REQS)
    assert.equal(await prober.pingFor(target, helpers[0]), K.ACK, 'served again once they are done')
  })
})
