/**
 * Has a log changed at its owners? The watcher's side of WATCH (the owner's is watches.ts).
 *
 * A session's feed asks `versions` every sync interval and syncs when the answer differs from the one
 * it last caught up at. For a log some feed follows, the first question registers a watch at each owner
 * (one WATCH per owner for every question of the node within a short window); from then on the owners
 * push each write to this node (the counter before and after, the cursors it added), so the answer comes
 * from this table without a frame, and a feed takes the pushed cursors itself (what the live path brought
 * costs nothing; what it lost is fetched) and moves its caught-up answer along, so a write costs no sync.
 *
 * The table trusts a push only when it follows the last counter seen from that owner; a broken chain, a
 * gap in an owner's push numbers, a lost connection, an owner's restart (its epoch) or a refused renewal
 * make that owner's entries unsure, and the next question asks the owner again (PROBE's answer, and a
 * sync when it moved). Watches are renewed every third of their lease in one request per owner, without
 * proofs while the owner still holds them. A log nobody follows is asked by PROBE, as before.
 */

import { logger } from '@libp2p/logger'
import { decodeEnvelope, verifyEnvelope, type Envelope, type SenderKeyCache } from '../../protocol/envelope.js'
import { cursorOf, mailboxesOf } from '../../protocol/mailbox.js'
import type { Changes } from '../../protocol/pb/live.js'
import { StoreRequest, type ReadAuth } from '../../protocol/pb/store.js'
import { Periodic } from '../timers/periodic.js'
import type { Placement } from './placement.js'
import { PROBES_PER_REQUEST } from './handlers/probe.js'
import type { StoreCall } from './rpc.js'
import { WATCH_LEASE_MS } from './watches.js'

const log = logger('chorus:replication:change-watch')

/** How long questions are collected before they are sent (the ticks of one node fall within it). */
export const DEFAULT_PROBE_WINDOW_MS = 15

/** How often watches are renewed: a third of their lease, so one lost renewal loses nothing. */
export const WATCH_RENEW_MS = WATCH_LEASE_MS / 3

/**
 * A write an owner pushed for a followed log: the cursors it added, and the log's answer (`versions`)
 * before and after it; `before`/`after` are undefined when the table cannot vouch for the chain. The
 * primary owner's push carries the entries too (`envelopes`): each named by its cursor (hex), opened
 * (verified) only when asked, so a copy the live path brought first costs no verification.
 */
export interface PushedChange {
  owner: string
  cursors: Uint8Array[]
  envelopes: PushedEnvelope[]
  before?: string
  after?: string
}

/** One pushed entry: its cursor (hex), and its envelope, verified (undefined: it fails, or is not the log's). */
export interface PushedEnvelope {
  key: string
  open: () => Envelope | undefined
}

export type PushListener = (change: PushedChange) => void

interface Asked {
  mailbox: string
  auth?: ReadAuth
  answers: Map<string, string>
  left: number
  done: (key: string | undefined) => void
}

/** What this node knows of one log's counter at one owner. */
interface Entry { epoch: bigint, version: bigint, sure: boolean }

export class ChangeWatch {
  private queued = new Map<string, Asked[]>()
  private timer?: NodeJS.Timeout
  /** owner → mailbox → its counter there, for followed logs */
  private readonly table = new Map<string, Map<string, Entry>>()
  /** followed logs and who hears their pushes */
  private readonly followers = new Map<string, Set<PushListener>>()
  /** the last push number seen from each owner */
  private readonly lastPush = new Map<string, { epoch: bigint, seq: bigint }>()
  private readonly renewals: Periodic
  /** can this node hear pushes now (its live hop runs)? Without them the table vouches for nothing */
  private hearing = false
  /** bumped whenever anything in the table may have changed: `known`'s kept answers older than it are stale */
  private generation = 0
  /** `known`'s last answer for each followed log, with the generation and owner list it was made from */
  private readonly answers = new Map<string, { generation: number, owners: readonly string[], key?: string }>()
  /**
   * requests sent and probes carried; pushes taken and chains found broken; questions answered from the
   * table (`local`) and idle checks it vouched for (`known`): for tests and the work figures
   */
  readonly stats = { requests: 0, probes: 0, pushes: 0, gaps: 0, local: 0, known: 0 }

