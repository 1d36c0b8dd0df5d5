/**
 * The publishing side of a raw gossipsub run: paced at a fixed offered rate, or saturating (as fast as the
 * node will take messages, held back only by its outbound buffers).
 */

import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { AgentCommands, PublishReport } from './agent-protocol.js'
import { sleep, wallClock } from './clock.js'
import { DEFAULT_SATURATION_BATCH, DEFAULT_SATURATION_MAX_BUFFERED_BYTES } from './constants.js'
import { encodePayload } from './payload.js'

/** What a publisher needs of the node. */
export interface PublishTarget {
  publish: (topic: string, data: Uint8Array) => Promise<{ recipients: unknown[] }>
  /** Largest number of unsent bytes queued on any outbound gossipsub stream. */
  outboundBufferedBytes: () => number
}

type PublishCommand = AgentCommands['publish']

/** Tuning of the saturating publisher. */
export interface SaturationInit {
  /** @default DEFAULT_SATURATION_MAX_BUFFERED_BYTES */ maxBufferedBytes?: number
  /** @default DEFAULT_SATURATION_BATCH */ batch?: number
}

/**
 * Publish on a fixed schedule of `rate` per second for `seconds`; a late publisher catches up in a burst.
 * It stops at the end of the period even if behind, so a starved publisher shows as offered < rate.
 */
export async function publishPaced (target: PublishTarget, cmd: PublishCommand): Promise<PublishReport> {
  const total = Math.round(cmd.rate * cmd.seconds)
  const report = newReport()
  const end = report.startedAt + cmd.seconds * 1000
  const interval = 1000 / cmd.rate
  const done = (): number => report.sent + report.failed
  while (done() < total && wallClock() < end) {
    const due = Math.min(total, Math.floor((wallClock() - report.startedAt) / interval) + 1)
    while (done() < due && wallClock() < end) await publishOne(target, cmd, report)
    if (done() < total) await sleep(Math.max(0, report.startedAt + done() * interval - wallClock()))
  }
  return report
}

/** Publish back to back for `seconds`, yielding every `batch` messages and waiting while buffers are full. */
export async function publishSaturated (
  target: PublishTarget,
  cmd: PublishCommand,
  init: SaturationInit = {}
): Promise<PublishReport> {
  const maxBuffered = init.maxBufferedBytes ?? DEFAULT_SATURATION_MAX_BUFFERED_BYTES
  const batch = init.batch ?? DEFAULT_SATURATION_BATCH
  const report = newReport()
  const end = report.startedAt + cmd.seconds * 1000
  while (wallClock() < end) {
    for (let i = 0; i < batch; i++) await publishOne(target, cmd, report)
    // let sockets flush; without this the loop runs on microtasks alone and nothing leaves the process
    await yieldToLoop()
    if (target.outboundBufferedBytes() > maxBuffered) {
      report.backpressureWaits++
      while (target.outboundBufferedBytes() > maxBuffered && wallClock() < end) await sleep(1)
    }
  }
  return report
}

function newReport (): PublishReport {
  const now = wallClock()
  return { sent: 0, failed: 0, unrouted: 0, startedAt: now, endedAt: now, backpressureWaits: 0 }
}

async function publishOne (target: PublishTarget, cmd: PublishCommand, report: PublishReport): Promise<void> {
  const data = encodePayload({ runId: cmd.runId, seq: report.sent + report.failed, sentAt: wallClock() }, cmd.size)
  try {
    const { recipients } = await target.publish(cmd.topic, data)
    report.sent++
    if (recipients.length === 0) report.unrouted++
  } catch {
    // counted, not thrown: a failed publish is a measured outcome of the run
    report.failed++
  }
  // the offered rate is over the time actually spent publishing, not the idle tail of the period
  report.endedAt = wallClock()
}
