/**
 * XMPP over WebSocket (RFC 7395) at `/xmpp-websocket` on a node's HTTP listener. A bootstrap node (with
 * an HTTP listener and no gateway), three servers and a client node hosting a native Chorus user, carol,
 * all real libp2p nodes on loopback: server 1 runs the gateway (plaintext logins allowed: its HTTP
 * listener has no TLS) with a low stanza rate, server 2 a gateway that takes two connections at most,
 * server 3 a gateway that requires TLS, which a WebSocket here never has.
 *
 * xmpp.js (`@xmpp/client`) logs in over a WebSocket and chats with an xmpp.js user over TCP (STARTTLS)
 * and with carol; its stream resumes after the WebSocket drops (XEP-0198). Raw WebSockets send what no
 * library sends: each gets its stream error, then `<close/>`, and the others keep chatting.
 */

import { strict as assert } from 'node:assert'
import xml from '@xmpp/xml'
import { WebSocket as WsClient } from 'ws'
import type { ChorusNode, Message, User } from '../../node/index.js'
import { selfSignedPems } from '../../node/xmpp/certificate.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import {
  DOMAIN, JabberClients, NS_FRAMING, WEBSOCKET_PATH, chatFrom, dropConnection, errorsWith, floodWithPings,
  trustSelfSigned, type JabberClient, type RawXmppWebSocket
} from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const NS_STREAMS = 'http://etherx.jabber.org/streams'
/** The stream error, then the close, each a message of its own (RFC 7395 §3.6.2). */
const streamError = (condition: string): RegExp =>
  new RegExp(`^<stream:error xmlns:stream="${NS_STREAMS}"><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>.*</stream:error>\\n<close xmlns="${NS_FRAMING}"/>$`, 'm')

