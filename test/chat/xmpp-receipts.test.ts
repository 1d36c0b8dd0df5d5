/**
 * Issue 21, item 3: delivery receipts (XEP-0184) in a burst. A Jabber user sends messages back to back,
 * each asking a receipt, to a Jabber user with a resource on each of two gateways (two Chorus sessions,
 * so two "delivered" receipts per message) and to a native Chorus user. Every receipt asked for must come
 * back under the client's id, exactly once, also when it comes before the send is acknowledged: the
 * owners here hold every chat envelope's STORE until the sender's session has seen the receipts.
 */

import { strict as assert } from 'node:assert'
import xml from '@xmpp/xml'
import type { Element } from '@xmpp/xml'
import type { ChorusNode } from '../../node/index.js'
import type { ReceiptEvent } from '../../node/session/events.js'
import { Envelope } from '../../protocol/envelope.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import type { StoreHandler } from '../../node/replication/context.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { DOMAIN, JabberClients, chatFrom, trustSelfSigned, type JabberClient } from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const BURST = 30

/** The ids of the `<received>` receipts `c` got, each as often as it came. */
function received (c: JabberClient): string[] {
  return c.stanzas.map((el: Element) => el.getChild('received', 'urn:xmpp:receipts')?.attrs.id as string | undefined)
    .filter((id): id is string => id != null)
}

/** How often each id is in `ids`. */
function tally (ids: string[]): Map<string, number> {
  const t = new Map<string, number>()
  for (const id of ids) t.set(id, (t.get(id) ?? 0) + 1)
  return t
}

/** The ids of `ids` that `c` did not get a receipt for exactly once, each with how often it did. */
function notOnce (c: JabberClient, ids: string[]): string[] {
  const counts = tally(received(c))
  return ids.filter((id) => counts.get(id) !== 1).map((id) => `${id}×${counts.get(id) ?? 0}`)
}

describe('XMPP gateway: every receipt asked for in a burst comes back once, under the client\'s id', function () {
  this.timeout(scaled(180_000))
  let mesh: Mesh
  let untrust: () => void
  let gateway1: ChorusNode
  let gw1: string
  let gw2: string
  const clients = new JabberClients()

  /**
   * Make every server hold the STORE of chat envelopes until `release` resolves: the send is then
   * acknowledged only after the live copy was delivered and its receipt came back. Returns the undo.
   */
  const holdChatStores = (release: Promise<void>): () => void => {
    const undo: Array<() => void> = []
    for (const s of mesh.servers) {
      const server = s.replication.server
      if (server == null) continue
      const honest = server.handlers[StoreRequest.Kind.STORE] as StoreHandler
      const held: StoreHandler = async (req, from, ctx) => {
        if (req.puts.some((p) => Envelope.decode(p.envelope).kind === Envelope.Kind.CHAT)) await release
        return await honest(req, from, ctx)
      }
      server.handlers[StoreRequest.Kind.STORE] = held
      undo.push(() => { server.handlers[StoreRequest.Kind.STORE] = honest })
    }
    return () => { for (const u of undo) u() }
  }

  before(async () => {
    untrust = trustSelfSigned()
    const gateway = { xmpp: { listen: '127.0.0.1:0' } }
    mesh = await startMesh({ servers: 5, clients: 1, options: (i, role) => role === 'server' && i <= 2 ? gateway : {} })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    const gateways = mesh.servers.filter((s: ChorusNode) => s.xmppAddress() != null)
    assert.equal(gateways.length, 2)
    gateway1 = gateways[0]
    gw1 = gateways[0].xmppAddress() as string
    gw2 = gateways[1].xmppAddress() as string
    await mesh.clients[0].openUser('carol') // carol exists: tests send to her
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  /**
   * Alice sends BURST messages back to back to `to`, each asking a receipt, while the owners hold the
   * chat envelopes' STOREs until her session has seen `perMessage` delivered receipts for each.
   */
  const burst = async (alice: JabberClient, to: string, tag: string, perMessage: number): Promise<string[]> => {
    const session = await gateway1.openUser('alice') // the gateway's session of alice
    const seen: string[] = []
    const onReceipt = (r: ReceiptEvent): void => {
      if (r.status === 'delivered' && r.by === to) seen.push(r.id)
    }
    session.on('receipt', onReceipt)
    let release = (): void => {}
    const undo = holdChatStores(new Promise<void>((resolve) => { release = resolve }))
    const ids = Array.from({ length: BURST }, (_, i) => `${tag}-${i}`)
    try {
      for (const id of ids) {
        void alice.xmpp.send(xml('message', { type: 'chat', to: `${to}@${DOMAIN}`, id }, xml('body', {}, `burst ${id}`),
          xml('request', { xmlns: 'urn:xmpp:receipts' })))
      }
      await waitFor(`alice's session to see ${perMessage} delivered receipts of each message`, () => {
        const t = tally(seen)
        return t.size >= BURST && [...t.values()].every((n) => n >= perMessage)
      })
    } finally {
      release()
      undo()
      session.off('receipt', onReceipt)
    }
    // the receipts the session saw have been mapped and written by now: a ping's answer comes after them
    await alice.iq(xml('iq', { type: 'get', to: DOMAIN }, xml('ping', { xmlns: 'urn:xmpp:ping' })))
    return ids
  }

  it('to a Jabber user on two gateways, receipts that beat the send\'s acknowledgement: each once', async () => {
    const alice = await clients.connect(gw1, 'alice', { register: true, resource: 'laptop' })
    const phone = await clients.connect(gw2, 'bob', { register: true, resource: 'phone' })
    const laptop = await clients.connect(gw1, 'bob', { resource: 'laptop' })
    for (const c of [alice, phone, laptop]) await c.xmpp.send(xml('presence'))
    // bob's client answers each request, as clients do (the gateway drops these: Chorus sent "delivered")
    phone.xmpp.on('stanza', (el: Element) => {
      if (el.name === 'message' && el.getChild('request', 'urn:xmpp:receipts') != null) {
        const id = String(el.attrs.id)
        void phone.xmpp.send(xml('message', { to: String(el.attrs.from), id: `ack-${id}` },
          xml('received', { xmlns: 'urn:xmpp:receipts', id })))
      }
    })
    const ids = await burst(alice, 'bob', 'b', 2)
    const burstOf = (c: JabberClient): Element[] =>
      c.stanzas.filter((el) => chatFrom(el, `alice@${DOMAIN}`)?.startsWith('burst b-') === true)
    await waitFor('bob to get the burst on both resources', () =>
      [phone, laptop].every((c) => burstOf(c).length === BURST))
    assert.deepEqual(notOnce(alice, ids), [], 'each receipt once')
  })

  it('to a native Chorus user: each requested receipt once', async () => {
    const alice = clients.connected[0]
    const ids = await burst(alice, 'carol', 'c', 1)
    assert.deepEqual(notOnce(alice, ids), [], 'each receipt once')
  })
})
