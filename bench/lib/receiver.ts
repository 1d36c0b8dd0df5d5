/** The receiving side of a raw gossipsub run: per-run counts and one-way latencies of benchmark payloads. */

import type { ReceiveReport } from './agent-protocol.js'
import { wallClock } from './clock.js'
import { decodePayload, type PayloadHeader } from './payload.js'

interface RunRecord {
  seen: Set<number | string>
  duplicates: number
  firstAt: number
  lastAt: number
  latenciesMs: number[]
}

/** Records benchmark payloads by run id. Messages of unknown shape are ignored. */
export class PayloadRecorder {
  private readonly runs = new Map<number, RunRecord>()

  /** Note one message received at `at` (wall clock). */
  record (data: Uint8Array, at: number = wallClock()): void {
    const header = decodePayload(data)
    if (header != null) this.recordHeader(header, at)
  }

  /**
   * Note one message, by its decoded header, received at `at`. `key` tells apart receivers
   * in one process (room members).
   */
  recordHeader (header: PayloadHeader, at: number = wallClock(), key = ''): void {
    const seq = key === '' ? header.seq : `${key}#${header.seq}`
    let run = this.runs.get(header.runId)
    if (run == null) {
      run = { seen: new Set(), duplicates: 0, firstAt: at, lastAt: at, latenciesMs: [] }
      this.runs.set(header.runId, run)
    }
    if (run.seen.has(seq)) { run.duplicates++; return }
    run.seen.add(seq)
    run.lastAt = at
    run.latenciesMs.push(at - header.sentAt)
  }

  /** Messages of `runId` so far and when the last one came (0 if none). */
  progress (runId: number): { received: number, lastAt: number } {
    const run = this.runs.get(runId)
    return { received: run?.seen.size ?? 0, lastAt: run?.lastAt ?? 0 }
  }

  /** Everything recorded of `runId`, then forget it. */
  collect (runId: number): ReceiveReport {
    const run = this.runs.get(runId)
    this.runs.delete(runId)
    if (run == null) return { received: 0, duplicates: 0, firstAt: 0, lastAt: 0, latenciesMs: [] }
    // three decimals: microseconds are plenty and keep the IPC message small
    const latenciesMs = run.latenciesMs.map((l) => Math.round(l * 1000) / 1000)
    return {
      received: run.seen.size,
      duplicates: run.duplicates,
      firstAt: run.firstAt,
      lastAt: run.lastAt,
      latenciesMs
    }
  }
}