describe('XMPP over WebSocket (RFC 7395): xmpp.js and raw WebSockets on the HTTP listener', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let untrust: () => void
  let gateway: ChorusNode
  /**
   * the gateway's HTTP listener and XMPP port; the small gateway's; the TLS-only gateway's; a node's without a gateway
   */
  let http: string
  let tcp: string
  let smallHttp: string
  let tlsOnlyHttp: string
  let plainHttp: string
  let carol: User
  const carolGot: Message[] = []
  const clients = new JabberClients()

  const rawWs = async (address = http): Promise<RawXmppWebSocket> => await clients.rawWebSocket(address)
  /** An upgrade the listener refuses: the HTTP status it answers with. */
  const refusedWith = async (url: string, protocols: string[]): Promise<number> => {
    const ws = new WsClient(url, protocols)
    return await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
      ws.once('open', () => { ws.terminate(); reject(new Error(`${url} was upgraded`)) })
      ws.once('error', () => {})
    })
  }

  before(async () => {
    untrust = trustSelfSigned()
    // one certificate for the domain on every gateway: a full gateway redirects only to one presenting it
    const cert = await selfSignedPems(DOMAIN)
    mesh = await startMesh({
      servers: 3,
      clients: 1,
      options: (i, role) => {
        if (role === 'bootstrap') return { http: '127.0.0.1:0' }
        if (role !== 'server') return {}
        if (i === 1) {
          return { http: '127.0.0.1:0', xmpp: { listen: '127.0.0.1:0', allowPlaintext: true, stanzaRate: 20, stanzaBurst: 60, ...cert } }
        }
        if (i === 2) return { http: '127.0.0.1:0', xmpp: { listen: '127.0.0.1:0', allowPlaintext: true, maxConnections: 2, ...cert } }
        return { http: '127.0.0.1:0', xmpp: { listen: '127.0.0.1:0', ...cert } }
      }
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    gateway = mesh.servers[0]
    http = gateway.httpAddress() as string
    tcp = gateway.xmppAddress() as string
    smallHttp = mesh.servers[1].httpAddress() as string
    tlsOnlyHttp = mesh.servers[2].httpAddress() as string
    plainHttp = mesh.bootstrap.httpAddress() as string
    assert.ok(http != null && tcp != null && smallHttp != null && tlsOnlyHttp != null && plainHttp != null)
    carol = await mesh.clients[0].openUser('carol')
    carol.on('message', (m) => { carolGot.push(m) })
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('opens a framed stream: <open/> answered, features with SCRAM only, no STARTTLS', async () => {
    const r = await rawWs()
    await r.header()
    assert.equal(r.ws.protocol, 'xmpp', 'the subprotocol is agreed')
    assert.match(r.messages[0], new RegExp(`^<open xmlns=['"]${NS_FRAMING}['"] from=['"]${DOMAIN}['"] id=['"][0-9a-f]+['"] version=['"]1\\.0['"] xml:lang=['"]en['"]/>$`))
    const features = r.messages[1]
    assert.match(features, new RegExp(`^<stream:features xmlns:stream="${NS_STREAMS}">`))
    assert.match(features, /<mechanism>SCRAM-SHA-256<\/mechanism><mechanism>SCRAM-SHA-1<\/mechanism><\/mechanisms>/, 'no PLAIN: a WebSocket counts as unencrypted')
    assert.doesNotMatch(features, /starttls/)
    assert.match(features, /<register xmlns="http:\/\/jabber.org\/features\/iq-register"\/>/)
    // the client closes; the gateway answers with its own close
    r.send(`<close xmlns='${NS_FRAMING}'/>`)
    await r.until('its close', new RegExp(`<close xmlns="${NS_FRAMING}"/>`))
    await r.closedByServer()
  })

  it('refuses a stream on a gateway that requires TLS: a WebSocket here is never encrypted', async () => {
    const r = await rawWs(tlsOnlyHttp)
    r.send(`<open xmlns='${NS_FRAMING}' to='${DOMAIN}' version='1.0'/>`)
    await r.until('policy-violation', streamError('policy-violation'))
    await r.closedByServer()
    assert.doesNotMatch(r.received, /<mechanism>/, 'no SASL mechanism offered')
  })

  it('registers, logs in with SCRAM, binds and answers a ping over a WebSocket (xmpp.js)', async () => {
    const ann = await clients.connect(http, 'ann', { register: true, websocket: true, resource: 'browser' })
    assert.equal(ann.jid, `ann@${DOMAIN}/browser`)
    const socket = ann.xmpp.socket
    assert.ok(socket != null && 'url' in socket, 'ann runs over a WebSocket')
    assert.match(String(socket.url), new RegExp(`^ws://${http}${WEBSOCKET_PATH}$`))
    await ann.iq(xml('iq', { type: 'get', to: DOMAIN }, xml('ping', { xmlns: 'urn:xmpp:ping' })))
    assert.equal(gateway.gateway?.stats().webSockets, 1)
  })

  it('a WebSocket user chats with a Jabber user over TCP (STARTTLS) and with a native Chorus user', async () => {
    const ann = clients.connected[0]
    const bob = await clients.connect(tcp, 'bob', { register: true })
    assert.equal(bob.xmpp.socket?.secure, true, 'bob runs over TLS')
    await ann.xmpp.send(xml('presence'))
    await bob.xmpp.send(xml('presence'))
    await ann.xmpp.send(xml('message', { type: 'chat', to: `bob@${DOMAIN}` }, xml('body', {}, 'hi bob, from a WebSocket')))
    await bob.next('ann\'s message', (el) => chatFrom(el, `ann@${DOMAIN}`) === 'hi bob, from a WebSocket')
    await bob.xmpp.send(xml('message', { type: 'chat', to: `ann@${DOMAIN}` }, xml('body', {}, 'hi ann, from TCP')))
    await ann.next('bob\'s reply', (el) => chatFrom(el, `bob@${DOMAIN}`) === 'hi ann, from TCP')

    await ann.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}` }, xml('body', {}, 'hi carol, from a WebSocket')))
    const m = await waitFor('carol to get ann\'s message', () => carolGot.find((x) => x.text === 'hi carol, from a WebSocket')) as Message
    assert.equal(m.from, 'ann')
    const sent = await carol.send('ann', 'hi ann, from Chorus')
    const got = await ann.next('carol\'s reply', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'hi ann, from Chorus')
    assert.equal(got.attrs.id, sent.id)
    assert.equal(got.attrs.xmlns, 'jabber:client', 'a stanza is sent in jabber:client (nothing is inherited from a stream header)')
  })

  it('stream management (XEP-0198): a dropped WebSocket resumes, and no message is lost or shown twice', async () => {
    const frank = await clients.connect(http, 'frank', { register: true, websocket: true, reconnect: true })
    await waitFor('stream management to be enabled', () => frank.xmpp.streamManagement.enabled && frank.xmpp.streamManagement.id !== '')
    let resumed = 0
    frank.xmpp.streamManagement.on('resumed', () => { resumed++ })
    await carol.send('frank', 'before the drop')
    await frank.next('the first message', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'before the drop')
    // the WebSocket dies under the client (no <close/>): xmpp.js reconnects and resumes
    dropConnection(frank)
    for (let i = 1; i <= 3; i++) await carol.send('frank', `during the drop ${i}`)
    await waitFor('the stream to resume', () => resumed > 0, { timeoutMs: scaled(30_000) })
    await carol.send('frank', 'after the resume')
    await frank.next('a message after the resume', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'after the resume')
    const bodies = frank.stanzas.map((el) => chatFrom(el, `carol@${DOMAIN}`)).filter((b): b is string => b != null)
    assert.deepEqual(bodies, ['before the drop', 'during the drop 1', 'during the drop 2', 'during the drop 3', 'after the resume'])
    await frank.stop()
  })

  it('refuses upgrades elsewhere, without the xmpp subprotocol, and on a node without a gateway', async () => {
    assert.equal(await refusedWith(`ws://${http}/elsewhere`, ['xmpp']), 404)
    assert.equal(await refusedWith(`ws://${http}${WEBSOCKET_PATH}`, []), 400)
    assert.equal(await refusedWith(`ws://${http}${WEBSOCKET_PATH}`, ['chat']), 400)
    assert.equal(await refusedWith(`ws://${plainHttp}${WEBSOCKET_PATH}`, ['xmpp']), 404)
    // the listener's other paths still answer
    const res = await fetch(`http://${http}/health`)
    assert.equal(res.status, 200)
  })

  it('counts WebSockets and TCP connections against one limit; past it a WebSocket is refused and TCP redirected', async () => {
    const gw = mesh.servers[1]
    const first = await rawWs(smallHttp)
    await first.header()
    const second = await clients.raw(gw.xmppAddress() as string)
    await second.header()
    await waitFor('two connections on the small gateway', () => gw.gateway?.stats().connections === 2)
    const third = await rawWs(smallHttp)
    await third.until('resource-constraint', streamError('resource-constraint'))
    await third.closedByServer()
    // a TCP client past the limit is sent to another gateway with room (see-other-host); a WebSocket is not
    const fourth = await clients.raw(gw.xmppAddress() as string)
    const to = await fourth.until('see-other-host', /<see-other-host xmlns="urn:ietf:params:xml:ns:xmpp-streams">([^<]+)<\/see-other-host>/)
    assert.ok(mesh.servers.some((s) => s !== gw && s.xmppAddress() === to[1]), `redirected to ${to[1]}`)
    await fourth.closedByServer()
    first.destroy()
    second.destroy()
  })

  it('malformed, oversized and out-of-place messages get their stream error and <close/>; the others keep chatting', async () => {
    const ann = clients.connected.find((c) => c.jid.startsWith('ann@')) as JabberClient
    const bob = clients.connected.find((c) => c.jid.startsWith('bob@')) as JabberClient
    const maxStanzaBytes = 256 * 1024
    // [what is sent, the stream error, whether the stream is opened first]
    const cases: Array<[string | Buffer, string, boolean]> = [
      ['this is not XML', 'not-well-formed', true],
      ['<presence/><presence/>', 'not-well-formed', true],
      ['<message><body>x</body>', 'not-well-formed', true],
      [`<message><body>${'x'.repeat(maxStanzaBytes)}</body></message>`, 'policy-violation', true],
      ["<iq type='get'><!-- a comment --></iq>", 'restricted-xml', true],
      ["<!DOCTYPE lol [<!ENTITY lol 'lol'>]><message/>", 'not-well-formed', true],
      [`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, 'policy-violation', true],
      ['<message><body>too soon</body></message>', 'bad-format', false],
      [`<open xmlns='${NS_FRAMING}' to='${DOMAIN}' version='1.0'/>`, 'bad-format', true],
      [Buffer.from('<presence/>'), 'bad-format', true],
      [`<open xmlns='${NS_FRAMING}' to='elsewhere.example' version='1.0'/>`, 'host-unknown', false]
    ]
    for (const [input, condition, open] of cases) {
      const r = await rawWs()
      if (open) await r.header()
      if (typeof input === 'string') r.send(input)
      else r.ws.send(input, { binary: true })
      await r.until(`${condition} for ${String(input).slice(0, 40)}`, streamError(condition))
      await r.closedByServer()
      assert.equal(r.code, 1000, 'closed cleanly after the stream error')
    }
    // past the largest message the listener takes at all, the WebSocket closes without reading it (1009)
    const big = await rawWs()
    await big.header()
    big.send('x'.repeat(2 * maxStanzaBytes + 1))
    await big.closedByServer()
    assert.equal(big.code, 1009)

    // a flood over a WebSocket is limited as over TCP: the excess answered policy-violation, the stream stays
    const flooder = await clients.connect(http, 'ann', { websocket: true, resource: 'flood' })
    await floodWithPings(flooder, 150)
    const refused = errorsWith(flooder, 'policy-violation')
    assert.ok(refused.length >= 50, `${refused.length} pings refused`)

    await ann.xmpp.send(xml('message', { type: 'chat', to: `bob@${DOMAIN}` }, xml('body', {}, 'still here')))
    await bob.next('ann\'s message after the abuse', (el) => chatFrom(el, `ann@${DOMAIN}`) === 'still here')
    await ann.xmpp.send(xml('message', { type: 'chat', to: `carol@${DOMAIN}` }, xml('body', {}, 'still here, carol')))
    await waitFor('carol to get ann\'s message after the abuse', () => carolGot.find((x) => x.text === 'still here, carol'))
  })
})
