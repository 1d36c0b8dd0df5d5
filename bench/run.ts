/**
 * The benchmark command: `node dist/bench/run.js <scenario> [flags]` (or `npm run bench -- …`). Without a
 * scenario it lists them. Prints a table on stdout, progress on stderr, and writes the JSON record to
 * `bench/results/`, and its SVG chart beside it (`bench/lib/chart.ts`). Exit codes: 0 ok, 1 the run failed,
 * 2 bad usage. Every agent process is killed and every temporary directory removed, whatever happens.
 */

import { AgentPool } from './lib/agent-pool.js'
import { withDeadline } from './lib/clock.js'
import { DEFAULT_BUSY_WARN_PERCENT, DEFAULT_SCENARIO_TIMEOUT_MS } from './lib/constants.js'
import { UsageError, parseInvocation, usageText, type Invocation } from './lib/flags.js'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatProfileSummary, summarizeProfiles } from './lib/profile.js'
import { RESULTS_DIR, formatTable, machineInfo, writeResult, type ResultRecord } from './lib/report.js'
import { SCENARIOS } from './scenarios.js'

function fail (message: string, code: number): never {
  process.stderr.write(`bench: error: ${message.split('\n')[0]}\n`)
  process.exit(code)
}

/**
 * The record's chart next to its JSON (`<same path>.svg`). The charting library is loaded only here, and
 * any failure is a warning: the JSON is already written.
 */
async function writeChartOf (record: ResultRecord, resultPath: string): Promise<void> {
  try {
    const { chartPathFor, writeChart } = await import('./lib/chart.js')
    process.stdout.write(`chart: ${await writeChart(record, chartPathFor(resultPath))}\n`)
  } catch (err: any) {
    process.stderr.write(`bench: warning: no chart (the results are in the JSON): ${String(err?.message ?? err).split('\n')[0]}\n`)
  }
}

/** The summary of each profiled phase, beside its profiles (`summary.txt`), and the head of each on stdout. */
function writeProfileSummary (dir: string): void {
  process.stdout.write(`profiles: ${dir} (one directory per phase, each with summary.txt; open a .cpuprofile in Chrome DevTools or speedscope)\n`)
  const phases = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
  for (const phase of phases) {
    try {
      const text = formatProfileSummary(summarizeProfiles(join(dir, phase)))
      writeFileSync(join(dir, phase, 'summary.txt'), text)
      process.stdout.write(`\n== ${phase}\n${text.split('\n').slice(0, 22).join('\n')}\n`)
    } catch (err: any) {
      process.stderr.write(`bench: warning: could not summarize the profiles in ${join(dir, phase)}: ${String(err?.message ?? err)}\n`)
    }
  }
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
  const startedAt = new Date()
  const profileDir = inv.profile ? join(RESULTS_DIR, 'profiles', `${scenario.name}-${startedAt.toISOString().replace(/[:.]/g, '-')}`) : undefined
  if (profileDir != null) mkdirSync(profileDir, { recursive: true })
  const pool = new AgentPool()
  const unguard = pool.guardProcess()
  let written: { record: ResultRecord, path: string }
  const progress = (line: string): void => { process.stderr.write(`bench ${scenario.name}: ${line}\n`) }
  try {
    const result = await withDeadline(`scenario ${scenario.name}`,
      scenario.run({ pool, params: inv.params, lists: inv.lists, progress, profileDir }),
      scenario.timeoutMs ?? DEFAULT_SCENARIO_TIMEOUT_MS)
    const record: ResultRecord = {
      scenario: scenario.name,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      params: inv.params,
      ...(Object.keys(inv.lists).length > 0 ? { lists: inv.lists } : {}),
      figures: result.figures,
      details: result.details
    }
    const path = writeResult(record)
    process.stdout.write(formatTable(scenario.name, result.figures))
    process.stdout.write(`results: ${path}\n`)
    written = { record, path }
  } finally {
    await pool.close()
    unguard()
  }
  // after the agents are gone: drawing takes a second of CPU the measurement no longer needs
  await writeChartOf(written.record, written.path)
  if (profileDir != null) writeProfileSummary(profileDir)
}

main(process.argv.slice(2)).then(
  () => { process.exit(0) },
  (err: any) => { fail(String(err?.message ?? err), 1) }
)
