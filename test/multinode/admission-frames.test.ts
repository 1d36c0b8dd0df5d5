/**
 * Bad admission input on the wire: a member of a closed mesh (a client, so it needs no certificate)
 * speaks membership to a certified server with malformed, truncated, forged, foreign and misattributed
 * certificates and revocations, and frames of another mesh. Each frame is refused with its typed
 * reason and counted, the stream is aborted, and the server keeps its view and keeps answering.
 */

import { strict as assert } from 'node:assert'
import { lpStream } from '@libp2p/utils'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { VERSION, type ChorusNode } from '../../node/index.js'
import { loadOrCreateNodeKey } from '../../node/keys.js'
import { toPb } from '../../node/membership/member.js'
import { Certificate, Revocation, meshId, signCertificate, signRevocation, type AdmissionReason } from '../../protocol/admission.js'
import { MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'
import { ed25519Generate, ed25519PublicKey } from '../../protocol/ed25519.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

const DAYS = 30

describe('membership: bad certificates and revocations in a closed mesh', function () {
  this.timeout(scaled(60_000))
  const meshKey = ed25519Generate().privateKey
  const mesh = meshId(ed25519PublicKey(meshKey))
  const otherKey = ed25519Generate().privateKey
  let m: Mesh
  let target: ChorusNode
  let peer: ChorusNode
  let attacker: ChorusNode

  /** A server of this mesh, admitted before its first start as an operator would. */
  async function certifiedServer (): Promise<ChorusNode> {
    const dataDir = m.dirs.make('chorus-server-')
    const peerId = peerIdFromPrivateKey(await loadOrCreateNodeKey(dataDir)).toString()
    const cert = signCertificate({ privateKey: meshKey }, { peerId, capacity: 1, now: Date.now(), days: DAYS })
    return await m.spawn('server', { dataDir, mesh, certificate: Certificate.encode(cert) })
  }

  before(async function () {
    m = await startMesh({ servers: 0, options: () => ({ mesh }) })
    target = await certifiedServer()
    peer = await certifiedServer()
    attacker = await m.spawn('client', { mesh })
    await waitForServers([target, peer, attacker], [target, peer])
  })
  after(async () => { await m?.cleanup() })

  /**
   * A membership frame from the attacker: as a server presenting `certificate`, or as a client carrying `revocations`.
   */
  function frame (o: { certificate?: Uint8Array, revocations?: Uint8Array[], mesh?: Uint8Array }): Uint8Array {
    const role = o.certificate != null ? 'server' : 'client'
    const sender = toPb({
      peerId: attacker.peerId.toString(),
      role,
      capacity: 1,
      addrs: [],
      incarnation: 1n,
      state: 'alive',
      version: VERSION,
      certificate: o.certificate != null ? new Uint8Array(o.certificate) : undefined
    })
    return MembershipMessage.encode({
      kind: MembershipMessage.Kind.PING,
      sender,
      updates: [],
      target: '',
      wallTime: BigInt(Date.now()),
      mesh: new Uint8Array(o.mesh ?? target.admission.meshBytes()),
      revocations: (o.revocations ?? []).map((r) => new Uint8Array(r))
    })
  }

  /** Send one frame; expect the stream aborted and one more refusal of `reason` counted. */
  async function refused (what: string, bytes: Uint8Array, reason: AdmissionReason): Promise<void> {
    const before = target.admission.refusals.get(reason) ?? 0
    const stream = await attacker.libp2p.dialProtocol(target.peerId, MEMBERSHIP_PROTOCOL, {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    const lp = lpStream(stream)
    await lp.write(bytes)
    await assert.rejects(lp.read({ signal: AbortSignal.timeout(scaled(10_000)) }), `${what}: the target answered instead of refusing`)
    await waitFor(`${what} to be counted as ${reason}`, () => (target.admission.refusals.get(reason) ?? 0) > before)
  }

  const ownCert = (over: Partial<Certificate> = {}, key = meshKey): Uint8Array =>
    Certificate.encode({
      ...signCertificate({ privateKey: key }, {
        peerId: attacker.peerId.toString(),
        capacity: 1,
        now: Date.now(),
        days: DAYS
      }),
      ...over
    })

  it('refuses frames of another mesh and of an open one', async () => {
    await refused('another mesh', frame({ mesh: ed25519PublicKey(otherKey) }), 'wrong-mesh')
    await refused('an open mesh', frame({ mesh: new Uint8Array(0) }), 'wrong-mesh')
    await refused('a 5-byte mesh', frame({ mesh: new Uint8Array(5) }), 'wrong-mesh')
  })

  it('refuses malformed, truncated, forged, foreign, misattributed and expired certificates', async () => {
    const good = ownCert()
    await refused('garbage', frame({ certificate: Uint8Array.from([0xff, 0xff, 0x01]) }), 'malformed')
    await refused('truncated', frame({ certificate: good.subarray(0, good.byteLength - 10) }), 'malformed')
    await refused('oversized', frame({ certificate: new Uint8Array(4096).fill(0x0a) }), 'malformed')
    const forged = Uint8Array.from(good)
    forged[forged.byteLength - 1] ^= 1
    await refused('forged signature', frame({ certificate: forged }), 'forged')
    await refused('signed by another key for this mesh', frame({ certificate: ownCert({ mesh: new Uint8Array(ed25519PublicKey(meshKey)) }, otherKey) }), 'forged')
    await refused('of another mesh', frame({ certificate: ownCert({}, otherKey) }), 'wrong-mesh')
    const theirs = Certificate.encode(
      signCertificate({ privateKey: meshKey }, {
        peerId: peer.peerId.toString(),
        capacity: 1,
        now: Date.now(),
        days: DAYS
      })
    )
    await refused('another server\'s certificate', frame({ certificate: theirs }), 'wrong-peer')
    const expired = Certificate.encode(
      signCertificate({ privateKey: meshKey }, {
        peerId: attacker.peerId.toString(),
        capacity: 1,
        now: Date.now() - 3 * 86_400_000,
        days: 1
      })
    )
    await refused('expired', frame({ certificate: expired }), 'expired')
    await refused('no certificate at all', frame({ certificate: new Uint8Array(0) }), 'no-certificate')
  })

  it('refuses malformed, forged and foreign revocations, and keeps every admitted server', async () => {
    const real = Revocation.encode(
      signRevocation({ privateKey: meshKey }, { peerId: peer.peerId.toString() }, Date.now())
    )
    await refused('revocation garbage', frame({ revocations: [Uint8Array.from([0x0a, 0x50])] }), 'malformed')
    await refused('revocation truncated', frame({ revocations: [real.subarray(0, 20)] }), 'malformed')
    const forged = Uint8Array.from(real)
    forged[forged.byteLength - 1] ^= 1
    await refused('revocation forged', frame({ revocations: [forged] }), 'forged')
    await refused('revocation of another mesh',
      frame({
        revocations: [
          Revocation.encode(signRevocation({ privateKey: otherKey }, { peerId: peer.peerId.toString() }, Date.now()))
        ]
      }),
      'wrong-mesh')
    assert.equal(target.admission.revocationCount, 0)
    // the target kept its view and keeps serving: a good frame gets an answer
    assert.deepEqual(target.membership.servers(), [target.peerId.toString(), peer.peerId.toString()].sort())
    const stream = await attacker.libp2p.dialProtocol(target.peerId, MEMBERSHIP_PROTOCOL, {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    const lp = lpStream(stream)
    await lp.write(frame({}))
    const reply = MembershipMessage.decode((await lp.read({ signal: AbortSignal.timeout(scaled(10_000)) })).subarray())
    assert.equal(reply.kind, MembershipMessage.Kind.ACK)
    await stream.close()
  })
})
