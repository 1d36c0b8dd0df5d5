/**
 * Admission: which servers may own data in this node's mesh (docs/security.md, "Who may own data").
 *
 * In an open mesh (no mesh id) every server is admitted, as before. In a closed mesh every membership
 * frame names its mesh and a server's own record carries its certificate; this component checks both,
 * remembers what each certificate grants (capacity, ring seed, expiry), keeps the mesh's revocations
 * (persisted, gossiped; revocations.ts keeps those that matter) and answers "is this server admitted
 * now?" — the question the ring, the store's server-only requests and the view all ask. Signatures are
 * verified once per certificate, then cached; a cached grant lapses when any link of its chain expires,
 * and a ring seed is held by one server only.
 */

import { createHash } from 'node:crypto'
import {
  AdmissionError, MissingCertificateError, RepeatedSeedError, RevokedCertificateError, checkCertificate,
  checkRevocation,
  decodeCertificate, decodeRevocation, meshId, parseMeshId, type Admitted, type AdmissionReason, type RevocationList
} from '../../protocol/admission.js'
import type { RingMember } from '../../protocol/ring.js'
import { MAX_EVIDENCE_PER_PEER, MAX_REVOCATIONS_PER_SIGNER, VERIFIED_CACHE_SIZE } from './constants.js'
import { RevocationSet, type DropReason, type Evidence, type KeptRevocation } from './revocations.js'

export type { DropReason, KeptRevocation }

/** A node of another mesh, or of none, at the membership handshake. */
export class MeshMismatchError extends AdmissionError {
  static override readonly code = 'ERR_MESH_MISMATCH'
  override readonly name = 'MeshMismatchError'
  constructor (message: string) { super(message, 'wrong-mesh', MeshMismatchError.code) }
}

/** Where revocations survive a restart (a LevelDB sublevel in the node), each with its evidence. */
export interface RevocationStore {
  load: () => Promise<Array<{ revocation: Uint8Array, certificate?: Uint8Array }>>
  add: (id: string, kept: KeptRevocation) => Promise<void>
  remove: (id: string) => Promise<void>
}

/** Admission settings: the mesh id (absent: an open mesh) and this node's own certificate, if a server. */
export interface AdmissionInit {
  mesh?: string
  certificate?: Uint8Array
  /** revocations kept per signer (the mesh key, each operator key) @default 4096 */
  maxRevocationsPerSigner?: number
}

/** What admission needs: this node's id and the mesh's time. */
export interface AdmissionComponents {
  selfId: string
  now: () => number
}

type Bytes = Uint8Array<ArrayBuffer>

/** Which servers may own data in this node's mesh; see the file comment. */
export class Admission {
  /** the mesh public key; undefined in an open mesh */
  readonly mesh?: Bytes
  /** the printable mesh id; undefined in an open mesh */
  readonly meshId?: string
  /** refusals by reason, for /metrics */
  readonly refusals = new Map<AdmissionReason, number>()
  /** valid revocations not kept, by reason, for /metrics */
  readonly dropped = new Map<DropReason, number>()
  private readonly own: Bytes
  private readonly granted = new Map<string, Admitted>()
  /** the certificate behind each grant: evidence should a revocation of its peer arrive */
  private readonly certificates = new Map<string, Bytes>()
  /** ring seed (hex) → the peers whose grants hold it */
  private readonly seeds = new Map<string, Set<string>>()
  private readonly verified = new Map<string, true>()
  private readonly revocations: RevocationSet
  private store?: RevocationStore
  private loading = false
  /**
   * Revocations stored before they were kept with their certificate (an older version), by peer: judged
   * again when that peer shows a certificate. Local only, never sent; the old store bounded them.
   */
  private readonly unproven = new Map<string, Bytes[]>()
  private readonly list: RevocationList = {
    peerRevokedAt: (peerId) => this.revocations.peerRevokedAt(peerId),
    operatorRevokedAt: (op) => this.revocations.operatorRevokedAt(op)
  }

  /** operator revocations only: a certificate that a revocation withdraws is evidence, not admitted */
  private readonly operatorsOnly: RevocationList = { ...NO_REVOCATIONS, operatorRevokedAt: this.list.operatorRevokedAt }

