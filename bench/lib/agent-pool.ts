/**
 * A pool of benchmark agent processes. Forks agents (each with its own temporary data directory), and
 * guarantees that every child is killed and every directory removed: on `close()`, on process exit, and
 * on SIGINT/SIGTERM.
 */

import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AgentHandle } from './agent-handle.js'
import { AGENT_ENV } from './agent-protocol.js'
import { sleep, wallClock } from './clock.js'
import { DEFAULT_STOP_TIMEOUT_MS } from './constants.js'

/** The compiled agent entry, next to this module's parent directory. */
export const AGENT_SCRIPT = fileURLToPath(new URL('../agent.js', import.meta.url))

/** Forks, tracks and always cleans up agent processes. */
export class AgentPool {
  private readonly handles: AgentHandle[] = []
  private readonly dirs: string[] = []
  private closed = false

  /** Every agent forked so far. */
  get agents (): readonly AgentHandle[] { return this.handles }

  /** Fork one agent named `name`. Returns at once; await `handle.ready` before the first request. */
  fork (name: string): AgentHandle {
    if (this.closed) throw new Error('the agent pool is closed')
    const dataDir = mkdtempSync(join(tmpdir(), `chorus-bench-${name}-`))
    this.dirs.push(dataDir)
    const forkedAt = wallClock()
    const child = fork(AGENT_SCRIPT, [], {
      env: { ...process.env, [AGENT_ENV.name]: name, [AGENT_ENV.dataDir]: dataDir },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced'
    })
    const handle = new AgentHandle(name, dataDir, child, forkedAt)
    this.handles.push(handle)
    return handle
  }

  /** Fork `count` agents named `prefix-0` … back to back. */
  forkMany (prefix: string, count: number): AgentHandle[] {
    return Array.from({ length: count }, (_, i) => this.fork(`${prefix}-${i}`))
  }

  /** Stop every node politely (bounded), kill what is left, remove every directory. Safe to call twice. */
  async close (stopTimeoutMs: number = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    this.closed = true
    const running = this.handles.filter((h) => h.alive)
    await Promise.allSettled(running.map(async (h) => { await h.request('stop', {}, stopTimeoutMs) }))
    await Promise.race([Promise.allSettled(running.map(async (h) => await h.exited)), sleep(stopTimeoutMs)])
    this.killNow()
    await Promise.race([Promise.allSettled(running.map(async (h) => await h.exited)), sleep(stopTimeoutMs)])
    this.removeDirs()
  }

  /** Synchronously SIGKILL every live child and remove every directory: the last resort. */
  killNow (): void {
    for (const h of this.handles) {
      if (h.alive) h.child.kill('SIGKILL')
    }
    this.removeDirs()
  }

  /**
   * Kill the children if this process exits or is interrupted before `close()`. Returns a function that
   * removes the guards again.
   */
  guardProcess (): () => void {
    const onExit = (): void => { this.killNow() }
    const onSignal = (signal: NodeJS.Signals): void => {
      process.stderr.write(`bench: interrupted (${signal}); killing ${this.handles.filter((h) => h.alive).length} agent processes\n`)
      this.killNow()
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    process.on('exit', onExit)
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    return () => {
      process.off('exit', onExit)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }

  private removeDirs (): void {
    for (const d of this.dirs) {
      try {
        rmSync(d, { recursive: true, force: true })
      } catch (err: any) {
        process.stderr.write(`bench: could not remove ${d}: ${err.code ?? err.message}\n`)
      }
    }
  }
}
