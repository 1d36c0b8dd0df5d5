import { strict as assert } from 'node:assert'
import { MESH_TOPIC, type ChorusNode } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { waitFor } from '../helpers/wait.js'

const TOPIC = '/chorus/test/pubsub/1'

/** Every message `node` receives on `topic`, as text. */
function inbox (node: ChorusNode, topic: string): string[] {
  const got: string[] = []
  node.libp2p.services.pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic === topic) got.push(new TextDecoder().decode(evt.detail.data))
  })
  return got
}

describe('gossipsub between nodes', () => {
  let mesh: Mesh
  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 1 })
    await waitForServers(mesh.nodes, mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('every node joins the mesh topic on start', () => {
    for (const n of mesh.nodes) assert.ok(n.libp2p.services.pubsub.getTopics().includes(MESH_TOPIC), n.role)
  })

  it('delivers a published message to every other subscriber, once, and counts it', async () => {
    const [publisher, ...receivers] = [...mesh.servers, ...mesh.clients]
    const inboxes = receivers.map((n) => inbox(n, TOPIC))
    for (const n of [publisher, ...receivers]) n.libp2p.services.pubsub.subscribe(TOPIC)
    await waitFor('the publisher to see every subscriber', () => {
      const subs = publisher.libp2p.services.pubsub.getSubscribers(TOPIC).map(String)
      return receivers.every((r) => subs.includes(r.peerId.toString()))
    })

    const result = await publisher.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode('hello mesh'))
    assert.ok(result.recipients.length >= 1)
    await waitFor('every receiver to get the message', () => inboxes.every((got) => got.length > 0))
    for (const got of inboxes) assert.deepEqual(got, ['hello mesh'])

    const metrics = await receivers[0].registry.metrics()
    // labelled by topic kind, not by topic: one series per kind however many rooms there are
    assert.ok(metrics.includes('chorus_pubsub_messages_received_total{topic="other"} 1'), 'the receive counter moved')
  })

  it('does not deliver to a node that unsubscribed', async () => {
    const [publisher, quitter, stayer] = mesh.servers
    const quit = inbox(quitter, TOPIC)
    const stay = inbox(stayer, TOPIC)
    quitter.libp2p.services.pubsub.unsubscribe(TOPIC)
    await waitFor('the publisher to notice the unsubscribe', () => !publisher.libp2p.services.pubsub.getSubscribers(TOPIC).map(String).includes(quitter.peerId.toString()))
    await publisher.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode('second'))
    await waitFor('the subscriber to get it', () => stay.includes('second'))
    assert.deepEqual(quit, [])
  })
})
