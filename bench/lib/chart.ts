/**
 * A picture of a benchmark record: an SVG chart written next to its JSON. Scenarios made of load phases
 * (mesh, store, relay, secret) get two panels over the same phases: throughput per second (bars) and
 * latency p50 / p90 / p99 (points on a line from p50 to p99). Other scenarios (ring, and any scenario
 * without a reader below) get a bar chart of their figures, one panel per unit.
 *
 * Drawn with Vega-Lite compiled to Vega and rendered headless (`renderer: 'none'`): no browser, no canvas.
 * Usage on records already written: `node dist/bench/lib/chart.js bench/results/<record>.json …`.
 */

import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import { formatValue, type ResultRecord } from './report.js'
import type { Figure } from './scenario.js'

/** Latency percentiles of one measurement, ms (NaN: not measured). */
export interface Percentiles { p50: number, p90: number, p99: number }

/** One measurement of a phase: a bar in the throughput panel, a range in the latency panel. */
export interface PhasePoint {
  /** the x category: a phase, an offered rate or a step (shown in the order first met) */
  phase: string
  /** what was measured in it, e.g. `raw gossipsub`, `secret` (the colour) */
  series: string
  /** per second (what is counted: `PhaseChart.throughputNote`); absent or NaN: not measured */
  throughput?: number
  latency?: Percentiles
}

/** What a phase chart shows, read from a record by a scenario's reader. */
export interface PhaseChart {
  kind: 'phases'
  points: PhasePoint[]
  /** the x axis (phase names may hold `\n`: a label of several lines) */
  xTitle: string
  /** the colour legend's title */
  seriesTitle: string
  /** the throughput axis' unit, e.g. `msgs/s` */
  throughputUnit: string
  /** what the throughput counts, under the panel's title */
  throughputNote: string
  /** what the latency runs from and to, under the panel's title */
  latencyNote: string
  /** lines under the chart's title */
  notes: string[]
  /** colours of some series (the rest in order from the palette) */
  colours?: Record<string, string>
}

/** A bar chart of a record's figures, one panel per unit. */
export interface FiguresChart {
  kind: 'figures'
  figures: Figure[]
  notes: string[]
}

export type ChartData = PhaseChart | FiguresChart

const PERCENTILES = ['p50', 'p90', 'p99'] as const
const PERCENTILE_SHAPES = ['circle', 'triangle-up', 'square']
/** The baseline is grey; the rest take these, in order (Tableau 10, colour-blind friendly enough with the shapes). */
const BASELINE = 'raw gossipsub'
const BASELINE_COLOUR = '#9a9a9a'
const COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#ff9da6']
const PANEL_WIDTH = 620

// --- reading a record's details (JSON: numbers may be null where they were NaN) -------------------------

type Json = Record<string, unknown>

function obj (v: unknown, what: string): Json {
  if (v == null || typeof v !== 'object') throw new Error(`the record has no ${what}`)
  return v as Json
}

function num (v: unknown): number {
  return typeof v === 'number' ? v : NaN
}

function percentiles (v: unknown): Percentiles {
  const s = v != null && typeof v === 'object' ? v as Json : {}
  return { p50: num(s.p50), p90: num(s.p90), p99: num(s.p99) }
}

/** Completed operations per second of a send-load report (`acked` over its span). */
function perSecond (report: unknown): number {
  const r = obj(report, 'send report')
  const secs = (num(r.endedAt) - num(r.startedAt)) / 1000
  return secs > 0 ? num(r.acked) / secs : NaN
}

function figure (record: ResultRecord, prefix: string): number {
  return record.figures.find((f) => f.metric.startsWith(prefix))?.value ?? NaN
}

/** Reads a scenario's record into a phase chart; throws when the record lacks what it needs. */
type Reader = (record: ResultRecord) => PhaseChart