  constructor (
    private readonly ctx: {
      placement: Pick<Placement, 'ownersOf'>
      /** verifies pushed envelopes (once per envelope per process); without it they are not taken */
      keys?: SenderKeyCache
      /** counts a pushed envelope refused (`bad-push`) */
      reject?: (reason: string) => void
    },
    /** the replication call; it serves this node's own questions by its handlers when it is an owner */
    private readonly call: StoreCall,
    private readonly windowMs = DEFAULT_PROBE_WINDOW_MS
  ) {
    this.renewals = new Periodic(async () => { await this.renew() }, { intervalMs: WATCH_RENEW_MS, log, name: 'watch renewal' })
  }

  /**
   * Hear the pushed writes of `mailbox` (and make `versions` of it a watch); returns the stop. The first
   * `versions` after it registers the watches at the owners.
   */
  follow (mailbox: string, listener: PushListener): () => void {
    let set = this.followers.get(mailbox)
    if (set == null) { set = new Set(); this.followers.set(mailbox, set) }
    set.add(listener)
    if (this.followers.size === 1) this.renewals.start()
    return () => {
      const s = this.followers.get(mailbox)
      if (s?.delete(listener) !== true || s.size > 0) return
      this.followers.delete(mailbox)
      this.answers.delete(mailbox)
      this.generation++
      for (const t of this.table.values()) t.delete(mailbox)
      if (this.followers.size === 0) this.renewals.stop()
    }
  }

  /**
   * The change counters of `mailbox` at its owners, as one comparable string (`owner=epoch/counter`,
   * sorted); `undefined` when no owner answered or one refused the proof (the caller should sync). A
   * followed log whose every owner's entry is sure answers from the table, without a frame.
   */
  async versions (mailbox: string, auth?: ReadAuth): Promise<string | undefined> {
    const owners = this.ctx.placement.ownersOf(mailbox)
    if (owners.length === 0) return undefined
    const known = this.hearing && this.followers.has(mailbox) ? this.localKey(mailbox, owners) : undefined
    if (known != null) { this.stats.local++; return known }
    return await new Promise((resolve) => {
      const asked: Asked = { mailbox, auth, answers: new Map(), left: owners.length, done: resolve }
      for (const owner of owners) {
        let q = this.queued.get(owner)
        if (q == null) { q = []; this.queued.set(owner, q) }
        q.push(asked)
      }
      this.timer ??= setTimeout(() => { this.flush() }, this.windowMs)
    })
  }

  /**
   * The answer `versions` would give for a followed log without asking anyone, or undefined when the
   * table cannot vouch for it (not followed, not hearing, an owner's entry unsure): a session whose last
   * catch-up matches it has nothing to do this tick, and need not even start a poll.
   */
  known (mailbox: string): string | undefined {
    if (!this.hearing || !this.followers.has(mailbox)) return undefined
    // an idle session asks this every tick: the answer is made again only when the table or the owners moved
    const owners = this.ctx.placement.ownersOf(mailbox)
    let kept = this.answers.get(mailbox)
    if (kept?.generation !== this.generation || kept.owners !== owners) {
      kept = { generation: this.generation, owners, key: this.localKey(mailbox, owners) }
      this.answers.set(mailbox, kept)
    }
    if (kept.key != null) this.stats.known++
    return kept.key
  }

