/**
 * Repair, handoff and hinted handoff: the background loops that bring every mailbox back to N copies.
 *
 * - Hinted handoff (every second): an owner that missed writes is reconciled, for exactly the mailboxes
 *   it missed, as soon as membership sees it alive.
 * - Anti-entropy (every few seconds, and soon after any view change): for each mailbox held here, an
 *   owner reconciles with its co-owners (push and pull), unless neither side wrote to it since they last
 *   agreed: one PROBE per co-owner a round reads its change counters of every mailbox the two share
 *   (node/store/change-sketch.ts), so a quiet mesh costs a probe, not a digest per mailbox; a node
 *   that holds a mailbox it no longer owns
 *   (a server joined, or it stood in for a sloppy quorum) pushes it to the owners and deletes exactly
 *   the entries every owner confirmed.
 * - Handle claims held here, and the gateway accounts of those handles, are copied to owners that lack
 *   them; owners that hold different claims settle on the first (protocol/handle.ts `compareClaims`):
 *   each sends its claim to an owner whose claim comes after, and takes a peer's that comes before. A
 *   claim an owner was seen to hold is not asked about again until that owner restarts (its epoch
 *   changes), the handle's owners change, or the claim held here does. Once a pass found every claim held
 *   here held by every owner, later rounds do not even read the claims until something a pass depends on
 *   moved: a claim was written or deleted here, the view changed, a co-owner restarted or left, or the
 *   sightings are as old as they are trusted (an idle server holding thousands of handles read and hashed
 *   every one of them every round).
 */

import { logger } from '@libp2p/logger'
import { Envelope } from '../../protocol/envelope.js'
import { agreedClaim, claimantOf, sameClaimant, verifyHandleClaim, type HandleClaim } from '../../protocol/handle.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { conversationPeer, type Cursor } from '../store/mailbox-store.js'
import { DEFAULT_HINT_INTERVAL_MS, DEFAULT_REPAIR_INTERVAL_MS } from './constants.js'
import type { ReplicationContext } from './context.js'
import { PROBES_PER_REQUEST } from './handlers/probe.js'
import type { Reconciler } from './reconciler.js'
import type { StoreCall } from './rpc.js'
import { Periodic } from '../timers/periodic.js'

const log = logger('chorus:replication:repair')

/** Hints for a peer membership does not know are kept this long, then dropped. @default 600000 */
const HINT_GIVE_UP_MS = 10 * 60 * 1000

/** Mailboxes visited per anti-entropy round at most; the next round resumes after the last. */
const MAILBOXES_PER_ROUND = 512

/**
 * Counters for /metrics and tests; `unchanged`: reconciliations skipped because neither side wrote since they agreed.
 */
export interface RepairStats {
  rounds: number
  pushed: number
  pulled: number
  handedOff: number
  hintsDelivered: number
  errors: number
  unchanged: number
  /** rounds whose pass over the handle claims was skipped: nothing it depends on moved since one settled */
  handlesSettled: number
}

/** A co-owner's change counters, read at the start of a round. */
interface PeerCounters { epoch: bigint, versions: Map<string, bigint> }

type Call = StoreCall

/** A live peer's epoch (undefined when it did not answer), asked once a round. */
type EpochOf = (peer: string) => Promise<bigint | undefined>

/** A pass over the handle claims that found each held by every one of its owners, and what it relied on. */
interface SettledHandles {
  /** the handle store's write counter when the pass began */
  writes: number
  /** until when the pass holds: the oldest sighting it relied on is trusted until then (heldTrustMs) */
  until: number
  /** every co-owner it counted on, and that owner's epoch */
  epochs: Map<string, bigint>
}

/**
 * How long a co-owner seen holding a handle's claim is trusted to still hold it without being asked again
 * (within its epoch). One RESOLVE per handle and co-owner this often is the price: 10 minutes keeps it
 * near nothing for an idle server (a server holding 10,000 handles asks 33 a second). @default 600000
 */
export const DEFAULT_HELD_TRUST_MS = 600_000

export class Repair {
  readonly stats: RepairStats = {
    rounds: 0,
    pushed: 0,
    pulled: 0,
    handedOff: 0,
    hintsDelivered: 0,
    errors: 0,
    unchanged: 0,
    handlesSettled: 0
  }