const READERS: Record<string, Reader> = {
  mesh (record) {
    const raw = obj(obj(record.details, 'details').raw, 'details.raw')
    const phases: Array<[string, string]> = [['paced', `paced\n${record.params.rate}/s offered`], ['saturation', 'saturation']]
    const points: PhasePoint[] = []
    for (const [key, phase] of phases) {
      const p = obj(raw[key], `details.raw.${key}`)
      points.push({ phase, series: 'offered', throughput: num(p.offeredPerSec) })
      points.push({ phase, series: 'delivered', throughput: num(p.deliveredPerSecMedian), latency: percentiles(p.latencyMs) })
    }
    return {
      kind: 'phases',
      points,
      xTitle: 'phase',
      seriesTitle: 'raw gossipsub',
      throughputUnit: 'msgs/s',
      throughputNote: 'offered by server-0; delivered per receiving server (median)',
      latencyNote: 'one way, publish → receive, every message at every receiver',
      notes: [`raw gossipsub between ${record.params.nodes} server processes: the baseline of the other scenarios`],
      colours: { offered: '#c9c9c9', delivered: BASELINE_COLOUR }
    }
  },

  store (record) {
    const d = obj(record.details, 'details')
    const raw = obj(d.raw, 'details.raw')
    const paced = `paced ${record.params.rate}/s`
    const saturation = `saturation, ${record.params.window} in flight`
    const rawPhase = (key: string): Json => obj(raw[key], `details.raw.${key}`)
    const points: PhasePoint[] = [
      {
        phase: BASELINE,
        series: paced,
        throughput: num(rawPhase('paced').deliveredPerSecMedian),
        latency: percentiles(rawPhase('paced').latencyMs)
      },
      {
        phase: BASELINE,
        series: saturation,
        throughput: num(rawPhase('saturation').deliveredPerSecMedian),
        latency: percentiles(rawPhase('saturation').latencyMs)
      }
    ]
    const perQuorum = obj(d.perQuorum, 'details.perQuorum')
    for (const w of Object.keys(perQuorum).sort()) {
      const q = obj(perQuorum[w], `details.perQuorum.${w}`)
      for (const [key, series] of [['paced', paced], ['saturated', saturation]]) {
        const r = obj(q[key], `details.perQuorum.${w}.${key}`)
        points.push({ phase: `W = ${w}`, series, throughput: perSecond(r), latency: percentiles(r.latenciesMs) })
      }
    }
    return {
      kind: 'phases',
      points,
      xTitle: 'write quorum W of N = 3 owners',
      seriesTitle: 'phase',
      throughputUnit: 'per second',
      throughputNote: 'acknowledged sends/s (W owners synced the envelope to disk); raw gossipsub: delivered msgs/s per receiver',
      latencyNote: 'send → acknowledged; raw gossipsub: one way, publish → receive',
      notes: [`${record.params.nodes} server processes; raw gossipsub between the same servers in the same run`]
    }
  },

  relay (record) {
    const d = obj(record.details, 'details')
    const raw = obj(d.raw, 'details.raw')
    const dm = obj(d.dm, 'details.dm')
    const points: PhasePoint[] = []
    // the raw baseline's receiving client is its first receiver (the publisher is the sending client)
    const rawAtReceiver = (key: string): { perSec: number, latency: Percentiles } => {
      const p = obj(raw[key], `details.raw.${key}`)
      const receivers = Array.isArray(p.receivers) ? p.receivers as Json[] : []
      const name = String(receivers[0]?.name ?? '')
      const byReceiver = p.latencyByReceiverMs != null ? obj(p.latencyByReceiverMs, 'latencyByReceiverMs') : {}
      return { perSec: num(receivers[0]?.deliveredPerSec), latency: percentiles(byReceiver[name] ?? p.latencyMs) }
    }
    const rates = Object.keys(dm).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b))
    for (const key of [...rates, 'saturate']) {
      if (dm[key] == null) continue
      const phase = key === 'saturate' ? `saturation\n${record.params.window} in flight` : `${key}/s\noffered`
      const r = obj(dm[key], `details.dm.${key}`)
      points.push({ phase, series: 'Chorus DM', throughput: num(r.deliveredPerSec), latency: percentiles(r.latency) })
      if (raw[key] != null) {
        const b = rawAtReceiver(key)
        points.push({ phase, series: BASELINE, throughput: b.perSec, latency: b.latency })
      }
    }
    if (d.room != null) {
      const room = obj(d.room, 'details.room')
      const members = record.params.members
      const posts = obj(room.posts, 'details.room.posts')
      const secs = (num(posts.endedAt) - num(posts.startedAt)) / 1000
      const deliveries = num(posts.acked) * (members - 1) * num(room.deliveredFraction)
      points.push({
        phase: `room fan-out\nto ${members - 1}, ${record.params['room-rate']} posts/s`,
        series: 'Chorus room',
        throughput: secs > 0 ? deliveries / secs : NaN,
        latency: percentiles(room.latency)
      })
    }
    return {
      kind: 'phases',
      points,
      xTitle: 'direct messages offered per second, then saturation, then a room',
      seriesTitle: 'measured',
      throughputUnit: 'msgs/s',
      throughputNote: 'delivered live per second at the receiving client(s)',
      latencyNote: 'end to end, send() in one process → message event in another',
      notes: [`${record.params.servers} servers + 3 client processes, N = 3, W = 2; raw gossipsub: the same two clients, 3 servers relaying`]
    }
  },

  secret (record) {
    const d = obj(record.details, 'details')
    const phases = obj(d.phases, 'details.phases')
    const points: PhasePoint[] = []
    for (const [mode, phase] of [['saturate', `saturation\n${record.params.window} in flight`], ['paced', `paced\n${record.params.rate}/s`]]) {
      for (const [label, series] of [['plain', 'plain DM'], ['secret', 'secret']]) {
        const p = phases[`${label} ${mode}`]
        if (p == null) continue
        const r = obj(p, `details.phases.${label} ${mode}`)
        points.push({ phase, series, throughput: num(r.perSec), latency: percentiles(r.latency) })
      }
    }
    if (d.setups != null) {
      const s = obj(d.setups, 'details.setups')
      points.push({
        phase: `session setups/s\n${record.params.setups} peer${record.params.setups === 1 ? '' : 's'}, 8 at a time`,
        series: 'secret',
        throughput: figure(record, 'session setups/s'),
        latency: percentiles(s.latency)
      })
    }
    return {
      kind: 'phases',
      points,
      xTitle: 'phase',
      seriesTitle: 'messages',
      throughputUnit: 'per second',
      throughputNote: 'messages delivered end to end per second; setups: sessions whose first message the peer decrypted',
      latencyNote: 'end to end, send() → message event (secret: encrypt, store, relay, decrypt)',
      notes: [`${record.params.servers} servers + 2 client processes, N = 3, W = 2; the same two users, plain and secret alternating`]
    }
  }
}

