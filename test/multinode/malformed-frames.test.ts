import { strict as assert } from 'node:assert'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { VERSION, type ChorusNode } from '../../node/index.js'
import { MAX_FRAME_BYTES } from '../../node/membership/constants.js'
import { toPb, type MemberRecord } from '../../node/membership/member.js'
import { MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'
import { concat, varint } from '../helpers/frames.js'

/** A record for `node` as the node would describe itself, with `peerId` replaceable for spoofing. */
function recordOf (node: ChorusNode, over: Partial<MemberRecord> = {}): MemberRecord {
  return {
    peerId: node.peerId.toString(),
    role: node.role,
    capacity: 1,
    addrs: [],
    incarnation: 0n,
    state: 'alive',
    version: VERSION,
    ...over
  }
}

function frame (kind: MembershipMessage.Kind, sender: MemberRecord): Uint8Array {
  return MembershipMessage.encode({ kind, sender: toPb(sender), updates: [] })
}

/** Bytes that are not a protobuf, as one frame. */
const GARBAGE = (): Uint8Array => {
  const junk = Uint8Array.from([0x0f, 0xff, 0xff, 0xff])
  return concat(varint(junk.byteLength), junk)
}

describe('membership under malformed and spoofed frames', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  let target: ChorusNode
  let attacker: ChorusNode
  let bystander: ChorusNode
  const streams: Stream[] = []

  /** Open a raw membership stream from the attacker to the target and write `bytes` as they are. */
  async function sendRaw (bytes: Uint8Array): Promise<Stream> {
    const stream = await attacker.libp2p.dialProtocol(target.peerId, MEMBERSHIP_PROTOCOL, {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    streams.push(stream)
    stream.send(bytes)
    return stream
  }

  /** Send `bytes` raw and expect the target to count exactly one more malformed frame. */
  async function expectRejected (what: string, bytes: Uint8Array): Promise<void> {
    const before = target.membership.stats.malformedFrames
    const stream = await sendRaw(bytes)
    await waitFor(`${what}: the target to abort the stream`, () => stream.status !== 'open')
    await waitFor(`${what} to be counted as malformed`, () => target.membership.stats.malformedFrames > before)
    assert.equal(target.membership.stats.malformedFrames, before + 1)
  }

  before(async function () {
    this.timeout(scaled(60_000))
    mesh = await startMesh({ servers: 3, options: (i) => i === 1 ? { http: '127.0.0.1:0' } : {} })
    ;[target, attacker, bystander] = mesh.servers
    await waitForServers(mesh.nodes, mesh.servers)
  })
  afterEach(() => { for (const s of streams.splice(0)) s.abort(new Error('test done')) })
  after(async () => { await mesh?.cleanup() })

  it('rejects bytes that are not a protobuf', async () => {
    await expectRejected('garbage', GARBAGE())
  })

  it('rejects a truncated protobuf field', async () => {
    const junk = Uint8Array.from([0x12, 0x50, 0x01])
    await expectRejected('truncated field', concat(varint(junk.byteLength), junk))
  })

  it('rejects an empty frame (no sender)', async () => {
    await expectRejected('empty frame', varint(0))
  })

  it('rejects a PING_REQ whose target is not a peer id, and a reply sent as a request', async () => {
    const bad = MembershipMessage.encode({
      kind: MembershipMessage.Kind.PING_REQ,
      sender: toPb(recordOf(attacker)),
      updates: [],
      target: 'not-a-peer-id'
    })
    await expectRejected('PING_REQ with a bad target', concat(varint(bad.byteLength), bad))
    const ack = frame(MembershipMessage.Kind.ACK, recordOf(attacker))
    await expectRejected('an ACK as a request', concat(varint(ack.byteLength), ack))
  })

  it('rejects an unknown message kind', async () => {
    const junk = Uint8Array.from([0x08, 0x09])
    await expectRejected('unknown kind', concat(varint(junk.byteLength), junk))
  })

  it('rejects a frame just over the 1 MiB bound on its length prefix', async () => {
    await expectRejected('1 MiB + 1 frame', concat(varint(MAX_FRAME_BYTES + 1), new Uint8Array(64)))
  })

  it('rejects a frame far over the bound (a 4-byte length prefix)', async () => {
    // 4 MiB needs a 4-byte varint; lpStream then throws InvalidDataLengthLengthError, not InvalidDataLengthError
    await expectRejected('4 MiB frame', concat(varint(4 * MAX_FRAME_BYTES), new Uint8Array(64)))
  })

  it('rejects a frame whose sender is not the connection\'s peer', async () => {
    const spoofed = frame(MembershipMessage.Kind.PING, recordOf(bystander, { incarnation: BigInt(Date.now()) * 2n }))
    await expectRejected('spoofed ping', concat(varint(spoofed.byteLength), spoofed))
  })

  it('does not let a spoofed LEAVE evict a live member', async () => {
    const bid = bystander.peerId.toString()
    const spoofed = frame(MembershipMessage.Kind.LEAVE,
      recordOf(bystander, { state: 'left', incarnation: BigInt(Date.now()) * 2n }))
    await expectRejected('spoofed leave', concat(varint(spoofed.byteLength), spoofed))
    assert.ok(target.membership.servers().includes(bid))
    assert.ok(target.membership.live().some((m) => m.peerId === bid), 'the bystander is still live')
  })

  it('shows the count in /metrics', async () => {
    await expectRejected('garbage to be counted', GARBAGE())
    const text = await (await fetch(`http://${target.httpAddress()}/metrics`, { signal: AbortSignal.timeout(scaled(10_000)) })).text()
    const m = /^chorus_membership_malformed_frames_total (\d+)$/m.exec(text)
    assert.ok(m != null, 'chorus_membership_malformed_frames_total is exported')
    assert.equal(Number(m[1]), target.membership.stats.malformedFrames)
    assert.ok(Number(m[1]) >= 1)
  })

  it('keeps serving: the view stays complete and an honest probe is answered', async () => {
    await expectRejected('garbage before an honest probe', GARBAGE())
    await waitForServers(mesh.nodes, mesh.servers)
    const pings = target.membership.stats.pingsReceived
    const stream = await attacker.libp2p.dialProtocol(target.peerId, MEMBERSHIP_PROTOCOL, {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    streams.push(stream)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    await lp.write(frame(MembershipMessage.Kind.PING, recordOf(attacker)), {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    const reply = MembershipMessage.decode((await lp.read({ signal: AbortSignal.timeout(scaled(10_000)) })).subarray())
    assert.equal(reply.kind, MembershipMessage.Kind.ACK)
    assert.equal(reply.sender?.peerId, target.peerId.toString())
    assert.ok(target.membership.stats.pingsReceived > pings)
    const res = await fetch(`http://${target.httpAddress()}/health`, { signal: AbortSignal.timeout(scaled(10_000)) })
    assert.equal(res.status, 200)
    await res.text()
  })

  it('on a 1.1.0 link: answers each request by its number, and ends the link at a spoofed frame', async () => {
    const stream = await attacker.libp2p.dialProtocol(target.peerId, MEMBERSHIP_LINK_PROTOCOL, {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    streams.push(stream)
    assert.equal(stream.protocol, MEMBERSHIP_LINK_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const signal = (): AbortSignal => AbortSignal.timeout(scaled(10_000))
    // two requests before any reply: each comes back with its own number
    for (const requestId of [7, 4_000_000_000]) {
      await lp.write(MembershipMessage.encode({
        kind: MembershipMessage.Kind.PING, sender: toPb(recordOf(attacker)), updates: [], requestId
      }), { signal: signal() })
    }
    const ids: number[] = []
    for (let i = 0; i < 2; i++) {
      const reply = MembershipMessage.decode((await lp.read({ signal: signal() })).subarray())
      assert.equal(reply.kind, MembershipMessage.Kind.ACK)
      ids.push(reply.requestId)
    }
    assert.deepEqual(ids.sort((a, b) => a - b), [7, 4_000_000_000])
    // a frame claiming another sender on the same link: counted, and the link is reset
    const before = target.membership.stats.malformedFrames
    await lp.write(frame(MembershipMessage.Kind.PING, recordOf(attacker, { peerId: bystander.peerId.toString() })),
      { signal: signal() })
    await waitFor('the target to reset the link', () => stream.status !== 'open')
    assert.equal(target.membership.stats.malformedFrames, before + 1)
    // and serves everyone else
    await waitForServers(mesh.nodes, mesh.servers)
  })
})
