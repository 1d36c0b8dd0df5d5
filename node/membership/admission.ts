/**
 * Admission: which servers may own data in this node's mesh (docs/security.md, "Who may own data").
 *
 * In an open mesh (no mesh id) every server is admitted, as before. In a closed mesh every membership
 * frame names its mesh and a server's own record carries its certificate; this component checks both,
 * remembers what each certificate grants (capacity, ring seed, expiry), keeps the mesh's revocations
 * (persisted, gossiped) and answers "is this server admitted now?" — the question the ring, the store's
 * server-only requests and the view all ask. Signatures are verified once per certificate, then cached;
 * a cached grant lapses when any link of its chain expires, and a ring seed is held by one server only.
 */

import { createHash } from 'node:crypto'
import {
  AdmissionError, MissingCertificateError, RepeatedSeedError, checkCertificate, checkRevocation, decodeCertificate, decodeRevocation,
  meshId, parseMeshId, type Admitted, type AdmissionReason, type RevocationList
} from '../../protocol/admission.js'
import type { RingMember } from '../../protocol/ring.js'
import { MAX_REVOCATIONS, VERIFIED_CACHE_SIZE } from './constants.js'

/** A node of another mesh, or of none, at the membership handshake. */
export class MeshMismatchError extends AdmissionError {
  override readonly name = 'MeshMismatchError'
  override readonly code = 'ERR_MESH_MISMATCH'
  constructor (message: string) { super(message, 'wrong-mesh') }
}

/** Where revocations survive a restart (a LevelDB sublevel in the node). */
export interface RevocationStore {
  load: () => Promise<Uint8Array[]>
  add: (id: string, bytes: Uint8Array) => Promise<void>
}

/** Admission settings: the mesh id (absent: an open mesh) and this node's own certificate, if a server. */
export interface AdmissionInit {
  mesh?: string
  certificate?: Uint8Array
}

/** What admission needs: this node's id and the mesh's time. */
export interface AdmissionComponents {
  selfId: string
  now: () => number
}

type Bytes = Uint8Array<ArrayBuffer>

interface RevocationEntry { bytes: Bytes, issuedAt: number, transmits: number }

export class Admission {
  /** the mesh public key; undefined in an open mesh */
  readonly mesh?: Bytes
  /** the printable mesh id; undefined in an open mesh */
  readonly meshId?: string
  /** refusals by reason, for /metrics */
  readonly refusals = new Map<AdmissionReason, number>()
  private readonly own: Bytes
  private readonly granted = new Map<string, Admitted>()
  /** ring seed (hex) → the peers whose grants hold it */
  private readonly seeds = new Map<string, Set<string>>()
  private readonly verified = new Map<string, true>()
  private readonly byPeer = new Map<string, number>()
  private readonly byOperator = new Map<string, number>()
  private readonly revocations = new Map<string, RevocationEntry>()
  private store?: RevocationStore
  private readonly list: RevocationList = {
    peerRevokedAt: (peerId) => this.byPeer.get(peerId),
    operatorRevokedAt: (op) => this.byOperator.get(op)
  }

  constructor (private readonly components: AdmissionComponents, init: AdmissionInit = {}) {
    if (init.mesh != null) {
      this.mesh = new Uint8Array(parseMeshId(init.mesh))
      this.meshId = meshId(this.mesh)
    }
    this.own = new Uint8Array(init.certificate ?? new Uint8Array(0))
  }

  /** Is this an open mesh, where any server owns data? */
  get open (): boolean { return this.mesh == null }

  /** What membership frames carry as their mesh: the mesh key, or nothing for an open mesh. */
  meshBytes (): Bytes {
    return this.mesh ?? new Uint8Array(0)
  }

  /** This node's certificate as it sends it (empty when it has none). */
  ownCertificate (): Bytes {
    return this.own
  }

  /** Load the persisted revocations and keep new ones there. Bad entries are skipped. */
  async attach (store: RevocationStore): Promise<void> {
    this.store = store
    if (this.mesh == null) return
    for (const bytes of await store.load()) {
      try { this.apply(new Uint8Array(bytes), false) } catch { /* a revocation of an old mesh or a corrupt entry: ignore */ }
    }
  }

