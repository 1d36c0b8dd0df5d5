/**
 * Hybrid logical clock (Kulkarni et al.): timestamps that follow wall-clock time closely, never go
 * backwards on one node, and order causally related events across nodes even when clocks disagree.
 * Packed in one integer: milliseconds since the epoch in the high bits, a 16-bit counter in the low bits.
 */

import { ChorusError } from './errors.js'

/** Bits of the logical counter. */
export const HLC_COUNTER_BITS = 16n
const COUNTER_MASK = (1n << HLC_COUNTER_BITS) - 1n

/** A received timestamp further ahead of our wall clock than this is rejected, not adopted. @default 60000 */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/** A remote timestamp is too far in the future. */
export class ClockDriftError extends ChorusError {
  static readonly code = 'ERR_CLOCK_DRIFT'
  override readonly name = 'ClockDriftError'
  constructor (message: string) { super(message, ClockDriftError.code) }
}

/** Pack wall time and counter. */
export function hlcPack (ms: number, counter: number): bigint {
  return (BigInt(ms) << HLC_COUNTER_BITS) | BigInt(counter)
}

/** The wall-clock part of a timestamp, in ms since the epoch. */
export function hlcMillis (t: bigint): number {
  return Number(t >> HLC_COUNTER_BITS)
}

/** One node's clock. `now` is injectable for tests. */
export class HybridClock {
  private last = 0n

  constructor (private readonly wall: () => number = Date.now, private readonly maxDriftMs = DEFAULT_MAX_DRIFT_MS) {}

  /** A timestamp for a local event (a send): greater than every timestamp this clock has issued or seen. */
  now (): bigint {
    const physical = hlcPack(this.wall(), 0)
    this.last = physical > this.last ? physical : this.bump(this.last)
    return this.last
  }

  /**
   * Merge a received timestamp, so what we send next orders after it. Throws `ClockDriftError` if it is too far ahead.
   */
  observe (remote: bigint): void {
    const wallMs = this.wall()
    if (hlcMillis(remote) - wallMs > this.maxDriftMs) throw new ClockDriftError(`timestamp ${hlcMillis(remote) - wallMs} ms ahead of this clock`)
    if (remote > this.last) this.last = remote
  }

  private bump (t: bigint): bigint {
    // counter overflow (65,536 events in one ms) borrows the next millisecond: still monotonic
    return (t & COUNTER_MASK) === COUNTER_MASK ? hlcPack(hlcMillis(t) + 1, 0) : t + 1n
  }
}
