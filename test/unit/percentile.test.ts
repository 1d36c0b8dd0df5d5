import { strict as assert } from 'node:assert'
import { median, percentile, summarize } from '../../bench/lib/percentile.js'

describe('bench percentiles (bench/lib/percentile.ts)', () => {
  it('interpolates percentiles between the nearest ranks of sorted values', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1)
    assert.equal(percentile(v, 50), median(v))
    assert.ok(percentile(v, 99) >= 99 && percentile(v, 99) <= 100)
    assert.equal(percentile(v, 100), 100)
    assert.equal(percentile(v, 0), 1)
  })

  it('summarizes unsorted input without changing it', () => {
    const v = [5, 1, 4, 2, 3]
    const s = summarize(v)
    assert.deepEqual(v, [5, 1, 4, 2, 3])
    assert.equal(s.p50, 3)
    assert.equal(s.max, 5)
  })

  it('reports NaN, not zero, for no samples', () => {
    assert.ok(Number.isNaN(median([])))
  })
})
