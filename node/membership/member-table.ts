/**
 * The membership state machine, with no I/O: who is in the view, who is suspect, what to gossip next and
 * whom to probe next. `Membership` feeds it what the network says; a test feeds it directly with a clock.
 *
 * Rules (SWIM with suspicion, hardened against hearsay):
 * - Only direct contact (a ping from the peer, an ack from it) makes a peer alive and fires `join`.
 * - Hearsay of a new peer makes it `pending`: it is probed, and joins when it answers.
 * - Hearsay of suspicion or death only makes a member suspect here; this node then probes it itself and
 *   declares it dead only when its own suspicion timer runs out unrefuted. One lying peer cannot evict others.
 * - A peer refutes suspicion of itself by raising its incarnation; a restarted peer starts with a higher one.
 */

import type { Role } from '../../protocol/constants.js'
import type { Member, MemberRecord, MemberState } from './member.js'

/** A member as the table keeps it. */
export interface MemberEntry {
  record: MemberRecord
  state: MemberState
  /** when the current state was entered (ms) */
  since: number
  /** last direct contact (ms), 0 if never */
  lastSeen: number
  /** a dead member others report alive: probe it once ourselves (it stays dead unless it answers) */
  recheck?: boolean
}

/** Timing and bounds of the table. */
export interface MemberTableInit {
  suspicionTimeoutMs: number
  deadRetentionMs: number
  retransmitMult: number
  maxMembers: number
}

/** What the table tells its owner. */
export interface MemberTableEvents {
  onJoin: (m: Member) => void
  /** a live member turned suspect (a failed probe, or hearsay) */
  onSuspect?: (m: Member) => void
  onLeave: (m: Member, reason: LeaveReason) => void
}

/** Why a member left the view: it died, it said goodbye, or its admission was withdrawn (closed mesh). */
export type LeaveReason = 'dead' | 'left' | 'revoked' | 'expired' | 'repeated-seed'

interface Gossip { record: MemberRecord, transmits: number }

export class MemberTable {
  private readonly entries = new Map<string, MemberEntry>()
  private readonly gossip = new Map<string, Gossip>()
  private probeOrder: string[] = []
  private probeIndex = 0
  private urgentTurn = false

  private readonly selfId: string

  constructor (
    private readonly self: () => MemberRecord,
    private readonly init: MemberTableInit,
    private readonly events: MemberTableEvents,
    private readonly now: () => number = Date.now
  ) {
    // self() builds a fresh record (addresses included); the id alone is asked for on every update
    this.selfId = self().peerId
  }

  /** A record the peer itself sent us over an authenticated connection. */
  observeDirect (r: MemberRecord): void {
    if (r.peerId === this.selfId || r.role === 'client') return
    const now = this.now()
    const e = this.entries.get(r.peerId)
    if (r.state === 'left') {
      if (e != null && r.incarnation >= e.record.incarnation) {
        e.record = { ...e.record, incarnation: r.incarnation }
        this.transition(e, 'left', now)
      }
      return
    }
    // a ping or ack still in flight when the peer left must not bring it back: only a restart
    // (a higher incarnation) does
    if (e != null && e.state === 'left' && r.incarnation <= e.record.incarnation) return
    const record: MemberRecord = { ...r, state: 'alive' }
    if (e == null) {
      if (!this.admit()) return
      const entry: MemberEntry = { record, state: 'pending', since: now, lastSeen: now }
      this.entries.set(r.peerId, entry)
      this.transition(entry, 'alive', now)
      return
    }
    e.lastSeen = now
    if (r.incarnation >= e.record.incarnation) e.record = record
    e.recheck = false
    if (e.state !== 'alive') this.transition(e, 'alive', now)
  }

  /** A record gossiped by a third party: never trusted beyond "worth checking". */
  observeHearsay (r: MemberRecord): void {
    if (r.peerId === this.selfId) return
    if (r.role === 'client') return
    const now = this.now()
    const e = this.entries.get(r.peerId)
    if (e == null) {
      if ((r.state === 'alive' || r.state === 'suspect') && this.admit()) {
        this.entries.set(r.peerId, { record: { ...r, state: 'alive' }, state: 'pending', since: now, lastSeen: 0 })
      }
      return
    }
    const newer = r.incarnation > e.record.incarnation
    if (newer) e.record = { ...r, state: e.record.state }
    if (r.state === 'alive') {
      if (newer && e.state === 'suspect') this.transition(e, 'alive', now)
      // someone talks to a peer we declared dead (a healed partition): check it ourselves. A peer that
      // left comes back only with a higher incarnation (a restart), never on hearsay.
      else if (newer && (e.state === 'left' || e.state === 'dead')) this.setState(e, 'pending', now)
      else if (e.state === 'dead') e.recheck = true
    } else if (r.incarnation >= e.record.incarnation && e.state === 'alive') {
      this.transition(e, 'suspect', now)
    }
  }

  /** Is this gossip about us? Then refute: a higher incarnation travels faster than the rumour. */
  refutesSelf (r: MemberRecord, selfIncarnation: bigint): boolean {
    return r.peerId === this.selfId && r.state !== 'alive' && r.incarnation >= selfIncarnation
  }

  /** A probe of this peer got no ack in time. */
  probeFailed (peerId: string): void {
    const e = this.entries.get(peerId)
    if (e == null) return
    if (e.state === 'alive') this.transition(e, 'suspect', this.now())
  }

