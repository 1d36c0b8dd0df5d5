/**
 * The chaos checker: a pure function over the whole record of a run (every send with its outcome, every
 * message each session showed, every history read at the end, every fault with its window). No I/O, so
 * it is unit-tested on hand-made records (test/unit/chaos-checker.test.ts) and cannot pass vacuously.
 *
 * What must hold (issue 9):
 *  - every acknowledged send is shown to each of its recipients exactly once (`lost`, `duplicates`);
 *  - nothing is shown that nobody sent (`phantoms`);
 *  - every history is whole, without duplicates, in (timestamp, id) order and in each sender's order
 *    (`historyGaps`, `historyDuplicates`, `historyDisorder`);
 *  - nothing deleted comes back (`resurrected`);
 *  - no send failed while at most N − W owners of each of its mailboxes were down (`unexcusedFailures`).
 * Live order across senders is not promised; a recipient's shown order per sender is counted
 * (`liveReorders`: a message the relay lost comes by sync, after later ones) but is not a violation.
 */

import type { Shown } from '../helpers/agent.js'

/** One send as the workload issued it. */
export interface SendRecord {
  /** issue order, across all senders */
  seq: number
  from: string
  kind: 'dm' | 'room' | 'secret'
  /** a handle (dm, secret) or a room id */
  to: string
  /** unique in the run */
  text: string
  start: number
  end: number
  ok: boolean
  /** envelope id (hex) of an acknowledged send */
  id?: string
  error?: string
  /** the ring owners of each mailbox the send writes (the sender's and the recipient's, or the room's) */
  owners: string[][]
}

/** A window during which a server could not serve (killed until restarted and seen again, or paused). */
export interface FaultWindow {
  /** the server at fault ('' for a client restart) */
  server: string
  /** the user whose node restarted (client-restart) */
  user?: string
  kind: 'kill' | 'pause' | 'client-restart' | 'skew'
  from: number
  to: number
}

/** A history as one viewer read it at the end. */
export interface HistoryRead {
  viewer: string
  /** 'dm:<a>,<b>' (sorted handles), 'room:<id>' or 'secret:<a>,<b>' */
  conversation: string
  entries: Array<{ id: string, fromId: string, text: string, timestamp: number }>
}

export interface ChaosRecord {
  users: Array<{ handle: string, userId: string }>
  /** the room every user is in, by handle */
  room: { id: string, members: string[] }
  replicas: number
  writeQuorum: number
  sends: SendRecord[]
  shown: Shown[]
  histories: HistoryRead[]
  faults: FaultWindow[]
  /** deleted envelopes (secret ciphertext the recipient has) still held by a server at the end */
  resurrected: Array<{ server: string, id: string }>
}

export interface Violation { check: string, detail: string }

export interface ChaosReport {
  sends: number
  acknowledged: number
  failed: number
  shown: number
  duplicates: number
  lost: number
  phantoms: number
  historyGaps: number
  historyDuplicates: number
  historyDisorder: number
  resurrected: number
  unexcusedFailures: number
  /** failed sends excused because more than N − W owners of a mailbox were down */
  excusedFailures: number
  liveReorders: number
  faults: Record<string, number>
  violations: Violation[]
}

/** Conversation key of a send. */
export function conversationOf (s: Pick<SendRecord, 'kind' | 'from' | 'to'>): string {
  if (s.kind === 'room') return `room:${s.to}`
  return `${s.kind}:${[s.from, s.to].sort().join(',')}`
}

/** Who must be shown a send: the other party, or every room member but the sender. */
function recipientsOf (s: SendRecord, rec: ChaosRecord): string[] {
  if (s.kind === 'room') return rec.room.members.filter((h) => h !== s.from)
  return [s.to]
}

