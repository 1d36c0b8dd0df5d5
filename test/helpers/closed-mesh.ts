/**
 * A closed (federated) mesh for admission tests: a fresh mesh key, an in-process mesh of that id (a
 * bootstrap node, no servers yet), and the operator's means: the mesh key as a signer, delegated operator
 * keys, and servers certified before their first start, as `chorus mesh admit` would.
 */

import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ChorusNode } from '../../node/index.js'
import { loadOrCreateNodeKey } from '../../node/keys.js'
import { Certificate, meshId, signCertificate, signDelegation, type AdmissionSigner } from '../../protocol/admission.js'
import { ed25519Generate, ed25519PublicKey } from '../../protocol/ed25519.js'
import { startMesh, type Mesh } from './mesh.js'

/** One day, ms. */
export const DAY = 86_400_000

export class ClosedMesh {
  private constructor (readonly meshKey: Uint8Array, readonly mesh: string, readonly nodes: Mesh) {}

  /** Start a closed mesh of a new mesh key: its bootstrap node only. */
  static async start (): Promise<ClosedMesh> {
    const meshKey = ed25519Generate().privateKey
    const mesh = meshId(ed25519PublicKey(meshKey))
    return new ClosedMesh(meshKey, mesh, await startMesh({ servers: 0, options: () => ({ mesh }) }))
  }

  /** The mesh key as a signer (certificates and revocations signed by the root). */
  root (): AdmissionSigner {
    return { privateKey: this.meshKey }
  }

  /** A new operator key, delegated by the mesh key for `days`. */
  operator (days = 365): { signer: AdmissionSigner, pub: Uint8Array } {
    const k = ed25519Generate()
    const delegation = signDelegation(this.meshKey, k.publicKey, { name: 'ops', now: Date.now(), days })
    return { signer: { privateKey: k.privateKey, delegation }, pub: k.publicKey }
  }

  /** A server admitted by `signer` (with ring `seed`, or a random one) before its first start, then started. */
  async certifiedServer (signer: AdmissionSigner, seed?: Uint8Array): Promise<ChorusNode> {
    const dataDir = this.nodes.dirs.make('chorus-server-')
    const peerId = peerIdFromPrivateKey(await loadOrCreateNodeKey(dataDir)).toString()
    const cert = signCertificate(signer, { peerId, capacity: 1, now: Date.now(), days: 30, seed })
    return await this.nodes.spawn('server', { dataDir, mesh: this.mesh, certificate: Certificate.encode(cert) })
  }

  /** Stop every node and remove every data directory. */
  async cleanup (): Promise<void> {
    await this.nodes.cleanup()
  }
}
