/**
 * The live hop's outbound links (node/relay/live.ts) over two real libp2p nodes on loopback TCP: a frame
 * that `send` accepted reaches the peer, also after the peer restarted under the same peer id. An outbound
 * link has no reader, so only its stream's close says that the peer went; a link that missed it took the
 * next frames onto a dead stream and lost them without an error (an owner's push to a restarted watcher
 * did, and the watcher's table then vouched for a log it had not heard change).
 */

import '../../node/polyfill.js'
import { strict as assert } from 'node:assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import { LiveLinks, encodeLiveFrame } from '../../node/relay/live.js'
import type { LiveFrame } from '../../protocol/pb/live.js'
import { waitFor } from '../helpers/wait.js'

/** A bare libp2p node on loopback with the live hop's links, keeping the frames it is sent. */
interface End { libp2p: Libp2p, links: LiveLinks, frames: string[] }

async function startEnd (key: PrivateKey): Promise<End> {
  const libp2p = await createLibp2p({
    privateKey: key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  const frames: string[] = []
  const keep = (_from: string, frame: LiveFrame): void => { frames.push(Buffer.from(frame.envelope).toString()) }
  const links = new LiveLinks(libp2p, keep, () => {})
  await links.start()
  return { libp2p, links, frames }
}

async function stopEnd (end: End): Promise<void> {
  await end.links.stop()
  await end.libp2p.stop()
}

const frame = (text: string): Uint8Array => encodeLiveFrame(Buffer.from(text), false)

describe('LiveLinks: a frame accepted is a frame sent', function () {
  this.timeout(20_000)
  const ends: End[] = []

  afterEach(async () => {
    await Promise.allSettled(ends.splice(0).map(stopEnd))
  })

  it('after the peer restarts under the same id, the next frame goes on a new stream and arrives', async () => {
    const bobKey = await generateKeyPair('Ed25519')
    const alice = await startEnd(await generateKeyPair('Ed25519'))
    let bob = await startEnd(bobKey)
    ends.push(alice, bob)
    await alice.libp2p.dial(bob.libp2p.getMultiaddrs())
    await alice.links.send(bob.libp2p.peerId.toString(), frame('before'))
    await waitFor('the first frame', () => bob.frames.includes('before'))

    // bob's process ends: its connection (and the stream alice's link writes to) closes
    await stopEnd(bob)
    ends.splice(ends.indexOf(bob), 1)
    await waitFor('alice to see bob gone', () => alice.libp2p.getConnections(bob.libp2p.peerId).length === 0)
    bob = await startEnd(bobKey)
    ends.push(bob)
    await alice.libp2p.dial(bob.libp2p.getMultiaddrs())

    await alice.links.send(bob.libp2p.peerId.toString(), frame('after'))
    await waitFor('the frame sent after the restart', () => bob.frames.includes('after'), { timeoutMs: 3000 })
    assert.deepEqual(bob.frames, ['after'])
    assert.equal(alice.links.counts.dropped, 0, 'nothing was accepted and then dropped')
  })

  it('a link whose stream was reset refuses the frame at once instead of accepting it', async () => {
    const alice = await startEnd(await generateKeyPair('Ed25519'))
    const bob = await startEnd(await generateKeyPair('Ed25519'))
    ends.push(alice, bob)
    const bobId = bob.libp2p.peerId.toString()
    await alice.libp2p.dial(bob.libp2p.getMultiaddrs())
    await alice.links.send(bobId, frame('one'))
    await waitFor('the first frame', () => bob.frames.includes('one'))
    // the connection goes while the link is idle; no later dial: a send must fail, not vanish
    await Promise.all(alice.libp2p.getConnections(bob.libp2p.peerId).map(async (c) => { await c.close() }))
    await alice.libp2p.peerStore.delete(bob.libp2p.peerId)
    await assert.rejects(alice.links.send(bobId, frame('two')))
    assert.deepEqual(bob.frames, ['one'])
  })
})