/** What to draw for `record`: its scenario's phases, or its figures when there is no reader or it fails. */
export function chartData (record: ResultRecord): ChartData {
  const reader = READERS[record.scenario]
  if (reader != null) {
    try {
      const chart = reader(record)
      if (chart.points.some((p) => Number.isFinite(p.throughput) || hasLatency(p))) return chart
    } catch {
      // a record of another shape (an older scenario): its figures still make a chart
    }
  }
  return { kind: 'figures', figures: record.figures, notes: [] }
}

function hasLatency (p: PhasePoint): boolean {
  return p.latency != null && PERCENTILES.some((k) => Number.isFinite(p.latency?.[k]))
}

// --- the Vega-Lite specs ----------------------------------------------------------------------------------

/** The command that makes a record like this one: every parameter spelled out. */
export function commandOf (record: ResultRecord): string {
  return ['npm run bench --', record.scenario, ...Object.entries(record.params).map(([k, v]) => `--${k} ${v}`)].join(' ')
}

function titleOf (record: ResultRecord, notes: string[]): NonNullable<TopLevelSpec['title']> {
  const m = record.machine
  const when = record.startedAt.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '') + ' UTC'
  const machine = `${m.cpus} × ${m.cpuModel}, ${Math.round(m.totalMemBytes / 2 ** 30)} GB, Node ${m.node.replace(/^v/, '')}, ${m.platform}; ` +
    `CPUs ${Math.round(m.busyPercentBefore)} % busy just before the run, load average ${m.loadAvg1m.toFixed(1)}`
  return {
    text: `Chorus bench: ${record.scenario}, ${when}`,
    subtitle: [commandOf(record), machine, ...notes, 'one run: compare figures within it, not across runs'],
    anchor: 'start',
    fontSize: 16,
    subtitleFontSize: 11,
    subtitleColor: '#444',
    subtitlePadding: 5,
    offset: 12
  }
}

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 16,
  view: { stroke: '#ddd' },
  axis: {
    labelFontSize: 11,
    titleFontSize: 11,
    titleFontWeight: 'normal' as const,
    titleColor: '#333',
    gridColor: '#eee',
    labelLimit: 1000,
    titleLimit: 1000
  },
  legend: {
    labelFontSize: 11,
    titleFontSize: 11,
    labelLimit: 1000,
    titleLimit: 1000,
    orient: 'top' as const,
    direction: 'horizontal' as const,
    columnPadding: 14
  },
  title: { subtitlePadding: 3 }
}

