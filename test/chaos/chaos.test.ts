/**
 * The short chaos run inside `npm test`: a seeded run (under a minute) of run.ts against real processes,
 * judged by checker.ts. The seed is fixed so that CI replays the same schedule; CHORUS_CHAOS_SEED picks
 * another. Its title names the seed; on failure the report (with the first violations) is the message.
 * `npm run chaos -- --minutes 5` is the long run.
 */

import { strict as assert } from 'node:assert'
import { passed } from './checker.js'
import { formatReport } from './report.js'
import { runChaos } from './run.js'
import { scaled } from '../helpers/wait.js'

const SEED = Number(process.env.CHORUS_CHAOS_SEED ?? 20261130)
const CHAT_MS = 25_000

describe('chaos (processes): 5 servers, 3 users, one fault at a time', function () {
  this.timeout(scaled(240_000))

  it(`every acknowledged message shown once, histories whole and in order, no send failed with one owner down (seed ${SEED})`, async () => {
    const lines: string[] = []
    const result = await runChaos({ seed: SEED, durationMs: CHAT_MS, log: (line) => { lines.push(line) } })
    const report = formatReport(result)
    assert.ok(result.report.acknowledged > 50, `the workload ran (${result.report.acknowledged} acknowledged sends)\n${report}`)
    assert.ok(passed(result.report), `chaos run failed (replay: npm run chaos -- --seconds 25 --seed ${SEED})\n${report}\n${lines.join('\n')}`)
  })
})
