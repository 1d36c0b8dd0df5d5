/**
 * Issue 20, finding 1: a server that owns a handle must not be able to take over its Jabber account. A
 * bootstrap node, three servers (N = 3: each owns every handle) and a client node, real libp2p on
 * loopback; one server runs the gateway, another is the adversary (test/helpers/adversary.ts): it answers
 * ACCOUNT_GET with records it forged and plants records at the honest owners. The Jabber side is xmpp.js.
 */

import { strict as assert } from 'node:assert'
import { MAX_ACCOUNT_VERSION_AHEAD_MS } from '../../protocol/account.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { MeshAccounts, sealIdentity } from '../../node/xmpp/accounts.js'
import { signAccount } from '../../protocol/account.js'
import { Adversary, MAX_VERSION, forgeAccount, freshIdentity } from '../helpers/adversary.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { DOMAIN, JabberClients, failedWith, trustSelfSigned, type ConnectOptions, type JabberClient } from '../helpers/xmpp.js'
import { scaled } from '../helpers/wait.js'

const EVIL_PASSWORD = 'the adversary chose this one'
const notAuthorized = failedWith('not-authorized')

describe('XMPP accounts: an owner of a handle cannot take its account (issue 20, finding 1)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let untrust: () => void
  let gw: string
  let evil: Adversary
  let honest: string
  const clients = new JabberClients()

  const connect = async (user: string, o: ConnectOptions = {}): Promise<JabberClient> =>
    await clients.connect(gw, user, o)

  before(async () => {
    untrust = trustSelfSigned()
    mesh = await startMesh({
      servers: 3,
      clients: 1,
      options: (i, role) => role === 'server' && i === 1 ? { xmpp: { listen: '127.0.0.1:0' } } : {}
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    gw = mesh.servers[0].xmppAddress() as string
    evil = new Adversary(mesh.servers[2])
    honest = mesh.servers[1].peerId.toString()
  })

  afterEach(() => { evil?.restore() })

  after(async () => {
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('a record the owner signed with its own key, at the largest version, neither logs in nor locks the user out', async () => {
    const alice = await connect('alice', { register: true })
    // alice is logged in (her session is open on the gateway) when the owner starts to lie
    evil.lieAboutAccount('alice', forgeAccount('alice', EVIL_PASSWORD, { signer: freshIdentity(), version: MAX_VERSION }))
    await assert.rejects(connect('alice', { password: EVIL_PASSWORD, resource: 'evil' }), notAuthorized)
    // and alice still logs in with her own password, on a second resource, while the owner lies
    const again = await connect('alice', { resource: 'phone' })
    assert.equal(again.jid, `alice@${DOMAIN}/phone`)
    await alice.stop()
    await again.stop()
  })

  it('an owner cannot plant a record at another owner, for a claimed handle or an unclaimed one', async () => {
    await connect('bob', { register: true })
    const forged = forgeAccount('bob', EVIL_PASSWORD, { signer: freshIdentity(), version: MAX_VERSION })
    await assert.rejects(evil.send(honest, { kind: StoreRequest.Kind.ACCOUNT_PUT, account: forged }),
      (err: any) => err.code === 'ERR_FORBIDDEN')
    // a handle nobody holds yet: an owner without the claim keeps nothing, so dave can still register
    const squat = forgeAccount('dave', EVIL_PASSWORD, { signer: freshIdentity(), version: MAX_VERSION })
    await assert.rejects(evil.send(honest, { kind: StoreRequest.Kind.ACCOUNT_PUT, account: squat }),
      (err: any) => err.code === 'ERR_REMOTE' && err.status === 'ERROR')
    evil.lieAboutAccount('dave', squat)
    const dave = await connect('dave', { register: true })
    assert.equal(dave.jid, `dave@${DOMAIN}/test`)
    await assert.rejects(connect('dave', { password: EVIL_PASSWORD, resource: 'evil' }), notAuthorized)
  })

  it('a version from the future is refused by the owners and not believed by the gateway, even signed by the real key', async () => {
    // frank is a native user (his key on a client node) who also keeps a gateway account
    const frank = await mesh.clients[0].openUser('frank')
    const now = BigInt(Date.now())
    const created = MeshAccounts.create('frank', 'franks own password')
    const record = Buffer.from(
      JSON.stringify({ ...created.record, identity: sealIdentity(created.accountKey, frank.identity) })
    )
    const current = signAccount('frank', frank.identity, now, record)
    await evil.send(honest, { kind: StoreRequest.Kind.ACCOUNT_PUT, account: current })
    await evil.send(mesh.servers[0].peerId.toString(), { kind: StoreRequest.Kind.ACCOUNT_PUT, account: current })
    const ahead = now + BigInt(MAX_ACCOUNT_VERSION_AHEAD_MS) + 60_000n
    const future = forgeAccount('frank', EVIL_PASSWORD, { signer: frank.identity, version: ahead })
    await assert.rejects(evil.send(honest, { kind: StoreRequest.Kind.ACCOUNT_PUT, account: future }),
      (err: any) => err.code === 'ERR_REMOTE' && err.status === 'REJECTED')
    evil.lieAboutAccount('frank', future)
    await assert.rejects(connect('frank', { password: EVIL_PASSWORD, resource: 'evil' }), notAuthorized)
    await mesh.clients[0].closeUser('frank')
    const c = await connect('frank', { password: 'franks own password' })
    assert.equal(c.jid, `frank@${DOMAIN}/test`)
  })
})