function inOrder (values: string[]): string[] {
  return [...new Set(values)]
}

/** Tick values of a log axis covering [lo, hi]: 1, 2, 5 × powers of ten, from the last ≤ lo to the first ≥ hi. */
export function logTicks (lo: number, hi: number): number[] {
  const all: number[] = []
  for (let e = Math.floor(Math.log10(lo)) - 1; e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) all.push(Number((m * 10 ** e).toPrecision(1)))
  }
  const first = all.filter((t) => t <= lo).at(-1) ?? all[0]
  const last = all.find((t) => t >= hi) ?? all[all.length - 1]
  return all.filter((t) => t >= first && t <= last)
}

function panelTitle (text: string, note: string): Record<string, unknown> {
  return { text, subtitle: note, anchor: 'start', frame: 'group', fontSize: 13, subtitleFontSize: 11, subtitleColor: '#555', offset: 8 }
}

/** Multi-line axis labels: a phase name's `\n` breaks its label. */
const SPLIT_LINES = "split(datum.label, '\\n')"

function phaseSpec (record: ResultRecord, chart: PhaseChart): TopLevelSpec {
  const phases = inOrder(chart.points.map((p) => p.phase))
  const series = inOrder(chart.points.map((p) => p.series))
  let next = 0
  const colours = series.map(
    (s) => chart.colours?.[s] ?? (s === BASELINE ? BASELINE_COLOUR : COLOURS[next++ % COLOURS.length])
  )
  const x = {
    field: 'phase',
    type: 'nominal' as const,
    sort: phases,
    title: chart.xTitle,
    axis: { labelAngle: 0, labelExpr: SPLIT_LINES, labelPadding: 6 }
  }
  const xOffset = { field: 'series', type: 'nominal' as const, sort: series, scale: { domain: series, paddingInner: 0.08 } }
  const color = {
    field: 'series',
    type: 'nominal' as const,
    sort: series,
    scale: { domain: series, range: colours },
    title: chart.seriesTitle,
    legend: { symbolType: 'square' }
  }

  const throughput = chart.points
    .filter((p) => Number.isFinite(p.throughput))
    .map((p) =>
      ({ phase: p.phase, series: p.series, value: p.throughput as number, label: formatValue(p.throughput as number) }))
  const latency = chart.points.flatMap((p) => PERCENTILES
    .filter((k) => Number.isFinite(p.latency?.[k]) && (p.latency?.[k] as number) > 0)
    .map((k) => ({ phase: p.phase, series: p.series, percentile: k, value: p.latency?.[k] as number })))
  const ranges = chart.points
    .filter((p) => Number.isFinite(p.latency?.p50) && Number.isFinite(p.latency?.p99) && (p.latency?.p50 as number) > 0)
    .map((p) =>
      ({
        phase: p.phase,
        series: p.series,
        lo: p.latency?.p50 as number,
        hi: p.latency?.p99 as number,
        label: formatValue(p.latency?.p99 as number)
      }))

  const panels: unknown[] = []
  if (throughput.length > 0) {
    panels.push({
      title: panelTitle(`Throughput, ${chart.throughputUnit}`, chart.throughputNote),
      width: PANEL_WIDTH,
      height: 190,
      data: { values: throughput },
      encoding: { x, xOffset, y: { field: 'value', type: 'quantitative', title: chart.throughputUnit, axis: { format: ',~f' } } },
      layer: [
        { mark: { type: 'bar' }, encoding: { color } },
        { mark: { type: 'text', dy: -3, fontSize: 10, baseline: 'bottom', color: '#333' }, encoding: { text: { field: 'label' } } }
      ]
    })
  }
  if (latency.length > 0) {
    const values = latency.map((l) => l.value)
    const lo = Math.min(...values)
    const hi = Math.max(...values)
    // a loaded Chorus and raw gossipsub differ by orders of magnitude: a log scale then
    const log = hi / lo > 20
    const ticks = logTicks(lo, hi)
    const y = {
      type: 'quantitative' as const,
      title: log ? 'ms (log scale)' : 'ms',
      scale: log ? { type: 'log' as const, domain: [ticks[0], ticks[ticks.length - 1]] } : { zero: true },
      axis: log ? { values: ticks, format: ',~f' } : { format: ',~f' }
    }
    panels.push({
      title: panelTitle('Latency, ms: p50, p90, p99', `${chart.latencyNote}; line from p50 to p99, number: p99`),
      width: PANEL_WIDTH,
      height: 230,
      encoding: { x, xOffset },
      layer: [
        {
          data: { values: ranges },
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: { y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color }
        },
        {
          data: { values: latency },
          mark: { type: 'point', filled: true, size: 70, opacity: 1, stroke: 'white', strokeWidth: 0.6 },
          encoding: {
            y: { ...y, field: 'value' },
            color,
            shape: {
              field: 'percentile',
              type: 'nominal',
              scale: { domain: [...PERCENTILES], range: PERCENTILE_SHAPES },
              title: 'latency',
              legend: { symbolFillColor: '#555', symbolStrokeColor: '#555' }
            }
          }
        },
        {
          data: { values: ranges },
          mark: { type: 'text', dy: -9, fontSize: 10, color: '#333' },
          encoding: { y: { ...y, field: 'hi' }, text: { field: 'label' } }
        }
      ]
    })
  }
  // vega-lite's spec type is a deep union that the panels' plain literals (their strings widened) meet only by a cast
  // eslint-disable-next-line @typescript-eslint/consistent-type-assertions -- vega-lite's deep spec union
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleOf(record, chart.notes),
    config: CONFIG,
    spacing: 30,
    vconcat: panels,
    resolve: { scale: { color: 'shared', shape: 'shared' } }
  } as TopLevelSpec
}

