/**
 * The store benchmark's sender: acknowledged sends from one user, paced at a fixed rate or saturating
 * with a bounded number in flight. Latency is send() → resolution, i.e. W owners have it on disk.
 */

import type { User } from '../../node/index.js'
import type { AgentCommands, MixLoadReport, SendLoadReport } from './agent-protocol.js'
import { sleep, wallClock } from './clock.js'
import { encodeTextPayload } from './payload.js'

/** Run one load phase; stops at `seconds` or after `count` sends (whichever first; 0 = no count limit). */
export async function sendLoad (user: User, cmd: AgentCommands['sendLoad']): Promise<SendLoadReport> {
  const plain = 'x'.repeat(Math.max(1, cmd.size))
  let seq = 0
  const room = cmd.to.startsWith('room:') ? cmd.to.slice(5) : undefined
  const roomOf = room == null ? undefined : (user.rooms as any).get(room)
  if (room != null && roomOf == null) throw new Error(`${cmd.from} is not in room ${room}`)
  const secret = cmd.to.startsWith('secret:') ? await user.secret.open(cmd.to.slice(7)) : undefined
  const report: SendLoadReport = {
    acked: 0,
    failed: 0,
    errors: {},
    startedAt: wallClock(),
    endedAt: 0,
    latenciesMs: []
  }
  const endAt = report.startedAt + cmd.seconds * 1000
  const limit = cmd.count > 0 ? cmd.count : Number.MAX_SAFE_INTEGER
  let issued = 0
  const one = async (): Promise<void> => {
    const t0 = performance.now()
    const text = cmd.runId == null
      ? plain
      : encodeTextPayload({ runId: cmd.runId, seq: seq++, sentAt: wallClock() }, cmd.size)
    try {
      if (roomOf != null) await (await roomOf).send(text)
      else if (secret != null) await secret.send(text)
      else await user.send(cmd.to, text)
      report.acked++
      report.latenciesMs.push(performance.now() - t0)
    } catch (err: any) {
      report.failed++
      const code = String(err.code ?? err.name)
      report.errors[code] = (report.errors[code] ?? 0) + 1
    }
  }
  const inFlight = new Set<Promise<void>>()
  const launch = (): void => {
    issued++
    const p = one().finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  /** sends are left to issue (launch() counts them) */
  const more = (): boolean => issued < limit
  if (cmd.mode === 'saturate') {
    while (wallClock() < endAt && more()) {
      while (inFlight.size < cmd.window && more()) launch()
      await Promise.race(inFlight)
    }
  } else {
    const gapMs = 1000 / cmd.rate
    const t0 = wallClock()
    while (wallClock() < endAt && more()) {
      launch()
      const due = t0 + issued * gapMs
      const wait = due - wallClock()
      if (wait > 0) await sleep(wait)
    }
  }
  await Promise.all(inFlight)
  report.endedAt = wallClock()
  return report
}

/**
 * Paced sends over many (sender, target) pairs of this process, taken in turn: `rate` a second in all, for
 * `seconds`. A target is a handle (a direct message) or `room:<id>` (a post). Latency is send() →
 * resolution, as in `sendLoad`.
 */
export async function sendMix (users: ReadonlyMap<string, User>, cmd: AgentCommands['mixLoad']): Promise<MixLoadReport> {
  const plain = 'x'.repeat(Math.max(1, cmd.size))
  const targets = cmd.targets.map(({ from, to }) => {
    const user = users.get(from)
    if (user == null) throw new Error(`no open user ${from}`)
    if (!to.startsWith('room:')) return { kind: 'dm' as const, send: async (text: string) => { await user.send(to, text) } }
    const room = user.rooms.get(to.slice(5))
    if (room == null) throw new Error(`${from} is not in room ${to.slice(5)}`)
    return { kind: 'room' as const, send: async (text: string) => { await room.send(text) } }
  })
  const report: MixLoadReport = {
    acked: 0,
    failed: 0,
    errors: {},
    startedAt: wallClock(),
    endedAt: 0,
    latenciesMs: [],
    ackedByKind: { dm: 0, room: 0 }
  }
  if (targets.length === 0 || cmd.rate <= 0) { report.endedAt = report.startedAt; return report }
  const endAt = report.startedAt + cmd.seconds * 1000
  const inFlight = new Set<Promise<void>>()
  const one = async (i: number): Promise<void> => {
    const t = targets[i % targets.length]
    const t0 = performance.now()
    try {
      await t.send(plain)
      report.acked++
      report.ackedByKind[t.kind]++
      report.latenciesMs.push(performance.now() - t0)
    } catch (err: any) {
      report.failed++
      const code = String(err.code ?? err.name)
      report.errors[code] = (report.errors[code] ?? 0) + 1
    }
  }
  const gapMs = 1000 / cmd.rate
  let issued = 0
  while (wallClock() < endAt) {
    const p = one(issued++).finally(() => inFlight.delete(p))
    inFlight.add(p)
    const wait = report.startedAt + issued * gapMs - wallClock()
    if (wait > 0) await sleep(wait)
  }
  await Promise.all(inFlight)
  report.endedAt = wallClock()
  return report
}
