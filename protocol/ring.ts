/**
 * Ownership: consistent hashing over a 256-bit keyspace (docs/architecture.md). A key's owners are
 * the N distinct server peers whose positions follow the key's point clockwise. Each server has several
 * virtual positions, in proportion to its declared capacity, so load stays close to even: with plain
 * random positions one server can own several times its share.
 *
 * Pure: every node computes the same owners from the same view, with no I/O and no clock.
 */

import { createHash } from 'node:crypto'

/** Virtual positions per unit of capacity. 128 gives max/mean ≈ 1.1–1.2 at 100–1,000 servers (bench ring). */
export const DEFAULT_VNODES = 128

/** Upper bound on positions one server may take, whatever its capacity (bounds ring size and memory). */
export const MAX_VNODES_PER_SERVER = 4096

/** A server as ownership sees it. */
export interface RingMember {
  peerId: string
  /** declared capacity (weight), ≥ 1 @default 1 */
  capacity?: number
  /**
   * Where its positions come from. In a closed mesh, the seed of its admission certificate, chosen by
   * the signer (protocol/admission.ts), so that an operator cannot grind a peer id to land beside a
   * chosen key. Absent in an open mesh: positions hash from the peer id.
   */
  seed?: string
}

/** What a key names: users and rooms live in separate parts of the key namespace. */
export type KeyKind = 'user' | 'room' | 'handle' | 'topic'

/** The point of a key: sha256("chorus/<kind>/" + id), the same keyspace the DHT uses for peer keys. */
export function keyPoint (kind: KeyKind, id: string): Uint8Array {
  return createHash('sha256').update(`chorus/${kind}/${id}`).digest()
}

/** The 48 leading bits of a point, as a number: exact for ordering, with collisions (~n²/2⁴⁹) broken by peer id. */
function head (point: Uint8Array): number {
  return ((point[0] * 256 + point[1]) * 256 + point[2]) * 2 ** 24 + ((point[3] * 256 + point[4]) * 256 + point[5])
}

/** The source of a member's positions: its certificate's seed in a closed mesh, its peer id in an open one. */
export function positionSource (m: RingMember): string {
  return m.seed != null ? `seed:${m.seed}` : m.peerId
}

function positionsOf (source: string, count: number, cache?: Map<string, Float64Array>): Float64Array {
  const id = `${source}/${count}`
  let p = cache?.get(id)
  if (p == null) {
    p = new Float64Array(count)
    for (let i = 0; i < count; i++) p[i] = head(createHash('sha256').update(`chorus/vnode/${source}/${i}`).digest())
    cache?.set(id, p)
  }
  return p
}

/** An immutable ring built from one view of the live servers. Build once per view, query many times. */
export class Ring {
  private readonly positions: Float64Array
  private readonly holders: Int32Array
  private readonly peers: string[]

  /**
   * @param cache positions computed for earlier rings, keyed by peer id and count: rebuilding the ring
   *   of a 1,000-server view after one join then hashes 128 positions instead of 128,000.
   */
  constructor (members: RingMember[], vnodes: number = DEFAULT_VNODES, cache?: Map<string, Float64Array>) {
    if (!Number.isInteger(vnodes) || vnodes < 1) throw new RangeError('vnodes must be a whole number ≥ 1')
    this.peers = [...new Set(members.map((m) => m.peerId))].sort()
    const byPeer = new Map(members.map((m) => [m.peerId, m]))
    const entries: Array<[number, number]> = []
    this.peers.forEach((peerId, index) => {
      const member = byPeer.get(peerId) as RingMember
      const c = member.capacity ?? 1
      if (!(c > 0) || !Number.isFinite(c)) throw new RangeError(`capacity of ${peerId} must be a positive number`)
      const count = Math.min(MAX_VNODES_PER_SERVER, Math.max(1, Math.round(vnodes * c)))
      for (const p of positionsOf(positionSource(member), count, cache)) entries.push([p, index])
    })
    entries.sort((a, b) => a[0] - b[0] || (this.peers[a[1]] < this.peers[b[1]] ? -1 : 1))
    this.positions = Float64Array.from(entries, (e) => e[0])
    this.holders = Int32Array.from(entries, (e) => e[1])
  }

  /** Servers on the ring. */
  get size (): number { return this.peers.length }

  /** The servers on the ring, in peer id order. */
  members (): string[] { return [...this.peers] }

  /** The first `n` distinct servers at or after `point`, clockwise: the key's owners, primary first. */
  owners (point: Uint8Array, n: number): string[] {
    const want = Math.min(n, this.peers.length)
    const out: string[] = []
    if (want <= 0) return out
    const seen = new Set<number>()
    const len = this.positions.length
    let i = this.successor(head(point))
    for (let steps = 0; steps < len && out.length < want; steps++, i = (i + 1) % len) {
      const h = this.holders[i]
      if (!seen.has(h)) { seen.add(h); out.push(this.peers[h]) }
    }
    return out
  }

  /** Index of the first position ≥ x (wrapping to 0 past the end). */
  private successor (x: number): number {
    let lo = 0
    let hi = this.positions.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.positions[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo === this.positions.length ? 0 : lo
  }
}

/**
 * The owners of `key` among `liveServers`: `n` distinct peer ids, primary first. Builds a ring each call;
 * callers on a hot path keep a `Ring` per membership view instead.
 */
export function owners (key: Uint8Array, liveServers: RingMember[], n: number, vnodes = DEFAULT_VNODES): string[] {
  return new Ring(liveServers, vnodes).owners(key, n)
}
