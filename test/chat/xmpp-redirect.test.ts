/**
 * Load balancing between gateways (see-other-host): a gateway at its connection limit sends a new TCP
 * client to a gateway with room, found by asking the other servers over /chorus/xmpp-load/1.0.0; xmpp.js
 * follows the redirect, registers there and chats with the user on the full gateway.
 */

import { strict as assert } from 'node:assert'
import xml from '@xmpp/xml'
import type { ChorusNode } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { DOMAIN, RawXmpp, chatFrom, jabber, trustSelfSigned, type JabberClient } from '../helpers/xmpp.js'
import { scaled } from '../helpers/wait.js'

describe('XMPP gateway: a full gateway redirects new clients (see-other-host)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let untrust: () => void
  let full: ChorusNode
  let roomy: ChorusNode
  const clients: JabberClient[] = []
  const raws: RawXmpp[] = []

  before(async () => {
    untrust = trustSelfSigned()
    mesh = await startMesh({
      servers: 3,
      options: (i, role) => role !== 'server' || i > 2 ? {} : { xmpp: { listen: '127.0.0.1:0', maxConnections: i === 1 ? 1 : 100 } }
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    full = mesh.servers.find((s) => s.options.xmpp?.maxConnections === 1) as ChorusNode
    roomy = mesh.servers.find((s) => s.options.xmpp?.maxConnections === 100) as ChorusNode
  })

  after(async () => {
    for (const r of raws) r.destroy()
    await Promise.all(clients.map(async (c) => { await c.stop() }))
    await mesh?.cleanup()
    untrust?.()
  })

  it('sends the client past the limit to the gateway with room, which serves it', async () => {
    const first = await jabber(full.xmppAddress() as string, 'alice', { register: true })
    clients.push(first)
    const raw = await RawXmpp.open(full.xmppAddress() as string)
    raws.push(raw)
    const m = await raw.until('see-other-host', /<see-other-host xmlns="urn:ietf:params:xml:ns:xmpp-streams">([^<]+)<\/see-other-host>/)
    assert.equal(m[1], roomy.xmppAddress())
    await raw.closedByServer()

    const second = await jabber(full.xmppAddress() as string, 'bob', { register: true })
    clients.push(second)
    assert.equal(roomy.gateway?.stats().connections, 1, 'bob is served by the gateway with room')
    assert.ok((full.gateway?.stats().rejected['xmpp-connection-limit'] ?? 0) >= 2)
    await second.xmpp.send(xml('message', { type: 'chat', to: `alice@${DOMAIN}` }, xml('body', {}, 'redirected, and here')))
    await first.next('bob\'s message', (el) => chatFrom(el, `bob@${DOMAIN}`) === 'redirected, and here')
    const status = full.status().xmpp
    assert.equal(status?.connections, 1)
    assert.equal(status?.domain, DOMAIN)
  })
})
