/**
 * The revocations a node of a closed mesh keeps: those that matter (docs/security.md, "Who may own data").
 *
 * An operator revocation always matters: only the mesh key signs one. It voids every certificate and
 * every revocation that operator signed, whenever dated, so those are dropped at once. A revocation of
 * a peer matters only while a live certificate it withdraws exists; it is kept beside that certificate
 * (its evidence), sent on with it, and dropped once the certificate's chain expires or is voided. So a
 * revocation of a made-up peer is never kept, and what is kept is bounded per signer: a leaked operator
 * key fills its own quota, never another signer's, and a view sync shares its room between signers.
 */

import type { Admitted, Revoked } from '../../protocol/admission.js'

type Bytes = Uint8Array<ArrayBuffer>

/** A revocation as kept, persisted and sent: its bytes and, for a peer's, the certificate it withdraws. */
export interface KeptRevocation {
  revocation: Bytes
  certificate?: Bytes
}

/** A live certificate a revocation withdraws, and what it grants. */
export interface Evidence {
  bytes: Bytes
  grant: Admitted
}

/** Why a valid revocation is not kept: the label of `chorus_admission_revocations_dropped_total`. */
export type DropReason = 'signer-revoked' | 'no-live-certificate' | 'quota'

/** What the set needs: where revocations persist, and how to find a live certificate a revocation withdraws. */
export interface RevocationSetComponents {
  /** the live certificate of `peerId` issued at or before `before` that expires last (from `candidates` or known) */
  evidence: (peerId: string, before: number, candidates: Bytes[]) => Evidence | undefined
  now: () => number
  persist?: (id: string, kept: KeptRevocation | undefined) => void
  /** revocations kept per signer at most (MAX_REVOCATIONS_PER_SIGNER) */
  quota: number
}

interface Entry {
  id: string
  bytes: Bytes
  issuedAt: number
  /** who signed it: 'mesh', or the operator key as hex */
  signer: string
  transmits: number
  operator?: string
  peerId?: string
  evidence?: Evidence
}

const MESH = 'mesh'

/** The kept revocations of one mesh; see the file comment. */
export class RevocationSet {
  private readonly entries = new Map<string, Entry>()
  private readonly ids = new Map<string, string>()
  private readonly ofPeer = new Map<string, Set<string>>()
  private readonly perSigner = new Map<string, number>()
  /** per signer: where its next view sync starts in its list */
  private readonly cursors = new Map<string, number>()

  constructor (private readonly components: RevocationSetComponents) {}

  /** Revocations kept. */
  get size (): number { return this.entries.size }

  /** Is this revocation (by the sha-256 of its bytes) kept? */
  has (id: string): boolean { return this.ids.has(id) }

  /** When this operator key was revoked, if it was. */
  operatorRevokedAt (operator: string): number | undefined {
    return this.entries.get(`op/${operator}`)?.issuedAt
  }

  /** The latest issue time of a kept revocation of this peer, if any. */
  peerRevokedAt (peerId: string): number | undefined {
    let at: number | undefined
    const now = this.components.now()
    for (const key of this.ofPeer.get(peerId) ?? []) {
      const e = this.entries.get(key) as Entry
      if ((e.evidence?.grant.validUntil ?? 0) > now && (at == null || e.issuedAt > at)) at = e.issuedAt
    }
    return at
  }

  /** The certificates kept as evidence against this peer. */
  evidenceOf (peerId: string): Bytes[] {
    return [...this.ofPeer.get(peerId) ?? []].map((key) => this.entries.get(key)?.evidence?.bytes as Bytes)
  }

  /**
   * Keep a checked revocation if it matters. `candidates` are certificates that came with it. Returns
   * 'new' when kept, 'known' when it adds nothing, or why it was dropped.
   */
  add (id: string, bytes: Bytes, r: Revoked, candidates: Bytes[], fresh: boolean): 'new' | 'known' | DropReason {
    if (this.ids.has(id)) return 'known'
    const signer = r.signer ?? MESH
    const transmits = fresh ? 0 : Number.MAX_SAFE_INTEGER
    if (r.operator != null) {
      if (this.entries.has(`op/${r.operator}`)) return 'known'
      if ((this.perSigner.get(signer) ?? 0) >= this.components.quota) return 'quota'
      this.put(`op/${r.operator}`, { id, bytes, issuedAt: r.issuedAt, signer, transmits, operator: r.operator })
      this.voidOperator(r.operator)
      return 'new'
    }
    const peerId = r.peerId as string
    const key = `peer/${signer}/${peerId}`
    const before = this.entries.get(key)
    if (before != null && before.issuedAt >= r.issuedAt) return 'known'
    if (before == null && (this.perSigner.get(signer) ?? 0) >= this.components.quota) return 'quota'
    const evidence = this.components.evidence(peerId, r.issuedAt, candidates)
    if (evidence == null) return 'no-live-certificate'
    if (before != null) this.delete(key)
    this.put(key, { id, bytes, issuedAt: r.issuedAt, signer, transmits, peerId, evidence })
    return 'new'
  }