  /** per co-owner, per mailbox: both sides' counters before the last reconciliation that succeeded */
  private readonly agreed = new Map<string, Map<string, string>>()
  /**
   * per co-owner: its epoch, and the handles it was seen to hold in that epoch, each with the handle's
   * owners then and when it was seen. An owner set that changed since means the peer may have handed the
   * claim over and deleted it (it was not an owner for a while), so it is asked again; and a sighting is
   * trusted for `heldTrustMs` only (a peer's claim can change within an epoch: a store that went wrong),
   * so a co-owner that drifted is found within that long.
   */
  private readonly held = new Map<string, { epoch: bigint, handles: Map<string, { key: string, at: number }> }>()
  /**
   * per handle held here: its owners at the last round. When they change, what peers were seen to hold of
   * it is forgotten, even if the owners later return to a set seen before (A → B → A: a peer that was no
   * owner under B deleted its claim).
   */
  private readonly handleOwners = new Map<string, string>()
  /** the last handle pass, when it settled every claim; undefined: the next round makes a pass */
  private handlesSettled?: SettledHandles
  private loops: Periodic[] = []
  private running = false
  private busy = false
  private soon?: NodeJS.Timeout
  private resumeAfter = ''
  private readonly goneSince = new Map<string, number>()

  constructor (
    private readonly ctx: ReplicationContext,
    private readonly reconciler: Reconciler,
    private readonly call: Call,
    private readonly isLive: (peer: string) => boolean,
    private readonly init: { repairIntervalMs?: number, hintIntervalMs?: number, heldTrustMs?: number } = {},
    private readonly isGone: (peer: string) => boolean = () => false
  ) {}

  start (): void {
    this.running = true
    this.every('repair round', this.init.repairIntervalMs ?? DEFAULT_REPAIR_INTERVAL_MS, async () => this.round())
    this.every('hint delivery', this.init.hintIntervalMs ?? DEFAULT_HINT_INTERVAL_MS, async () => this.deliverHints())
  }

  stop (): void {
    this.running = false
    for (const l of this.loops) l.stop()
    this.loops = []
    if (this.soon != null) clearTimeout(this.soon)
  }

  /** The view changed: run a round shortly (debounced), rather than waiting for the interval. */
  viewChanged (): void {
    this.handlesSettled = undefined
    if (!this.running || this.soon != null) return
    this.soon = setTimeout(() => { this.soon = undefined; void this.guard(async () => this.round()) }, 300)
    this.soon.unref()
  }

  /** One anti-entropy round over (up to MAILBOXES_PER_ROUND of) the mailboxes held here. */
  async round (): Promise<void> {
    this.stats.rounds++
    const batch: string[] = []
    for await (const mailbox of this.ctx.mailboxes.mailboxes({ after: this.resumeAfter })) {
      if (!this.running) return
      batch.push(mailbox)
      if (batch.length >= MAILBOXES_PER_ROUND) break
    }
    this.resumeAfter = batch.length >= MAILBOXES_PER_ROUND ? batch[batch.length - 1] : ''
    const counters = await this.probeCoOwners(batch)
    for (const mailbox of batch) {
      if (!this.running) return
      await this.repairMailbox(mailbox, counters)
    }
    await this.repairHandles(counters)
    for (const peer of [...this.agreed.keys(), ...this.held.keys()]) {
      if (!this.isLive(peer)) { this.agreed.delete(peer); this.held.delete(peer) }
    }
  }

  /** The change counters of every live co-owner for the mailboxes of `batch` it owns too (one PROBE each). */
  private async probeCoOwners (batch: string[]): Promise<Map<string, PeerCounters>> {
    const asked = new Map<string, string[]>()
    for (const mailbox of batch) {
      const owners = this.ctx.placement.ownersOf(mailbox)
      if (!owners.includes(this.ctx.selfId)) continue
      for (const peer of owners) {
        if (peer === this.ctx.selfId || !this.isLive(peer)) continue
        let list = asked.get(peer)
        if (list == null) { list = []; asked.set(peer, list) }
        list.push(mailbox)
      }
    }
    const out = new Map<string, PeerCounters>()
    await Promise.all([...asked].map(async ([peer, mailboxes]) => {
      try {
        out.set(peer, await this.probe(peer, mailboxes))
      } catch (err: any) {
        log('probe of %s failed: %s', peer, err.message)
      }
    }))
    return out
  }

