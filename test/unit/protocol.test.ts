import { strict as assert } from 'node:assert'
import { createHash } from 'node:crypto'
import '../../node/polyfill.js'
import { messageId } from '../../node/libp2p.js'
import { Member as PbMember, MembershipMessage } from '../../protocol/pb/membership.js'

describe('protocol', () => {
  describe('gossipsub message id (node/libp2p.ts)', () => {
    const data = new TextEncoder().encode('hello chorus')

    it('is 20 bytes, deterministic, and depends only on the data', () => {
      const a = messageId({ data })
      assert.equal(a.byteLength, 20)
      assert.deepEqual(messageId({ data: new Uint8Array(data) }), a)
      assert.deepEqual(messageId({ data, topic: 'x', from: 'y', sequenceNumber: 1n } as any), a)
      assert.equal(messageId({ data: new Uint8Array(0) }).byteLength, 20)
    })

    it('is the sha256 prefix of the data, and differs for different data', () => {
      assert.deepEqual(Buffer.from(messageId({ data })), createHash('sha256').update(data).digest().subarray(0, 20))
      assert.notDeepEqual(messageId({ data }), messageId({ data: new TextEncoder().encode('hello chorus!') }))
    })
  })

  describe('MembershipMessage (protocol/pb)', () => {
    const member = (peerId: string): PbMember => ({
      peerId,
      role: PbMember.Role.SERVER,
      capacity: 1,
      addrs: [new Uint8Array([4, 127, 0, 0, 1])],
      incarnation: 3n,
      state: PbMember.State.ALIVE,
      version: '0.1.0',
      certificate: new Uint8Array(0)
    })

    it('round-trips every kind', () => {
      for (const kind of Object.values(MembershipMessage.Kind).filter(
        (k): k is MembershipMessage.Kind => typeof k === 'string'
      )) {
        const msg: MembershipMessage = {
          kind,
          sender: member('a'),
          updates: [member('b'), member('c')],
          target: kind === MembershipMessage.Kind.PING_REQ ? 'QmTarget' : '',
          wallTime: 1796000000000n,
          mesh: new Uint8Array(32).fill(7),
          revocations: [new Uint8Array([1, 2, 3])],
          revokedCertificates: [new Uint8Array([4, 5])],
          requestId: 0xfffffffe
        }
        assert.deepEqual(MembershipMessage.decode(MembershipMessage.encode(msg)), msg)
      }
    })

    it('enforces decode limits on repeated fields', () => {
      const bytes = MembershipMessage.encode({
        kind: MembershipMessage.Kind.SYNC_REPLY,
        sender: member('a'),
        updates: [member('b'), member('c'), member('d')]
      })
      assert.throws(() => MembershipMessage.decode(bytes, { limits: { updates: 2 } }))
      assert.equal(MembershipMessage.decode(bytes, { limits: { updates: 3 } }).updates.length, 3)
    })

    it('refuses an unknown enum value on the wire', () => {
      // field 1 (kind), varint 9: no such kind
      assert.throws(() => MembershipMessage.decode(new Uint8Array([0x08, 0x09])))
    })
  })
})
