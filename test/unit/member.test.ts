import { strict as assert } from 'node:assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { fromPb, toPb, type MemberRecord } from '../../node/membership/member.js'
import { MAX_ADDRS_PER_MEMBER } from '../../node/membership/constants.js'
import { type Member as PbMember, MembershipMessage } from '../../protocol/pb/membership.js'

function assertMalformed (fn: () => unknown, what: string): void {
  assert.throws(fn, (err: any) => {
    assert.equal(err.name, 'MalformedFrameError', `${what}: ${err.name} ${err.message}`)
    assert.equal(err.code, 'ERR_MALFORMED_FRAME')
    return true
  }, what)
}

describe('member records (node/membership/member.ts)', () => {
  let peerId: string
  let record: MemberRecord

  before(async () => {
    peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    record = {
      peerId,
      role: 'bootstrap',
      capacity: 7,
      addrs: [multiaddr('/ip4/127.0.0.1/tcp/7400'), multiaddr('/ip4/10.0.0.2/tcp/7401/ws')],
      incarnation: 1_700_000_000_123n,
      state: 'suspect',
      version: '0.1.0'
    }
  })

  const pb = (over: Partial<PbMember> = {}): PbMember => ({ ...toPb(record), ...over })

  it('round-trips through toPb, the wire and fromPb', () => {
    for (const role of ['server', 'bootstrap', 'client'] as const) {
      for (const state of ['alive', 'suspect', 'dead', 'left'] as const) {
        const r = { ...record, role, state }
        const wire = MembershipMessage.encode({ kind: MembershipMessage.Kind.PING, sender: toPb(r), updates: [] })
        const back = fromPb(MembershipMessage.decode(wire).sender)
        assert.deepEqual({ ...back, addrs: back.addrs.map(String) }, { ...r, addrs: r.addrs.map(String) })
      }
    }
  })

  it('reads capacity 0 as 1 and clamps an absurd one to 1000', () => {
    assert.equal(fromPb(pb({ capacity: 0 })).capacity, 1)
    assert.equal(fromPb(pb({ capacity: 4_000_000 })).capacity, 1000)
  })

  it('accepts exactly MAX_ADDRS_PER_MEMBER addresses', () => {
    const addrs = Array.from({ length: MAX_ADDRS_PER_MEMBER }, (_, i) => multiaddr(`/ip4/127.0.0.1/tcp/${7000 + i}`).bytes)
    assert.equal(fromPb(pb({ addrs })).addrs.length, MAX_ADDRS_PER_MEMBER)
  })

  it('rejects a missing record', () => {
    assertMalformed(() => fromPb(undefined), 'missing')
  })

  it('rejects a bad peer id', () => {
    assertMalformed(() => fromPb(pb({ peerId: '' })), 'empty')
    assertMalformed(() => fromPb(pb({ peerId: 'not-a-peer-id' })), 'garbage')
    assertMalformed(() => fromPb(pb({ peerId: '1'.repeat(129) })), 'too long')
    assertMalformed(() => fromPb(pb({ peerId: peerId.slice(0, -3) })), 'truncated')
  })

  it('rejects too many addresses and an address that does not parse', () => {
    const addrs = Array.from({ length: MAX_ADDRS_PER_MEMBER + 1 }, () => multiaddr('/ip4/127.0.0.1/tcp/1').bytes)
    assertMalformed(() => fromPb(pb({ addrs })), 'too many addrs')
    assertMalformed(() => fromPb(pb({ addrs: [new Uint8Array([0xff, 0xff, 0xff, 0x01])] })), 'bad addr')
  })

  it('rejects an unknown role or state', () => {
    assertMalformed(() => fromPb(pb({ role: 'ADMIN' as PbMember.Role })), 'role')
    assertMalformed(() => fromPb(pb({ state: 'ZOMBIE' as PbMember.State })), 'state')
  })

  it('rejects a version longer than 64 characters', () => {
    assert.equal(fromPb(pb({ version: 'v'.repeat(64) })).version.length, 64)
    assertMalformed(() => fromPb(pb({ version: 'v'.repeat(65) })), 'version')
  })
})
