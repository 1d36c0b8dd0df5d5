/**
 * `Periodic` (node/timers/periodic.ts), what every background loop of a node runs on: it ticks at its
 * interval, never overlaps a slow run with the next, logs a failed run instead of throwing it, and stops.
 */

import { strict as assert } from 'node:assert'
import { Periodic, type PeriodicInit } from '../../node/timers/periodic.js'
import { waitFor } from '../../node/timers/wait.js'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** A log that keeps its error lines. */
function recordingLog (): PeriodicInit['log'] & { errors: string[] } {
  const errors: string[] = []
  return { errors, error: (fmt: string, ...args: unknown[]) => { errors.push([fmt, ...args].join(' ')) } }
}

/** Timers that keep the process alive (an unref'd one does not). */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('Periodic (node/timers/periodic.ts)', () => {
  it('ticks at its interval until stopped, and does not keep the process alive', async () => {
    let runs = 0
    const before = liveTimers()
    const p = new Periodic(() => { runs++ }, { intervalMs: 10, log: recordingLog(), name: 'count' }).start()
    assert.ok(p.running)
    assert.equal(liveTimers(), before, 'the timer is unref\'d')
    await waitFor('three runs', () => runs >= 3, { timeoutMs: 5000 })
    p.stop()
    assert.ok(!p.running)
    const after = runs
    await sleep(50)
    assert.equal(runs, after, 'no run after stop')
  })

  it('skips a tick while the previous run is still going, and idle() waits for that run', async () => {
    let inFlight = 0
    let most = 0
    let runs = 0
    const p = new Periodic(async () => {
      inFlight++
      most = Math.max(most, inFlight)
      await sleep(40)
      inFlight--
      runs++
    }, { intervalMs: 5, log: recordingLog(), name: 'slow' }).start()
    await waitFor('two slow runs', () => runs >= 2, { timeoutMs: 5000 })
    p.stop()
    await p.idle()
    assert.equal(inFlight, 0)
    assert.equal(most, 1, 'never two runs at once')
  })

  it('logs a failed run, sync or async, and keeps ticking', async () => {
    const log = recordingLog()
    let runs = 0
    const p = new Periodic(() => {
      runs++
      if (runs === 1) throw new Error('first failed')
      if (runs === 2) return Promise.reject(new Error('second failed'))
    }, { intervalMs: 5, log, name: 'flaky' }).start()
    await waitFor('a third run', () => runs >= 3, { timeoutMs: 5000 })
    p.stop()
    assert.deepEqual(log.errors, ['%s failed: %s flaky first failed', '%s failed: %s flaky second failed'])
  })
})
