/**
 * The read path: ask every live owner of a mailbox at once, verify what comes back, merge by
 * (timestamp, id). A stale or freshly joined owner cannot hide a message another owner has
 * (js-waku #1685: clients that ask one store peer miss messages).
 */

import { decodeEnvelope, verifyEnvelope, type Envelope } from '../../protocol/envelope.js'
import { StoreRequest, type ReadAuth } from '../../protocol/pb/store.js'
import { CURSOR_BYTES, cursorOf, unhex, type Cursor } from '../store/mailbox-store.js'
import { MAX_FETCH_LIMIT, MAX_IDS } from './constants.js'
import type { ReplicationContext, StoreGuard } from './context.js'
import { ForbiddenError, NoServersError, QuorumError } from './errors.js'
import type { StoreCall } from './rpc.js'
import type { Placement } from './placement.js'
import { asAnswered } from './status.js'

type Call = StoreCall

/** A page request. `after` / `before` are exclusive cursors. */
export interface ReadOptions {
  peer?: string
  after?: Cursor
  before?: Cursor
  limit?: number
  /** the newest `limit` entries before `before` (history paging) instead of the oldest after `after` (sync) */
  newestFirst?: boolean
  /** the reader's proof of identity, for logs only members may read (rooms) */
  auth?: ReadAuth
}

/** A merged page, oldest first. */
export interface ReadResult {
  envelopes: Envelope[]
  more: boolean
  /** owners that answered */
  answeredBy: string[]
}

const hex = (c: Uint8Array): string => Buffer.from(c).toString('hex')

/**
 * Pages of cursors `readCursors` asks one owner for at most (MAX_IDS each): an honest owner's window is
 * far smaller, and a lying one that always says `more` must not keep the reader listing.
 */
export const MAX_CURSOR_PAGES = 16

/** An open interval of cursors, compared as hex (which sorts as the bytes do); an empty bound is open. */
class CursorRange {
  private constructor (private readonly after?: string, private readonly before?: string) {}

  static of (after?: Cursor, before?: Cursor): CursorRange {
    return new CursorRange(after != null && after.byteLength > 0 ? hex(after) : undefined,
      before != null && before.byteLength > 0 ? hex(before) : undefined)
  }

  holds (c: string): boolean {
    return (this.after == null || c > this.after) && (this.before == null || c < this.before)
  }
}

/**
 * What a reader uses of the node's replication context: who owns a mailbox, this node's own store (when it
 * is one of them), the keys to verify what owners send, the read check, and the count of refused input.
 */
export interface ReaderContext extends Pick<ReplicationContext, 'selfId' | 'mailboxes' | 'keys' | 'reject'> {
  placement: Pick<Placement, 'ownersOf'>
  guard: Pick<StoreGuard, 'checkRead'>
}

export class Reader {
  constructor (
    private readonly ctx: ReaderContext,
    private readonly call: Call,
    private readonly storesLocally: boolean
  ) {}

