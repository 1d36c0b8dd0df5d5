import { strict as assert } from 'node:assert'
import { parseInvocation } from '../../bench/lib/flags.js'
import { FLOOR_VARIANTS, floorTerms, formatFloorMatrix, summarizeFloor, variantOrder, type FloorSlice } from '../../bench/lib/floor-summary.js'
import { readSeq, seqHeader, varint } from '../../bench/lib/floor-wire.js'
import { SCENARIOS } from '../../bench/scenarios.js'

function slice (
  variant: string,
  mode: FloorSlice['mode'],
  acked: number,
  ms: number,
  cpu: number[],
  extra: Partial<FloorSlice> = {}
): FloorSlice {
  return {
    variant,
    mode,
    round: 0,
    acked,
    unacked: 0,
    ms,
    cpuMs: { client: cpu[0], primary: cpu[1], replicas: cpu[2] },
    batches: 0,
    latenciesMs: [],
    ...extra
  }
}

describe('bench floor (bench/lib/floor-summary.ts, floor-wire.ts)', () => {
  it('adds the rounds of a variant up before dividing: sends/s over the summed time, CPU per send by role', () => {
    const rows = summarizeFloor([
      slice('a', 'saturate', 1000, 1000, [100, 200, 300], { batches: 30, latenciesMs: [1, 2, 3] }),
      slice('a', 'saturate', 3000, 1000, [100, 200, 300], { batches: 30, latenciesMs: [4, 5] }),
      slice('a', 'paced', 500, 1000, [50, 50, 50])
    ], ['a'])
    assert.equal(rows.length, 2)
    const [sat, paced] = rows
    assert.equal(sat.mode, 'saturate')
    assert.equal(sat.slices, 2)
    assert.equal(sat.acked, 4000)
    assert.equal(sat.sendsPerSec, 2000)
    assert.deepEqual(sat.cpuMsPerSend, { all: 0.3, client: 0.05, primary: 0.1, replicas: 0.15 })
    assert.equal(sat.batchesPerSend, 60 / 4000)
    assert.equal(sat.latencyMs.count, 5)
    assert.equal(sat.latencyMs.p50, 3)
    assert.equal(paced.mode, 'paced')
    assert.ok(Math.abs(paced.cpuMsPerSend.all - 0.3) < 1e-12)
  })

  it('gives NaN per send, not Infinity, when nothing was acknowledged, and leaves out variants never run', () => {
    const rows = summarizeFloor([slice('a', 'paced', 0, 1000, [1, 1, 1])], ['a', 'b'])
    assert.equal(rows.length, 1)
    assert.ok(Number.isNaN(rows[0].cpuMsPerSend.all))
    assert.equal(rows[0].sendsPerSec, 0)
  })

  it('costs each term as the difference of the two variants that differ in it alone', () => {
    const cpuOf: Record<string, number> = {
      'full, replicas verify': 1.0,
      'full, replicas trust': 0.8,
      'no verify': 0.7,
      'no fsync': 0.6,
      'no verify, no fsync': 0.5,
      'transport only': 0.2
    }
    const slices = Object.entries(cpuOf).map(([v, cpu]) => slice(v, 'saturate', 1000, 1000, [0, cpu * 1000, 0]))
    const terms = floorTerms(summarizeFloor(slices))
    const by = Object.fromEntries(terms.map((t) => [t.term, t.cpuMsPerSend]))
    const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9
    assert.equal(terms.length, 5)
    assert.ok(terms.every((t) => t.mode === 'saturate'))
    assert.ok(near(by['Ed25519 verify on both replicas'], 0.2))
    assert.ok(near(by['Ed25519 verify on the primary'], 0.1))
    assert.ok(near(by['fsync of the batches (3 owners)'], 0.2))
    assert.ok(near(by['LevelDB writes, unsynced (3 owners)'], 0.3))
    assert.ok(near(by['transport and process hops (floor of the floor)'], 0.2))
  })

  it('rotates the variants round by round, so each runs first once', () => {
    assert.deepEqual(variantOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c'])
    assert.deepEqual(variantOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a'])
    assert.deepEqual(variantOrder(['a', 'b', 'c'], 4), ['b', 'c', 'a'])
    assert.deepEqual(variantOrder([], 2), [])
    assert.equal(new Set(FLOOR_VARIANTS.map((v) => v.name)).size, FLOOR_VARIANTS.length)
  })

  it('prints one matrix line per row under its header', () => {
    const text = formatFloorMatrix(summarizeFloor([slice('no verify', 'paced', 10, 1000, [1, 2, 3])]))
    const lines = text.split('\n')
    assert.equal(lines.length, 3)
    assert.match(lines[0], /^mode\s+variant\s+sends\/s/)
    assert.match(lines[2], /^paced\s+no verify\s+10\s+0\.600\s+0\.100\s+0\.200\s+0\.300/)
  })

  it('frames: LEB128 length prefixes and 4-byte sequence numbers that wrap at 2³²', () => {
    assert.deepEqual([...varint(0)], [0])
    assert.deepEqual([...varint(127)], [127])
    assert.deepEqual([...varint(300)], [0xac, 0x02])
    assert.throws(() => varint(-1), RangeError)
    assert.equal(readSeq(seqHeader(0xdeadbeef)), 0xdeadbeef)
    assert.equal(readSeq(seqHeader(2 ** 32 + 5)), 5)
    const framed = new Uint8Array([9, 9, ...seqHeader(42), 1, 2]).subarray(2)
    assert.equal(readSeq(framed), 42)
    assert.throws(() => readSeq(new Uint8Array(3)), RangeError)
  })

  it('is a registered scenario with its flags', () => {
    const inv = parseInvocation(['floor', '--rate', '200', '--clients', '2'], SCENARIOS)
    assert.equal(inv.scenario?.name, 'floor')
    assert.equal(inv.params.rate, 200)
    assert.equal(inv.params.clients, 2)
    assert.equal(inv.params.window, 256)
    assert.equal(inv.params.seconds, 5)
  })
})