  /** An owner's push (the live hop's frame from `from`): advance the chains it continues, tell the followers. */
  onPush (from: string, changes: Changes): void {
    this.generation++
    const last = this.lastPush.get(from)
    if (last != null && (last.epoch !== changes.epoch || changes.seq !== last.seq + 1n)) {
      // pushes were lost (or the owner restarted): nothing this table knows of that owner is sure
      this.stats.gaps++
      for (const e of this.table.get(from)?.values() ?? []) e.sure = false
    }
    this.lastPush.set(from, { epoch: changes.epoch, seq: changes.seq })
    for (const item of changes.items) {
      const listeners = this.followers.get(item.mailbox)
      if (listeners == null) continue
      const owners = this.ctx.placement.ownersOf(item.mailbox)
      // only an owner (in this node's view) speaks for a log
      if (!owners.includes(from)) continue
      this.stats.pushes++
      const entry = this.table.get(from)?.get(item.mailbox)
      let before: string | undefined
      let after: string | undefined
      const continues = entry?.sure === true && entry.epoch === changes.epoch && entry.version === item.before
      if (entry != null && continues && item.before !== 0n) {
        before = this.localKey(item.mailbox, owners)
        entry.version = item.after
        after = this.localKey(item.mailbox, owners)
      } else if (entry != null) {
        if (entry.sure) this.stats.gaps++
        entry.sure = false
      }
      const envelopes = this.pushed(item.mailbox, item.cursors, item.envelopes)
      const change: PushedChange = { owner: from, cursors: item.cursors, envelopes, before, after }
      for (const l of [...listeners]) {
        try { l(change) } catch (err: any) { log.error('push listener failed: %s', err.stack ?? err.message) }
      }
    }
  }

  /**
   * A push's envelopes, each under its cursor, opened lazily: it must verify, be one of `cursors`, and
   * belong to `mailbox`.
   */
  private pushed (mailbox: string, cursors: Uint8Array[], envelopes: Uint8Array[]): PushedEnvelope[] {
    const keys = this.ctx.keys
    if (envelopes.length === 0 || keys == null) return []
    const named = new Set(cursors.map((c) => Buffer.from(c).toString('hex')))
    const out: PushedEnvelope[] = []
    for (const bytes of envelopes) {
      let env: Envelope
      try {
        env = decodeEnvelope(bytes)
      } catch {
        this.ctx.reject?.('bad-push')
        continue
      }
      const key = Buffer.from(cursorOf(env)).toString('hex')
      if (!named.has(key)) { this.ctx.reject?.('bad-push'); continue }
      out.push({
        key,
        open: () => {
          try {
            verifyEnvelope(env, keys, bytes)
          } catch {
            this.ctx.reject?.('bad-push')
            return undefined
          }
          if (!mailboxesOf(env).includes(mailbox)) { this.ctx.reject?.('bad-push'); return undefined }
          return env
        }
      })
    }
    return out
  }

  /**
   * `peer`'s connection, or its push link to this node, went: what it pushed can no longer be trusted to
   * be complete.
   */
  peerGone (peer: string): void {
    this.generation++
    this.table.delete(peer)
    this.lastPush.delete(peer)
  }

  /**
   * Whether this node hears pushes (the node says so when its live hop starts and stops). While it does
   * not, nothing is watched and every question is a PROBE, as if no log were followed.
   */
  hearPushes (hearing: boolean): void {
    this.generation++
    this.hearing = hearing
    if (!hearing) { this.table.clear(); this.lastPush.clear() }
  }

  /** Stop: questions still queued are answered `undefined`. */
  close (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.renewals.stop()
    for (const q of this.queued.values()) for (const a of q) a.done(undefined)
    this.queued.clear()
  }

  /** The log's answer from the table, when every owner's entry is sure. */
  private localKey (mailbox: string, owners: readonly string[]): string | undefined {
    const parts: string[] = []
    for (const owner of [...owners].sort()) {
      const e = this.table.get(owner)?.get(mailbox)
      if (e?.sure !== true) return undefined
      parts.push(`${owner}=${e.epoch}/${e.version}`)
    }
    return parts.join(' ')
  }

  /** Note an owner's answer for a followed log: it only ever moves an entry forward (a push may have been first). */
  private learn (owner: string, mailbox: string, epoch: bigint, version: bigint): void {
    if (!this.hearing || !this.followers.has(mailbox)) return
    this.generation++
    let t = this.table.get(owner)
    if (t == null) { t = new Map(); this.table.set(owner, t) }
    const e = t.get(mailbox)
    if (version === 0n) { if (e != null) e.sure = false; return }
    if (e == null || e.epoch !== epoch || !e.sure || version > e.version) t.set(mailbox, { epoch, version, sure: true })
  }