export function check (rec: ChaosRecord): ChaosReport {
  const violations: Violation[] = []
  const flag = (checkName: string, detail: string): void => {
    if (violations.length < 200) violations.push({ check: checkName, detail })
  }
  const byText = new Map(rec.sends.map((s) => [s.text, s]))
  const handleOf = new Map(rec.users.map((u) => [u.userId, u.handle]))

  // shown: exactly once per recipient, nothing unknown
  const shownCount = new Map<string, number>()
  let duplicates = 0
  let phantoms = 0
  for (const s of rec.shown) {
    const send = byText.get(s.text)
    if (send == null || handleOf.get(s.fromId) !== send.from) {
      phantoms++
      flag('phantom', `${s.to} was shown "${s.text.slice(0, 40)}" from ${s.fromId.slice(0, 8)}, which nobody sent`)
      continue
    }
    const key = `${s.to}\u0000${send.text}`
    const n = (shownCount.get(key) ?? 0) + 1
    shownCount.set(key, n)
    if (n === 2) { duplicates++; flag('duplicate', `${s.to} was shown ${send.kind} #${send.seq} "${send.text}" twice (incarnation ${s.incarnation})`) }
  }
  let lost = 0
  for (const s of rec.sends) {
    if (!s.ok) continue
    for (const r of recipientsOf(s, rec)) {
      if ((shownCount.get(`${r}\u0000${s.text}`) ?? 0) === 0) { lost++; flag('lost', `${r} was never shown acknowledged ${s.kind} #${s.seq} "${s.text}" from ${s.from}`) }
    }
  }

  // live order per sender, as each recipient saw it (reported, not a violation)
  let liveReorders = 0
  const lastSeq = new Map<string, number>()
  for (const s of rec.shown) {
    const send = byText.get(s.text)
    if (send == null) continue
    const key = `${s.to}\u0000${send.from}\u0000${conversationOf(send)}`
    const prev = lastSeq.get(key) ?? -1
    if (send.seq < prev) liveReorders++
    else lastSeq.set(key, send.seq)
  }

  // histories: whole, no duplicates, (timestamp, id) order, sender order
  let historyGaps = 0
  let historyDuplicates = 0
  let historyDisorder = 0
  for (const h of rec.histories) {
    const ids = new Set<string>()
    const texts = new Set<string>()
    let prevStamp: [number, string] | undefined
    const senderSeq = new Map<string, number>()
    for (const e of h.entries) {
      if (ids.has(e.id) || texts.has(e.text)) { historyDuplicates++; flag('history-duplicate', `${h.viewer}'s ${h.conversation} holds "${e.text}" twice`) }
      ids.add(e.id)
      texts.add(e.text)
      const stamp: [number, string] = [e.timestamp, e.id]
      // the secret history is the device's own list, ordered by arrival: only sender order applies there
      if (!h.conversation.startsWith('secret:') && prevStamp != null &&
          (stamp[0] < prevStamp[0] || (stamp[0] === prevStamp[0] && stamp[1] < prevStamp[1]))) {
        historyDisorder++
        flag('history-order', `${h.viewer}'s ${h.conversation}: "${e.text}" is listed after a later message`)
      }
      prevStamp = stamp
      const send = byText.get(e.text)
      if (send == null) continue
      const prev = senderSeq.get(send.from) ?? -1
      if (send.seq < prev) { historyDisorder++; flag('history-sender-order', `${h.viewer}'s ${h.conversation}: ${send.from}'s #${send.seq} after its #${prev}`) }
      senderSeq.set(send.from, Math.max(prev, send.seq))
    }
    for (const s of rec.sends) {
      if (!s.ok || conversationOf(s) !== h.conversation || texts.has(s.text)) continue
      historyGaps++
      flag('history-gap', `${h.viewer}'s ${h.conversation} lacks acknowledged #${s.seq} "${s.text}"`)
    }
  }

  // failed sends: excused only when more than N − W owners of one of its mailboxes were down meanwhile
  const tolerated = rec.replicas - rec.writeQuorum
  let unexcusedFailures = 0
  let excusedFailures = 0
  for (const s of rec.sends) {
    if (s.ok) continue
    const downDuring = (o: string): boolean => rec.faults.some((f) =>
      f.server === o && f.kind !== 'client-restart' && f.kind !== 'skew' && f.from <= s.end && f.to >= s.start)
    const down = (owners: string[]): number => owners.filter(downDuring).length
    if (s.owners.some((owners) => down(owners) > tolerated)) { excusedFailures++; continue }
    unexcusedFailures++
    flag('failed-send', `${s.kind} #${s.seq} from ${s.from} failed (${s.error ?? 'unknown'}) with at most ${tolerated} owner(s) of each mailbox down`)
  }

  for (const r of rec.resurrected) flag('resurrected', `server ${r.server.slice(-8)} holds deleted envelope ${r.id.slice(0, 16)} at the end`)

  const faults: Record<string, number> = {}
  for (const f of rec.faults) faults[f.kind] = (faults[f.kind] ?? 0) + 1
  const acknowledged = rec.sends.filter((s) => s.ok).length
  return {
    sends: rec.sends.length,
    acknowledged,
    failed: rec.sends.length - acknowledged,
    shown: rec.shown.length,
    duplicates,
    lost,
    phantoms,
    historyGaps,
    historyDuplicates,
    historyDisorder,
    resurrected: rec.resurrected.length,
    unexcusedFailures,
    excusedFailures,
    liveReorders,
    faults,
    violations
  }
}

/** Did the run keep every promise? */
export function passed (r: ChaosReport): boolean {
  return r.duplicates + r.lost + r.phantoms + r.historyGaps + r.historyDuplicates + r.historyDisorder + r.resurrected +
    r.unexcusedFailures === 0
}