  async read (mailbox: string, o: ReadOptions = {}): Promise<ReadResult> {
    const owners = this.ctx.placement.ownersOf(mailbox)
    if (owners.length === 0) throw new NoServersError()
    const limit = Math.max(1, Math.min(o.limit ?? 50, MAX_FETCH_LIMIT))
    const req: Partial<StoreRequest> = {
      kind: StoreRequest.Kind.FETCH,
      mailbox,
      limit,
      peer: o.peer ?? '',
      newestFirst: o.newestFirst === true,
      after: o.after ?? new Uint8Array(0),
      before: o.before ?? new Uint8Array(0),
      auth: o.auth
    }
    const answers = await Promise.allSettled(owners.map(async (owner) => {
      if (owner === this.ctx.selfId && this.storesLocally) {
        await this.checkOwnRead(mailbox, o.auth)
        const page = await this.ctx.mailboxes.range(mailbox, {
          after: o.after,
          before: o.before,
          limit,
          peer: o.peer,
          newestFirst: o.newestFirst
        })
        return { owner, envelopes: page.entries.map((e) => e.bytes), more: page.more }
      }
      const res = await this.call(owner, req)
      return { owner, envelopes: res.envelopes, more: res.more }
    }))
    const merged = new Map<string, Envelope>()
    const answeredBy: string[] = []
    let more = false
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue
      answeredBy.push(a.value.owner)
      more ||= a.value.more
      this.merge(merged, a.value.envelopes)
    }
    if (answeredBy.length === 0) throw noAnswer(mailbox, owners, answers)
    let list = [...merged].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, e]) => e)
    if (list.length > limit) {
      more = true
      list = o.newestFirst === true ? list.slice(list.length - limit) : list.slice(0, limit)
    }
    return { envelopes: list, more, answeredBy }
  }

  /**
   * The cursors (hex) every owner holds in (after, before), merged: a reader compares them with what it
   * has and fetches only the difference (`readEntries`). Owners that fail are skipped; none answering
   * is a `QuorumError`. A cursor an owner lists outside the range is ignored (a lying owner must not make
   * a feed list old entries again), and an owner's paging stops when it no longer moves forward or after
   * MAX_CURSOR_PAGES pages.
   */
  async readCursors (mailbox: string, o: { after?: Cursor, before?: Cursor, auth?: ReadAuth }): Promise<Set<string>> {
    const owners = this.ownersOrThrow(mailbox)
    const range = CursorRange.of(o.after, o.before)
    const out = new Set<string>()
    const answers = await Promise.allSettled(owners.map(async (owner) => {
      let after = o.after
      for (let page = 0; page < MAX_CURSOR_PAGES; page++) {
        const res = await this.call(owner, {
          kind: StoreRequest.Kind.FETCH,
          mailbox,
          cursorsOnly: true,
          after: after ?? new Uint8Array(0),
          before: o.before ?? new Uint8Array(0),
          auth: o.auth
        })
        const listed = this.inRange(res.cursors, range)
        for (const c of listed) out.add(c)
        const last = listed.length > 0 ? listed.reduce((a, b) => (a > b ? a : b)) : undefined
        if (!res.more || last == null || (after != null && last <= hex(after))) return
        after = unhex(last)
      }
    }))
    if (answers.every((a) => a.status === 'rejected')) {
      throw new QuorumError(`no owner of ${mailbox} listed its cursors`, answers.map((a) => (a as PromiseRejectedResult).reason))
    }
    return out
  }

  /**
   * One page of the cursors (hex, ascending) after `after`, merged from every live owner: the first
   * `limit` of the union. Each owner lists its own first `limit`, so nothing below the page's last cursor
   * is missing from it (an entry an owner did not list lies above that owner's `limit` listed ones).
   * Owners that fail are skipped; none answering is a `QuorumError`, all refusing a `ForbiddenError`. A
   * cursor an owner lists that is not strictly after `after` (or is not a cursor) is ignored: a lying
   * owner cannot make a feed list, and fetch, entries it has passed.
   */
  async listCursors (
    mailbox: string,
    o: { after?: Cursor, limit: number, auth?: ReadAuth }
  ): Promise<{ cursors: string[], more: boolean }> {
    const owners = this.ownersOrThrow(mailbox)
    const limit = Math.max(1, Math.min(o.limit, MAX_IDS))
    const req: Partial<StoreRequest> = {
      kind: StoreRequest.Kind.FETCH,
      mailbox,
      cursorsOnly: true,
      limit,
      after: o.after ?? new Uint8Array(0),
      auth: o.auth
    }
    const answers = await Promise.allSettled(owners.map(async (owner) => {
      if (owner === this.ctx.selfId && this.storesLocally) {
        await this.checkOwnRead(mailbox, o.auth)
        return await this.ctx.mailboxes.cursors(mailbox, { after: o.after, limit })
      }
      return await this.call(owner, req)
    }))
    const range = CursorRange.of(o.after)
    const union = new Set<string>()
    let more = false
    let answered = 0
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue
      answered++
      more ||= a.value.more
      for (const c of this.inRange(a.value.cursors, range)) union.add(c)
    }
    if (answered === 0) throw noAnswer(mailbox, owners, answers)
    const cursors = [...union].sort()
    if (cursors.length > limit) { more = true; cursors.length = limit }
    return { cursors, more }
  }

  /** The envelopes with these cursors, from whichever owners have them, verified, oldest first. */
  async readEntries (mailbox: string, cursors: Cursor[], auth?: ReadAuth): Promise<Envelope[]> {
    const owners = this.ownersOrThrow(mailbox)
    const merged = new Map<string, Envelope>()
    for (let i = 0; i < cursors.length; i += MAX_FETCH_LIMIT) {
      const chunk = cursors.slice(i, i + MAX_FETCH_LIMIT) as Array<Uint8Array<ArrayBuffer>>
      const answers = await Promise.allSettled(
        owners.map(async (owner) => this.call(owner, { kind: StoreRequest.Kind.FETCH, mailbox, cursors: chunk, auth }))
      )
      for (const a of answers) if (a.status === 'fulfilled') this.merge(merged, a.value.envelopes)
    }
    return [...merged].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, e]) => e)
  }

  /** The hex of those `cursors` that are cursors inside `range`; each one outside it is counted as a rejected input. */
  private inRange (cursors: Uint8Array[], range: CursorRange): string[] {
    const out: string[] = []
    for (const c of cursors) {
      if (c.byteLength === CURSOR_BYTES && range.holds(hex(c))) out.push(hex(c))
      else this.ctx.reject('out-of-range-cursor')
    }
    return out
  }

  /** Add an owner's answer to `merged`: every owner sends the same envelopes, so each distinct one is verified once. */
  private merge (merged: Map<string, Envelope>, envelopes: Uint8Array[]): void {
    for (const bytes of envelopes) {
      try {
        const env = decodeEnvelope(bytes)
        const key = hex(cursorOf(env))
        if (merged.has(key)) continue
        verifyEnvelope(env, this.ctx.keys, bytes)
        merged.set(key, env)
      } catch {
        this.ctx.reject('bad-read-envelope')
      }
    }
  }

  /**
   * This node's guard, as one of the owners it reads from: a refusal is the typed error a remote owner's answer gives.
   */
  private async checkOwnRead (mailbox: string, auth: ReadAuth | undefined): Promise<void> {
    try {
      await this.ctx.guard.checkRead(mailbox, auth, this.ctx.selfId)
    } catch (err) {
      throw asAnswered(err, this.ctx.selfId)
    }
  }

  private ownersOrThrow (mailbox: string): readonly string[] {
    const owners = this.ctx.placement.ownersOf(mailbox)
    if (owners.length === 0) throw new NoServersError()
    return owners
  }
}

/**
 * The error for a read no owner answered: the owners' typed refusal when every one refused alike
 * (`ForbiddenError`), else a `QuorumError` naming, and holding, what each owner said.
 */
function noAnswer (mailbox: string, owners: readonly string[], answers: Array<PromiseSettledResult<unknown>>): Error {
  const reasons = answers.map((a) => a.status === 'rejected' ? a.reason : undefined)
  if (reasons.every((r) => r instanceof ForbiddenError)) return reasons[0]
  const why = answers.map((a, i) => a.status === 'rejected' ? `${owners[i]}: ${a.reason?.message ?? a.reason}` : '').filter(Boolean)
  return new QuorumError(`no owner of ${mailbox} answered (${why.join('; ')})`, reasons.filter((r) => r !== undefined))
}