  private flush (): void {
    this.timer = undefined
    const queued = this.queued
    this.queued = new Map()
    for (const [owner, asked] of queued) {
      for (let i = 0; i < asked.length; i += PROBES_PER_REQUEST) {
        void this.ask(owner, asked.slice(i, i + PROBES_PER_REQUEST))
      }
    }
  }

  private async ask (owner: string, asked: Asked[]): Promise<void> {
    // one WATCH carries the followed logs and the others (they are only probed: a watch nobody follows is waste)
    const watches = (a: Asked): boolean => this.hearing && this.followers.has(a.mailbox) && a.auth != null
    const watched = asked.filter(watches)
    const probed = asked.filter((a) => !watches(a))
    const results = await Promise.all([
      watched.length > 0 ? this.request(owner, StoreRequest.Kind.WATCH, watched) : undefined,
      probed.length > 0 ? this.request(owner, StoreRequest.Kind.PROBE, probed) : undefined
    ])
    for (const [group, res] of [[watched, results[0]], [probed, results[1]]] as const) {
      group.forEach((a, i) => {
        const v = res?.versions[i]
        // only a watch's answer starts a chain the owner's pushes continue
        if (v != null && res != null && group === watched) this.learn(owner, a.mailbox, res.epoch, v)
        // a refused proof (0) poisons the answer: the caller syncs, and meets the refusal there
        a.answers.set(owner, v == null || res == null ? '' : v === 0n ? '!' : `${res.epoch}/${v}`)
        if (--a.left === 0) a.done(keyOf(a.answers))
      })
    }
  }

  private async request (owner: string, kind: StoreRequest.Kind, asked: Array<{ mailbox: string, auth?: ReadAuth }>):
  Promise<{ epoch: bigint, versions: bigint[] } | undefined> {
    try {
      this.stats.requests++
      this.stats.probes += asked.length
      const res = await this.call(owner, { kind, probes: asked.map((a) => ({ mailbox: a.mailbox, auth: a.auth })) })
      if (res.versions.length === asked.length) return res
      log('%s answered %d counters for %d probes', owner, res.versions.length, asked.length)
    } catch (err: any) {
      log('%s of %s failed: %s', StoreRequest.Kind[kind], owner, err.message)
    }
    return undefined
  }

  /** Renew every sure watch at every owner, without proofs; drop entries of owners a log no longer has. */
  private async renew (): Promise<void> {
    this.generation++
    await Promise.all([...this.table].map(async ([owner, t]) => {
      const mailboxes: string[] = []
      for (const [mailbox, e] of [...t]) {
        if (!this.ctx.placement.ownersOf(mailbox).includes(owner)) { t.delete(mailbox); continue }
        if (e.sure) mailboxes.push(mailbox)
      }
      for (let i = 0; i < mailboxes.length; i += PROBES_PER_REQUEST) {
        const chunk = mailboxes.slice(i, i + PROBES_PER_REQUEST)
        const res = await this.request(owner, StoreRequest.Kind.WATCH, chunk.map((mailbox) => ({ mailbox })))
        chunk.forEach((mailbox, j) => {
          const v = res?.versions[j]
          // unanswered: the owner may be gone; the next question asks again
          if (v == null || res == null) {
            const e = t.get(mailbox)
            if (e != null) { e.sure = false; this.generation++ }
            return
          }
          this.learn(owner, mailbox, res.epoch, v)
        })
      }
    }))
  }
}

/** One string of the counters of the owners that answered; undefined when none did, or one refused. */
function keyOf (answers: Map<string, string>): string | undefined {
  const parts: string[] = []
  for (const [owner, v] of [...answers].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (v === '!') return undefined
    if (v !== '') parts.push(`${owner}=${v}`)
  }
  return parts.length === 0 ? undefined : parts.join(' ')
}