/** A figure's metric split at its first `: ` into a group (`100 servers`) and the rest, when groups repeat names. */
function splitMetrics (figures: Figure[]): Array<{ group: string, name: string }> {
  const parts = figures.map((f) => {
    const i = f.metric.indexOf(': ')
    return i > 0 ? { group: f.metric.slice(0, i), name: f.metric.slice(i + 2) } : { group: '', name: f.metric }
  })
  const groups = inOrder(parts.map((p) => p.group))
  const names = parts.map((p) => p.name)
  const repeated = names.some((n, i) => names.indexOf(n) !== i)
  return groups.length > 1 && !groups.includes('') && repeated ? parts : figures.map((f) => ({ group: '', name: f.metric }))
}

function figuresSpec (record: ResultRecord, chart: FiguresChart): TopLevelSpec {
  const finite = chart.figures.filter((f) => Number.isFinite(f.value))
  const parts = splitMetrics(finite)
  const rows = finite.map((f, i) => ({ ...parts[i], unit: f.unit, value: f.value, label: `${formatValue(f.value)} ${f.unit}` }))
  const grouped = rows.some((r) => r.group !== '')
  const groups = inOrder(rows.map((r) => r.group))
  const skipped = chart.figures.length - finite.length
  const panels = inOrder(rows.map((r) => r.unit)).map((unit) => {
    const mine = rows.filter((r) => r.unit === unit)
    const max = Math.max(0, ...mine.map((r) => r.value))
    return {
      title: { text: `in ${unit}`, anchor: 'start', frame: 'group', fontSize: 13 },
      width: 380,
      height: { step: grouped ? 14 : 20 },
      data: { values: mine },
      encoding: {
        y: { field: 'name', type: 'nominal', sort: inOrder(mine.map((r) => r.name)), title: null },
        ...(grouped ? { yOffset: { field: 'group', type: 'nominal', sort: groups, scale: { domain: groups } } } : {}),
        x: {
          field: 'value',
          type: 'quantitative',
          title: unit,
          scale: { zero: true, domainMax: max > 0 ? max * 1.2 : 1 },
          axis: { format: ',~f' }
        }
      },
      layer: [
        {
          mark: { type: 'bar', ...(grouped ? {} : { color: COLOURS[0] }) },
          encoding: grouped
            ? { color: { field: 'group', type: 'nominal', sort: groups, scale: { domain: groups, range: COLOURS }, title: null } }
            : {}
        },
        { mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#333' }, encoding: { text: { field: 'label' } } }
      ]
    }
  })
  const notes = [...chart.notes, 'the figures of the record as bars, one panel per unit' + (skipped > 0 ? ` (${skipped} not measured: left out)` : '')]
  // vega-lite's spec type is a deep union that the panels' plain literals (their strings widened) meet only by a cast
  // eslint-disable-next-line @typescript-eslint/consistent-type-assertions -- vega-lite's deep spec union
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleOf(record, notes),
    config: CONFIG,
    spacing: 26,
    vconcat: panels,
    ...(grouped ? { resolve: { scale: { color: 'shared' } } } : {})
  } as TopLevelSpec
}