  private async probe (peer: string, mailboxes: string[]): Promise<PeerCounters> {
    const versions = new Map<string, bigint>()
    let epoch = 0n
    for (let i = 0; i === 0 || i < mailboxes.length; i += PROBES_PER_REQUEST) {
      const chunk = mailboxes.slice(i, i + PROBES_PER_REQUEST)
      const r = await this.call(peer, { kind: StoreRequest.Kind.PROBE, probes: chunk.map((mailbox) => ({ mailbox })) })
      if (r.versions.length !== chunk.length) throw new Error(`${r.versions.length} counters for ${chunk.length} mailboxes`)
      if (i > 0 && r.epoch !== epoch) throw new Error('restarted while probed')
      epoch = r.epoch
      chunk.forEach((m, j) => { versions.set(m, r.versions[j]) })
    }
    return { epoch, versions }
  }

  /** Both sides' counters of `mailbox` as one string, or undefined when the peer's are unknown. */
  private countersOf (mailbox: string, theirs: PeerCounters | undefined): string | undefined {
    const v = theirs?.versions.get(mailbox)
    if (theirs == null || v == null || v === 0n) return undefined
    const mine = this.ctx.mailboxes.changes
    return `${mine.epoch}/${mine.version(mailbox)} ${theirs.epoch}/${v}`
  }

  private async repairMailbox (mailbox: string, counters: Map<string, PeerCounters>): Promise<void> {
    const owners = this.ctx.placement.ownersOf(mailbox)
    const own = owners.includes(this.ctx.selfId)
    const others = owners.filter((o) => o !== this.ctx.selfId && this.isLive(o))
    const confirmedBy = new Map<string, number>()
    let reached = 0
    for (const peer of others) {
      // read before reconciling: a write after this moves a counter, and the next round looks again
      const key = own ? this.countersOf(mailbox, counters.get(peer)) : undefined
      let agreed = this.agreed.get(peer)
      if (key != null && agreed?.get(mailbox) === key) {
        this.stats.unchanged++
        reached++
        continue
      }
      agreed?.delete(mailbox)
      try {
        const r = await this.reconciler.reconcile(mailbox, peer, { pull: own, confirm: !own })
        if (key != null) {
          if (agreed == null) { agreed = new Map(); this.agreed.set(peer, agreed) }
          agreed.set(mailbox, key)
        }
        this.stats.pushed += r.pushed
        this.stats.pulled += r.pulled
        for (const c of r.confirmed) {
          const k = Buffer.from(c).toString('hex')
          confirmedBy.set(k, (confirmedBy.get(k) ?? 0) + 1)
        }
        reached++
      } catch (err: any) {
        this.stats.errors++
        log('reconcile %s with %s failed: %s', mailbox, peer, err.message)
      }
    }
    // handoff: a non-owner deletes what every owner confirmed, and only when all N owners were reached
    if (!own && reached === owners.length && reached > 0) {
      const done = [...confirmedBy].filter(([, n]) => n === reached).map(
        ([k]) => new Uint8Array(Buffer.from(k, 'hex')) as Cursor
      )
      await this.dropConfirmed(mailbox, done)
    }
  }

  private async dropConfirmed (mailbox: string, cursors: Cursor[]): Promise<void> {
    for (let i = 0; i < cursors.length; i += 1000) {
      const found = await this.ctx.mailboxes.get(mailbox, cursors.slice(i, i + 1000))
      await this.ctx.mailboxes.delete(mailbox, found.map((f) => {
        return { cursor: f.cursor, peer: conversationPeer(Envelope.decode(f.bytes), mailbox) ?? '' }
      }))
      this.stats.handedOff += found.length
    }
  }

  /** Reconcile hinted mailboxes with owners that are reachable again; drop the hint when done. */
  async deliverHints (): Promise<void> {
    for (const [peer, mailboxes] of await this.ctx.hints.byPeer()) {
      if (!this.running) return
      if (this.isGone(peer)) {
        // unknown to membership for HINT_GIVE_UP_MS (dead and forgotten, or never seen): its ranges have
        // other owners by now and anti-entropy copied the data there; a hint for it would never be used
        const since = this.goneSince.get(peer) ?? Date.now()
        this.goneSince.set(peer, since)
        if (Date.now() - since < HINT_GIVE_UP_MS) continue
        for (const mailbox of mailboxes) await this.ctx.hints.remove(peer, mailbox)
        this.goneSince.delete(peer)
        continue
      }
      this.goneSince.delete(peer)
      if (!this.isLive(peer)) continue
      for (const mailbox of mailboxes) {
        try {
          const r = await this.reconciler.reconcile(mailbox, peer, { pull: false })
          this.stats.pushed += r.pushed
          this.stats.hintsDelivered++
          await this.ctx.hints.remove(peer, mailbox)
        } catch (err: any) {
          log('hint for %s (%s) not delivered yet: %s', peer, mailbox, err.message)
          break
        }
      }
    }
  }

