/**
 * Issue 13, group chat: Jabber clients (xmpp.js) in Chorus rooms through the gateway's Multi-User Chat
 * (XEP-0045), with a native Chorus user in the same room. A bootstrap node, three servers (one runs the
 * gateway) and a client node for carol.
 */

import { strict as assert } from 'node:assert'
import xml from '@xmpp/xml'
import type { Message, RoomMemberEvent, User } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { DOMAIN, JabberClients, MUC_SERVICE, NS_MUC_USER, mucStatus, trustSelfSigned, type JabberClient } from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('XMPP gateway: group chat (XEP-0045) in Chorus rooms, Jabber and native users together', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let untrust: () => void
  let gw: string
  let carol: User
  const carolGot: Message[] = []
  const carolEvents: RoomMemberEvent[] = []
  const clients = new JabberClients()
  let alice: JabberClient
  let bob: JabberClient
  let roomId = ''

  before(async () => {
    untrust = trustSelfSigned()
    mesh = await startMesh({
      servers: 3,
      clients: 1,
      options: (i, role) => role === 'server' && i === 1 ? { xmpp: { listen: '127.0.0.1:0' } } : {}
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    gw = mesh.servers.find((s) => s.xmppAddress() != null)?.xmppAddress() as string
    carol = await mesh.clients[0].openUser('carol')
    carol.on('message', (m) => { carolGot.push(m) })
    carol.on('room:member', (e) => { carolEvents.push(e) })
    alice = await clients.connect(gw, 'alice', { register: true, resource: 'desk' })
    bob = await clients.connect(gw, 'bob', { register: true, resource: 'desk' })
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('the service is discoverable; joining a new name creates the room (201) with the joiner as owner', async () => {
    const items = await alice.iq(xml('iq', { type: 'get', to: DOMAIN }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })))
    assert.ok(items.getChild('query')?.getChildren('item').some((i) => i.attrs.jid === MUC_SERVICE))
    await alice.xmpp.send(xml('presence', { to: `team@${MUC_SERVICE}/ally` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })))
    const self = await alice.next('her own presence in the room', (el) => el.name === 'presence' && el.attrs.from === `team@${MUC_SERVICE}/alice` && mucStatus(el).includes('110'))
    assert.deepEqual(mucStatus(self).sort(), ['110', '201', '210'])
    assert.equal(self.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation, 'owner')
    await alice.next('the subject', (el) => el.name === 'message' && el.attrs.from === `team@${MUC_SERVICE}` && el.getChild('subject') != null)
    const info = await alice.iq(xml('iq', { type: 'get', to: `team@${MUC_SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })))
    assert.equal(info.getChild('query')?.getChild('identity')?.attrs.name, 'team')
  })

  it('invites a native user, who joins; posts and the subject go both ways', async () => {
    await alice.xmpp.send(xml('message', { to: `team@${MUC_SERVICE}` }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: `carol@${DOMAIN}` }))))
    const invite = await waitFor('carol to be invited', () => carolEvents.find((e) => e.action === 'invite')) as RoomMemberEvent
    roomId = invite.room
    await carol.rooms.join(roomId)
    await alice.next('carol\'s presence in the room', (el) => el.name === 'presence' && el.attrs.from === `team@${MUC_SERVICE}/carol`)

    await alice.xmpp.send(xml('message', { type: 'groupchat', to: `team@${MUC_SERVICE}`, id: 'g1' }, xml('body', {}, 'hello room')))
    const reflected = await alice.next('her post reflected', (el) => el.name === 'message' && el.attrs.id === 'g1' && el.attrs.type === 'groupchat')
    assert.equal(reflected.attrs.from, `team@${MUC_SERVICE}/alice`)
    const got = await waitFor('carol to get the post', () => carolGot.find((m) => m.text === 'hello room')) as Message
    assert.equal(got.kind, 'groupchat')
    assert.equal(got.room, roomId)

    await carol.rooms.get(roomId)?.send('hi from Chorus')
    await alice.next('carol\'s post', (el) => el.name === 'message' && el.attrs.from === `team@${MUC_SERVICE}/carol` && el.getChildText('body') === 'hi from Chorus')

    await alice.xmpp.send(xml('message', { type: 'groupchat', to: `team@${MUC_SERVICE}` }, xml('subject', {}, 'plans for Q3')))
    await waitFor('carol to see the new subject', () => carol.rooms.get(roomId)?.subject === 'plans for Q3')
  })

  it('a Jabber user invited by the native user (to team@…) joins by the room id, gets history and subject, and can be kicked', async () => {
    await carol.rooms.get(roomId)?.invite('bob')
    const inv = await bob.next('the mediated invitation', (el) => el.name === 'message' && el.getChild('x', NS_MUC_USER)?.getChild('invite') != null)
    assert.equal(inv.attrs.from, `team@${MUC_SERVICE}`, 'the invitation names the room by its address')
    await bob.xmpp.send(xml('presence', { to: `${roomId}@${MUC_SERVICE}/bob` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '10' }))))
    await bob.next('his own presence', (el) => el.name === 'presence' && el.attrs.from === `${roomId}@${MUC_SERVICE}/bob` && mucStatus(el).includes('110'))
    const old = await bob.next('history with delay', (el) => el.name === 'message' && el.getChildText('body') === 'hello room')
    assert.ok(old.getChild('delay', 'urn:xmpp:delay') != null)
    const subject = await bob.next('the subject', (el) => el.name === 'message' && el.getChild('subject') != null)
    assert.equal(subject.getChildText('subject'), 'plans for Q3')
    await alice.next('bob joining', (el) => el.name === 'presence' && el.attrs.from === `team@${MUC_SERVICE}/bob`)

    await alice.iq(xml('iq', { type: 'set', to: `team@${MUC_SERVICE}` }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { nick: 'bob', role: 'none' }))))
    const out = await bob.next('his removal', (el) => el.name === 'presence' && el.attrs.type === 'unavailable' && mucStatus(el).includes('307'))
    assert.ok(mucStatus(out).includes('110'))
    await waitFor('carol to see bob kicked', () => carolEvents.find((e) => e.action === 'kick' && e.member === 'bob'))
  })
})
