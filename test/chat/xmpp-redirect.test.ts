/**
 * Load balancing between gateways (see-other-host): a gateway at its connection limit sends a new TCP
 * client to a gateway with room, found by asking the other servers over /chorus/xmpp-load/1.0.0; xmpp.js
 * follows the redirect, registers there and chats with the user on the full gateway.
 *
 * And the attack on it: a server of the mesh that answers the load protocol with a lie (no connections, a
 * huge limit, the address of a host it controls) must not get clients sent to its host, where a client that
 * skips certificate checks would hand over its password or SCRAM proof. A gateway redirects only to an
 * address it has itself reached over STARTTLS and seen present the domain certificate it serves itself, and
 * a gateway whose certificate it made itself (one gateway on loopback) redirects nowhere.
 */

import { strict as assert } from 'node:assert'
import { createServer, type Server, type Socket } from 'node:net'
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls'
import { lpStream } from '@libp2p/utils'
import xml from '@xmpp/xml'
import { generate } from 'selfsigned'
import type { ChorusNode } from '../../node/index.js'
import { XMPP_LOAD_PROTOCOL } from '../../protocol/constants.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { DOMAIN, JabberClients, chatFrom, trustSelfSigned } from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const SEE_OTHER_HOST = /<see-other-host xmlns="urn:ietf:params:xml:ns:xmpp-streams">([^<]+)<\/see-other-host>/

/** A certificate and key for the test domain, as an operator would make once and copy to every gateway. */
async function domainCertificate (): Promise<{ cert: string, key: string }> {
  const pems = await generate([{ name: 'commonName', value: DOMAIN }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 30 * 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: DOMAIN }] }]
  })
  return { cert: pems.cert, key: pems.private }
}

/**
 * The attacker's host: it speaks just enough XMPP to offer STARTTLS, then TLS with a certificate of its
 * own for the domain, and keeps whatever a client sends over it (a password, a SCRAM proof).
 */
class ImpostorHost {
  /** STARTTLS asked of it (the certificate is presented next) */
  starttls = 0
  private readonly sockets = new Set<Socket>()

  private constructor (private readonly server: Server, private readonly context: SecureContext) {
    server.on('connection', (socket) => { this.serve(socket) })
  }

  static async start (pems: { cert: string, key: string }): Promise<ImpostorHost> {
    const host = new ImpostorHost(createServer(), createSecureContext(pems))
    await new Promise<void>((resolve) => { host.server.listen(0, '127.0.0.1', resolve) })
    return host
  }

  get address (): string {
    const a = this.server.address()
    if (a == null || typeof a === 'string') throw new Error('the impostor is not listening')
    return `127.0.0.1:${a.port}`
  }

  private serve (socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => { this.sockets.delete(socket) })
    socket.on('error', () => {})
    let text = ''
    const onData = (d: Buffer): void => {
      text += d.toString('utf8')
      if (text.includes('<stream:stream') && !text.includes('<starttls')) {
        socket.write("<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
          `xmlns:stream='http://etherx.jabber.org/streams' from='${DOMAIN}' id='x' version='1.0'>` +
          "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
        text = ''
      } else if (text.includes('<starttls')) {
        socket.off('data', onData)
        this.starttls++
        socket.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        new TLSSocket(socket, { isServer: true, secureContext: this.context }).on('error', () => {})
      }
    }
    socket.on('data', onData)
  }

  async stop (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => { this.server.close(() => { resolve() }) })
  }
}

/** Make `node` answer the load protocol with `answer`, whatever it really serves. */
async function lieAboutLoad (node: ChorusNode, answer: unknown): Promise<void> {
  await node.libp2p.handle(XMPP_LOAD_PROTOCOL, (stream) => {
    void (async () => {
      const lp = lpStream(stream)
      await lp.write(new TextEncoder().encode(JSON.stringify(answer)))
      await stream.close()
    })().catch((err: Error) => { stream.abort(err) })
  }, { force: true })
}