  private async repairHandles (counters: Map<string, PeerCounters>): Promise<void> {
    const epochs = new Map<string, bigint | undefined>([...counters].map(([peer, c]) => [peer, c.epoch]))
    const epochOf: EpochOf = async (peer) => {
      if (!epochs.has(peer)) epochs.set(peer, await this.probe(peer, []).then((c) => c.epoch, () => undefined))
      return epochs.get(peer)
    }
    if (await this.stillSettled(epochOf)) { this.stats.handlesSettled++; return }
    const trustMs = this.init.heldTrustMs ?? DEFAULT_HELD_TRUST_MS
    const pass: SettledHandles = { writes: this.ctx.handles.writes, until: Date.now() + trustMs, epochs: new Map() }
    let settled = true
    for await (const stored of this.ctx.handles.all()) {
      if (!this.running) return
      // a claim that gave way to a peer's is repaired again at once, as the claim now held
      let claim: HandleClaim | undefined = stored
      for (let again = 0; claim != null && again <= this.ctx.placement.replicas; again++) {
        const r = await this.repairHandle(claim, epochOf, pass)
        settled &&= r.settled
        claim = r.next
      }
    }
    // a claim written while the pass ran may not have been read by it
    this.handlesSettled = settled && this.ctx.handles.writes === pass.writes ? pass : undefined
  }

  /** Does the last settled handle pass still hold (nothing it relied on moved)? Forgets it when not. */
  private async stillSettled (epochOf: EpochOf): Promise<boolean> {
    const settled = this.handlesSettled
    if (settled == null) return false
    let still = this.ctx.handles.writes === settled.writes && Date.now() < settled.until
    for (const [peer, epoch] of settled.epochs) {
      if (!still) break
      still = this.isLive(peer) && await epochOf(peer) === epoch
    }
    if (!still && this.handlesSettled === settled) this.handlesSettled = undefined
    return still
  }

