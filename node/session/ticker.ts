/**
 * One timer per interval for every session of the process. Sessions that tick together ask their
 * owners together: the questions of one tick travel in one PROBE per owner (node/replication/
 * change-watch.ts). A timer per session would drift apart under load and split them.
 */

import { logger } from '@libp2p/logger'
import { Periodic } from '../timers/periodic.js'

const log = logger('chorus:session:tick')

interface Group { ticks: Periodic, fns: Set<() => void> }

const groups = new Map<number, Group>()

/** Call `fn` every `ms` with every other session of this interval; returns the stop. */
export function everyTick (ms: number, fn: () => void): () => void {
  let g = groups.get(ms)
  if (g == null) {
    const fns = new Set<() => void>()
    const ticks = new Periodic(() => { for (const f of [...fns]) f() }, { intervalMs: ms, log, name: `the ${ms} ms tick` }).start()
    g = { ticks, fns }
    groups.set(ms, g)
  }
  g.fns.add(fn)
  const group = g
  return () => {
    group.fns.delete(fn)
    if (group.fns.size === 0 && groups.get(ms) === group) {
      group.ticks.stop()
      groups.delete(ms)
    }
  }
}
