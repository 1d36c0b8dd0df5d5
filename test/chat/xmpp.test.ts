/**
 * Issue 13: Jabber clients on the mesh. A bootstrap node, five servers (two of them run the XMPP
 * gateway) and a client node hosting a native Chorus user, carol, all real libp2p nodes on loopback.
 * The Jabber side is xmpp.js (`@xmpp/client`), a third-party library, over TCP with STARTTLS (required:
 * the gateways run without `allowPlaintext`), and a raw socket for what no library sends.
 */

import { strict as assert } from 'node:assert'
import xml from '@xmpp/xml'
import type { ChorusNode, Message, User } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import {
  DOMAIN, JabberClients, chatFrom, dropConnection, errorsWith, failedWith, floodWithPings, streamError, trustSelfSigned,
  type JabberClient
} from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('XMPP gateway: Jabber clients chat on the mesh (xmpp.js over STARTTLS; 5 servers, 2 gateways)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let untrust: () => void
  let gw1: string
  let gw2: string
  let gateway2: ChorusNode
  let carol: User
  const carolGot: Message[] = []
  const clients = new JabberClients()

  before(async () => {
    untrust = trustSelfSigned()
    // gateway 2 closes an account's session 300 ms after its last resource left; gateway 1 keeps it a minute
    mesh = await startMesh({
      servers: 5,
      clients: 1,
      options: (i, role) => role === 'server' && i <= 2 ? { xmpp: { listen: '127.0.0.1:0', lingerMs: i === 2 ? 300 : 60_000 } } : {}
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    const gateways = mesh.servers.filter((s: ChorusNode) => s.xmppAddress() != null)
    assert.equal(gateways.length, 2)
    gw1 = gateways[0].xmppAddress() as string
    gw2 = gateways[1].xmppAddress() as string
    gateway2 = gateways[1]
    assert.equal(gateway2.options.xmpp?.lingerMs, 300)
    carol = await mesh.clients[0].openUser('carol')
    carol.on('message', (m) => { carolGot.push(m) })
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('registers in band, logs in with SCRAM over STARTTLS, binds, and answers ping and service discovery', async () => {
    const alice = await clients.connect(gw1, 'alice', { register: true, resource: 'laptop' })
    assert.equal(alice.jid, `alice@${DOMAIN}/laptop`)
    assert.equal(alice.xmpp.socket?.secure, true, 'the stream runs over TLS')
    await alice.iq(xml('iq', { type: 'get', to: DOMAIN }, xml('ping', { xmlns: 'urn:xmpp:ping' })))
    const info = await alice.iq(xml('iq', { type: 'get', to: DOMAIN }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })))
    const query = info.getChild('query') as any
    assert.equal(query.getChild('identity').attrs.category, 'server')
    const features = query.getChildren('feature').map((f: any) => f.attrs.var)
    for (const f of ['urn:xmpp:ping', 'jabber:iq:roster', 'jabber:iq:last']) assert.ok(features.includes(f), f)
  })

  it('a Jabber user and a native Chorus user chat both ways', async () => {
    const alice = clients.connected[0]
    await alice.xmpp.send(xml('presence'))
    await alice.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}`, id: 'm1' }, xml('body', {}, 'hi carol, from Jabber')))
    const m = await waitFor('carol to get alice\'s message', () => carolGot.find((x) => x.text === 'hi carol, from Jabber')) as Message
    assert.equal(m.from, 'alice')
    assert.equal(m.kind, 'chat')
    const sent = await carol.send('alice', 'hi alice, from Chorus')
    const got = await alice.next('carol\'s reply', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'hi alice, from Chorus')
    assert.equal(got.attrs.type, 'chat')
    assert.equal(got.attrs.id, sent.id)
    assert.equal(got.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id, sent.id)
    // a message to nobody bounces, as a Jabber server bounces it
    await alice.xmpp.send(xml('message', { type: 'chat', to: `nobody@${DOMAIN}`, id: 'lost' }, xml('body', {}, 'anyone?')))
    const bounce = await alice.next('the bounce', (el) => el.name === 'message' && el.attrs.type === 'error' && el.attrs.id === 'lost')
    assert.ok(bounce.getChild('error')?.getChild('item-not-found') != null)
  })

  it('two Jabber users on different gateway nodes subscribe, see presence and last activity, and chat', async () => {
    const alice = clients.connected[0]
    const bob = await clients.connect(gw2, 'bob', { register: true })
    await bob.xmpp.send(xml('presence', {}, xml('show', {}, 'dnd'), xml('status', {}, 'in a meeting')))
    await alice.xmpp.send(xml('presence', { type: 'subscribe', to: `bob@${DOMAIN}` }))
    await bob.next('alice\'s subscription request', (el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === `alice@${DOMAIN}`)
    await bob.xmpp.send(xml('presence', { type: 'subscribed', to: `alice@${DOMAIN}` }))
    const seen = await alice.next('bob\'s presence',
      (el) => el.name === 'presence' && el.attrs.type == null && String(el.attrs.from).startsWith(`bob@${DOMAIN}`))
    assert.equal(seen.getChildText('show'), 'dnd')
    assert.equal(seen.getChildText('status'), 'in a meeting')
    // roster pushes (RFC 6121 §2.1.6): first the pending request, then the subscription once bob approved
    await alice.next('a roster push of the pending request', (el) => el.name === 'iq' && el.attrs.type === 'set' &&
      el.getChild('query', 'jabber:iq:roster')?.getChild('item')?.attrs.ask === 'subscribe')
    await alice.next('a roster push of the subscription', (el) => el.name === 'iq' && el.attrs.type === 'set' &&
      ['to', 'both'].includes(String(el.getChild('query', 'jabber:iq:roster')?.getChild('item')?.attrs.subscription)))
    const roster = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })))
    assert.ok(
      roster.getChild('query')?.getChildren('item').some(
        (i) => i.attrs.jid === `bob@${DOMAIN}` && ['to', 'both'].includes(String(i.attrs.subscription))
      )
    )
    // a resource's initial presence brings the presence of the contacts it sees, at once
    const second = await clients.connect(gw1, 'alice', { resource: 'second' })
    await second.xmpp.send(xml('presence'))
    const known = await second.next('bob\'s current presence', (el) => el.name === 'presence' && String(el.attrs.from).startsWith(`bob@${DOMAIN}`))
    assert.equal(known.getChildText('show'), 'dnd')
    await second.stop()
    const last = await alice.iq(xml('iq', { type: 'get', to: `bob@${DOMAIN}` }, xml('query', { xmlns: 'jabber:iq:last' })))
    assert.equal(last.getChild('query')?.attrs.seconds, '0')

    await alice.xmpp.send(xml('message', { type: 'chat', to: `bob@${DOMAIN}` }, xml('body', {}, 'across two gateways')))
    await bob.next('alice\'s message', (el) => chatFrom(el, `alice@${DOMAIN}`) === 'across two gateways')
    await bob.xmpp.send(xml('message', { type: 'chat', to: `alice@${DOMAIN}` }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })))
    await alice.next('bob typing', (el) => el.name === 'message' && el.getChild('composing', 'http://jabber.org/protocol/chatstates') != null && String(el.attrs.from).startsWith('bob@'))
  })

  it('what is sent while a Jabber user is away arrives at its next login, whether its session had closed or not', async () => {
    // bob's gateway closes his session soon after he leaves: the message waits in his mailbox at its owners
    const bob = clients.connected.find((c) => c.jid.startsWith('bob@')) as JabberClient
    await bob.stop()
    await waitFor('bob\'s session on gateway 2 to close', () => gateway2.gateway?.stats().accounts === 0)
    await carol.send('bob', 'while you were away')
    const back = await clients.connect(gw2, 'bob', { resource: 'phone' })
    await back.next('the message sent while offline', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'while you were away')

    // dave's gateway keeps his session a while after he leaves: what comes meanwhile waits for his next resource
    const dave = await clients.connect(gw1, 'dave', { register: true })
    await dave.stop()
    await carol.send('dave', 'while your session lingered')
    const daveBack = await clients.connect(gw1, 'dave')
    await daveBack.next('the message sent while away', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'while your session lingered')
  })

  it('an account logs in through any gateway; every resource, on either, gets the messages to its bare JID', async () => {
    // bob registered through gateway 2: his account is at his handle's owners, so gateway 1 logs him in too
    const phone = clients.connected.find((c) => c.jid === `bob@${DOMAIN}/phone`) as JabberClient
    const tablet = await clients.connect(gw2, 'bob', { resource: 'tablet' })
    const laptop = await clients.connect(gw1, 'bob', { resource: 'laptop' })
    assert.equal(laptop.jid, `bob@${DOMAIN}/laptop`)
    await carol.send('bob', 'to every resource')
    for (const c of [phone, tablet, laptop]) await c.next('a message to the bare JID', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'to every resource')
    await assert.rejects(clients.connect(gw1, 'bob', { password: 'not bob\'s password' }), failedWith('not-authorized'))
  })

  it('delivery receipts and read markers map onto Chorus receipts; carbons copy what one resource sends to another', async () => {
    const phone = clients.connected.find((c) => c.jid === `bob@${DOMAIN}/phone`) as JabberClient
    const tablet = clients.connected.find((c) => c.jid === `bob@${DOMAIN}/tablet`) as JabberClient
    await tablet.iq(xml('iq', { type: 'set' }, xml('enable', { xmlns: 'urn:xmpp:carbons:2' })))
    const receipts: Array<{ id: string, status: string }> = []
    carol.on('receipt', (r) => { receipts.push({ id: r.id, status: r.status }) })

    await phone.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}`, id: 'r1' }, xml('body', {}, 'receipt please'),
      xml('request', { xmlns: 'urn:xmpp:receipts' }), xml('markable', { xmlns: 'urn:xmpp:chat-markers:0' })))
    const copy = await tablet.next('the carbon of the phone\'s message', (el) => el.getChild('sent', 'urn:xmpp:carbons:2') != null)
    assert.equal(copy.getChild('sent')?.getChild('forwarded')?.getChild('message')?.getChildText('body'), 'receipt please')
    const got = await waitFor('carol to get the message', () => carolGot.find((m) => m.text === 'receipt please')) as Message
    await phone.next('the delivery receipt under the client\'s id', (el) => el.getChild('received', 'urn:xmpp:receipts')?.attrs.id === 'r1')
    carol.markRead(got)
    const shown = await phone.next('the displayed marker', (el) => el.getChild('displayed', 'urn:xmpp:chat-markers:0')?.attrs.id === 'r1')
    assert.equal(String(shown.attrs.from).split('/')[0], `carol@${DOMAIN}`)

    // and the other way: bob's client marks carol's message displayed, carol sees it read
    const sent = await carol.send('bob', 'mark me read')
    const m = await phone.next('carol\'s message', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'mark me read')
    assert.ok(m.getChild('markable', 'urn:xmpp:chat-markers:0') != null)
    await phone.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}` }, xml('displayed', { xmlns: 'urn:xmpp:chat-markers:0', id: String(m.attrs.id) })))
    await waitFor('carol to see her message read', () => receipts.find((r) => r.id === sent.id && r.status === 'read'))
  })

  it('reads the replicated archive (XEP-0313): one conversation, paged backwards with RSM', async () => {
    const erin = await clients.connect(gw1, 'erin', { register: true })
    for (let i = 1; i <= 3; i++) {
      await erin.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}` }, xml('body', {}, `e${i}`)))
      await waitFor(`carol to get e${i}`, () => carolGot.find((m) => m.text === `e${i}`))
      await carol.send('erin', `c${i}`)
      await erin.next(`c${i}`, (el) => chatFrom(el, `carol@${DOMAIN}`) === `c${i}`)
    }
    const page = async (before: string): Promise<{ bodies: string[], first: string, complete: string }> => {
      const queryid = `q${before.length}`
      const fin = await erin.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'urn:xmpp:mam:2', queryid },
        xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp:mam:2')), xml('field', { var: 'with' }, xml('value', {}, `carol@${DOMAIN}`))),
        xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '4'), xml('before', {}, before)))))
      const results = erin.stanzas.filter((el) => el.getChild('result', 'urn:xmpp:mam:2')?.attrs.queryid === queryid)
      const bodies = results.map((el) => el.getChild('result')?.getChild('forwarded')?.getChild('message')?.getChildText('body') ?? '')
      const f = fin.getChild('fin', 'urn:xmpp:mam:2')
      return { bodies, first: f?.getChild('set')?.getChildText('first') ?? '', complete: String(f?.attrs.complete) }
    }
    const last = await page('')
    assert.deepEqual(last.bodies, ['c1', 'e2', 'c2', 'e3', 'c3'].slice(-4))
    const earlier = await page(last.first)
    assert.deepEqual(earlier.bodies, ['e1', 'c1', 'e2', 'c2', 'e3', 'c3'].slice(0, 2))
    assert.equal(earlier.complete, 'true')
  })

  it('stream management (XEP-0198): a dropped TCP connection resumes, and no message is lost or shown twice', async () => {
    const frank = await clients.connect(gw2, 'frank', { register: true, reconnect: true })
    await waitFor('stream management to be enabled', () => frank.xmpp.streamManagement.enabled && frank.xmpp.streamManagement.id !== '')
    let resumed = 0
    frank.xmpp.streamManagement.on('resumed', () => { resumed++ })
    await carol.send('frank', 'before the drop')
    await frank.next('the first message', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'before the drop')
    // the client's TCP connection dies under it (no stream close): xmpp.js reconnects and resumes
    dropConnection(frank)
    for (let i = 1; i <= 3; i++) await carol.send('frank', `during the drop ${i}`)
    await waitFor('the stream to resume', () => resumed > 0, { timeoutMs: scaled(30_000) })
    for (let i = 1; i <= 3; i++) await frank.next(`message ${i} sent during the drop`, (el) => chatFrom(el, `carol@${DOMAIN}`) === `during the drop ${i}`)
    await carol.send('frank', 'after the resume')
    await frank.next('a message after the resume', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'after the resume')
    const bodies = frank.stanzas.map((el) => chatFrom(el, `carol@${DOMAIN}`)).filter((b): b is string => b != null)
    assert.deepEqual(bodies, ['before the drop', 'during the drop 1', 'during the drop 2', 'during the drop 3', 'after the resume'])
    assert.equal(frank.jid, `frank@${DOMAIN}/test`, 'the same resource, resumed')
  })

  it('refuses a taken handle (conflict) and a wrong password (not-authorized; three and the stream ends)', async () => {
    await assert.rejects(clients.connect(gw1, 'carol', { register: true }), failedWith('conflict'))
    await assert.rejects(clients.connect(gw1, 'alice', { password: 'not the password' }), failedWith('not-authorized'))

    const r = await clients.raw(gw1)
    await r.header()
    assert.match(r.received, /<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"><required\/><\/starttls>/)
    assert.doesNotMatch(r.received, /<mechanisms/, 'no SASL mechanism before STARTTLS')
    // no login without TLS on a gateway that requires it
    r.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\u0000alice\u0000x').toString('base64')}</auth>`)
    await r.until('a policy-violation stream error', /<policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/)
    await r.closedByServer()

    // over TLS, PLAIN is offered too; three wrong passwords and the gateway ends the stream
    const t = await clients.raw(gw1)
    await t.header()
    await t.startTls()
    assert.match(t.received, /<mechanism>SCRAM-SHA-256<\/mechanism><mechanism>SCRAM-SHA-1<\/mechanism><mechanism>PLAIN<\/mechanism>/)
    for (let i = 1; i <= 3; i++) {
      t.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\u0000alice\u0000guess ${i}`).toString('base64')}</auth>`)
      await t.until(`failure ${i}`, new RegExp(`(<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized/>.*){${i}}`, 's'))
    }
    await t.until('a not-authorized stream error', streamError('not-authorized'))
    await t.closedByServer()
  })

  it('a client that ends its stream with a stream error of its own gets the stream closed, and no error back', async () => {
    const node = mesh.servers.find((s: ChorusNode) => s.xmppAddress() === gw1) as ChorusNode
    const before = node.gateway?.stats().rejected['client-stream-error'] ?? 0
    const r = await clients.raw(gw1)
    await r.header()
    const features = r.received.length
    // what slixmpp sends after a parse error of its own
    r.send("<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>")
    await r.closedByServer()
    assert.doesNotMatch(r.received.slice(features), /<stream:error>/)
    assert.equal(node.gateway?.stats().rejected['client-stream-error'], before + 1)
  })

  it('malformed XML, an oversized stanza, a DOCTYPE and a stanza flood get their errors; the others keep chatting', async () => {
    const alice = clients.connected[0]
    // [what is sent, the stream error, whether a stream is opened first]
    const cases: Array<[string, string, boolean]> = [
      ['<message><body>x</mess>', 'not-well-formed', true],
      [`<iq type='get'>${'x'.repeat(300 * 1024)}</iq>`, 'policy-violation', true],
      ["<!DOCTYPE lol [<!ENTITY lol 'lol'>]>", 'restricted-xml', false],
      ["<!DOCTYPE lol [<!ENTITY lol 'lol'>]>", 'not-well-formed', true],
      ["<stream:stream to='elsewhere.example' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", 'host-unknown', false]
    ]
    for (const [input, condition, header] of cases) {
      const r = await clients.raw(gw1)
      if (header) await r.header()
      r.send(input)
      await r.until(condition, new RegExp(`<${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>`))
      await r.closedByServer()
    }
    // a flood of pings past the connection's burst: the excess is answered policy-violation, the stream stays
    const flooder = await clients.connect(gw1, 'alice', { resource: 'flood' })
    await floodWithPings(flooder, 700)
    const refused = errorsWith(flooder, 'policy-violation')
    assert.ok(refused.length >= 100, `${refused.length} pings refused`)
    await flooder.iq(xml('iq', { type: 'get', to: DOMAIN }, xml('ping', { xmlns: 'urn:xmpp:ping' }))).catch(() => {})

    await alice.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}` }, xml('body', {}, 'still here')))
    await waitFor('carol to get alice\'s message after the abuse', () => carolGot.find((x) => x.text === 'still here'))
  })
})
