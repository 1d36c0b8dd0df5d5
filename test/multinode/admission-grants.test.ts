/**
 * What a cached grant still grants, against real in-process nodes: a server certified by an operator
 * whose delegation expires keeps server-only privileges where it was admitted; two certificates with one
 * ring seed put two servers on the same ring positions.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import type { ChorusNode } from '../../node/index.js'
import type { AdmissionSigner } from '../../protocol/admission.js'
import { ClosedMesh, DAY } from '../helpers/closed-mesh.js'
import { ids, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('membership: cached grants in a closed mesh', function () {
  this.timeout(scaled(120_000))
  let closed: ClosedMesh
  let m: Mesh

  beforeEach(async () => {
    closed = await ClosedMesh.start()
    m = closed.nodes
  })
  afterEach(async () => { await closed?.cleanup() })

  const root = (): AdmissionSigner => closed.root()
  const operator = (days?: number): { signer: AdmissionSigner, pub: Uint8Array } => closed.operator(days)
  const certifiedServer = async (signer: AdmissionSigner, seed?: Uint8Array): Promise<ChorusNode> =>
    await closed.certifiedServer(signer, seed)

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