  constructor (private readonly components: AdmissionComponents, init: AdmissionInit = {}) {
    if (init.mesh != null) {
      this.mesh = new Uint8Array(parseMeshId(init.mesh))
      this.meshId = meshId(this.mesh)
    }
    this.own = new Uint8Array(init.certificate ?? new Uint8Array(0))
    this.revocations = new RevocationSet({
      now: () => this.components.now(),
      evidence: (peerId, before, candidates) => this.evidence(peerId, before, candidates),
      persist: (id, kept) => { this.persist(id, kept) },
      quota: init.maxRevocationsPerSigner ?? MAX_REVOCATIONS_PER_SIGNER
    })
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
    if (this.mesh == null) { this.store = store; return }
    const entries = await store.load()
    // operator revocations first: they void what the operators signed, in any order of the store
    const operatorFirst = entries
      .map((e) => ({ ...e, op: isOperatorRevocation(e.revocation) }))
      .sort((a, b) => Number(b.op) - Number(a.op))
    this.loading = true
    try {
      for (const e of operatorFirst) {
        const bytes = new Uint8Array(e.revocation)
        const candidates = e.certificate != null ? [new Uint8Array(e.certificate)] : []
        try {
          this.apply(bytes, candidates, false)
        } catch { /* a revocation of an old mesh or a corrupt entry: skip */ }
        const id = revocationId(bytes)
        if (this.revocations.has(id)) continue
        // its certificate expired or was voided while the node was down: it withdraws nothing any more
        if (e.certificate != null) store.remove(id).catch(() => {})
        else this.keepUnproven(bytes)
      }
    } finally {
      this.loading = false
      this.store = store
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
    this.proveUnproven(peerId, certificate)
    let grant: Admitted
    try {
      grant = checkCertificate(cert, this.mesh, peerId, this.components.now(), this.list, this.verified.has(digest))
    } catch (err) {
      // a withdrawn certificate shown again may outlive the one a revocation is kept beside
      if (err instanceof RevokedCertificateError) this.offerEvidence(peerId, certificate)
      throw err
    }
    this.markVerified(digest)
    const holder = this.seedHolder(grant, peerId)
    if (holder != null) throw new RepeatedSeedError(`${peerId}'s certificate repeats the ring seed of ${holder}'s`)
    const before = this.granted.get(peerId)
    // a server restarted with a renewed certificate replaces its old one; an older one never wins
    if (before != null && grant.issuedAt < before.issuedAt) return
    if (before != null) this.seeds.get(before.seed)?.delete(peerId)
    this.granted.set(peerId, grant)
    this.certificates.set(peerId, new Uint8Array(certificate))
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
    return this.lapsed(peerId, this.list, g) ?? (this.seedHolder(g, peerId) != null ? 'repeated-seed' : undefined)
  }

  /** This server as a ring member, if it is admitted now (capacity and seed from its certificate). */
  selfMember (capacity: number): RingMember | undefined {
    if (this.mesh == null) return { peerId: this.components.selfId, capacity }
    const g = this.selfGrant()
    return g != null && this.why(this.components.selfId) == null
      ? { peerId: g.peerId, capacity: g.capacity, seed: g.seed }
      : undefined
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
    this.certificates.delete(peerId)
  }

  /**
   * A revocation heard from anyone (it is self-authenticating), with the certificates that came with it
   * (`candidates`: evidence that it matters). Returns true when it is new and kept: it is then gossiped
   * on and persisted (in the background; a lost write comes back with the next view sync). A valid one
   * that does not matter (its signer was revoked, no live certificate names its peer, its signer's quota
   * is full) is counted in `dropped` and not kept. Throws a typed `AdmissionError` for a bad one.
   */
  acceptRevocation (received: Uint8Array, candidates: Uint8Array[] = []): boolean {
    if (this.mesh == null) throw new MeshMismatchError('a revocation is meaningless in an open mesh')
    return this.apply(new Uint8Array(received), candidates.map((c) => new Uint8Array(c)), true)
  }

  /**
   * The revocations of a frame and the certificates that came with them: operator revocations first, so
   * that what a revoked operator signed is judged void whatever the order. The first bad one throws.
   * Returns true when any was new.
   */
  acceptFrame (revocations: Uint8Array[], certificates: Uint8Array[]): boolean {
    const byPeer = new Map<string, Uint8Array[]>()
    for (const c of certificates) {
      let peerId: string
      // not evidence: the revocation it came with is judged without it
      try { peerId = decodeCertificate(c).peerId } catch { continue }
      const list = byPeer.get(peerId) ?? []
      if (list.length < MAX_EVIDENCE_PER_PEER) byPeer.set(peerId, [...list, c])
    }
    let fresh = false
    const ordered = [...revocations].sort((a, b) => Number(isOperatorRevocation(b)) - Number(isOperatorRevocation(a)))
    for (const bytes of ordered) {
      const peerId = peerOf(bytes)
      fresh = this.acceptRevocation(bytes, peerId != null ? byPeer.get(peerId) : undefined) || fresh
    }
    return fresh
  }

  /** Up to `max` revocations not yet sent `limit` times, least sent first (for pings), with their evidence. */
  takeFresh (max: number, limit: number): KeptRevocation[] {
    return this.revocations.fresh(max, limit)
  }

  /** Up to `max` revocations that withdraw `peerId`'s admission, with their evidence (revocations.ts, `against`). */
  against (peerId: string, max: number): KeptRevocation[] {
    return this.revocations.against(peerId, max)
  }

  /** Up to `max` revocations for a view sync, with their evidence (revocations.ts, `forSync`). */
  all (max: number): KeptRevocation[] {
    return this.revocations.forSync(max)
  }

  /** Drop revocations whose evidence expired (they no longer withdraw anything). */
  prune (): void {
    this.revocations.prune()
  }

  /** Revocations kept. */
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
      // a verdict that cannot change (remembered below) is not worked out again
      if (this.ownSignatureOk === false && this.ownError != null) return this.ownError
      const grant = checkCertificate(decodeCertificate(this.own), this.mesh, this.components.selfId,
        this.components.now(), NO_REVOCATIONS, this.ownSignatureOk === true)
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

  /** Check one revocation and keep it if it matters; true when new and kept. */
  private apply (bytes: Bytes, candidates: Bytes[], fresh: boolean): boolean {
    const id = revocationId(bytes)
    if (this.revocations.has(id)) return false
    let r
    try {
      r = checkRevocation(decodeRevocation(bytes), this.mesh as Uint8Array, this.components.now(), this.list)
    } catch (err) {
      // signed by a revoked operator: void, but an honest node that has not heard of that yet may relay it
      if (!(err instanceof RevokedCertificateError)) throw err
      return this.drop('signer-revoked')
    }
    const outcome = this.revocations.add(id, bytes, r, candidates, fresh)
    if (outcome === 'known') return false
    if (outcome !== 'new') return this.drop(outcome)
    return true
  }

  private keepUnproven (bytes: Bytes): void {
    const peerId = peerOf(bytes)
    if (peerId == null || peerId === '') return
    this.unproven.set(peerId, [...this.unproven.get(peerId) ?? [], bytes])
  }

  /** `peerId` shows a certificate: the stored revocations of it that it proves to matter are kept. */
  private proveUnproven (peerId: string, certificate: Uint8Array): void {
    const pending = this.unproven.get(peerId)
    if (pending == null) return
    this.unproven.delete(peerId)
    for (const bytes of pending) {
      try {
        if (!this.apply(bytes, [new Uint8Array(certificate)], false)) this.keepUnproven(bytes)
      } catch { /* no longer checks (its signer was revoked meanwhile): forget it */ }
    }
  }

  private drop (reason: DropReason): false {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1)
    return false
  }

