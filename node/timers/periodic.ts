/**
 * A task run every so often in the background: membership probes, repair rounds, session upkeep, the
 * status sampler. One place decides what every such loop must do: tick at a fixed rate (as
 * `setInterval`), never keep the process alive, never start a run while the previous one is still going
 * (a slow round is skipped, not piled up), and log a failed run instead of throwing it where nobody
 * catches it.
 */

import type { Logger } from '@libp2p/interface'

/** How a periodic task runs. */
export interface PeriodicInit {
  /** ms from one tick to the next */
  intervalMs: number
  /** where a failed run is logged */
  log: Pick<Logger, 'error'>
  /** what the task is, in that log line */
  name: string
}

/** A task run every `intervalMs` between `start()` and `stop()`, one run at a time. */
export class Periodic {
  private timer?: NodeJS.Timeout
  private current?: Promise<void>

  constructor (private readonly task: () => unknown, private readonly init: PeriodicInit) {}

  /** Between `start()` and `stop()`. */
  get running (): boolean { return this.timer != null }

  /** Tick every `intervalMs` from now on (the first run one interval from now). Safe to call twice. */
  start (): this {
    if (this.timer != null) return this
    this.timer = setInterval(() => { void this.run() }, this.init.intervalMs)
    // a background task never keeps a stopping process alive
    this.timer.unref()
    return this
  }

  /** No more ticks. A run in progress goes on: `idle()` waits for it. */
  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = undefined
  }

  /** Resolves once no run is in progress. */
  async idle (): Promise<void> {
    await this.current
  }

  /**
   * Run the task now, unless a run is in progress (then this one is skipped); resolves when it is done. Never rejects.
   */
  async run (): Promise<void> {
    if (this.current != null) return
    this.current = (async () => {
      try {
        await this.task()
      } catch (err: any) {
        this.init.log.error('%s failed: %s', this.init.name, err?.message ?? err)
      }
    })()
    try {
      await this.current
    } finally {
      this.current = undefined
    }
  }
}
