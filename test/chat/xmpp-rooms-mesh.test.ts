/**
 * Issue 21, items 4 and 5: a room JID is one room on every gateway, and a room's owner configures it with
 * the XEP-0045 owner form. xmpp.js clients on two gateways of a 3-server mesh (ann on one, ben and carl on
 * the other) and a native Chorus user (dora) on a client node.
 */

import { strict as assert } from 'node:assert'
import xml, { type Element } from '@xmpp/xml'
import type { User } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import {
  DOMAIN, JabberClients, MUC_SERVICE, NS_MUC_USER, errorCondition, iqRefusal, joinRoom, mucItem, mucStatus,
  trustSelfSigned, type JabberClient
} from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const MUC_OWNER = 'http://jabber.org/protocol/muc#owner'
const DISCO_INFO = 'http://jabber.org/protocol/disco#info'
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
const DATA = 'jabber:x:data'

/** A submitted owner form with these fields. */
const submit = (room: string, fields: Record<string, string>): Element =>
  xml('iq', { type: 'set', to: `${room}@${MUC_SERVICE}` }, xml('query', { xmlns: MUC_OWNER },
    xml('x', { xmlns: DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
      ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))))))

describe('XMPP gateway: room addresses are mesh-wide, and owners configure rooms (XEP-0045 §10)', function () {
  this.timeout(scaled(180_000))
  let mesh: Mesh
  let untrust: () => void
  let gwA: string
  let gwB: string
  let dora: User
  const clients = new JabberClients()
  let ann: JabberClient
  let ben: JabberClient
  let carl: JabberClient

  before(async () => {
    untrust = trustSelfSigned()
    const gateway = { xmpp: { listen: '127.0.0.1:0' } }
    mesh = await startMesh({ servers: 3, clients: 1, options: (i, role) => role === 'server' && i <= 2 ? gateway : {} })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    ;[gwA, gwB] = mesh.servers.map((s) => s.xmppAddress()).filter((a): a is string => a != null)
    dora = await mesh.clients[0].openUser('dora')
    ann = await clients.connect(gwA, 'ann', { register: true, resource: 'laptop' })
    ben = await clients.connect(gwB, 'ben', { register: true, resource: 'phone' })
    carl = await clients.connect(gwB, 'carl', { register: true, resource: 'desk' })
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('team@conference is one room on every gateway: the first joiner creates it, a joiner elsewhere joins it', async () => {
    const own = await joinRoom(ann, 'team', 'ann')
    assert.deepEqual(mucStatus(own).sort(), ['110', '201'])
    assert.equal(mucItem(own).affiliation, 'owner')

    const bens = await joinRoom(ben, 'team', 'ben')
    assert.deepEqual(mucStatus(bens), ['110'], 'ben joins ann\'s room: no second room (201) for him')
    assert.equal(mucItem(bens).affiliation, 'member')
    assert.ok(ben.stanzas.some((el) => el.name === 'presence' && el.attrs.from === `team@${MUC_SERVICE}/ann` && mucItem(el).affiliation === 'owner'), 'ben sees ann, the owner')
    await ann.next('ben joining, seen on the other gateway', (el) => el.name === 'presence' && el.attrs.from === `team@${MUC_SERVICE}/ben`)

    await ben.xmpp.send(xml('message', { type: 'groupchat', to: `team@${MUC_SERVICE}` }, xml('body', {}, 'hello from the other gateway')))
    await ann.next('ben\'s post', (el) => el.name === 'message' && el.attrs.from === `team@${MUC_SERVICE}/ben` && el.getChildText('body') === 'hello from the other gateway')
  })

  it('an invitation names the room by its address; the room id is still accepted; a native user finds it by address', async () => {
    await ann.xmpp.send(xml('message', { to: `team@${MUC_SERVICE}` }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: `carl@${DOMAIN}` }))))
    const inv = await carl.next('the mediated invitation', (el) => el.name === 'message' && el.getChild('x', NS_MUC_USER)?.getChild('invite') != null)
    assert.equal(inv.attrs.from, `team@${MUC_SERVICE}`)
    assert.equal(inv.getChild('x', NS_MUC_USER)?.getChild('invite')?.attrs.from, `ann@${DOMAIN}`)

    const { roomId } = await dora.rooms.resolve('team')
    assert.match(roomId, /^[a-z2-7]{16}$/)
    const room = await dora.rooms.join(roomId)
    assert.equal(room.address, 'team')
    const byId = await joinRoom(carl, roomId, 'carl')
    assert.deepEqual(mucStatus(byId), ['110'])
    assert.ok(carl.stanzas.some((el) => el.name === 'presence' && el.attrs.from === `${roomId}@${MUC_SERVICE}/dora`), 'carl, joined by id, hears the room under the id')
  })

  it('disco#items of the conference service lists the listed rooms of the whole mesh; a hidden one is not listed', async () => {
    // carl's session has not listed rooms yet (the list is kept 30 s per session)
    await joinRoom(ann, 'backroom', 'ann')
    await ann.iq(submit('backroom', { 'muc#roomconfig_publicroom': '0' }))
    const items = await carl.iq(xml('iq', { type: 'get', to: MUC_SERVICE }, xml('query', { xmlns: DISCO_ITEMS })))
    const listed = items.getChild('query')?.getChildren('item').map((i) => String(i.attrs.jid)) ?? []
    assert.ok(listed.includes(`team@${MUC_SERVICE}`), `team is listed: ${listed.join(', ')}`)
    assert.ok(!listed.includes(`backroom@${MUC_SERVICE}`), 'the hidden room is not')
    const service = await carl.iq(xml('iq', { type: 'get', to: MUC_SERVICE }, xml('query', { xmlns: DISCO_INFO })))
    assert.ok(service.getChild('query')?.getChildren('feature').some((f) => f.attrs.var === DISCO_ITEMS))
  })

  it('the owner gets and submits the configuration form; members see status 104 and the new settings', async () => {
    const form = await ann.iq(xml('iq', { type: 'get', to: `team@${MUC_SERVICE}` }, xml('query', { xmlns: MUC_OWNER })))
    const fields = new Map(
      form.getChild('query')?.getChild('x', DATA)?.getChildren('field').map((f) => [String(f.attrs.var), f.getChildText('value')])
    )
    for (const v of ['muc#roomconfig_roomname', 'muc#roomconfig_roomdesc', 'muc#roomconfig_membersonly', 'muc#roomconfig_publicroom',
      'muc#roomconfig_persistentroom', 'muc#roomconfig_moderatedroom', 'muc#roomconfig_allowinvites']) assert.ok(fields.has(v), `the form has ${v}`)
    assert.equal(fields.get('muc#roomconfig_roomname'), 'team')
    assert.equal(fields.get('muc#roomconfig_publicroom'), '1')
    assert.equal(fields.get('muc#roomconfig_membersonly'), '0')

    assert.equal(await iqRefusal(ben, xml('iq', { type: 'get', to: `team@${MUC_SERVICE}` }, xml('query', { xmlns: MUC_OWNER }))), 'forbidden', 'a member is no owner')
    assert.equal(await iqRefusal(ann, submit('team', { 'muc#roomconfig_persistentroom': '0' })), 'not-acceptable', 'a Chorus room is persistent')
    assert.equal(await iqRefusal(ann, submit('team', { 'muc#roomconfig_moderatedroom': 'maybe' })), 'not-acceptable')

    await ann.iq(submit('team', { 'muc#roomconfig_roomname': 'The team', 'muc#roomconfig_roomdesc': 'where we plan', 'muc#roomconfig_moderatedroom': '1', 'muc#roomconfig_allowinvites': '0' }))
    await ben.next('status 104: the configuration changed', (el) => el.name === 'message' && el.attrs.from === `team@${MUC_SERVICE}` && mucStatus(el).includes('104'))
    const info = await carl.iq(xml('iq', { type: 'get', to: `team@${MUC_SERVICE}` }, xml('query', { xmlns: DISCO_INFO })))
    const q = info.getChild('query') as Element
    assert.equal(q.getChild('identity')?.attrs.name, 'The team')
    const features = q.getChildren('feature').map((f) => String(f.attrs.var))
    for (const f of ['muc_moderated', 'muc_public', 'muc_open', 'muc_persistent']) assert.ok(features.includes(f), `disco#info has ${f}: ${features.join(', ')}`)
    const desc = q.getChild('x', DATA)?.getChildren('field').find((f) => f.attrs.var === 'muc#roominfo_description')
    assert.equal(desc?.getChildText('value'), 'where we plan')
    await waitFor('dora to see the settings', () => dora.rooms.get((dora.rooms.list()[0]).id)?.settings.moderated === true)
  })

  it('a moderated room takes posts from its owners and admins only; members-only keeps strangers out', async () => {
    await ben.xmpp.send(xml('message', { type: 'groupchat', to: `team@${MUC_SERVICE}`, id: 'no-voice' }, xml('body', {}, 'may I?')))
    const err = await ben.next('the refusal', (el) => el.name === 'message' && el.attrs.id === 'no-voice' && el.attrs.type === 'error')
    assert.equal(errorCondition(err), 'forbidden')
    const room = dora.rooms.list()[0]
    await assert.rejects(room.send('me neither'), (e: Error) => e.name === 'ForbiddenError', 'the owners refuse a member\'s post in a moderated room')
    await ann.xmpp.send(xml('message', { type: 'groupchat', to: `team@${MUC_SERVICE}` }, xml('body', {}, 'announcement')))
    await ben.next('the owner\'s post', (el) => el.name === 'message' && el.attrs.from === `team@${MUC_SERVICE}/ann` && el.getChildText('body') === 'announcement')

    await ann.iq(submit('team', { 'muc#roomconfig_membersonly': '1' }))
    const stranger = await clients.connect(gwB, 'erin', { register: true })
    const out = await joinRoom(stranger, 'team', 'erin')
    assert.equal(out.attrs.type, 'error')
    assert.equal(errorCondition(out), 'registration-required')
  })

  it('an instant room: the creator accepts the defaults with an empty submit', async () => {
    const own = await joinRoom(carl, 'quick', 'carl')
    assert.ok(mucStatus(own).includes('201'))
    await carl.iq(xml('iq', { type: 'set', to: `quick@${MUC_SERVICE}` }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'submit' }))))
    const info = await ann.iq(xml('iq', { type: 'get', to: `quick@${MUC_SERVICE}` }, xml('query', { xmlns: DISCO_INFO })))
    const features = info.getChild('query')?.getChildren('feature').map((f) => String(f.attrs.var)) ?? []
    assert.ok(features.includes('muc_open') && features.includes('muc_public') && features.includes('muc_unmoderated'))
  })
})
