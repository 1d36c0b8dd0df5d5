/**
 * The ownership ring as the dashboard draws it: each server's positions as fractions of the keyspace
 * and its share of the keys, computed from the same `Ring` the nodes place data with (protocol/ring.ts),
 * so the picture cannot drift from what placement does. Bounded: positions are thinned for drawing,
 * servers past a limit are left out of the list (their keys still count for everyone else's share).
 */

import { DEFAULT_VNODES, Ring, positionSource, type RingMember } from '../../protocol/ring.js'

/** Positions sent per server at most; a server with more is drawn with an evenly spaced subset. */
export const MAX_DRAWN_POSITIONS = 64

/** Servers listed at most (sorted by peer id); the rest are counted in `omitted`. */
export const MAX_LISTED_SERVERS = 256

/** The ring is also sampled at this many evenly spaced points, each naming its primary owner (the owner band). */
export const RING_BINS = 256

/** The 48-bit position heads `Ring` orders by, as a fraction of the keyspace. */
const SPAN = 2 ** 48

/** One server on the ring. */
export interface RingServerView {
  peerId: string
  capacity: number
  /** how many positions it has on the ring (before thinning) */
  vnodes: number
  /** up to MAX_DRAWN_POSITIONS of them, as fractions of the keyspace in [0, 1), ascending */
  positions: number[]
  /** the fraction of keys it is the primary owner of */
  primaryShare: number
  /** the fraction of keys it holds a replica of (it is one of their N owners) */
  replicaShare: number
}

/** The whole ring. */
export interface RingView {
  /** N: owners per key */
  replicas: number
  servers: RingServerView[]
  /** servers on the ring but not in `servers` (over MAX_LISTED_SERVERS) */
  omitted: number
  /** RING_BINS entries: the index in `servers` of the primary owner at each bin's midpoint, -1 if none or omitted */
  bins: number[]
}

/**
 * Lay out the ring of `members` with `replicas` owners per key. Pure; costs O(P log P) for P positions
 * in all (128 per unit of capacity), so callers keep the result per membership view (`RingViewCache`).
 */
export function ringView (members: RingMember[], replicas: number, vnodes = DEFAULT_VNODES): RingView {
  const unique = [...new Map(members.map((m) => [m.peerId, m])).values()]
  if (unique.length === 0) return { replicas, servers: [], omitted: 0, bins: new Array(RING_BINS).fill(-1) }
  // The ring fills the cache it is given with every server's positions, keyed `<source>/<count>`: reading
  // them back (rather than hashing here) keeps one definition of where a server sits.
  const cache = new Map<string, Float64Array>()
  void new Ring(unique, vnodes, cache)
  const peers = unique.map((m) => m.peerId).sort()
  const bySource = new Map(unique.map((m) => [positionSource(m), m.peerId]))
  const positionsOf = new Map<string, Float64Array>()
  for (const [key, positions] of cache) {
    const peerId = bySource.get(key.slice(0, key.lastIndexOf('/')))
    if (peerId != null) positionsOf.set(peerId, positions)
  }
  // every position with its holder, ordered as Ring orders them (position, then peer id)
  const points: Array<[number, number]> = []
  peers.forEach((peerId, index) => { for (const p of positionsOf.get(peerId) ?? []) points.push([p, index]) })
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const want = Math.min(replicas, peers.length)
  const primary = new Float64Array(peers.length)
  const replica = new Float64Array(peers.length)
  const len = points.length
  for (let i = 0; i < len; i++) {
    // keys in (previous position, this position] belong to this position's holder, then the next distinct ones
    const arc = i === 0 ? points[0][0] + SPAN - points[len - 1][0] : points[i][0] - points[i - 1][0]
    if (arc === 0) continue
    primary[points[i][1]] += arc
    const seen = new Set<number>()
    for (let j = i, steps = 0; steps < len && seen.size < want; steps++, j = (j + 1) % len) {
      const h = points[j][1]
      if (!seen.has(h)) { seen.add(h); replica[h] += arc }
    }
  }
  const listed = peers.slice(0, MAX_LISTED_SERVERS)
  const byPeer = new Map(unique.map((m) => [m.peerId, m]))
  const servers: RingServerView[] = listed.map((peerId, index) => {
    const all = [...(positionsOf.get(peerId) ?? [])].sort((a, b) => a - b)
    return {
      peerId,
      capacity: byPeer.get(peerId)?.capacity ?? 1,
      vnodes: all.length,
      positions: thin(all, MAX_DRAWN_POSITIONS).map((p) => round(p / SPAN, 6)),
      primaryShare: round(primary[index] / SPAN, 6),
      replicaShare: round(replica[index] / SPAN, 6)
    }
  })
  const bins: number[] = []
  for (let b = 0, i = 0; b < RING_BINS; b++) {
    const x = ((b + 0.5) / RING_BINS) * SPAN
    while (i < len && points[i][0] < x) i++
    const holder = points[i === len ? 0 : i][1]
    bins.push(holder < listed.length ? holder : -1)
  }
  return { replicas, servers, omitted: peers.length - listed.length, bins }
}

/** One `RingView` per distinct set of ring members: recomputed only when the view changes. */
export class RingViewCache {
  private key = ''
  private view?: RingView

  constructor (private readonly replicas: number) {}

  /** The view of `members`, from the cache when they are the same servers as last time. */
  get (members: RingMember[]): RingView {
    const key = members.map((m) => `${m.peerId}*${m.capacity ?? 1}*${m.seed ?? ''}`).sort().join(',')
    if (this.view == null || key !== this.key) {
      this.view = ringView(members, this.replicas)
      this.key = key
    }
    return this.view
  }
}

/** At most `n` evenly spaced items of `all` (all of them when there are no more than `n`). */
function thin (all: number[], n: number): number[] {
  if (all.length <= n) return all
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)])
}

function round (x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
