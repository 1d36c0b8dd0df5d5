import { strict as assert } from 'node:assert'
import { MESH_TOPIC, type ChorusNode } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

/**
 * A topic of its own for each test, so that no test sees another's subscriptions or messages. (Message
 * ids are the hash of the data, whatever the topic: every payload in this file is different too.)
 */
const topicFor = (test: string): string => `/chorus/test/pubsub/${test}/1`

/** Every message `node` receives on `topic`, as text. */
function inbox (node: ChorusNode, topic: string): string[] {
  const got: string[] = []
  node.libp2p.services.pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic === topic) got.push(new TextDecoder().decode(evt.detail.data))
  })
  return got
}

/** `chorus_pubsub_messages_received_total{topic="other"}` of a node (0 when absent). */
async function receivedOther (node: ChorusNode): Promise<number> {
  const m = /^chorus_pubsub_messages_received_total\{topic="other"\} (\d+)$/m.exec(await node.registry.metrics())
  return m == null ? 0 : Number(m[1])
}

/** Subscribe every node to `topic`, and wait until `publisher` knows each of `receivers` listens there. */
async function subscribeAll (topic: string, publisher: ChorusNode, receivers: ChorusNode[]): Promise<void> {
  for (const n of [publisher, ...receivers]) n.libp2p.services.pubsub.subscribe(topic)
  await waitFor(`the publisher to see every subscriber of ${topic}`, () => {
    const subs = publisher.libp2p.services.pubsub.getSubscribers(topic).map(String)
    return receivers.every((r) => subs.includes(r.peerId.toString()))
  })
}

describe('gossipsub between nodes', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  before(async function () {
    this.timeout(scaled(60_000))
    mesh = await startMesh({ servers: 3, clients: 1 })
    await waitForServers(mesh.nodes, mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('every node joins the mesh topic on start', () => {
    for (const n of mesh.nodes) assert.ok(n.libp2p.services.pubsub.getTopics().includes(MESH_TOPIC), n.role)
  })

  it('delivers a published message to every other subscriber, once, and counts it', async () => {
    const topic = topicFor('deliver')
    const marker = topicFor('deliver-marker')
    const [publisher, ...receivers] = [...mesh.servers, ...mesh.clients]
    const inboxes = receivers.map((n) => inbox(n, topic))
    const markers = receivers.map((n) => inbox(n, marker))
    await subscribeAll(topic, publisher, receivers)
    await subscribeAll(marker, publisher, receivers)
    const counted = await receivedOther(receivers[0])

    const result = await publisher.libp2p.services.pubsub.publish(topic, new TextEncoder().encode('hello mesh'))
    assert.ok(result.recipients.length >= 1)
    await waitFor('every receiver to get the message', () => inboxes.every((got) => got.length > 0))
    // a later message on the same path: a second copy of the first would have come before it
    await publisher.libp2p.services.pubsub.publish(marker, new TextEncoder().encode('later, after hello'))
    await waitFor('every receiver to get the later message', () => markers.every((got) => got.length > 0))
    for (const got of inboxes) assert.deepEqual(got, ['hello mesh'])

    // labelled by topic kind, not by topic: one series per kind however many rooms there are
    assert.equal(await receivedOther(receivers[0]), counted + 2, 'the receive counter moved once for each message')
  })

  it('does not deliver to a node that unsubscribed', async () => {
    const topic = topicFor('unsubscribe')
    const marker = topicFor('unsubscribe-marker')
    const [publisher, quitter, stayer] = mesh.servers
    const quit = inbox(quitter, topic)
    const stay = inbox(stayer, topic)
    const quitterMarkers = inbox(quitter, marker)
    await subscribeAll(topic, publisher, [quitter, stayer])
    await subscribeAll(marker, publisher, [quitter])
    quitter.libp2p.services.pubsub.unsubscribe(topic)
    await waitFor('the publisher to notice the unsubscribe',
      () => !publisher.libp2p.services.pubsub.getSubscribers(topic).map(String).includes(quitter.peerId.toString()))
    await publisher.libp2p.services.pubsub.publish(topic, new TextEncoder().encode('second'))
    // a later message from the same publisher on a topic the quitter still follows: once it is there,
    // the one before it would have been too
    await publisher.libp2p.services.pubsub.publish(marker, new TextEncoder().encode('later, after second'))
    await waitFor('the subscriber to get it', () => stay.includes('second'))
    await waitFor('the quitter to get the later message', () => quitterMarkers.includes('later, after second'))
    assert.deepEqual(quit, [])
  })
})
