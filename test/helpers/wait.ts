/**
 * Waiting without fixed sleeps, deadlines that stretch on a slow machine, and temporary directories that
 * are always removed.
 *
 * Every deadline a test sets (a `waitFor`, a helper's timeout, a mocha `this.timeout`) goes through
 * `scaled(ms)`: the environment variable CHORUS_TEST_SLOWDOWN (a factor, default 1) multiplies it, so a
 * busy CI host can give every wait more time without touching a test. A deadline only decides how long
 * a failing test takes to say so; a passing test never waits it out. The polling itself is the library's
 * (node/timers/wait.ts, which `chorus demo` waits with too); only the scaling is the tests' own.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_WAIT_TIMEOUT_MS, waitFor as poll, type WaitOptions } from '../../node/timers/wait.js'

export { WaitTimeoutError } from '../../node/timers/wait.js'

/** Parse CHORUS_TEST_SLOWDOWN: a positive finite number; unset or empty means 1. */
function slowdownFrom (value: string | undefined): number {
  if (value == null || value.trim() === '') return 1
  const factor = Number(value)
  if (!Number.isFinite(factor) || factor <= 0) throw new Error(`CHORUS_TEST_SLOWDOWN must be a positive number, not ${JSON.stringify(value)}`)
  return factor
}

/** The factor every test deadline is multiplied by (CHORUS_TEST_SLOWDOWN). @default 1 */
export const SLOWDOWN = slowdownFrom(process.env.CHORUS_TEST_SLOWDOWN)

/** A test deadline of `ms` on an unloaded machine, stretched by CHORUS_TEST_SLOWDOWN. */
export function scaled (ms: number): number {
  return Math.ceil(ms * SLOWDOWN)
}

/** How long `waitFor` waits unless told otherwise (before scaling). */
export const DEFAULT_WAIT_MS = DEFAULT_WAIT_TIMEOUT_MS

/**
 * Poll `cond` until it returns truthy or `timeoutMs` passes; then throw a `WaitTimeoutError` with `what`
 * and the last value. `timeoutMs` is used as given (pass `scaled(…)`); the default is
 * `scaled(DEFAULT_WAIT_MS)`. Any truthy value ends the wait, so a condition that wants to say why it is
 * not met yet throws an Error saying so (the poll goes on, and the timeout's message quotes the last one)
 * instead of returning a string.
 */
export async function waitFor<T> (
  what: string,
  cond: () => T | Promise<T>,
  { timeoutMs = scaled(DEFAULT_WAIT_MS), intervalMs = DEFAULT_POLL_INTERVAL_MS }: WaitOptions = {}
): Promise<T> {
  return await poll(what, cond, { timeoutMs, intervalMs })
}

/** Temporary directories for one test file; `cleanup()` removes every one made. */
export class TempDirs {
  private readonly dirs: string[] = []
  make (prefix = 'chorus-test-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix))
    this.dirs.push(d)
    return d
  }

  cleanup (): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  }
}