  /**
   * Put a member out of the view at once, because its admission to own data was withdrawn (revoked or
   * expired). It is dead from here on: it comes back only through direct contact its owner admits again.
   */
  evict (peerId: string, reason: 'revoked' | 'expired' | 'repeated-seed'): void {
    const e = this.entries.get(peerId)
    if (e == null || e.state === 'dead' || e.state === 'left') return
    this.transition(e, 'dead', this.now(), reason)
  }

  /** Advance timers: suspects past the timeout die, unreachable pending peers and old dead ones are forgotten. */
  tick (): void {
    const now = this.now()
    for (const [id, e] of this.entries) {
      const age = now - e.since
      if (e.state === 'suspect' && age >= this.init.suspicionTimeoutMs) this.transition(e, 'dead', now)
      else if (e.state === 'pending' && age >= this.init.suspicionTimeoutMs) this.entries.delete(id)
      else if ((e.state === 'dead' || e.state === 'left') && age >= this.init.deadRetentionMs) this.entries.delete(id)
    }
  }

  /** Queue news of ourselves (after a refutation or an address change). */
  announceSelf (): void {
    this.enqueue(this.self())
  }

  /** The next peer to probe: pending and suspect peers first, then alive ones round-robin in shuffled order. */
  nextProbeTarget (): string | undefined {
    let urgent: MemberEntry | undefined
    for (const e of this.entries.values()) {
      const due = e.state === 'pending' || e.state === 'suspect' || e.recheck === true
      if (due && (urgent == null || e.since < urgent.since)) urgent = e
    }
    // alternate urgent and routine probes so that a stream of rumours cannot starve the real members
    this.urgentTurn = !this.urgentTurn
    if (urgent != null && this.urgentTurn) {
      urgent.recheck = false
      return urgent.record.peerId
    }
    // routine: every alive member once per round, in a fresh random order each round (SWIM)
    for (let reshuffled = false; ;) {
      while (this.probeIndex < this.probeOrder.length) {
        const id = this.probeOrder[this.probeIndex++]
        if (this.entries.get(id)?.state === 'alive') return id
      }
      if (reshuffled) return urgent?.record.peerId
      this.probeOrder = shuffle([...this.entries.values()].filter((e) => e.state === 'alive').map((e) => e.record.peerId))
      this.probeIndex = 0
      reshuffled = true
    }
  }

  /** Up to `max` updates to piggyback, least-sent first; each goes out λ·log2(n+1) times. */
  takeUpdates (max: number): MemberRecord[] {
    const limit = Math.max(1, Math.ceil(this.init.retransmitMult * Math.log2(this.entries.size + 2)))
    const picked = [...this.gossip.values()].sort((a, b) => a.transmits - b.transmits).slice(0, max)
    for (const g of picked) {
      if (++g.transmits >= limit) this.gossip.delete(g.record.peerId)
    }
    return picked.map((g) => g.record)
  }

  /** Every member worth telling a syncing peer about: alive and suspect ones, ourselves included. */
  snapshot (max: number): MemberRecord[] {
    const out: MemberRecord[] = [this.self()]
    for (const e of this.entries.values()) {
      if (out.length >= max) break
      if (e.state === 'alive' || e.state === 'suspect') out.push({ ...e.record, state: e.state })
    }
    return out
  }

  /** The record and state of one peer, if known. */
  get (peerId: string): MemberEntry | undefined {
    return this.entries.get(peerId)
  }

  /** Live members (alive or suspect), optionally of one role. */
  live (role?: Role): Member[] {
    const out: Member[] = []
    for (const e of this.entries.values()) {
      if ((e.state === 'alive' || e.state === 'suspect') && (role == null || e.record.role === role)) out.push(toMember(e))
    }
    return out
  }

  /** Peers worth telling that we leave: every member not known to be dead or gone, pending ones included. */
  reachable (): string[] {
    const out: string[] = []
    for (const e of this.entries.values()) if (e.state !== 'dead' && e.state !== 'left') out.push(e.record.peerId)
    return out
  }

  /** Count of entries per state, for metrics. */
  counts (): Record<MemberState, number> {
    const c: Record<MemberState, number> = { pending: 0, alive: 0, suspect: 0, dead: 0, left: 0 }
    for (const e of this.entries.values()) c[e.state]++
    return c
  }

  private admit (): boolean {
    return this.entries.size < this.init.maxMembers
  }

  private setState (e: MemberEntry, state: MemberState, now: number): void {
    e.state = state
    e.since = now
  }

  private transition (e: MemberEntry, to: MemberState, now: number, why?: Exclude<LeaveReason, 'dead' | 'left'>): void {
    const from = e.state
    if (from === to) return
    this.setState(e, to, now)
    const wasLive = from === 'alive' || from === 'suspect'
    const isLive = to === 'alive' || to === 'suspect'
    if (to === 'alive' || to === 'suspect' || to === 'dead') this.enqueue({ ...e.record, state: to })
    if (!wasLive && isLive) this.events.onJoin(toMember(e))
    if (to === 'suspect') this.events.onSuspect?.(toMember(e))
    if (wasLive && !isLive) this.events.onLeave(toMember({ ...e, state: from }), why ?? (to === 'left' ? 'left' : 'dead'))
  }

  private enqueue (record: MemberRecord): void {
    this.gossip.set(record.peerId, { record, transmits: 0 })
  }
}

function toMember (e: MemberEntry): Member {
  return {
    peerId: e.record.peerId,
    role: e.record.role,
    capacity: e.record.capacity,
    addrs: e.record.addrs.map((a) => a.toString()),
    state: e.state === 'suspect' ? 'suspect' : 'alive',
    lastSeen: e.lastSeen,
    version: e.record.version
  }
}

function shuffle<T> (a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]]
  }
  return a
}
