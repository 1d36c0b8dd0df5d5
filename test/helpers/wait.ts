/** Waiting without fixed sleeps, and temporary directories that are always removed. */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Poll `cond` until it returns truthy or `timeoutMs` passes; then throw with `what` and the last value. */
export async function waitFor<T> (what: string, cond: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 25 } = {}): Promise<T> {
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
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
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
