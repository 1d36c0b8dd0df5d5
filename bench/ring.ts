/**
 * Scenario `ring`: the ownership function alone, in this process (no agents). For 100 and 1,000
 * simulated servers and 1,000,000 keys with N = 3: load balance (max / mean keys per server) and the
 * share of keys whose owner set changes when one server joins or leaves (ideal: about N / servers).
 */

import { Ring, keyPoint } from '../protocol/ring.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'

const N = 3

/** The `ring` scenario. */
export const ringScenario: Scenario = {
  name: 'ring',
  summary: 'ownership ring simulation: max/mean load and keys moved on a join or leave, 100 and 1,000 servers',
  flags: [
    { name: 'keys', help: 'simulated keys', default: 1_000_000, min: 1000, max: 10_000_000 },
    { name: 'vnodes', help: 'virtual positions per server', default: 128, min: 1, max: 4096 }
  ],
  run: runRing
}

async function runRing ({ params, progress }: ScenarioContext): Promise<ScenarioResult> {
  const { keys, vnodes } = params
  const points = Array.from({ length: keys }, (_, i) => keyPoint('user', `user-${i}`))
  const figures: Figure[] = []
  const details: Record<string, unknown> = {}
  for (const servers of [100, 1000]) {
    progress(`${servers} servers, ${keys} keys, ${vnodes} positions per server`)
    const members = Array.from({ length: servers }, (_, i) => ({ peerId: `server-${i}` }))
    let t = performance.now()
    const ring = new Ring(members, vnodes)
    const buildMs = performance.now() - t
    const load = new Map<string, number>()
    t = performance.now()
    const before = points.map((p) => {
      const o = ring.owners(p, N)
      for (const s of o) load.set(s, (load.get(s) ?? 0) + 1)
      return o
    })
    const lookupUs = (performance.now() - t) * 1000 / keys
    const mean = keys * N / servers
    const maxOverMean = Math.max(...load.values()) / mean
    const joined = new Ring([...members, { peerId: 'newcomer' }], vnodes)
    const left = new Ring(members.slice(1), vnodes)
    const moved = (other: Ring): number => {
      let n = 0
      points.forEach((p, i) => { const o = other.owners(p, N); if (o.some((s) => !before[i].includes(s))) n++ })
      return n / keys
    }
    const movedJoin = moved(joined)
    const movedLeave = moved(left)
    figures.push(
      { metric: `${servers} servers: max / mean keys per server`, value: maxOverMean, unit: '×' },
      { metric: `${servers} servers: keys moved when one joins`, value: movedJoin * 100, unit: '%' },
      { metric: `${servers} servers: keys moved when one leaves`, value: movedLeave * 100, unit: '%' },
      { metric: `${servers} servers: ideal share moved (N / servers)`, value: N / servers * 100, unit: '%' },
      { metric: `${servers} servers: ring build`, value: buildMs, unit: 'ms' },
      { metric: `${servers} servers: owners() lookup`, value: lookupUs, unit: 'µs' }
    )
    details[servers] = { maxOverMean, movedJoin, movedLeave, buildMs, lookupUs }
  }
  return { figures, details }
}
