/**
 * Membership's long-lived request streams (node/membership/links.ts) over two bare libp2p nodes on
 * loopback TCP, the answering side played by hand: requests share one stream and get their own replies,
 * however the peer orders them; a request left unanswered fails, and so does its stream, so the next
 * request opens a new one; a peer that speaks only /chorus/membership/1.0.0 gets one request a stream.
 */

import '../../node/polyfill.js'
import { strict as assert } from 'node:assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { MAX_FRAME_BYTES } from '../../node/membership/constants.js'
import { MembershipLinks } from '../../node/membership/links.js'

async function bare (): Promise<Libp2p> {
  return await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

const ping = (target = ''): MembershipMessage => ({
  kind: MembershipMessage.Kind.PING,
  updates: [],
  target,
  wallTime: 0n,
  mesh: new Uint8Array(0),
  revocations: [],
  revokedCertificates: [],
  requestId: 0
})

/** Answer each request on `stream` with an ACK naming the request's target, after `delayOf(target)` ms. */
function answer (stream: Stream, delayOf: (target: string) => number | undefined): void {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
  void (async () => {
    for (;;) {
      const req = MembershipMessage.decode((await lp.read()).subarray())
      const delay = delayOf(req.target)
      if (delay == null) continue
      setTimeout(() => {
        const ack = { ...ping(req.target), kind: MembershipMessage.Kind.ACK, requestId: req.requestId }
        void lp.write(MembershipMessage.encode(ack))
      }, delay)
    }
  })().catch(() => {})
}

describe('MembershipLinks: one stream per peer for membership requests', function () {
  this.timeout(20_000)
  let a: Libp2p
  let b: Libp2p
  let links: MembershipLinks
  const opened: string[] = []

  beforeEach(async () => {
    opened.length = 0
    a = await bare()
    b = await bare()
    links = new MembershipLinks(a, (bytes) => MembershipMessage.decode(bytes))
    await a.dial(b.getMultiaddrs())
  })

  afterEach(async () => {
    await links.close()
    await Promise.allSettled([a.stop(), b.stop()])
  })

  it('sends requests on one stream and matches each reply to its request, in whatever order they come', async () => {
    await b.handle(MEMBERSHIP_LINK_PROTOCOL, (stream) => {
      opened.push(stream.protocol)
      // a reply nothing asked for (a lying or confused peer) is dropped, not matched to a request
      void lpStream(stream, { maxDataLength: MAX_FRAME_BYTES }).write(MembershipMessage.encode(
        { ...ping('stray'), kind: MembershipMessage.Kind.ACK, requestId: 999_999 }))
      // the first request is answered last
      answer(stream, (t) => t === 'first' ? 300 : 10)
    })
    const peer = b.peerId.toString()
    const replies = await Promise.all(['first', 'second', 'third'].map(async (t) => await links.request(peer, ping(t), 5000)))
    assert.deepEqual(replies.map((r) => r.target), ['first', 'second', 'third'])
    assert.deepEqual(await links.request(peer, ping('fourth'), 5000).then((r) => r.target), 'fourth')
    assert.deepEqual(opened, [MEMBERSHIP_LINK_PROTOCOL], 'one stream for all four')
  })

  it('a request left unanswered fails in its time, and the next one goes on a new stream', async () => {
    await b.handle(MEMBERSHIP_LINK_PROTOCOL, (stream) => {
      opened.push(stream.protocol)
      // the first stream answers nothing at all; later ones answer at once
      answer(stream, opened.length === 1 ? () => undefined : () => 0)
    })
    const peer = b.peerId.toString()
    const started = Date.now()
    await assert.rejects(links.request(peer, ping('lost'), 300), /no membership reply within \d+ ms/)
    assert.ok(Date.now() - started < 2000)
    assert.equal((await links.request(peer, ping('next'), 5000)).target, 'next')
    assert.equal(opened.length, 2, 'a new stream after the silent one')
  })

  it('a peer that speaks only 1.0.0 gets one request a stream, answered without a number', async () => {
    await b.handle(MEMBERSHIP_PROTOCOL, (stream) => {
      opened.push(stream.protocol)
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      void (async () => {
        const req = MembershipMessage.decode((await lp.read()).subarray())
        assert.equal(req.requestId, 0, 'an older peer is not sent a number')
        await lp.write(MembershipMessage.encode({ ...ping(req.target), kind: MembershipMessage.Kind.ACK }))
        await stream.close()
      })().catch(() => {})
    })
    const peer = b.peerId.toString()
    assert.equal((await links.request(peer, ping('one'), 5000)).target, 'one')
    assert.equal((await links.request(peer, ping('two'), 5000)).target, 'two')
    assert.deepEqual(opened, [MEMBERSHIP_PROTOCOL, MEMBERSHIP_PROTOCOL])
  })
})
