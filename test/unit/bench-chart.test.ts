import { strict as assert } from 'node:assert'
import { chartData, chartPathFor, chartSvg, commandOf, logTicks } from '../../bench/lib/chart.js'
import type { ResultRecord } from '../../bench/lib/report.js'

const machine = {
  cpus: 2,
  cpuModel: 'Test CPU',
  totalMemBytes: 8 * 2 ** 30,
  node: 'v20.20.2',
  platform: 'linux',
  release: '6',
  arch: 'x64',
  loadAvg1m: 1.5,
  busyPercentBefore: 12
}
const lat = (p50: number, p90: number, p99: number): Record<string, number> =>
  ({ count: 100, min: p50 / 2, p50, p90, p99, max: p99 * 1.1, mean: p50 })
const sends = (acked: number, latencies: Record<string, number>): Record<string, unknown> =>
  ({ acked, failed: 0, errors: {}, startedAt: 1000, endedAt: 2000, latenciesMs: latencies })

/** A store record as `npm run bench -- store --nodes 3 --seconds 1 --repair 0` writes it, with made-up figures. */
const store: ResultRecord = {
  scenario: 'store',
  startedAt: '2026-11-30T18:50:16.344Z',
  finishedAt: '2026-11-30T18:51:00.000Z',
  machine,
  params: { nodes: 3, rate: 200, seconds: 1, window: 64, size: 200, repair: 0 },
  figures: [{ metric: 'W=1 saturation: acknowledged sends/s', value: 120, unit: 'sends/s' }],
  details: {
    raw: {
      paced: { deliveredPerSecMedian: 199.5, latencyMs: lat(2, 6, 12) },
      saturation: { deliveredPerSecMedian: 1500, latencyMs: lat(100, 180, 250) }
    },
    perQuorum: {
      1: { paced: sends(200, lat(20, 60, 90)), saturated: sends(480, lat(120, 200, 300)) },
      2: { paced: sends(199, lat(25, 70, 110)), saturated: sends(430, lat(130, 210, 320)) },
      3: { paced: sends(198, lat(30, 90, 140)), saturated: sends(370, lat(170, 260, 380)) }
    }
  }
}

/** Figures only (the ring scenario's shape): a bar chart of them. */
const ring: ResultRecord = {
  scenario: 'ring',
  startedAt: '2026-11-30T18:50:03.491Z',
  finishedAt: '2026-11-30T18:50:05.000Z',
  machine,
  params: { keys: 1000, vnodes: 128 },
  figures: [
    { metric: '100 servers: max / mean keys per server', value: 1.13, unit: '×' },
    { metric: '100 servers: keys moved when one joins', value: 3.14, unit: '%' },
    { metric: '1000 servers: max / mean keys per server', value: 1.24, unit: '×' },
    { metric: '1000 servers: keys moved when one joins', value: 0.31, unit: '%' },
    { metric: '1000 servers: owners() lookup', value: NaN, unit: 'µs' }
  ],
  details: {}
}

function assertSvg (svg: string): void {
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /)
  assert.match(svg, /<\/svg>\s*$/)
  assert.ok(!/NaN|undefined|Infinity/.test(svg), 'no NaN, undefined or Infinity drawn')
}

describe('bench charts (bench/lib/chart.ts)', function () {
  this.timeout(30_000)

  it('draws throughput and latency percentiles per phase, with title, axes, units and legend', async () => {
    const svg = await chartSvg(store)
    assertSvg(svg)
    for (const text of [
      'Chorus bench: store, 2026-11-30 18:50 UTC', // title: scenario and date
      'npm run bench -- store --nodes 3 --rate 200 --seconds 1 --window 64 --size 200 --repair 0', // the command
      '2 × Test CPU, 8 GB, Node 20.20.2', // the machine
      'Throughput, per second', 'acknowledged sends/s', // panel, what is counted
      'Latency, ms: p50, p90, p99', 'ms (log scale)', // panel, unit of the axis
      'write quorum W of N = 3 owners', 'raw gossipsub', 'W = 1', 'W = 3', // x axis
      'paced 200/s', 'saturation, 64 in flight', 'p50', 'p90', 'p99', // legends
      '480', '1,500' // bar labels: W = 1 saturation 480 acknowledged in 1 s; raw 1,500 msgs/s
    ]) assert.ok(svg.includes(text), `the chart shows ${JSON.stringify(text)}`)
  })

  it('reads store details into points: throughput per second, percentiles as recorded', () => {
    const data = chartData(store)
    assert.equal(data.kind, 'phases')
    if (data.kind !== 'phases') return
    const w2 = data.points.find((p) => p.phase === 'W = 2' && p.series.startsWith('saturation'))
    assert.deepEqual(w2, { phase: 'W = 2', series: 'saturation, 64 in flight', throughput: 430, latency: { p50: 130, p90: 210, p99: 320 } })
    assert.equal(data.points.length, 8)
  })

  it('draws a scenario without phases (or with details of another shape) as bars of its figures', async () => {
    assert.equal(chartData(ring).kind, 'figures')
    assert.equal(chartData({ ...store, details: { perQuorum: 'garbled' } }).kind, 'figures')
    const svg = await chartSvg(ring)
    assertSvg(svg)
    for (const text of ['Chorus bench: ring', 'max / mean keys per server', 'keys moved when one joins', '100 servers', '1000 servers', 'in %', '3.14 %', '1 not measured: left out']) {
      assert.ok(svg.includes(text), `the chart shows ${JSON.stringify(text)}`)
    }
  })

  it('names the chart after the record and spells out the command', () => {
    assert.equal(chartPathFor('/x/bench/results/store-2026-11-30T18-50-16-344Z.json'), '/x/bench/results/store-2026-11-30T18-50-16-344Z.svg')
    assert.equal(commandOf(ring), 'npm run bench -- ring --keys 1000 --vnodes 128')
  })

  it('puts log-axis ticks at 1, 2, 5 × 10ⁿ around the values', () => {
    assert.deepEqual(logTicks(3, 180), [2, 5, 10, 20, 50, 100, 200])
    assert.deepEqual(logTicks(0.6, 1), [0.5, 1])
  })
})
