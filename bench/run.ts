/**
 * The benchmark command: `node dist/bench/run.js <scenario> [flags]` (or `npm run bench -- …`). Without a
 * scenario it lists them. Prints a table on stdout, progress on stderr, and writes the JSON record to
 * `bench/results/`. Exit codes: 0 ok, 1 the run failed, 2 bad usage. Every agent process is killed and
 * every temporary directory removed, whatever happens.
 */

import { AgentPool } from './lib/agent-pool.js'
import { withDeadline } from './lib/clock.js'
import { DEFAULT_BUSY_WARN_PERCENT, DEFAULT_SCENARIO_TIMEOUT_MS } from './lib/constants.js'
import { UsageError, parseInvocation, usageText, type Invocation } from './lib/flags.js'
import { formatTable, machineInfo, writeResult } from './lib/report.js'
import { SCENARIOS } from './scenarios.js'

function fail (message: string, code: number): never {
  process.stderr.write(`bench: error: ${message.split('\n')[0]}\n`)
  process.exit(code)
}

async function main (argv: string[]): Promise<void> {
  let inv: Invocation
  try {
    inv = parseInvocation(argv, SCENARIOS)
  } catch (err: any) {
    if (err instanceof UsageError) fail(err.message, 2)
    throw err
  }
  const scenario = inv.scenario
  if (scenario == null || inv.help) { process.stdout.write(usageText(SCENARIOS, scenario)); return }

  const machine = await machineInfo()
  if (machine.busyPercentBefore > DEFAULT_BUSY_WARN_PERCENT) {
    process.stderr.write(`bench: warning: the CPUs were ${Math.round(machine.busyPercentBefore)}% busy before the run; other work will skew the figures\n`)
  }
  const pool = new AgentPool()
  const unguard = pool.guardProcess()
  const startedAt = new Date()
  const progress = (line: string): void => { process.stderr.write(`bench ${scenario.name}: ${line}\n`) }
  try {
    const result = await withDeadline(`scenario ${scenario.name}`, scenario.run({ pool, params: inv.params, progress }), DEFAULT_SCENARIO_TIMEOUT_MS)
    const path = writeResult({
      scenario: scenario.name,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      params: inv.params,
      figures: result.figures,
      details: result.details
    })
    process.stdout.write(formatTable(scenario.name, result.figures))
    process.stdout.write(`results: ${path}\n`)
  } finally {
    await pool.close()
    unguard()
  }
}

main(process.argv.slice(2)).then(
  () => { process.exit(0) },
  (err: any) => { fail(String(err?.message ?? err), 1) }
)