  private persist (id: string, kept: KeptRevocation | undefined): void {
    if (this.loading || this.store == null) return
    const write = kept != null ? this.store.add(id, kept) : this.store.remove(id)
    write.catch(() => {}) // a lost write comes back with the next view sync
  }

  /** Why a grant lapsed, judged by `list`: its chain expired, or it was revoked. */
  private lapsed (peerId: string, list: RevocationList, g = this.grantOf(peerId)): AdmissionReason | undefined {
    if (g == null) return 'no-certificate'
    if (this.components.now() >= g.validUntil) return 'expired'
    const revoked = list.peerRevokedAt(peerId)
    if (revoked != null && revoked >= g.issuedAt) return 'revoked'
    if (g.operator != null && list.operatorRevokedAt(g.operator) != null) return 'revoked'
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
      if (this.lapsed(other, this.list, o) == null) return other
    }
    return undefined
  }

  /** The live certificate of `peerId` issued at or before `before` that expires last: a revocation's evidence. */
  private evidence (peerId: string, before: number, candidates: Bytes[]): Evidence | undefined {
    const known = [this.certificates.get(peerId), peerId === this.components.selfId ? this.own : undefined]
    let best: Evidence | undefined
    for (const bytes of [...candidates, ...known, ...this.revocations.evidenceOf(peerId)]) {
      if (bytes == null || bytes.byteLength === 0) continue
      const grant = this.live(peerId, bytes)
      if (grant == null || grant.issuedAt > before) continue
      if (best == null || grant.validUntil > best.grant.validUntil) best = { bytes, grant }
    }
    return best
  }

  private offerEvidence (peerId: string, certificate: Uint8Array): void {
    const bytes = new Uint8Array(certificate)
    const grant = this.live(peerId, bytes)
    if (grant != null) this.revocations.offer(peerId, bytes, grant)
  }

  /** What `bytes` grants `peerId` now, peer revocations aside; undefined when it is not a live certificate. */
  private live (peerId: string, bytes: Bytes): Admitted | undefined {
    const digest = createHash('sha256').update(bytes).digest('base64')
    try {
      const cert = decodeCertificate(bytes)
      const now = this.components.now()
      const grant = checkCertificate(cert, this.mesh as Uint8Array, peerId, now, this.operatorsOnly,
        this.verified.has(digest))
      this.markVerified(digest)
      return grant
    } catch (err) {
      if (err instanceof AdmissionError) return undefined
      throw err
    }
  }

  private markVerified (digest: string): void {
    if (this.verified.has(digest)) return
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string)
    this.verified.set(digest, true)
  }
}

const NO_REVOCATIONS: RevocationList = { peerRevokedAt: () => undefined, operatorRevokedAt: () => undefined }

/** Does this (still unchecked) revocation name an operator? Undecodable bytes say no; their check refuses them. */
function isOperatorRevocation (bytes: Uint8Array): boolean {
  try { return decodeRevocation(bytes).operator.byteLength > 0 } catch { return false }
}

/** The peer a (still unchecked) revocation names, if it decodes. */
function peerOf (bytes: Uint8Array): string | undefined {
  try { return decodeRevocation(bytes).peerId } catch { return undefined }
}

function revocationId (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
