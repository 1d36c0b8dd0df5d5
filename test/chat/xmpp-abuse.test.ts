/**
 * Abuse of the XMPP gateway before login, by a stranger with a script: raw sockets writing bytes at a
 * real gateway on a real mesh (3 servers, one gateway requiring STARTTLS). Each test is one attack:
 * a flood of idle sockets from one address, a registration loop, repeated `<auth>`, an `<auth>` injected
 * in plaintext behind `<starttls/>` (CVE-2011-0411), probing for accounts with the decoy salt, and a
 * detached stream-management stream fed past its bound.
 */

import { strict as assert } from 'node:assert'
import { createHash } from 'node:crypto'
import type { ChorusNode, User } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import {
  DOMAIN, JabberClients, PASSWORD, chatFrom, dropConnection, jabber, streamError, trustSelfSigned, type RawXmpp
} from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'
const NS_REGISTER = 'jabber:iq:register'
/** what the test gateway allows a detached stream to hold unacknowledged */
const MAX_UNACKED = 20

const base64 = (s: string): string => Buffer.from(s).toString('base64')
const plain = (user: string, password: string): string =>
  `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${base64(`\u0000${user}\u0000${password}`)}</auth>`
const scramFirst = (user: string, nonce: string): string =>
  `<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${base64(`n,,n=${user},r=${nonce}`)}</auth>`
const register = (id: string, user: string): string =>
  `<iq type='set' id='${id}'><query xmlns='${NS_REGISTER}'><username>${user}</username>` +
  `<password>${PASSWORD}</password></query></iq>`

