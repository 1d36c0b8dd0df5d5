/** Benchmark output: a table for people on stdout, and a JSON record under `bench/results/`. */

import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform, release, arch, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from './clock.js'
import { DEFAULT_BUSY_SAMPLE_MS } from './constants.js'
import type { Figure, ScenarioResult } from './scenario.js'

/** Where result files go: `bench/results/` of the source tree (this module runs from `dist/bench/lib/`). */
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url))

/** The machine a run was measured on. */
export interface MachineInfo {
  cpus: number
  cpuModel: string
  totalMemBytes: number
  node: string
  platform: string
  release: string
  arch: string
  /** 1-minute load average when the run started (lags: it remembers the last minute) */
  loadAvg1m: number
  /** share of all CPUs busy just before the run (see `cpuBusyPercent`): other work skews every figure */
  busyPercentBefore: number
}

/** Facts about this machine, including how busy it is right now (takes `sampleMs`). */
export async function machineInfo (sampleMs: number = DEFAULT_BUSY_SAMPLE_MS): Promise<MachineInfo> {
  const c = cpus()
  const busyPercentBefore = await cpuBusyPercent(sampleMs)
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    totalMemBytes: totalmem(),
    node: process.version,
    platform: platform(),
    release: release(),
    arch: arch(),
    loadAvg1m: loadavg()[0],
    busyPercentBefore
  }
}

/** Share (0..100) of all CPUs' time that was not idle during the next `ms`. */
export async function cpuBusyPercent (ms: number): Promise<number> {
  const total = (): { idle: number, all: number } => cpus().reduce((acc, c) => {
    const t = c.times
    return { idle: acc.idle + t.idle, all: acc.all + t.user + t.nice + t.sys + t.idle + t.irq }
  }, { idle: 0, all: 0 })
  const a = total()
  await sleep(ms)
  const b = total()
  const all = b.all - a.all
  return all <= 0 ? 0 : 100 * (1 - (b.idle - a.idle) / all)
}

/** A number as a table shows it: more decimals for small values. */
export function formatValue (v: number): string {
  if (!Number.isFinite(v)) return String(v)
  const abs = Math.abs(v)
  const digits = Number.isInteger(v) || abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 1 ? 2 : 3
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** The figures as aligned columns: scenario, metric, value, unit. */
export function formatTable (scenario: string, figures: readonly Figure[]): string {
  const rows = [['scenario', 'metric', 'value', 'unit'], ...figures.map((f) => [scenario, f.metric, formatValue(f.value), f.unit])]
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)))
  const line = (r: string[]): string =>
    [r[0].padEnd(widths[0]), r[1].padEnd(widths[1]), r[2].padStart(widths[2]), r[3]].join('  ')
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line), ''].join('\n')
}

/** What a result file holds. */
export interface ResultRecord {
  scenario: string
  startedAt: string
  finishedAt: string
  machine: MachineInfo
  params: Record<string, number>
  /** the list flags (`--sizes 3,6,12`), when the scenario has any */
  lists?: Record<string, number[]>
  figures: Figure[]
  details: ScenarioResult['details']
}

/** Write `record` as `<dir>/<scenario>-<ISO time with : and . as ->.json`; returns the path. */
export function writeResult (record: ResultRecord, dir: string = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${record.scenario}-${record.startedAt.replace(/[:.]/g, '-')}.json`)
  writeFileSync(path, JSON.stringify(record, null, 2) + '\n')
  return path
}
