/**
 * Attacks on revocation and on cached grants in a closed mesh, against real in-process nodes:
 * - an attacker holding a leaked operator key revokes honest servers, and keeps doing so after the mesh
 *   key revoked that operator;
 * - it floods the mesh with revocations of made-up peers so that a real one falls out of the view syncs,
 *   and a node that joins later then admits the revoked server.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { VERSION, type ChorusNode } from '../../node/index.js'
import { toPb } from '../../node/membership/member.js'
import { Revocation, signRevocation, type AdmissionSigner } from '../../protocol/admission.js'
import { MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { ClosedMesh } from '../helpers/closed-mesh.js'
import { ids, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('membership: revocation attacks in a closed mesh', function () {
  this.timeout(scaled(120_000))
  let closed: ClosedMesh
  let m: Mesh
  let mesh: string

  beforeEach(async () => {
    closed = await ClosedMesh.start()
    m = closed.nodes
    mesh = closed.mesh
  })
  afterEach(async () => { await closed?.cleanup() })

  const root = (): AdmissionSigner => closed.root()
  const operator = (days?: number): { signer: AdmissionSigner, pub: Uint8Array } => closed.operator(days)
  const certifiedServer = async (signer: AdmissionSigner, seed?: Uint8Array): Promise<ChorusNode> =>
    await closed.certifiedServer(signer, seed)

  const revocation = (signer: AdmissionSigner, peerId: string, at = Date.now()): Uint8Array =>
    Revocation.encode(signRevocation(signer, { peerId }, at))

  /** A PING from `from` (a client, or a server presenting its certificate) carrying `revocations`. */
  function frame (from: ChorusNode, revocations: Uint8Array[], certificate?: Uint8Array): Uint8Array {
    const sender = toPb({
      peerId: from.peerId.toString(),
      role: certificate != null ? 'server' : 'client',
      capacity: 1,
      addrs: [],
      incarnation: BigInt(Date.now()),
      state: 'alive',
      version: VERSION,
      certificate: certificate != null ? new Uint8Array(certificate) : undefined
    })
    return MembershipMessage.encode({
      kind: MembershipMessage.Kind.PING,
      sender,
      updates: [],
      target: '',
      wallTime: BigInt(Date.now()),
      mesh: new Uint8Array(from.admission.meshBytes()),
      revocations: revocations.map((r) => new Uint8Array(r))
    })
  }

  /** Send one frame from `from` to `to`; resolves with `to`'s reply, or undefined when it aborted the stream. */
  async function deliver (from: ChorusNode, to: ChorusNode, bytes: Uint8Array): Promise<MembershipMessage | undefined> {
    const signal = AbortSignal.timeout(scaled(10_000))
    const stream = await from.libp2p.dialProtocol(to.peerId, MEMBERSHIP_PROTOCOL, { signal })
    const lp = lpStream(stream)
    await lp.write(bytes)
    try {
      const reply = MembershipMessage.decode((await lp.read({ signal })).subarray())
      await stream.close()
      return reply
    } catch {
      return undefined
    }
  }

  it('revoking an operator voids the revocations it signed, before and after', async () => {
    const leaked = operator()
    const h1 = await certifiedServer(root())
    const h2 = await certifiedServer(root())
    const attacker = await m.spawn('client', { mesh })
    const everyone = [m.bootstrap, h1, h2, attacker]
    await waitForServers(everyone, [h1, h2])

    // with the leaked key the attacker revokes an honest server: it leaves (the operator is still trusted)
    await attacker.membership.publishRevocation(revocation(leaked.signer, h1.peerId.toString()))
    await waitForServers([m.bootstrap, h2, attacker], [h2])

    // the mesh key revokes the operator: everything it signed is void, so h1 is back everywhere
    const operatorRevoked = Revocation.encode(signRevocation(root(), { operator: leaked.pub }, Date.now()))
    await m.bootstrap.membership.publishRevocation(operatorRevoked)
    await waitForServers(everyone, [h1, h2])

    // a new revocation signed with the revoked key, handed straight to every node, counts nowhere
    const late = revocation(leaked.signer, h2.peerId.toString())
    for (const node of [m.bootstrap, h1, h2]) await deliver(attacker, node, frame(attacker, [late]))
    for (const node of [m.bootstrap, h1, h2]) {
      assert.equal(node.admission.why(h2.peerId.toString()), undefined, `${node.role} took the revoked operator's word`)
    }
    assert.deepEqual(m.bootstrap.membership.servers(), ids([h1, h2]))
  })

  it('a node that joins later learns the revocation that matters, whatever junk was gossiped after it', async () => {
    const leaked = operator()
    const bad = await certifiedServer(root())
    const honest = await certifiedServer(root())
    const attacker = await m.spawn('client', { mesh })
    await waitForServers([m.bootstrap, honest, attacker], [bad, honest])
    const badCert = bad.admission.ownCertificate()

    await m.bootstrap.membership.publishRevocation(revocation(root(), bad.peerId.toString()))
    await waitForServers([m.bootstrap, honest, attacker], [honest])

    // 600 newer revocations of peers no certificate names, signed with a key the mesh still trusts
    const madeUp = (i: number): string => `12D3KooWJunk${i}${randomBytes(8).toString('hex')}`
    const junk = Array.from({ length: 600 }, (_, i) => revocation(leaked.signer, madeUp(i), Date.now() + 1000))
    for (let i = 0; i < junk.length; i += 100) {
      for (const node of [m.bootstrap, honest]) await deliver(attacker, node, frame(attacker, junk.slice(i, i + 100)))
    }

    // a client joins later: it must know that `bad` is revoked when `bad` presents its certificate
    const late = await m.spawn('client', { mesh })
    await waitForServers([late], [honest])
    const answer = await deliver(bad, late, frame(bad, [], badCert))
    assert.deepEqual(
      [late.admission.refusals.get('revoked'), late.membership.servers()],
      [1, ids([honest])],
      'the late node admitted a revoked server'
    )
    // and it told the revoked server why: a NACK carrying the revocation
    assert.equal(answer?.kind, MembershipMessage.Kind.NACK)
    assert.equal(answer?.revocations.length, 1)
  })

  it('a revoked server that no member gossips to learns its revocation from the first member it probes', async () => {
    const told = await certifiedServer(root())
    const revoked = await certifiedServer(root())
    const carrier = await m.spawn('client', { mesh })
    await waitForServers([m.bootstrap, told, revoked, carrier], [told, revoked])
    // the revocation reaches one server only, straight from a client: that server and the bootstrap (by
    // gossip) drop the revoked server at once and never ping it again
    assert.ok(await deliver(carrier, told, frame(carrier, [revocation(root(), revoked.peerId.toString())])) != null)
    await waitForServers([m.bootstrap, told], [told])
    // the revoked server hears it when its own probes are refused, and owns nothing from then on
    await waitFor('the revoked server to learn its own revocation', () => revoked.admission.why(revoked.peerId.toString()) === 'revoked')
    assert.equal(revoked.membership.selfMember(), undefined)
  })
})