describe('XMPP gateway: a full gateway redirects new clients (see-other-host)', function () {
  this.timeout(scaled(180_000))
  let mesh: Mesh
  let untrust: () => void
  let full: ChorusNode
  let roomy: ChorusNode
  let liar: ChorusNode
  let impostor: ImpostorHost
  const clients = new JabberClients()

  /** A raw client to `gateway` that is told to go elsewhere or refused: the stream error it got. */
  const turnedAway = async (gateway: ChorusNode): Promise<string> => {
    const raw = await clients.raw(gateway.xmppAddress() as string)
    await raw.closedByServer()
    return raw.received
  }

  before(async () => {
    untrust = trustSelfSigned()
    const shared = await domainCertificate()
    impostor = await ImpostorHost.start(await domainCertificate())
    mesh = await startMesh({
      servers: 3,
      options: (i, role) => role !== 'server' || i > 2
        ? {}
        : { xmpp: { listen: '127.0.0.1:0', maxConnections: i === 1 ? 1 : 100, ...shared } }
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    full = mesh.servers.find((s) => s.options.xmpp?.maxConnections === 1) as ChorusNode
    roomy = mesh.servers.find((s) => s.options.xmpp?.maxConnections === 100) as ChorusNode
    liar = mesh.servers.find((s) => s.options.xmpp == null) as ChorusNode
  })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    await impostor?.stop()
    untrust?.()
  })

  it('sends no client to a host a lying server names, only to a gateway with the domain certificate', async () => {
    await clients.connect(full.xmppAddress() as string, 'alice', { register: true })
    // the honest gateway with room serves one client: the liar's "no connections at all" looks better
    await clients.connect(roomy.xmppAddress() as string, 'dave', { register: true })
    // within every bound a load answer is held to: only going there shows it for the lie it is
    await lieAboutLoad(liar, { address: impostor.address, connections: 0, max: 100_000 })

    const m = (await turnedAway(full)).match(SEE_OTHER_HOST)
    assert.equal(m?.[1], roomy.xmppAddress(), `sent to ${m?.[1] ?? 'nowhere'}, not to the gateway with the certificate`)
    assert.ok(impostor.starttls >= 1, 'the full gateway went to the impostor\'s host to see its certificate')
    assert.ok((full.gateway?.stats().rejected['xmpp-redirect-unverified'] ?? 0) >= 1, 'the refused target is counted')
  })

  it('sends the client past the limit to the gateway with room, which serves it', async () => {
    const second = await clients.connect(full.xmppAddress() as string, 'bob', { register: true })
    assert.equal(roomy.gateway?.stats().connections, 2, 'bob is served by the gateway with room')
    assert.ok((full.gateway?.stats().rejected['xmpp-connection-limit'] ?? 0) >= 2)
    const body = xml('body', {}, 'redirected, and here')
    await second.xmpp.send(xml('message', { type: 'chat', to: `alice@${DOMAIN}` }, body))
    await clients.connected[0].next('bob\'s message', (el) => chatFrom(el, `bob@${DOMAIN}`) === 'redirected, and here')
    const status = full.status().xmpp
    assert.equal(status?.connections, 1)
    assert.equal(status?.domain, DOMAIN)
  })

  it('a gateway with a certificate of its own making redirects nowhere, even to a gateway with room', async () => {
    const alone = await mesh.spawn('server', { xmpp: { listen: '127.0.0.1:0', maxConnections: 1 } })
    await waitFor('the new gateway to see the servers', () => alone.membership.servers().length === 4)
    // the liar now names the honest gateway with room: it is reachable, but its certificate is not this one's
    await lieAboutLoad(liar, { address: roomy.xmppAddress(), connections: 0, max: 100_000 })
    await clients.raw(alone.xmppAddress() as string)
    await waitFor('the first client to be served', () => alone.gateway?.stats().connections === 1)

    const answer = await turnedAway(alone)
    assert.match(answer, /<resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/, `got ${answer}`)
  })
})
