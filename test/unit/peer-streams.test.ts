/**
 * `PeerStreams` (node/peer-streams.ts), the one-stream-per-peer table under the live hop's links and the
 * store protocol's channels: over a fake dialler whose dials the test settles by hand, and a fake of what
 * is built on each stream.
 */

import { strict as assert } from 'node:assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { AbortOptions, PeerId } from '@libp2p/interface'
import { PeerStreams, type PeerStreamUse, type ProtocolDialer } from '../../node/peer-streams.js'

const PROTOCOL = '/chorus/test/1.0.0'

/** The fake's stream: a number, the dial's, to tell streams apart. */
type FakeStream = number

/** One dial the fake was asked for, settled by the test. */
interface Dial {
  peer: string
  protocol: string | string[]
  signal?: AbortSignal
  open: () => void
  fail: (err: Error) => void
}

/** A dialler that records its dials and leaves them pending until the test opens or fails them. */
class FakeDialer implements ProtocolDialer<FakeStream> {
  readonly dials: Dial[] = []

  async dialProtocol (peer: PeerId, protocol: string | string[], options: AbortOptions): Promise<FakeStream> {
    const stream = this.dials.length + 1
    return await new Promise<FakeStream>((resolve, reject) => {
      const fail = (err: Error): void => { reject(err) }
      options.signal?.addEventListener('abort', () => { fail(options.signal?.reason) })
      const open = (): void => { resolve(stream) }
      this.dials.push({ peer: peer.toString(), protocol, signal: options.signal, open, fail })
    })
  }

  /** The `count`th dial, once it has been asked for. */
  async nth (count: number): Promise<Dial> {
    while (this.dials.length < count) await new Promise((resolve) => setImmediate(resolve))
    return this.dials[count - 1]
  }
}

/** What the tests build on a stream: it records its closes, and can close by itself (as a failed write does). */
class FakeUse implements PeerStreamUse {
  closed = false
  closes = 0

  constructor (readonly stream: FakeStream, readonly peer: string, readonly notify: () => void) {}

  async close (): Promise<void> {
    this.closes++
    this.closed = true
    this.notify()
  }

  /** The stream failed: closed, and the table told. */
  fail (): void {
    this.closed = true
    this.notify()
  }
}

