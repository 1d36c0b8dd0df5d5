import { strict as assert } from 'node:assert'
import { UsageError, parseInvocation } from '../../bench/lib/flags.js'
import { capacityModel, goalRatio, serverShares } from '../../bench/lib/scale-model.js'
import type { WorkSample } from '../../bench/lib/work.js'
import { SCENARIOS } from '../../bench/scenarios.js'

function sample (name: string, role: string, cpuMs: number): WorkSample {
  return { name, role, cpuMs, work: null }
}

describe('bench scale model (bench/lib/scale-model.ts)', () => {
  it('gives each server its share of the servers\' CPU, leaving clients and the bootstrap out', () => {
    const before = [sample('s0', 'server', 100), sample('s1', 'server', 100), sample('s2', 'server', 100), sample('c0', 'client', 0)]
    const after = [sample('s0', 'server', 160), sample('s1', 'server', 120), sample('s2', 'server', 120), sample('c0', 'client', 500)]
    const s = serverShares(before, after)
    assert.deepEqual(s.cpuMs, { s0: 60, s1: 20, s2: 20 })
    assert.equal(s.totalMs, 100)
    assert.equal(s.busiest, 0.6)
    assert.equal(s.median, 0.2)
    assert.ok(Math.abs(s.busiestTimesServers - 1.8) < 1e-9)
  })

  it('leaves out a server missing from either snapshot', () => {
    const s = serverShares([sample('s0', 'server', 0)], [sample('s0', 'server', 10), sample('s1', 'server', 99)])
    assert.deepEqual(s.cpuMs, { s0: 10 })
    assert.equal(s.busiestTimesServers, 1)
  })

  it('takes the idle work out and sizes the mesh by its busiest server', () => {
    // 4 servers idle at 25 ms/s each, 100 sends/s: 1 ms of every send's 5 server-ms was idle work
    const m = capacityModel({
      servers: 4,
      serverCpuMsPerSend: 5,
      sendsPerSec: 100,
      idleMsPerSecMedian: 25,
      idleMsPerSecMax: 50,
      busiestShare: 0.5
    })
    assert.equal(m.marginalMsPerSend, 4)
    assert.equal(m.busiestMsPerSend, 2)
    assert.equal(m.coreLeftMs, 950)
    assert.equal(m.meshSendsPerSec, 475)
    assert.equal(m.perServerSendsPerSec, 118.75)
  })

  it('takes out the idle work of the whole metered window, the drain after the last send included', () => {
    // the meter ran 1.5 s per second of sending: 1.5 ms of every send's 5 server-ms was idle work
    const m = capacityModel({
      servers: 4,
      serverCpuMsPerSend: 5,
      sendsPerSec: 100,
      meteredPerLoadSecond: 1.5,
      idleMsPerSecMedian: 25,
      idleMsPerSecMax: 50,
      busiestShare: 0.5
    })
    assert.equal(m.marginalMsPerSend, 3.5)
  })

  it('grows capacity with the servers only when the work per send is flat and evenly shared', () => {
    const at = (servers: number): number => capacityModel({
      servers,
      serverCpuMsPerSend: 3,
      sendsPerSec: 100,
      idleMsPerSecMedian: 0,
      idleMsPerSecMax: 0,
      busiestShare: 1 / servers
    }).meshSendsPerSec
    assert.ok(Math.abs(at(12) / at(3) - 4) < 1e-9)
  })

  it('judges a ratio goal, and a ratio that cannot be computed is not met', () => {
    assert.deepEqual(goalRatio(2, 2.2, 1.1).met, true)
    assert.deepEqual(goalRatio(2, 3, 1.1), { ratio: 1.5, met: false })
    assert.equal(goalRatio(0, 0, 1.1).met, false)
  })
})

describe('bench list flags (bench/lib/flags.ts)', () => {
  it('reads --sizes as comma-separated whole numbers, with its default when absent', () => {
    assert.deepEqual(parseInvocation(['scale', '--sizes', '3, 6,12'], SCENARIOS).lists.sizes, [3, 6, 12])
    assert.deepEqual(parseInvocation(['scale'], SCENARIOS).lists.sizes, [3, 6, 12])
    assert.deepEqual(parseInvocation(['store'], SCENARIOS).lists, {})
  })

  it('refuses a size out of bounds or not a number', () => {
    for (const bad of ['2', '3,x', '3,,6', '3,6,12,3,6,12,3']) {
      assert.throws(() => parseInvocation(['scale', '--sizes', bad], SCENARIOS), UsageError)
    }
  })
})
