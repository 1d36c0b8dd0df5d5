/**
 * The cheap question an idle session asks every sync interval: has my mailbox changed at its owners
 * since I last synced? Every question asked within a short window is sent in one PROBE per owner (the
 * sessions of a node tick together, see node/session/user.ts), each owner answers the change counter of
 * each mailbox (node/store/change-sketch.ts), and each asker gets back one string naming
 * its mailbox's counters at the owners that answered. The same string later means nothing was written
 * there meanwhile; a feed syncs when it differs (node/session/feed.ts `poll`).
 */

import { logger } from '@libp2p/logger'
import { StoreRequest, type ReadAuth } from '../../protocol/pb/store.js'
import type { ReplicationContext } from './context.js'
import { PROBES_PER_REQUEST } from './handlers/probe.js'
import type { StoreCall } from './rpc.js'

const log = logger('chorus:replication:change-watch')

/** How long questions are collected before they are sent (the ticks of one node fall within it). */
export const DEFAULT_PROBE_WINDOW_MS = 15

interface Asked {
  mailbox: string
  auth?: ReadAuth
  answers: Map<string, string>
  left: number
  done: (key: string | undefined) => void
}

export class ChangeWatch {
  private queued = new Map<string, Asked[]>()
  private timer?: NodeJS.Timeout
  /** requests sent and probes carried, for tests and the work figures */
  readonly stats = { requests: 0, probes: 0 }

  constructor (
    private readonly ctx: Pick<ReplicationContext, 'placement'>,
    /** the replication call; it serves this node's own questions by its PROBE handler when it is an owner */
    private readonly call: StoreCall,
    private readonly windowMs = DEFAULT_PROBE_WINDOW_MS
  ) {}

  /**
   * The change counters of `mailbox` at its owners, as one comparable string (`owner=epoch/counter`,
   * sorted); `undefined` when no owner answered or one refused the proof (the caller should sync).
   */
  async versions (mailbox: string, auth?: ReadAuth): Promise<string | undefined> {
    const owners = this.ctx.placement.ownersOf(mailbox)
    if (owners.length === 0) return undefined
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

  /** Stop: questions still queued are answered `undefined`. */
  close (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    for (const q of this.queued.values()) for (const a of q) a.done(undefined)
    this.queued.clear()
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
    let answer: { epoch: bigint, versions: bigint[] } | undefined
    try {
      this.stats.requests++
      this.stats.probes += asked.length
      const res = await this.call(owner, {
        kind: StoreRequest.Kind.PROBE,
        probes: asked.map((a) => ({ mailbox: a.mailbox, auth: a.auth }))
      })
      if (res.versions.length === asked.length) answer = res
      else log('%s answered %d counters for %d probes', owner, res.versions.length, asked.length)
    } catch (err: any) {
      log('probe of %s failed: %s', owner, err.message)
    }
    asked.forEach((a, i) => {
      const v = answer?.versions[i]
      // a refused proof (0) poisons the answer: the caller syncs, and meets the refusal there
      a.answers.set(owner, v == null ? '' : v === 0n ? '!' : `${answer!.epoch}/${v}`)
      if (--a.left === 0) a.done(keyOf(a.answers))
    })
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