describe('PeerStreams (node/peer-streams.ts)', () => {
  let a: string
  let b: string
  let dialer: FakeDialer
  let streams: PeerStreams<FakeUse, FakeStream>

  before(async () => {
    a = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    b = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  })

  beforeEach(() => {
    dialer = new FakeDialer()
    streams = new PeerStreams(dialer, PROTOCOL, (stream, peer, closed) => new FakeUse(stream, peer, closed))
  })

  it('opens one stream for concurrent callers and reuses it while it is open', async () => {
    const callers = [streams.get(a, 1000), streams.get(a, 1000), streams.get(a, 1000)]
    const dial = await dialer.nth(1)
    assert.equal(dial.peer, a)
    assert.equal(dial.protocol, PROTOCOL)
    assert.ok(dial.signal instanceof AbortSignal, 'the dial has a deadline')
    dial.open()
    const [first, ...others] = await Promise.all(callers)
    assert.equal(first.stream, 1)
    assert.equal(first.peer, a)
    for (const other of others) assert.equal(other, first)
    assert.equal(await streams.get(a, 1000), first)
    assert.equal(dialer.dials.length, 1)
  })

  it('opens one stream per peer', async () => {
    const toA = streams.get(a, 1000)
    const toB = streams.get(b, 1000)
    assert.deepEqual((await Promise.all([dialer.nth(1), dialer.nth(2)])).map((d) => d.peer), [a, b])
    for (const d of dialer.dials) d.open()
    const [la, lb] = await Promise.all([toA, toB])
    assert.notEqual(la, lb)
    assert.deepEqual([la.peer, lb.peer], [a, b])
  })

  it('opens a new stream after the last one closed', async () => {
    const opening = streams.get(a, 1000)
    ;(await dialer.nth(1)).open()
    const first = await opening
    first.fail()
    const reopening = streams.get(a, 1000)
    ;(await dialer.nth(2)).open()
    const second = await reopening
    assert.notEqual(second, first)
    assert.equal(second.stream, 2)
    assert.equal(await streams.get(a, 1000), second)
    assert.equal(dialer.dials.length, 2)
  })

  it('does not reuse a stream that reads as closed before it has said so', async () => {
    const opening = streams.get(a, 1000)
    ;(await dialer.nth(1)).open()
    const first = await opening
    first.closed = true
    const reopening = streams.get(a, 1000)
    ;(await dialer.nth(2)).open()
    const second = await reopening
    assert.equal(second.stream, 2)
    first.notify() // the old stream's late close must not drop the one that replaced it
    assert.equal(await streams.get(a, 1000), second)
    assert.equal(dialer.dials.length, 2)
  })

  it('does not keep a failed opening: its caller gets the error, the next caller dials again', async () => {
    const opening = streams.get(a, 1000)
    ;(await dialer.nth(1)).fail(new Error('no route'))
    await assert.rejects(opening, /no route/)
    const retry = streams.get(a, 1000)
    ;(await dialer.nth(2)).open()
    assert.equal((await retry).stream, 2)
  })

  it('callers that find the stream just closed share one new opening, and none is left unclosed', async () => {
    const built: FakeUse[] = []
    streams = new PeerStreams(dialer, PROTOCOL, (stream, peer, closed) => {
      const use = new FakeUse(stream, peer, closed)
      built.push(use)
      return use
    })
    const opening = streams.get(a, 1000)
    ;(await dialer.nth(1)).open()
    const first = await opening
    const callers = [streams.get(a, 1000), streams.get(a, 1000), streams.get(a, 1000)]
    first.fail() // after the callers found it, before they look at it
    ;(await dialer.nth(2)).open()
    const [second, ...others] = await Promise.all(callers)
    for (const other of others) assert.equal(other, second)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(dialer.dials.length, 2, 'one new stream for all of them')
    await streams.close()
    assert.deepEqual(built.map((u) => u.closed), [true, true], 'stop closed every stream that opened')
  })

  it('callers that waited on a failed opening share one more', async () => {
    const opening = streams.get(a, 1000)
    const waiting = [streams.get(a, 1000), streams.get(a, 1000)]
    ;(await dialer.nth(1)).fail(new Error('no route'))
    await assert.rejects(opening, /no route/)
    ;(await dialer.nth(2)).open()
    const [one, other] = await Promise.all(waiting)
    assert.equal(one, other)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(dialer.dials.length, 2)
  })

  it('callers that waited on a failed opening get the error of the next one when it fails too', async () => {
    const opening = streams.get(a, 1000)
    const waiting = [streams.get(a, 1000), streams.get(a, 1000)]
    ;(await dialer.nth(1)).fail(new Error('no route'))
    await assert.rejects(opening, /no route/)
    ;(await dialer.nth(2)).fail(new Error('still no route'))
    for (const w of waiting) await assert.rejects(w, /still no route/)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(dialer.dials.length, 2)
  })

  it('gives up on an opening after its timeout, and does not keep it', async () => {
    const opening = streams.get(a, 20)
    await dialer.nth(1)
    await assert.rejects(opening, (err: any) => err.name === 'TimeoutError')
    const retry = streams.get(a, 1000)
    ;(await dialer.nth(2)).open()
    assert.equal((await retry).stream, 2)
  })

  it('close() closes every stream, and the next caller opens a new one', async () => {
    const toA = streams.get(a, 1000)
    const toB = streams.get(b, 1000)
    await dialer.nth(2)
    for (const d of dialer.dials) d.open()
    const opened = await Promise.all([toA, toB])
    await streams.close()
    assert.deepEqual(opened.map((u) => u.closes), [1, 1])
    const again = streams.get(a, 1000)
    ;(await dialer.nth(3)).open()
    assert.equal((await again).stream, 3)
  })
})
