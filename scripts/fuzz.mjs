// `npm run fuzz`: the fuzz properties of `npm test` (test/unit/fuzz-*.test.ts, test/fuzz/) with many more
// runs, a fresh seed unless one is given, and a report at the end. A failure prints its seed; run again
// with `--seed N` to replay it.
//
//   npm run fuzz -- --minutes 5      about five minutes in all, shared evenly by the properties
//   npm run fuzz -- --runs 100000    this many runs of every property
//   npm run fuzz -- --seed 1234      replay a run (with the same --runs or --minutes)
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({
  options: { minutes: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' } }
})
const positive = (name, v) => {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) { process.stderr.write(`--${name} must be a positive number\n`); process.exit(2) }
  return n
}

const units = readdirSync(`${root}test/unit`).filter((f) => /^fuzz-.*\.test\.ts$/.test(f)).map((f) => `test/unit/${f}`)
const files = [...units, 'test/fuzz/**/*.test.ts']
// every fuzz()/fuzzAsync() call is one property; the live-node file runs three protocols
const propertiesIn = (f) => readFileSync(`${root}${f}`, 'utf8').match(/\bfuzz(?:Async)?\('/g)?.length ?? 0
const properties = units.reduce((n, f) => n + propertiesIn(f), 0) + 3

const env = { ...process.env }
if (values.runs != null) env.CHORUS_FUZZ_RUNS = String(Math.floor(positive('runs', values.runs)))
else {
  const minutes = positive('minutes', values.minutes ?? '5')
  env.CHORUS_FUZZ_SECONDS = String(Math.max(1, Math.floor(minutes * 60 / properties)))
}
if (values.seed != null) env.CHORUS_FUZZ_SEED = String(positive('seed', values.seed))

const args = [
  '--no-config', '--node-option', 'import=tsx', '--timeout', '0', '--exit', '--require', 'test/fuzz/report.ts', ...files
]
const budget = env.CHORUS_FUZZ_RUNS != null ? `${env.CHORUS_FUZZ_RUNS} runs` : `${env.CHORUS_FUZZ_SECONDS} s`
process.stdout.write(`fuzz: ${properties} properties, ${budget} each\n`)
const r = spawnSync(`${root}node_modules/.bin/mocha`, args, { cwd: root, env, stdio: 'inherit' })
process.exit(r.status ?? 1)
