/**
 * A bounded time series of the node's figures for the dashboard: every `intervalMs` it reads cumulative
 * counters and instantaneous gauges and keeps the last `capacity` readings in a ring buffer. Rates are
 * worked out when asked, from consecutive readings, so a slow or skipped tick never invents traffic.
 * Memory is fixed: capacity × (names ≤ MAX_SERIES) numbers, whatever the node does.
 */

import { logger } from '@libp2p/logger'
import { InvalidOptionError } from '../errors.js'
import { Periodic } from '../timers/periodic.js'

const log = logger('chorus:status:sampler')

/** Names per kind (counters, gauges) kept at most; a reading with more keeps the first ones. */
export const MAX_SERIES = 32

/** One reading: cumulative counters (rates are derived) and gauges (kept as read). */
export interface Reading {
  counters: Record<string, number>
  gauges: Record<string, number>
}

/** Sampler settings. */
export interface SamplerInit {
  /** how often to read @default 1000 */
  intervalMs?: number
  /** readings kept: with the default interval, the last five minutes @default 300 */
  capacity?: number
  /** read the figures; a reading that throws is skipped (logged), the next tick tries again */
  read: () => Reading | Promise<Reading>
  /** the clock (ms) @default Date.now */
  now?: () => number
}

/** What `series()` returns: aligned arrays, oldest first. */
export interface Series {
  intervalMs: number
  /** time of each point (ms since epoch); the first reading has no rate, so it starts the arrays of the second */
  t: number[]
  /** per counter: its rate per second over the interval ending at each point */
  rates: Record<string, number[]>
  /** per gauge: its value at each point */
  gauges: Record<string, number[]>
  /** the latest cumulative counter values (totals since the node started) */
  totals: Record<string, number>
}

interface Sample { t: number, counters: Map<string, number>, gauges: Map<string, number> }

/** Reads the node's figures on a timer into a fixed-size ring buffer. */
export class Sampler {
  readonly intervalMs: number
  readonly capacity: number
  private readonly buffer: Array<Sample | undefined>
  /** index of the next slot to write */
  private head = 0
  private count = 0
  private readonly ticks: Periodic
  private reading = false
  private readonly now: () => number

  constructor (private readonly init: SamplerInit) {
    this.intervalMs = init.intervalMs ?? 1000
    this.capacity = init.capacity ?? 300
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 50 || this.intervalMs > 60_000) {
      throw new InvalidOptionError('intervalMs', 'must be a whole number of ms from 50 to 60000')
    }
    if (!Number.isInteger(this.capacity) || this.capacity < 2 || this.capacity > 10_000) {
      throw new InvalidOptionError('capacity', 'must be a whole number from 2 to 10000')
    }
    this.buffer = new Array(this.capacity + 1).fill(undefined)
    this.now = init.now ?? Date.now
    this.ticks = new Periodic(async () => { await this.sample() }, { intervalMs: this.intervalMs, log, name: 'sampling' })
  }

  /** Take a first reading now, then one every interval. Safe to call twice. */
  start (): void {
    if (this.ticks.running) return
    void this.sample()
    // the sampler never keeps a stopping node alive: Periodic's timer is unref'd
    this.ticks.start()
  }

  stop (): void {
    this.ticks.stop()
  }

  /** Take one reading now (the timer's tick; tests call it directly). Skipped while the previous one runs. */
  async sample (): Promise<void> {
    if (this.reading) return
    this.reading = true
    try {
      const r = await this.init.read()
      this.push({ t: this.now(), counters: numbers(r.counters), gauges: numbers(r.gauges) })
    } catch (err: any) {
      log('reading failed: %s', err.message)
    } finally {
      this.reading = false
    }
  }

  /** The buffered series, oldest first: at most `capacity` points. */
  series (): Series {
    const samples: Sample[] = []
    // one slot more than capacity: the oldest reading is kept only as the base of the first rate
    const size = this.buffer.length
    for (let i = 0; i < this.count; i++) samples.push(this.buffer[(this.head - this.count + i + size) % size] as Sample)
    const last = samples[samples.length - 1]
    const totals = last == null ? {} : Object.fromEntries(last.counters)
    const out: Series = { intervalMs: this.intervalMs, t: [], rates: {}, gauges: {}, totals }
    if (last == null) return out
    for (const name of last.counters.keys()) out.rates[name] = []
    for (const name of last.gauges.keys()) out.gauges[name] = []
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]
      const b = samples[i]
      const dt = (b.t - a.t) / 1000
      out.t.push(b.t)
      for (const [name, values] of Object.entries(out.rates)) {
        const before = a.counters.get(name)
        const after = b.counters.get(name)
        // a counter that went backwards (a component restarted) or was missing gives 0, never a negative rate
        values.push(before == null || after == null || dt <= 0 ? 0 : round2(Math.max(0, after - before) / dt))
      }
      for (const [name, values] of Object.entries(out.gauges)) values.push(b.gauges.get(name) ?? 0)
    }
    return out
  }

  private push (s: Sample): void {
    this.buffer[this.head] = s
    this.head = (this.head + 1) % this.buffer.length
    this.count = Math.min(this.count + 1, this.buffer.length)
  }
}

/** The first MAX_SERIES finite numbers of a record. */
function numbers (r: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of Object.entries(r)) {
    if (out.size >= MAX_SERIES) break
    if (typeof v === 'number' && Number.isFinite(v)) out.set(k, v)
  }
  return out
}

function round2 (x: number): number {
  return Math.round(x * 100) / 100
}
