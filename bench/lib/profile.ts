/**
 * Reading the CPU profiles of a benchmark run (`npm run bench -- <scenario> --profile` writes one
 * `.cpuprofile` per agent process with Node's `--cpu-prof`). Summed over every process: where the busy
 * time went by package (Chorus's own modules by file, each npm package, Node's internals, native code,
 * the garbage collector), the functions with the most self time, and the share of busy samples with a
 * Chorus function anywhere on the stack. Open a single file in Chrome DevTools (Performance → Load
 * profile) or speedscope for the flame graph.
 *
 * `node dist/bench/lib/profile.js DIR [TOP]` prints the summary of a directory of profiles.
 */

import { readFileSync, readdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The parts of a V8 `.cpuprofile` read here. */
interface CpuProfile {
  nodes: Array<{
    id: number
    callFrame: { functionName: string, url: string, lineNumber: number }
    children?: number[]
  }>
  samples: number[]
  timeDeltas: number[]
}

/** Time (ms) by name, largest first. */
export type Ranking = Array<{ name: string, ms: number, percent: number }>

/** What a directory of profiles says. */
export interface ProfileSummary {
  files: number
  /** sampled time not idle, ms, all processes */
  busyMs: number
  /** busy samples with a Chorus function (node/, protocol/) on the stack, % of busy time */
  chorusOnStackPercent: number
  byPackage: Ranking
  byFunction: Ranking
  byProcess: Ranking
}

/** The package a frame belongs to: `chorus:<file>`, an npm package, `node:internals`, or a V8 pseudo-frame. */
export function packageOf (url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node:internals'
  // the only WebAssembly here is @chainsafe/as-chacha20poly1305, noise's cipher
  if (url.startsWith('wasm://')) return '(wasm: ChaCha20-Poly1305)'
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (m != null) return m[1]
  const own = /\/dist\/((?:node|protocol|bench|bin)\/.*)\.js$/.exec(url)
  if (own != null) return `chorus:${own[1]}`
  return url.replace(/^file:\/\//, '')
}

function isChorus (pkg: string): boolean {
  return pkg.startsWith('chorus:node/') || pkg.startsWith('chorus:protocol/')
}

function rank (m: Map<string, number>, total: number): Ranking {
  return [...m]
    .map(([name, ms]) => ({ name, ms, percent: total > 0 ? 100 * ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms)
}

/** Summarize every `.cpuprofile` in `dir`. */
export function summarizeProfiles (dir: string): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const byPackage = new Map<string, number>()
  const byFunction = new Map<string, number>()
  const byProcess = new Map<string, number>()
  let busy = 0
  let chorusOnStack = 0
  for (const file of files) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
    const nodes = new Map(p.nodes.map((n) => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    // whether a Chorus frame is on the stack at this node: memoized up the tree
    const chorusAbove = new Map<number, boolean>()
    const hasChorus = (id: number): boolean => {
      const known = chorusAbove.get(id)
      if (known != null) return known
      const n = nodes.get(id)
      const here = n != null && isChorus(packageOf(n.callFrame.url, n.callFrame.functionName))
      const up = parent.get(id)
      const v = here || (up != null && hasChorus(up))
      chorusAbove.set(id, v)
      return v
    }
    let processBusy = 0
    for (let i = 0; i < p.samples.length; i++) {
      // DevTools' convention: a sample lasts until the next one
      const ms = (p.timeDeltas[i + 1] ?? 0) / 1000
      const n = nodes.get(p.samples[i])
      if (n == null || n.callFrame.functionName === '(idle)') continue
      const pkg = packageOf(n.callFrame.url, n.callFrame.functionName)
      const fn = `${n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName} ${pkg}${n.callFrame.url !== ''
        ? `:${n.callFrame.lineNumber + 1}`
        : ''}`
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms)
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms)
      processBusy += ms
      if (hasChorus(n.id)) chorusOnStack += ms
    }
    byProcess.set(basename(file, '.cpuprofile'), processBusy)
    busy += processBusy
  }
  return {
    files: files.length,
    busyMs: busy,
    chorusOnStackPercent: busy > 0 ? 100 * chorusOnStack / busy : 0,
    byPackage: rank(byPackage, busy),
    byFunction: rank(byFunction, busy),
    byProcess: rank(byProcess, busy)
  }
}

/** The summary as text: `top` rows per ranking. */
export function formatProfileSummary (s: ProfileSummary, top = 25): string {
  const table = (title: string, r: Ranking): string[] => [
    title,
    ...r.slice(0, top).map((x) => `  ${x.percent.toFixed(1).padStart(5)} %  ${Math.round(x.ms).toString().padStart(7)} ms  ${x.name}`),
    ''
  ]
  return [
    `${s.files} profiles, ${Math.round(s.busyMs)} ms busy in all; a Chorus function (node/, protocol/) is on the stack in ${s.chorusOnStackPercent.toFixed(1)} % of it`,
    '',
    ...table('busy time by process', s.byProcess),
    ...table('self time by package', s.byPackage),
    ...table('self time by function', s.byFunction)
  ].join('\n')
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [dir, top] = process.argv.slice(2)
  if (dir == null) {
    process.stderr.write('usage: node dist/bench/lib/profile.js DIR [TOP]\n')
    process.exit(2)
  }
  process.stdout.write(formatProfileSummary(summarizeProfiles(dir), top != null ? Number(top) : undefined))
}