  /** A withdrawn certificate of `peerId` seen again: keep it as evidence where it outlives the current one. */
  offer (peerId: string, bytes: Bytes, grant: Admitted): void {
    for (const key of this.ofPeer.get(peerId) ?? []) {
      const e = this.entries.get(key) as Entry
      if (grant.issuedAt > e.issuedAt || grant.validUntil <= (e.evidence?.grant.validUntil ?? 0)) continue
      e.evidence = { bytes, grant }
      this.components.persist?.(e.id, kept(e))
    }
  }

  /** Drop the revocations of peers whose evidence expired. Returns how many went. */
  prune (): number {
    const now = this.components.now()
    let n = 0
    for (const [key, e] of this.entries) {
      if (e.evidence != null && e.evidence.grant.validUntil <= now) { this.delete(key); n++ }
    }
    return n
  }

  /** Up to `max` revocations not yet sent `limit` times, least sent first (piggybacked on pings). */
  fresh (max: number, limit: number): KeptRevocation[] {
    const out = [...this.entries.values()]
      .filter((e) => e.transmits < limit)
      .sort((a, b) => a.transmits - b.transmits)
      .slice(0, max)
    for (const e of out) e.transmits++
    return out.map(kept)
  }

  /**
   * The revocations that withdraw `peerId`'s admission, at most `max`: those of the peer itself and every
   * operator revocation (one may void the delegation its certificate hangs on). What a node tells a server
   * it refuses as revoked, so that the server learns it owns nothing even when no member gossips to it.
   */
  against (peerId: string, max: number): KeptRevocation[] {
    const own = [...this.ofPeer.get(peerId) ?? []].map((key) => this.entries.get(key) as Entry)
    const ops = [...this.entries.values()].filter((e) => e.operator != null)
    return [...own, ...ops].slice(0, max).map(kept)
  }

  /**
   * Up to `max` revocations for a view sync: every operator revocation, then the others shared out
   * between signers in turn, each signer's list going on from where its last sync stopped. A signer
   * with no more than its share is sent whole every time, however many another signer has; the rest
   * all go in turn.
   */
  forSync (max: number): KeptRevocation[] {
    const ops: Entry[] = []
    const bySigner = new Map<string, Entry[]>()
    for (const e of this.entries.values()) {
      if (e.operator != null) { ops.push(e); continue }
      const list = bySigner.get(e.signer) ?? []
      list.push(e)
      bySigner.set(e.signer, list)
    }
    const queues = [...bySigner].map(([signer, list]) => {
      return { signer, list: rotate(list, (this.cursors.get(signer) ?? 0) % list.length), taken: 0 }
    })
    const out = ops.slice(0, max)
    for (let i = 0; out.length < max && queues.some((q) => i < q.list.length); i++) {
      for (const q of queues) if (i < q.list.length && out.length < max) { out.push(q.list[i]); q.taken++ }
    }
    for (const q of queues) this.cursors.set(q.signer, (this.cursors.get(q.signer) ?? 0) + q.taken)
    return out.map(kept)
  }

  /** An operator was revoked: what it signed goes, and so do revocations whose only live evidence it signed. */
  private voidOperator (operator: string): void {
    for (const [key, e] of this.entries) {
      if (e.operator != null) continue
      if (e.signer === operator) { this.delete(key); continue }
      if (e.evidence?.grant.operator !== operator) continue
      const evidence = this.components.evidence(e.peerId as string, e.issuedAt, [])
      if (evidence == null) { this.delete(key); continue }
      e.evidence = evidence
      this.components.persist?.(e.id, kept(e))
    }
  }

  private put (key: string, e: Entry): void {
    this.entries.set(key, e)
    this.ids.set(e.id, key)
    this.perSigner.set(e.signer, (this.perSigner.get(e.signer) ?? 0) + 1)
    if (e.peerId != null) this.ofPeer.set(e.peerId, (this.ofPeer.get(e.peerId) ?? new Set()).add(key))
    this.components.persist?.(e.id, kept(e))
  }

  private delete (key: string): void {
    const e = this.entries.get(key)
    if (e == null) return
    this.entries.delete(key)
    this.ids.delete(e.id)
    this.perSigner.set(e.signer, (this.perSigner.get(e.signer) ?? 1) - 1)
    const keys = e.peerId != null ? this.ofPeer.get(e.peerId) : undefined
    keys?.delete(key)
    if (keys?.size === 0) this.ofPeer.delete(e.peerId as string)
    this.components.persist?.(e.id, undefined)
  }
}

function kept (e: Entry): KeptRevocation {
  return e.evidence != null ? { revocation: e.bytes, certificate: e.evidence.bytes } : { revocation: e.bytes }
}

function rotate<T> (list: T[], by: number): T[] {
  return by === 0 ? list : [...list.slice(by), ...list.slice(0, by)]
}
