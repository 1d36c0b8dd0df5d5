/**
 * Events found while `openUser` runs — what came while the user was away — are held for the first
 * listener of each kind, since the caller can only attach listeners once `openUser` has resolved.
 */

import { strict as assert } from 'node:assert'
import type { ChorusNode } from '../../node/index.js'
import type { Message, SubscriptionRequestEvent } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('events found during openUser are held for their first listener', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({ servers: 3, clients: 1, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('a subscription request and a message that came while bob was away reach listeners attached after openUser', async () => {
    const alice = await mesh.clients[0].openUser('alice')
    const bobDir = mesh.dirs.make('chorus-bob-')
    const first: ChorusNode = await mesh.spawn('client', { dataDir: bobDir })
    await waitForServers([first], mesh.servers)
    await first.openUser('bob')
    await first.stop()

    await alice.roster.add('bob')
    await alice.send('bob', 'while you were out')

    const again = await mesh.spawn('client', { dataDir: bobDir })
    await waitForServers([again], mesh.servers)
    const bob = await again.openUser('bob')
    const requests: SubscriptionRequestEvent[] = []
    const messages: Message[] = []
    bob.on('subscription', (r) => requests.push(r))
    bob.on('message', (m) => messages.push(m))
    await waitFor('the held events', () => requests.length > 0 && messages.length > 0)
    // one more sync (it resolves once it has shown what it brought): a second copy would be there now
    await bob.sync()
    assert.deepEqual(requests.map((r) => r.from), ['alice'])
    assert.deepEqual(messages.map((m) => m.text), ['while you were out'])
  })
})
