/**
 * What a cached grant still grants, against real in-process nodes: a server certified by an operator
 * whose delegation expires keeps server-only privileges where it was admitted; two certificates with one
 * ring seed put two servers on the same ring positions.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ChorusNode } from '../../node/index.js'
import { loadOrCreateNodeKey } from '../../node/keys.js'
import { Certificate, meshId, signCertificate, signDelegation, type AdmissionSigner } from '../../protocol/admission.js'
import { ed25519Generate, ed25519PublicKey } from '../../protocol/ed25519.js'
import { ids, startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

const DAY = 86_400_000

describe('membership: cached grants in a closed mesh', function () {
  this.timeout(scaled(120_000))
  let meshKey: Uint8Array
  let mesh: string
  let m: Mesh

  beforeEach(async () => {
    meshKey = ed25519Generate().privateKey
    mesh = meshId(ed25519PublicKey(meshKey))
    m = await startMesh({ servers: 0, options: () => ({ mesh }) })
  })
  afterEach(async () => { await m?.cleanup() })

  const root = (): AdmissionSigner => ({ privateKey: meshKey })
  function operator (days = 365): { signer: AdmissionSigner } {
    const k = ed25519Generate()
    const delegation = signDelegation(meshKey, k.publicKey, { name: 'ops', now: Date.now(), days })
    return { signer: { privateKey: k.privateKey, delegation } }
  }

  /** A server admitted by `signer` before its first start, as an operator would. */
  async function certifiedServer (signer: AdmissionSigner, seed?: Uint8Array): Promise<ChorusNode> {
    const dataDir = m.dirs.make('chorus-server-')
    const peerId = peerIdFromPrivateKey(await loadOrCreateNodeKey(dataDir)).toString()
    const cert = signCertificate(signer, { peerId, capacity: 1, now: Date.now(), days: 30, seed })
    return await m.spawn('server', { dataDir, mesh, certificate: Certificate.encode(cert) })
  }

  it('a server whose operator\'s delegation expired loses its grant where it was admitted', async () => {
    const shortLived = operator(scaled(8_000) / DAY)
    const honest = await certifiedServer(root())
    const delegated = await certifiedServer(shortLived.signer)
    await waitForServers([m.bootstrap, honest], [honest, delegated])
    const expiry = Number(shortLived.signer.delegation?.expiresAt)
    await waitFor('the delegation to expire', () => Date.now() > expiry, { timeoutMs: scaled(30_000) })
    await waitForServers([m.bootstrap, honest], [honest], scaled(10_000))
    for (const node of [m.bootstrap, honest]) {
      const served = node.membership.isServer(delegated.peerId.toString())
      assert.equal(served, false, 'server-only requests still served to it')
    }
  })

  it('refuses a second certificate with a ring seed another server holds', async () => {
    const seed = randomBytes(32)
    const first = await certifiedServer(root(), seed)
    await waitForServers([m.bootstrap, first], [first])
    const copy = await certifiedServer(operator().signer, seed)
    const refused = (): boolean => (m.bootstrap.admission.refusals.get('repeated-seed') ?? 0) > 0
    await waitFor('the copied seed to be refused', refused, { timeoutMs: scaled(15_000) })
    for (const node of [m.bootstrap, first]) {
      assert.deepEqual(node.membership.servers(), ids([first]), 'two servers on the same ring positions')
    }
    assert.equal(m.bootstrap.membership.isServer(copy.peerId.toString()), false)
  })
})
