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

/** What a scenario gets to work with. */
export interface ScenarioContext {
  /** the pool every agent must come from: it kills them whatever happens */
  pool: AgentPool
  /** the scenario's flags, validated, by name */
  params: Record<string, number>
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
  run: (ctx: ScenarioContext) => Promise<ScenarioResult>
}
