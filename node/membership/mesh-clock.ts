/**
 * Mesh time: this node's wall clock, corrected by the median offset of the servers it probes.
 *
 * Every membership frame carries its sender's wall time. When a server answers one of our requests we
 * know, to within half the round trip, what its clock read at the midpoint: its offset from ours. The
 * median over the servers we have heard from is what this node's own clock is off from the mesh. A
 * host whose NTP broke (minutes behind) would otherwise refuse honest envelopes as "from the future",
 * take fresh ones for stale, and stamp its users' messages out of place; with mesh time it judges and
 * stamps as the mesh does, and says how far off it is (`chorus_clock_offset_seconds`, `/status`).
 *
 * Only servers' clocks count (a crowd of clients cannot move it), the median needs MIN_SAMPLES of them
 * (one liar cannot move it either), offsets within DEAD_BAND_MS are noise and not applied, and an
 * offset beyond MAX_CORRECTION_MS is reported, not applied: a clock that far off needs its operator.
 */

import { logger } from '@libp2p/logger'

const log = logger('chorus:clock')

/** Servers heard from before the median is trusted. @default 2 */
export const DEFAULT_MIN_SAMPLES = 2

/** Offsets smaller than this are measurement noise: not applied. @default 500 */
export const DEFAULT_DEAD_BAND_MS = 500

/** Offsets larger than this are reported, not applied. @default 3600000 */
export const DEFAULT_MAX_CORRECTION_MS = 3_600_000

/** Samples whose round trip took longer than this say too little (the error is half the round trip). @default 2000 */
export const DEFAULT_MAX_RTT_MS = 2000

/** Servers whose offsets are kept at most (the most recently heard). @default 64 */
export const DEFAULT_MAX_PEERS = 64

export interface MeshClockInit {
  /** this node's own wall clock @default Date.now */
  wall?: () => number
  minSamples?: number
  deadBandMs?: number
  maxCorrectionMs?: number
}

export class MeshClock {
  private readonly offsets = new Map<string, number>()
  private applied = 0
  private measured = 0
  private readonly wall: () => number

  constructor (private readonly init: MeshClockInit = {}) {
    this.wall = init.wall ?? Date.now
  }

  /** The mesh's time now (ms since the epoch): this node's wall clock plus the applied correction. */
  now (): number {
    return this.wall() + this.applied
  }

  /** This node's own wall clock, uncorrected: what it tells its peers. */
  ownTime (): number {
    return this.wall()
  }

  /** The correction applied (ms; positive: this node's clock is behind the mesh). */
  get offsetMs (): number { return this.applied }

  /** The median offset measured, applied or not. */
  get measuredOffsetMs (): number { return this.measured }

  /** Servers heard from. */
  get samples (): number { return this.offsets.size }

  /**
   * A server answered a request sent at `sentAt` and received at `receivedAt` (both by this node's own
   * clock) with its wall time `peerTime`.
   */
  sample (peerId: string, peerTime: number, sentAt: number, receivedAt: number): void {
    const rtt = receivedAt - sentAt
    if (!Number.isFinite(peerTime) || peerTime <= 0 || rtt < 0 || rtt > DEFAULT_MAX_RTT_MS) return
    this.offsets.delete(peerId)
    this.offsets.set(peerId, peerTime - (sentAt + receivedAt) / 2)
    if (this.offsets.size > DEFAULT_MAX_PEERS) this.offsets.delete(this.offsets.keys().next().value as string)
    this.update()
  }

  /** A server left the view: its clock no longer counts. */
  forget (peerId: string): void {
    if (this.offsets.delete(peerId)) this.update()
  }

  private update (): void {
    const minSamples = this.init.minSamples ?? DEFAULT_MIN_SAMPLES
    const values = [...this.offsets.values()].sort((a, b) => a - b)
    const mid = values.length >> 1
    this.measured = values.length === 0
      ? 0
      : Math.round(values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2)
    const before = this.applied
    if (values.length < minSamples || Math.abs(this.measured) < (this.init.deadBandMs ?? DEFAULT_DEAD_BAND_MS)) {
      this.applied = 0
    } else if (Math.abs(this.measured) > (this.init.maxCorrectionMs ?? DEFAULT_MAX_CORRECTION_MS)) this.applied = 0
    else this.applied = this.measured
    if (Math.abs(this.applied - before) >= 1000) {
      log.error('this node\'s clock is %d ms %s the mesh (median of %d servers): using mesh time', Math.abs(this.measured), this.measured > 0 ? 'behind' : 'ahead of', values.length)
    }
  }
}
