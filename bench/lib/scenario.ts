/** What a benchmark scenario is: a name, its flags, and a run that turns agent processes into figures. */

import type { AgentPool } from './agent-pool.js'

/** One number of a result table. */
export interface Figure {
  metric: string
  value: number
  unit: string
}

/** A numeric command-line flag of a scenario (`--name VALUE`). */
export interface FlagSpec {
  name: string
  help: string
  /** @default used when the flag is absent */
  default: number
  min: number
  max: number
}

/** A command-line flag taking comma-separated whole numbers (`--name 3,6,12`). */
export interface ListFlagSpec {
  name: string
  help: string
  /** @default used when the flag is absent */
  default: number[]
  /** bounds of each number */
  min: number
  max: number
  /** most numbers accepted */
  maxItems: number
}

/** What a scenario gets to work with. */
export interface ScenarioContext {
  /** the pool every agent must come from: it kills them whatever happens */
  pool: AgentPool
  /** the scenario's flags, validated, by name */
  params: Record<string, number>
  /** the scenario's list flags (`listFlags`), validated, by name */
  lists: Record<string, number[]>
  /** a progress line for the operator (stderr; stdout is the result table) */
  progress: (line: string) => void
  /** `--profile`: where each measured phase's CPU profiles go (bench/lib/work.ts) */
  profileDir?: string
}

/** What a scenario hands back: the table, and everything else worth keeping in the JSON. */
export interface ScenarioResult {
  figures: Figure[]
  details: Record<string, unknown>
}

/** One benchmark scenario. Register it in `bench/scenarios.ts`. */
export interface Scenario {
  name: string
  /** one line for the scenario list */
  summary: string
  flags: FlagSpec[]
  /** flags taking a list of numbers; none when absent */
  listFlags?: ListFlagSpec[]
  /** bound on the whole run, ms. @default DEFAULT_SCENARIO_TIMEOUT_MS */
  timeoutMs?: number
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>
}
