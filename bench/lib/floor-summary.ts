/**
 * The `floor` scenario's arithmetic: its variants, the slices a run measures (one variant, one mode, one
 * round), and what they add up to: per variant and mode, acknowledged sends a second, CPU per send summed
 * over every process and per role, latency, LevelDB batches per send; and what each term of the send costs
 * (the difference between two variants that differ in it alone). Pure functions, no I/O: unit-tested.
 */

import type { FloorOwnerConfig } from './floor-protocol.js'
import { summarize, type Summary } from './percentile.js'
import { formatValue } from './report.js'

/** One variant: what the primary and the replicas do with each envelope. */
export interface FloorVariant {
  name: string
  primary: FloorOwnerConfig
  replicas: FloorOwnerConfig
}

const on = (verify: boolean, sync: boolean): FloorOwnerConfig => ({ verify, store: true, sync })

/**
 * The variants, in the order of the first round (later rounds rotate it). The floor itself is `full,
 * replicas trust`: a replica need not verify again what the authenticated primary verified.
 */
export const FLOOR_VARIANTS: readonly FloorVariant[] = [
  { name: 'full, replicas verify', primary: on(true, true), replicas: on(true, true) },
  { name: 'full, replicas trust', primary: on(true, true), replicas: on(false, true) },
  { name: 'no verify', primary: on(false, true), replicas: on(false, true) },
  { name: 'no fsync', primary: on(true, false), replicas: on(false, false) },
  { name: 'no verify, no fsync', primary: on(false, false), replicas: on(false, false) },
  {
    name: 'transport only',
    primary: { verify: false, store: false, sync: false },
    replicas: { verify: false, store: false, sync: false }
  }
]

/** The modes of a slice. */
export type FloorMode = 'saturate' | 'paced'

/** The variants in the order round `round` runs them: the list rotated by `round`. */
export function variantOrder<T> (variants: readonly T[], round: number): T[] {
  const k = variants.length === 0 ? 0 : ((round % variants.length) + variants.length) % variants.length
  return [...variants.slice(k), ...variants.slice(0, k)]
}

/** CPU of the processes of one role, ms. */
export interface RoleCpu { client: number, primary: number, replicas: number }

/** What one slice measured. */
export interface FloorSlice {
  variant: string
  mode: FloorMode
  round: number
  acked: number
  unacked: number
  /** first send → last acknowledgement, ms */
  ms: number
  /** CPU used during the slice, by role (every client, the primary, both replicas), ms */
  cpuMs: RoleCpu
  /** LevelDB batches written during the slice, every owner */
  batches: number
  /** ms the meter ran on after the last acknowledgement, until the processes were quiet (bench/floor.ts) */
  quietMs?: number
  latenciesMs: number[]
}

/** One variant in one mode, over every round. */
export interface FloorRow {
  variant: string
  mode: FloorMode
  slices: number
  acked: number
  unacked: number
  sendsPerSec: number
  cpuMsPerSend: RoleCpu & { all: number }
  latencyMs: Summary
  /** LevelDB batches per send, every owner (3 owners, one batch each per send: 3) */
  batchesPerSend: number
}

/** The rows of `slices`, one per (variant, mode), variants in `order`, saturation before paced. */
export function summarizeFloor (
  slices: readonly FloorSlice[],
  order: readonly string[] = FLOOR_VARIANTS.map((v) => v.name)
): FloorRow[] {
  const rows: FloorRow[] = []
  for (const mode of ['saturate', 'paced'] as const) {
    for (const variant of order) {
      const mine = slices.filter((s) => s.variant === variant && s.mode === mode)
      if (mine.length === 0) continue
      const sum = (f: (s: FloorSlice) => number): number => mine.reduce((a, s) => a + f(s), 0)
      const acked = sum((s) => s.acked)
      const per = (n: number): number => (acked > 0 ? n / acked : NaN)
      const cpu = {
        client: sum((s) => s.cpuMs.client),
        primary: sum((s) => s.cpuMs.primary),
        replicas: sum((s) => s.cpuMs.replicas)
      }
      const ms = sum((s) => s.ms)
      rows.push({
        variant,
        mode,
        slices: mine.length,
        acked,
        unacked: sum((s) => s.unacked),
        sendsPerSec: ms > 0 ? acked / (ms / 1000) : NaN,
        cpuMsPerSend: {
          all: per(cpu.client + cpu.primary + cpu.replicas),
          client: per(cpu.client),
          primary: per(cpu.primary),
          replicas: per(cpu.replicas)
        },
        latencyMs: summarize(mine.flatMap((s) => s.latenciesMs)),
        batchesPerSend: per(sum((s) => s.batches))
      })
    }
  }
  return rows
}

/** What one term of the send costs: CPU per send, all processes, with and without it. */
export interface FloorTerm { term: string, mode: FloorMode, cpuMsPerSend: number, with: string, without: string }

/** The pairs of variants that differ in one term alone. */
const TERMS: ReadonlyArray<{ term: string, with: string, without: string }> = [
  { term: 'Ed25519 verify on both replicas', with: 'full, replicas verify', without: 'full, replicas trust' },
  { term: 'Ed25519 verify on the primary', with: 'full, replicas trust', without: 'no verify' },
  { term: 'fsync of the batches (3 owners)', with: 'full, replicas trust', without: 'no fsync' },
  { term: 'LevelDB writes, unsynced (3 owners)', with: 'no verify, no fsync', without: 'transport only' },
  { term: 'transport and process hops (floor of the floor)', with: 'transport only', without: '' }
]

/** Each term's CPU per send in each mode (the last: the transport-only variant itself). */
export function floorTerms (rows: readonly FloorRow[]): FloorTerm[] {
  const out: FloorTerm[] = []
  for (const mode of ['saturate', 'paced'] as const) {
    const cpu = (variant: string): number =>
      rows.find((r) => r.variant === variant && r.mode === mode)?.cpuMsPerSend.all ?? NaN
    for (const t of TERMS) {
      const value = t.without === '' ? cpu(t.with) : cpu(t.with) - cpu(t.without)
      if (!Number.isNaN(value)) out.push({ term: t.term, mode, cpuMsPerSend: value, with: t.with, without: t.without })
    }
  }
  return out
}

/** The rows as one compact matrix (a line per variant and mode), for the operator and the docs. */
export function formatFloorMatrix (rows: readonly FloorRow[]): string {
  const head = ['mode', 'variant', 'sends/s', 'CPU ms/send', 'client', 'primary', 'replicas', 'p50 ms', 'p99 ms', 'batches/send']
  const lines = rows.map((r) => [
    r.mode,
    r.variant,
    formatValue(r.sendsPerSec),
    formatValue(r.cpuMsPerSend.all),
    formatValue(r.cpuMsPerSend.client),
    formatValue(r.cpuMsPerSend.primary),
    formatValue(r.cpuMsPerSend.replicas),
    formatValue(r.latencyMs.p50),
    formatValue(r.latencyMs.p99),
    formatValue(r.batchesPerSend)
  ])
  const all = [head, ...lines]
  const widths = head.map((_, i) => Math.max(...all.map((l) => l[i].length)))
  const fmt = (l: string[]): string => l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n')
}
