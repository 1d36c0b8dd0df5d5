/**
 * Time for a benchmark spread over processes on one machine: a wall clock comparable between them, and bounded waits.
 */

import { performance } from 'node:perf_hooks'

/**
 * Milliseconds since the epoch, sub-millisecond resolution, monotonic within a process. Processes on one
 * machine can subtract each other's readings (this is how one-way latency is measured).
 */
export function wallClock (): number {
  return performance.timeOrigin + performance.now()
}

/** Resolve after `ms`. */
export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Thrown when a bounded wait runs out. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError'
  readonly code = 'ERR_BENCH_DEADLINE'
}

/**
 * Poll `cond` every `intervalMs` until it returns a truthy value, which is returned; after `timeoutMs`
 * throw a `DeadlineError` naming `what` and describing the state (`describe`, or the last value seen).
 */
export async function waitUntil<T> (
  what: string,
  cond: () => T | Promise<T>,
  timeoutMs: number,
  intervalMs = 50,
  describe?: () => string
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    last = await cond()
    if (last) return last as T
    if (Date.now() >= deadline) throw new DeadlineError(`timed out after ${timeoutMs} ms waiting for ${what} (${describe?.() ?? `last: ${JSON.stringify(last)}`})`)
    await sleep(intervalMs)
  }
}

/** Reject with a `DeadlineError` if `promise` does not settle within `timeoutMs`. */
export async function withDeadline<T> (what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new DeadlineError(`timed out after ${timeoutMs} ms waiting for ${what}`)) }, timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
