/** Order statistics for latency samples. Pure functions, no I/O: unit-testable on their own. */

/**
 * The `p`-th percentile (0..100) of `sorted` (ascending), interpolating linearly between the two
 * nearest ranks (numpy's default, "type 7"). `NaN` for an empty list.
 */
export function percentile (sorted: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100 (got ${p})`)
  if (sorted.length === 0) return NaN
  const rank = (p / 100) * (sorted.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
}

/** What a latency table needs of one sample set. */
export interface Summary {
  count: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Summary statistics of `values` (any order; not modified). Every field but `count` is `NaN` when empty. */
export function summarize (values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    count: sorted.length,
    min: sorted.length > 0 ? sorted[0] : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
    mean: sorted.length > 0 ? sum / sorted.length : NaN
  }
}

/** The median of `values` (any order); `NaN` when empty. */
export function median (values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}
