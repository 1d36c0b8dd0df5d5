/**
 * Command-line parsing of the benchmark: `run.js <scenario> [--flag value …]`, checked against the scenario's flags.
 */

import { parseArgs } from 'node:util'
import type { FlagSpec, ListFlagSpec, Scenario } from './scenario.js'

/** A usage mistake: one line for the user, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  readonly code = 'ERR_BENCH_USAGE'
}

/** The parsed command line: no scenario means "list the scenarios". */
export interface Invocation {
  scenario?: Scenario
  params: Record<string, number>
  /** the scenario's list flags, by name */
  lists: Record<string, number[]>
  help: boolean
  /** `--profile`: every agent process writes a CPU profile (`--cpu-prof`) */
  profile: boolean
}

/** Parse `argv` (without node and script). Throws `UsageError` with a one-line message. */
export function parseInvocation (argv: string[], scenarios: readonly Scenario[]): Invocation {
  const name = argv[0]
  if (name == null || name === '--help' || name === '-h') return { params: {}, lists: {}, help: true, profile: false }
  if (name.startsWith('-')) throw new UsageError(`give a scenario before the flags, e.g. \`mesh ${argv.join(' ')}\` (scenarios: ${scenarios.map((s) => s.name).join(', ')})`)
  const scenario = scenarios.find((s) => s.name === name)
  if (scenario == null) throw new UsageError(`unknown scenario ${JSON.stringify(name)} (scenarios: ${scenarios.map((s) => s.name).join(', ')})`)
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, profile: { type: 'boolean' } }
  const listFlags = scenario.listFlags ?? []
  for (const f of [...scenario.flags, ...listFlags]) options[f.name] = { type: 'string' }
  let parsed
  try {
    parsed = parseArgs({ args: argv.slice(1), options, allowPositionals: true, strict: true })
  } catch (err: any) {
    const known = [...scenario.flags, ...listFlags].map((f) => `--${f.name}`).join(', ')
    throw new UsageError(`${String(err.message).split('\n')[0].replace(/\. To specify.*$/, '').replace(/^Unknown option/, 'unknown flag')} for scenario ${scenario.name} (flags: ${known})`)
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`)
  const params: Record<string, number> = {}
  for (const f of scenario.flags) params[f.name] = flagValue(f, parsed.values[f.name] as string | undefined)
  const lists: Record<string, number[]> = {}
  for (const f of listFlags) lists[f.name] = listFlagValue(f, parsed.values[f.name] as string | undefined)
  return { scenario, params, lists, help: parsed.values.help === true, profile: parsed.values.profile === true }
}

/** The value of one flag: a whole number within its bounds, or its default when absent. */
export function flagValue (spec: FlagSpec, raw: string | undefined): number {
  if (raw == null) return spec.default
  const text = raw.trim()
  const n = /^\d+$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) {
    throw new UsageError(`--${spec.name} must be a whole number from ${spec.min} to ${spec.max} (got ${JSON.stringify(raw)})`)
  }
  return n
}

/** The value of one list flag: comma-separated whole numbers, each within bounds, or its default when absent. */
export function listFlagValue (spec: ListFlagSpec, raw: string | undefined): number[] {
  if (raw == null) return [...spec.default]
  const items = raw.split(',').map((x) => x.trim())
  const values = items.map((x) => (/^\d+$/.test(x) ? Number(x) : NaN))
  if (items.length > spec.maxItems || values.some((n) => !Number.isSafeInteger(n) || n < spec.min || n > spec.max)) {
    throw new UsageError(`--${spec.name} must be up to ${spec.maxItems} comma-separated whole numbers from ${spec.min} to ${spec.max} (got ${JSON.stringify(raw)})`)
  }
  return values
}

/** The scenario list (no scenario given) or one scenario's flags (`<scenario> --help`). */
export function usageText (scenarios: readonly Scenario[], one?: Scenario): string {
  const flagLines = (s: Scenario): string[] => [
    ...s.flags.map((f) => `    --${f.name.padEnd(10)} ${f.help} (${f.min}-${f.max}, default ${f.default})`),
    ...(s.listFlags ?? []).map((f) => `    --${f.name.padEnd(10)} ${f.help} (comma-separated, each ${f.min}-${f.max}, default ${f.default.join(',')})`)
  ]
  const profileLine = `    --${'profile'.padEnd(10)} write a CPU profile per process under bench/results/profiles/ and print where the time went`
  if (one != null) return [`usage: npm run bench -- ${one.name} [flags]`, `  ${one.summary}`, ...flagLines(one), profileLine, ''].join('\n')
  const lines = ['usage: npm run bench -- <scenario> [flags]', '', 'every scenario:', profileLine, '', 'scenarios:']
  const width = Math.max(...scenarios.map((s) => s.name.length))
  for (const s of scenarios) lines.push(`  ${s.name.padEnd(width)}  ${s.summary}`, ...flagLines(s))
  return [...lines, ''].join('\n')
}
