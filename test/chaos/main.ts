/**
 * `npm run chaos -- [--minutes M | --seconds S] [--seed N] [--rate R] [--json FILE]`: one chaos run
 * (run.ts), its progress on stderr, a table of the checks on stdout, the whole record as JSON with
 * `--json`. Exit 0 when every promise held, 1 when one broke, 2 on bad usage. The seed is printed
 * first, so a failing run can be replayed with `--seed`.
 */

import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { passed } from './checker.js'
import { runChaos } from './run.js'
import { formatReport } from './report.js'

function usage (message: string): never {
  process.stderr.write(`chaos: error: ${message}\nusage: npm run chaos -- [--minutes M | --seconds S] [--seed N] [--rate R] [--json FILE] [--log-dir DIR]\n`)
  process.exit(2)
}

let values: Record<string, string | undefined>
try {
  values = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      rate: { type: 'string' },
      json: { type: 'string' },
      'log-dir': { type: 'string' }
    },
    strict: true
  }).values
} catch (err: any) {
  usage(err.message)
}
const num = (name: string, lo: number, hi: number): number | undefined => {
  const raw = values[name]
  if (raw == null) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < lo || n > hi) usage(`--${name}: must be a number between ${lo} and ${hi} (got ${JSON.stringify(raw)})`)
  return n
}
const minutes = num('minutes', 0.1, 240)
const seconds = num('seconds', 5, 14_400)
if (minutes != null && seconds != null) usage('give --minutes or --seconds, not both')
const seed = num('seed', 0, 2 ** 32 - 1) ?? Math.floor(Math.random() * 2 ** 31)
const durationMs = Math.round((seconds ?? (minutes ?? 1) * 60) * 1000)
const rate = num('rate', 1, 200)

process.stderr.write(`chaos: seed ${seed} (replay with --seed ${seed}), ${Math.round(durationMs / 1000)} s of chat\n`)
const result = await runChaos({
  seed,
  durationMs,
  rate,
  logDir: values['log-dir'],
  log: (line) => {
    process.stderr.write(`chaos: ${line}\n`)
  }
})
process.stdout.write(formatReport(result))
if (values.json != null) writeFileSync(values.json, JSON.stringify(result, null, 1))
process.exit(passed(result.report) ? 0 : 1)