/** The Vega-Lite spec of `record`'s chart. */
export function chartSpec (record: ResultRecord): TopLevelSpec {
  const data = chartData(record)
  return data.kind === 'phases' ? phaseSpec(record, data) : figuresSpec(record, data)
}

/** `record`'s chart as an SVG document. */
export async function chartSvg (record: ResultRecord): Promise<string> {
  const { spec } = compile(chartSpec(record))
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: vega.Error })
  try {
    const svg = await view.toSVG()
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`
  } finally {
    view.finalize()
  }
}

/** Write `record`'s chart to `path`; returns `path`. */
export async function writeChart (record: ResultRecord, path: string): Promise<string> {
  writeFileSync(path, await chartSvg(record))
  return path
}

/** The chart's path for a result file: the same path with `.svg` for `.json`. */
export function chartPathFor (resultPath: string): string {
  return resultPath.replace(/\.json$/, '') + '.svg'
}

// `node dist/bench/lib/chart.js <record.json> …`: (re)draw the charts of records already written
if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const paths = process.argv.slice(2)
  if (paths.length === 0) {
    process.stderr.write('usage: node dist/bench/lib/chart.js bench/results/<record>.json …\n')
    process.exit(2)
  }
  for (const path of paths) {
    const record = JSON.parse(readFileSync(path, 'utf8')) as ResultRecord
    process.stdout.write(`chart: ${await writeChart(record, chartPathFor(path))}\n`)
  }
}
