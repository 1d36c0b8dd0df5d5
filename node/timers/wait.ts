/**
 * Waiting for a condition without fixed sleeps: poll it until it holds or a deadline passes, and on
 * timeout say what was awaited and what the condition last returned. `chorus demo` waits this way for the
 * mesh it narrates; the tests wrap it (test/helpers/wait.ts) to stretch their deadlines on a slow machine.
 */

import { ChorusError } from '../../protocol/errors.js'
/** How long `waitFor` waits unless told otherwise. */
export const DEFAULT_WAIT_TIMEOUT_MS = 20_000

/** How often `waitFor` looks again unless told otherwise. */
export const DEFAULT_POLL_INTERVAL_MS = 25

/** A `waitFor` whose condition did not hold in time; the message names what was awaited and the last value. */
export class WaitTimeoutError extends ChorusError {
  static readonly code = 'ERR_WAIT_TIMEOUT'
  override readonly name = 'WaitTimeoutError'
  constructor (message: string) { super(message, WaitTimeoutError.code) }
}

/** How long and how often `waitFor` polls. */
export interface WaitOptions {
  /** give up after this many ms @default 20000 */
  timeoutMs?: number
  /** ms between looks @default 25 */
  intervalMs?: number
}

/**
 * Poll `cond` until it returns truthy or `timeoutMs` passes; then throw a `WaitTimeoutError` with `what`
 * and the last value. Any truthy value ends the wait, and is returned, so a condition that wants to say
 * why it is not met yet throws an Error saying so (the poll goes on, and the timeout's message quotes
 * the last one) instead of returning a string.
 */
export async function waitFor<T> (what: string, cond: () => T | Promise<T>, o: WaitOptions = {}): Promise<T> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS
  const intervalMs = o.intervalMs ?? DEFAULT_POLL_INTERVAL_MS
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await cond()
      if (v) return v
      last = v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
    }
    // the poll interval, not a synchronisation sleep: the condition is checked again after it
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
