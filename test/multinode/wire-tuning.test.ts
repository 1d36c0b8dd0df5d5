/**
 * The transport tuning of node/wire-tuning.ts on real sockets: a TCP socket corked for the turn that
 * wrote and flushed at its end, and libp2p nodes on TCP + noise + yamux (as node/libp2p.ts builds them)
 * that skip the window update of a frame while most of the window is unused, yet still move a transfer
 * many windows long, whole and in order.
 */

import '../../node/polyfill.js'
import { strict as assert } from 'node:assert'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { createLibp2p, type Libp2p } from 'libp2p'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { corkConnections, corkPerTurn, lazyWindowUpdates, windowStats } from '../../node/wire-tuning.js'

const PROTOCOL = '/chorus-test/wire-tuning/1.0.0'
const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

/** A stand-in for `@libp2p/tcp`'s connection: a socket, and a `sendData` that writes each buffer alone. */
class SocketConnection {
  constructor (readonly socket: Socket) {}
  sendData (data: Uint8Array[]): { sentBytes: number, canSendMore: boolean } {
    let sentBytes = 0
    for (const b of data) { this.socket.write(b); sentBytes += b.byteLength }
    return { sentBytes, canSendMore: true }
  }
}

describe('wire tuning: one socket write per turn', () => {
  let server: Server
  let client: Socket
  let received: Buffer[]

  beforeEach(async () => {
    received = []
    server = createServer((s) => { s.on('data', (b) => received.push(b)) })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const address = server.address()
    assert.ok(address != null && typeof address === 'object')
    client = connect(address.port, '127.0.0.1')
    client.setNoDelay(true)
    await once(client, 'connect')
  })

  afterEach(async () => {
    client.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('holds what one turn writes and flushes it at the turn\'s end, every turn', async () => {
    const conn = new SocketConnection(client)
    assert.equal(corkPerTurn(conn), true)
    assert.equal(corkPerTurn(conn), false, 'a connection is corked once')
    conn.sendData([new Uint8Array([0, 3]), new Uint8Array([1, 2, 3])])
    conn.sendData([new Uint8Array([0, 1]), new Uint8Array([4])])
    assert.equal(client.writableCorked, 1, 'held for the rest of the turn')
    assert.equal(client.writableLength, 8)
    await turn()
    assert.equal(client.writableCorked, 0)
    conn.sendData([new Uint8Array([9])])
    assert.equal(client.writableCorked, 1, 'the next turn corks again')
    await turn()
    const deadline = Date.now() + 2000
    while (Buffer.concat(received).byteLength < 9 && Date.now() < deadline) await turn()
    assert.deepEqual([...Buffer.concat(received)], [0, 3, 1, 2, 3, 0, 1, 4, 9])
  })

  it('leaves a connection with no TCP socket under it as it is', () => {
    assert.equal(corkPerTurn({ socket: {}, sendData: () => ({}) }), false)
    assert.equal(corkPerTurn({}), false)
  })
})

describe('wire tuning: yamux window updates at half the window', function () {
  this.timeout(30_000)
  let a: Libp2p
  let b: Libp2p

  const node = async (): Promise<Libp2p> => await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [corkConnections(noise())],
    streamMuxers: [yamux()]
  })

  before(async () => {
    assert.equal(lazyWindowUpdates(), true)
    a = await node()
    b = await node()
  })

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })

  it('skips the updates of small frames, and still moves eight windows whole and in order', async () => {
    const total = 8 * 256 * 1024
    const got: Uint8Array[] = []
    let gotBytes = 0
    const done = new Promise<void>((resolve) => {
      void b.handle(PROTOCOL, (stream) => {
        stream.addEventListener('message', (evt) => {
          const chunk = evt.data.subarray()
          got.push(chunk)
          gotBytes += chunk.byteLength
          if (gotBytes >= total + 100) resolve()
        })
      })
    })
    const stream = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
    const skippedBefore = windowStats.skipped
    for (let i = 0; i < 100; i++) {
      stream.send(new Uint8Array([i]))
      await turn()
    }
    const frame = new Uint8Array(16 * 1024)
    for (let sent = 0; sent < total; sent += frame.byteLength) {
      for (let i = 0; i < frame.byteLength; i += 4) new DataView(frame.buffer).setUint32(i, sent + i)
      if (!stream.send(frame.slice())) await once(stream, 'drain')
    }
    await done
    assert.ok(windowStats.skipped - skippedBefore >= 90, `updates skipped: ${windowStats.skipped - skippedBefore}`)
    const all = Buffer.concat(got)
    assert.deepEqual([...all.subarray(0, 100)], Array.from({ length: 100 }, (_, i) => i))
    const body = all.subarray(100)
    assert.equal(body.byteLength, total)
    for (let i = 0; i < total; i += 4096) assert.equal(body.readUInt32BE(i), i, `byte ${i} in order`)
    await stream.close()
  })
})