  /**
   * Check a frame's mesh against ours. Throws `MeshMismatchError`, naming both meshes, for a peer of
   * another mesh or of an open one.
   */
  checkMesh (peerId: string, mesh: Uint8Array): void {
    const ours = this.meshBytes()
    if (Buffer.from(ours).equals(mesh)) return
    const theirs = mesh.byteLength === 0 ? 'an open mesh' : mesh.byteLength === 32 ? `mesh ${meshId(mesh)}` : 'a malformed mesh id'
    throw new MeshMismatchError(`${peerId} is of ${theirs}; this node is of ${this.meshId != null ? `mesh ${this.meshId}` : 'an open mesh'}`)
  }

  /**
   * A server's own record, presenting `certificate`: in a closed mesh, check it and remember what it
   * grants. Throws a typed `AdmissionError`. In an open mesh every server is admitted.
   */
  admitServer (peerId: string, certificate: Uint8Array): void {
    if (this.mesh == null) return
    if (certificate.byteLength === 0) throw new MissingCertificateError(`${peerId} claims the server role with no certificate`)
    const digest = createHash('sha256').update(certificate).digest('base64')
    const cert = decodeCertificate(certificate)
    const grant = checkCertificate(cert, this.mesh, peerId, this.components.now(), this.list, this.verified.has(digest))
    if (!this.verified.has(digest)) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string)
      this.verified.set(digest, true)
    }
    const holder = this.seedHolder(grant, peerId)
    if (holder != null) throw new RepeatedSeedError(`${peerId}'s certificate repeats the ring seed of ${holder}'s`)
    const before = this.granted.get(peerId)
    // a server restarted with a renewed certificate replaces its old one; an older one never wins
    if (before != null && grant.issuedAt < before.issuedAt) return
    if (before != null) this.seeds.get(before.seed)?.delete(peerId)
    this.granted.set(peerId, grant)
    this.seeds.set(grant.seed, (this.seeds.get(grant.seed) ?? new Set()).add(peerId))
  }

  /** Is `peerId` (a server) admitted now? Open mesh: always. Closed: a remembered, unexpired, unrevoked grant. */
  admitted (peerId: string): boolean {
    return this.mesh == null || this.why(peerId) == null
  }

  /** Why a server is not admitted now (undefined when it is). */
  why (peerId: string): AdmissionReason | undefined {
    if (this.mesh == null) return undefined
    let g: Admitted | undefined
    if (peerId === this.components.selfId) {
      const own = this.selfCheck()
      if (own instanceof AdmissionError) return own.reason
      g = own
    } else {
      g = this.granted.get(peerId)
    }
    if (g == null) return 'no-certificate'
    return this.lapsed(peerId, g) ?? (this.seedHolder(g, peerId) != null ? 'repeated-seed' : undefined)
  }

  /** This server as a ring member, if it is admitted now (capacity and seed from its certificate). */
  selfMember (capacity: number): RingMember | undefined {
    if (this.mesh == null) return { peerId: this.components.selfId, capacity }
    const g = this.selfGrant()
    return g != null && this.why(this.components.selfId) == null ? { peerId: g.peerId, capacity: g.capacity, seed: g.seed } : undefined
  }

  /** What a server's certificate grants, while remembered (closed mesh only). */
  grantOf (peerId: string): Admitted | undefined {
    return peerId === this.components.selfId ? this.selfGrant() : this.granted.get(peerId)
  }

  /** Forget a server's grant (it left the table for good). */
  forget (peerId: string): void {
    const g = this.granted.get(peerId)
    if (g != null) this.seeds.get(g.seed)?.delete(peerId)
    this.granted.delete(peerId)
  }

  /**
   * A revocation heard from anyone (it is self-authenticating). Returns true when it is new and valid:
   * it is kept, gossiped on and persisted (in the background; a lost write comes back with the next
   * view sync). Throws a typed `AdmissionError` for a bad one.
   */
  acceptRevocation (received: Uint8Array): boolean {
    if (this.mesh == null) throw new MeshMismatchError('a revocation is meaningless in an open mesh')
    const bytes = new Uint8Array(received)
    if (!this.apply(bytes, true)) return false
    this.store?.add(revocationId(bytes), bytes).catch(() => {})
    return true
  }

  /** Up to `max` revocations not yet sent `limit` times, least sent first (piggybacked on pings). */
  takeFresh (max: number, limit: number): Bytes[] {
    const fresh = [...this.revocations.values()].filter((r) => r.transmits < limit).sort((a, b) => a.transmits - b.transmits).slice(0, max)
    for (const r of fresh) r.transmits++
    return fresh.map((r) => r.bytes)
  }

  /** The newest `max` revocations: what a view sync carries. */
  all (max: number): Bytes[] {
    return [...this.revocations.values()].sort((a, b) => b.issuedAt - a.issuedAt).slice(0, max).map((r) => r.bytes)
  }

  /** Revocations known. */
  get revocationCount (): number { return this.revocations.size }

  /** Count a refusal. */
  refused (reason: AdmissionReason): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1)
  }

  /**
   * This node's own certificate, checked against the mesh and its peer id now: what it grants, or the
   * typed error saying why it grants nothing (for the start-up line and /status). Revocations are
   * judged by `why`, like every other server's.
   */
  selfCheck (): Admitted | AdmissionError | undefined {
    if (this.mesh == null) return undefined
    try {
      if (this.ownSignatureOk === false) throw this.ownError as AdmissionError
      const grant = checkCertificate(decodeCertificate(this.own), this.mesh, this.components.selfId, this.components.now(), NO_REVOCATIONS, this.ownSignatureOk === true)
      this.ownSignatureOk = true
      return grant
    } catch (err: any) {
      if (!(err instanceof AdmissionError)) throw err
      // a certificate that is forged, foreign or malformed stays so: remember, do not re-verify
      if (err.reason === 'forged' || err.reason === 'malformed' || err.reason === 'wrong-mesh' || err.reason === 'no-certificate') {
        this.ownSignatureOk = false
        this.ownError = err
      }
      return err
    }
  }

  private ownSignatureOk?: boolean
  private ownError?: AdmissionError

  private selfGrant (): Admitted | undefined {
    const r = this.selfCheck()
    return r instanceof AdmissionError ? undefined : r
  }

  /** Why a grant lapsed: its chain expired, or it was revoked. */
  private lapsed (peerId: string, g: Admitted): AdmissionReason | undefined {
    if (this.components.now() >= g.validUntil) return 'expired'
    const revoked = this.byPeer.get(peerId)
    if (revoked != null && revoked >= g.issuedAt) return 'revoked'
    if (g.operator != null && this.byOperator.has(g.operator)) return 'revoked'
    return undefined
  }

  /**
   * Another server whose live grant holds the ring seed of `g` and was issued first (then: the lower peer
   * id), if any. The same rule on every node: which of two copies keeps the seed does not depend on
   * which a node heard of first.
   */
  private seedHolder (g: Admitted, peerId: string): string | undefined {
    const holders = [...this.seeds.get(g.seed) ?? []]
    const own = this.components.selfId !== peerId && this.own.byteLength > 0 ? this.selfGrant() : undefined
    if (own?.seed === g.seed) holders.push(this.components.selfId)
    for (const other of holders) {
      if (other === peerId) continue
      const o = this.grantOf(other) as Admitted
      if (o.issuedAt > g.issuedAt || (o.issuedAt === g.issuedAt && other > peerId)) continue
      if (this.lapsed(other, o) == null) return other
    }
    return undefined
  }

  /** Check and record one revocation; false when already known. */
  private apply (bytes: Bytes, fresh: boolean): boolean {
    const mesh = this.mesh as Uint8Array
    const id = revocationId(bytes)
    if (this.revocations.has(id)) return false
    const r = checkRevocation(decodeRevocation(bytes), mesh, this.components.now())
    if (this.revocations.size >= MAX_REVOCATIONS) {
      // bounded memory: the oldest revocation goes; certificates live at most ten years, a mesh that
      // revoked MAX_REVOCATIONS servers should re-key
      const oldest = [...this.revocations.entries()].sort((a, b) => a[1].issuedAt - b[1].issuedAt)[0]
      this.revocations.delete(oldest[0])
    }
    this.revocations.set(id, { bytes, issuedAt: r.issuedAt, transmits: fresh ? 0 : Number.MAX_SAFE_INTEGER })
    if (r.peerId != null) this.byPeer.set(r.peerId, Math.max(this.byPeer.get(r.peerId) ?? 0, r.issuedAt))
    if (r.operator != null) this.byOperator.set(r.operator, Math.max(this.byOperator.get(r.operator) ?? 0, r.issuedAt))
    return true
  }
}

const NO_REVOCATIONS: RevocationList = { peerRevokedAt: () => undefined, operatorRevokedAt: () => undefined }

function revocationId (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
