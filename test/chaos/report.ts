/** The chaos run's table: what was done, what each check found, and the first violations. */

import { passed } from './checker.js'
import type { ChaosResult } from './run.js'

export function formatReport (r: ChaosResult): string {
  const p = r.report
  const rows: Array<[string, string | number]> = [
    ['seed', r.seed],
    ['sends (acknowledged / failed)', `${p.sends} (${p.acknowledged} / ${p.failed})`],
    ['faults', Object.entries(p.faults).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['messages shown', p.shown],
    ['duplicates', p.duplicates],
    ['lost (acknowledged, never shown)', p.lost],
    ['phantoms (shown, never sent)', p.phantoms],
    ['history gaps', p.historyGaps],
    ['history duplicates', p.historyDuplicates],
    ['history out of order', p.historyDisorder],
    ['deleted, still held', p.resurrected],
    ['failed sends, <= N-W owners down', p.unexcusedFailures],
    ['failed sends, > N-W owners down', p.excusedFailures],
    ['live reorders per sender (not a violation)', p.liveReorders],
    ['phases ms', Object.entries(r.phases).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['result', passed(p) ? 'PASS' : 'FAIL']
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)
  if (p.violations.length > 0) lines.push('', 'violations:', ...p.violations.slice(0, 30).map((v) => `  ${v.check}: ${v.detail}`))
  return lines.join('\n') + '\n'
}