describe('XMPP gateway: abuse before login (raw sockets against a real gateway)', function () {
  this.timeout(scaled(180_000))
  let mesh: Mesh
  let untrust: () => void
  let gateway: ChorusNode
  let gw: string
  let carol: User
  const clients = new JabberClients()

  const raw = async (localAddress?: string): Promise<RawXmpp> => await clients.raw(gw, localAddress)
  /** A raw connection over TLS, its stream open and the login features read. */
  const secure = async (): Promise<RawXmpp> => {
    const r = await raw()
    await r.header()
    await r.startTls()
    return r
  }
  const rejected = (reason: string): number => gateway.gateway?.stats().rejected[reason] ?? 0

  before(async () => {
    untrust = trustSelfSigned()
    mesh = await startMesh({
      servers: 3,
      clients: 1,
      options: (i, role) => role === 'server' && i === 1
        ? { xmpp: { listen: '127.0.0.1:0', maxUnacked: MAX_UNACKED } }
        : {}
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    gateway = mesh.servers.find((s) => s.xmppAddress() != null) as ChorusNode
    gw = gateway.xmppAddress() as string
    carol = await mesh.clients[0].openUser('carol')
    // registered before the registration loop spends this address's budget
    for (const user of ['alice', 'frank']) await (await jabber(gw, user, { register: true })).stop()
  })

  afterEach(() => {
    clients.destroyRaws()
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('STARTTLS injection: an <auth> written with <starttls/> in plaintext is discarded, not run over TLS', async () => {
    const r = await raw()
    await r.header()
    // a man in the middle appends a login (here with the right password) to the client's <starttls/>
    await r.startTls(plain('alice', PASSWORD))
    assert.doesNotMatch(r.received, /<success/, 'the injected <auth> logged in over TLS')
    assert.match(r.received, /<mechanism>PLAIN<\/mechanism>/, 'the stream over TLS starts before login')
    await waitFor('the discarded input to be counted', () => rejected('starttls-injection') >= 1)
  })

  it('hundreds of sockets from one address: past its budget each is refused; other addresses are served', async () => {
    const sockets = await Promise.all(Array.from({ length: 200 }, async () => await raw()))
    for (const s of sockets) {
      s.send(`<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' ` +
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
    }
    const served = (s: RawXmpp): boolean => /<\/stream:features>/.test(s.received)
    const refused = (s: RawXmpp): boolean => streamError('policy-violation').test(s.received)
    await waitFor('every socket to be served or refused', () => sockets.every((s) => served(s) || refused(s)))
    const n = sockets.filter(served).length
    assert.ok(n <= 10, `${n} of 200 connections from one address were served before login`)
    assert.equal(sockets.filter(refused).length, 200 - n)
    assert.ok(rejected('xmpp-pre-login-address-limit') >= 200 - n, 'each refusal is counted')
    // another address (127.0.0.2 is loopback too) is served meanwhile
    const other = await raw('127.0.0.2')
    await other.header()
    for (const s of sockets) s.destroy()
    await waitFor('the refused and closed sockets to be released', () => gateway.gateway?.stats().connections === 1)
  })

  it('a registration loop from one address is throttled (policy-violation) and counted', async () => {
    const r = await secure()
    const answers: string[] = []
    for (let i = 1; i <= 12; i++) {
      r.send(register(`r${i}`, `loop${i}`))
      const answer = new RegExp(`<iq [^>]*id="r${i}"[^>]*(/>|>.*?</iq>)`, 's')
      const m = await r.until(`the answer to registration ${i}`, answer)
      answers.push(m[0])
    }
    const done = answers.filter((a) => /type="result"/.test(a)).length
    assert.ok(done < 12, `all ${done} registrations from one address were served`)
    const refused = answers.slice(done)
    const policy = /<policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/
    assert.ok(refused.every((a) => policy.test(a)), refused.join('\n'))
    assert.ok(rejected('register-throttled-address') >= 12 - done)
  })

  it('repeated <auth> on one connection counts as failed logins: past three the stream ends', async () => {
    const r = await secure()
    for (let i = 1; i <= 5 && !r.closed; i++) {
      r.send(scramFirst('alice', `nonce${i}`))
      const answers = new RegExp(`(<(challenge|stream:error)[ >].*){${i}}`, 's')
      await r.until(`an answer to <auth> ${i}`, answers).catch(() => {})
    }
    await r.until('a not-authorized stream error', streamError('not-authorized'))
    await r.closedByServer()
    assert.ok((r.received.match(/<challenge /g) ?? []).length <= 3, 'at most three login attempts were served')
  })

  it('element after element before login is bounded per connection (policy-violation)', async () => {
    const r = await secure()
    for (let i = 1; i <= 40; i++) r.send(`<iq type='get' id='g${i}'><query xmlns='${NS_REGISTER}'/></iq>`)
    await r.until('a policy-violation stream error', streamError('policy-violation'))
    await r.closedByServer()
    const answered = (r.received.match(/<iq /g) ?? []).length
    assert.ok(answered < 32, `${answered} registration forms served on one connection before login`)
  })

  it('the decoy salt of an unknown account cannot be computed by a stranger, and is stable', async () => {
    const salt = async (user: string): Promise<string> => {
      const r = await secure()
      r.send(scramFirst(user, 'abc'))
      const m = await r.until('the challenge', /<challenge xmlns="[^"]+">([^<]*)<\/challenge>/)
      r.destroy()
      return (/,s=([^,]+),/.exec(Buffer.from(m[1], 'base64').toString()) as RegExpExecArray)[1]
    }
    const decoy = await salt('nobody')
    // what main computed: sha256 of a constant and the username, which anyone can compute
    const guess = createHash('sha256').update('chorus-decoy').update('n=nobody').digest()
      .subarray(0, 16).toString('base64')
    assert.notEqual(decoy, guess, 'the decoy salt is sha256 of a constant and the username')
    const real = await salt('alice')
    const bytes = (b64: string): number => Buffer.from(b64, 'base64').length
    assert.equal(bytes(decoy), bytes(real), 'a decoy salt looks like a real one')
    assert.equal(await salt('nobody'), decoy, 'the decoy is stable')
  })

  it('a detached stream-management stream is bounded like an attached one', async () => {
    const frank = await clients.connect(gw, 'frank')
    const sm = frank.xmpp.streamManagement
    await waitFor('stream management to be enabled', () => sm.enabled && sm.id !== '')
    // the client's connection dies without a word: the stream waits to be resumed, and queues
    dropConnection(frank)
    await waitFor('the stream to be detached', () => gateway.gateway?.stats().detached === 1)
    for (let i = 1; i <= MAX_UNACKED + 5; i++) await carol.send('frank', `queued ${i}`)
    await waitFor('the overfull detached stream to end', () => rejected('stream-policy-violation-detached') >= 1)
    assert.equal(gateway.gateway?.stats().detached, 0)
    // what it held goes to the account's next resource, as when a stream expires
    const back = await clients.connect(gw, 'frank', { resource: 'again' })
    await back.next('a message queued while detached', (el) => chatFrom(el, `carol@${DOMAIN}`) === 'queued 1')
  })
})