  /**
   * Bring every live owner of a handle to the claim held here: send it to an owner that holds none or
   * another one (the owner keeps its own unless a majority of the owners agree on this one). An owner that
   * finds a majority of the owners agree on another claim takes that one instead, and returns it; one
   * owner's claim, however early, never replaces what the others hold. A server that no longer owns the
   * handle deletes its claim once every owner holds the same.
   *
   * Returns the claim to repair again (`next`: this owner took another), and whether the claim is settled:
   * this server owns it, and every other owner is live, answered its epoch and holds it. What a settled
   * pass relies on goes into `pass`: each co-owner's epoch, and how long the sightings it trusted last.
   */
  private async repairHandle (claim: HandleClaim, epochOf: EpochOf, pass: SettledHandles):
  Promise<{ next?: HandleClaim, settled: boolean }> {
    const owners = this.ctx.placement.ownersOfHandle(claim.handle)
    const others = owners.filter((o) => o !== this.ctx.selfId)
    const live = others.filter((o) => this.isLive(o))
    let sure = live.length === others.length
    const ownersKey = owners.join(',')
    if (this.handleOwners.get(claim.handle) !== ownersKey) {
      for (const seen of this.held.values()) seen.handles.delete(claim.handle)
      this.handleOwners.set(claim.handle, ownersKey)
    }
    // what a peer was seen to hold: the claim of this key, under these owners
    const seenKey = `${ownersKey} ${claimantOf(claim)}`
    let held = 0
    const asked = new Map<string, { epoch?: bigint, theirs?: HandleClaim }>()
    for (const peer of live) {
      const epoch = await epochOf(peer)
      if (epoch == null) sure = false
      else pass.epochs.set(peer, epoch)
      const seen = this.held.get(peer)
      const sighting = seen?.handles.get(claim.handle)
      const trustMs = this.init.heldTrustMs ?? DEFAULT_HELD_TRUST_MS
      const trusted = sighting?.key === seenKey && Date.now() - sighting.at < trustMs
      if (epoch != null && seen?.epoch === epoch && trusted) {
        pass.until = Math.min(pass.until, sighting.at + trustMs)
        held++
        continue
      }
      try {
        asked.set(peer, { epoch, theirs: await this.claimAt(peer, claim.handle) })
      } catch (err: any) {
        log('handle %s repair with %s failed: %s', claim.handle, peer, err.message)
      }
    }
    if (owners.includes(this.ctx.selfId)) {
      // this owner's claim and those seen held before count as held; the peers asked now, as they answered
      const holdings = [claim, ...Array<HandleClaim>(held).fill(claim), ...[...asked.values()].map((a) => a.theirs)]
      const agreed = agreedClaim(holdings, owners.length)
      if (agreed != null && !sameClaimant(agreed, claim)) {
        log('handle %s: a majority of its owners hold another claim; it replaces the one held here', claim.handle)
        await this.ctx.handles.put(agreed)
        return { next: agreed, settled: false }
      }
    }
    for (const [peer, { epoch, theirs }] of asked) {
      try {
        if (theirs == null || !sameClaimant(theirs, claim)) {
          const r = await this.call(peer, { kind: StoreRequest.Kind.CLAIM, claim, coordinate: false })
          if (r.status !== StoreResponse.Status.OK) throw new Error(`it kept another claim (${r.status})`)
        }
        await this.repairAccount(claim, peer)
        if (epoch != null) {
          let seen = this.held.get(peer)
          if (seen?.epoch !== epoch) { seen = { epoch, handles: new Map() }; this.held.set(peer, seen) }
          seen.handles.set(claim.handle, { key: seenKey, at: Date.now() })
        }
        held++
      } catch (err: any) {
        log('handle %s repair with %s failed: %s', claim.handle, peer, err.message)
      }
    }
    if (!owners.includes(this.ctx.selfId) && held === owners.length && held > 0) {
      await this.ctx.handles.delete(claim.handle)
      await this.ctx.accounts.delete(claim.handle)
      this.handleOwners.delete(claim.handle)
    }
    return { settled: sure && owners.includes(this.ctx.selfId) && held === others.length }
  }

  /** The claim of `handle` a peer holds, verified; undefined when it holds none. */
  private async claimAt (peer: string, handle: string): Promise<HandleClaim | undefined> {
    const r = await this.call(peer, { kind: StoreRequest.Kind.RESOLVE, handle })
    if (r.status === StoreResponse.Status.NOT_FOUND || r.claim == null) return undefined
    try {
      const claim = verifyHandleClaim(r.claim)
      if (claim.handle !== handle) throw new Error(`a claim of ${claim.handle}`)
      return claim
    } catch (err) {
      this.ctx.reject('bad-handle-claim')
      throw err
    }
  }

  /**
   * A gateway account held here (valid under the claim held here) goes to an owner that lacks it, holds an
   * older version, or holds one signed by another key (the owner judges it against its own claim).
   */
  private async repairAccount (claim: HandleClaim, peer: string): Promise<void> {
    const mine = await this.ctx.accounts.valid(claim.handle, claim.publicKey, this.ctx.now())
    if (mine == null) return
    const theirs = await this.call(peer, { kind: StoreRequest.Kind.ACCOUNT_GET, handle: claim.handle })
    const stale = theirs.account == null || theirs.account.version < mine.version ||
      !Buffer.from(theirs.account.publicKey).equals(Buffer.from(mine.publicKey))
    if (stale) await this.call(peer, { kind: StoreRequest.Kind.ACCOUNT_PUT, account: mine })
  }

  /** Run `fn` every `ms` through `guard`: the loops and `viewChanged` share one body at a time between them. */
  private every (name: string, ms: number, fn: () => Promise<void>): void {
    this.loops.push(new Periodic(async () => { await this.guard(fn) }, { intervalMs: ms, log, name }).start())
  }

  /** One loop body at a time: a slow round is never overlapped by the next. */
  private async guard (fn: () => Promise<void>): Promise<void> {
    if (this.busy || !this.running) return
    this.busy = true
    try {
      await fn()
    } catch (err: any) {
      this.stats.errors++
      log.error('repair loop failed: %s', err.message)
    } finally {
      this.busy = false
    }
  }
}
