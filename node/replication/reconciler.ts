/**
 * Reconciliation of one mailbox between this node and one peer: compare coarse bucket digests, then
 * fine ones inside the coarse buckets that differ, then list the entries of the fine buckets that
 * differ; push what the peer lacks, (optionally) pull what this node lacks, and delete here what the
 * peer has deleted (digests mix tombstones in, so a deletion makes buckets differ). Traffic is
 * proportional to the difference, not to the mailbox: two equal mailboxes cost one digest exchange.
 */

import { openEnvelope } from '../../protocol/envelope.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { CURSOR_BYTES, conversationPeer, cursorAt, cursorOf, type BucketDigest, type Cursor, type MailboxEntry } from '../store/mailbox-store.js'
import { COARSE_BUCKET_MS, FINE_BUCKET_MS, MAX_FETCH_LIMIT, MAX_PUTS_PER_REQUEST } from './constants.js'
import { expiryOf } from './expiry.js'
import type { ReplicationContext } from './context.js'
import type { StoreCall } from './rpc.js'

type Call = StoreCall

/** What one reconciliation moved, and what the peer is now known to hold. */
export interface ReconcileResult {
  pushed: number
  pulled: number
  /** every local entry (at the start) that the peer now also has; listed only when asked (`confirm`) */
  confirmed: Cursor[]
}

/** How one reconciliation goes. */
export interface ReconcileOptions {
  /** also take what the peer has and this node lacks (an owner does; a hint's holder only gives) */
  pull: boolean
  /**
   * list every local entry the peer is now known to hold: a node handing a mailbox off needs it to delete
   * what every owner confirmed; owners reconciling with each other do not, and skip the listing of the
   * buckets that agree (the whole mailbox, read a second time)
   */
  confirm?: boolean
}

const key = (c: Uint8Array): string => Buffer.from(c).toString('hex')

function differing (mine: BucketDigest[], theirs: Array<{ start: bigint, count: number, hash: Uint8Array }>): bigint[] {
  const t = new Map(theirs.map((b) => [b.start, b]))
  const starts = new Set<bigint>()
  for (const b of mine) {
    const o = t.get(b.start)
    if (o == null || o.count !== b.count || key(o.hash) !== key(b.hash)) starts.add(b.start)
    t.delete(b.start)
  }
  for (const s of t.keys()) starts.add(s)
  return [...starts].sort((a, b) => (a < b ? -1 : 1))
}

export class Reconciler {
  constructor (private readonly ctx: ReplicationContext, private readonly call: Call) {}

  async reconcile (mailbox: string, peer: string, o: ReconcileOptions): Promise<ReconcileResult> {
    const { pull, confirm = false } = o
    const result: ReconcileResult = { pushed: 0, pulled: 0, confirmed: [] }
    const coarseWidth = BigInt(COARSE_BUCKET_MS) << 16n
    const mine = await this.ctx.mailboxes.digest(mailbox, COARSE_BUCKET_MS)
    const theirs = await this.call(peer,
      { kind: StoreRequest.Kind.DIGEST, mailbox, bucketMs: BigInt(COARSE_BUCKET_MS) })
    const mineByStart = new Map(mine.map((b) => [b.start, b]))
    const coarseDiff = differing(mine, theirs.buckets)
    const diffSet = new Set(coarseDiff)
    for (const b of confirm ? mine : []) {
      if (!diffSet.has(b.start)) {
        result.confirmed.push(
          ...await this.ctx.mailboxes.cursorsIn(mailbox, b.start, COARSE_BUCKET_MS, Number.MAX_SAFE_INTEGER)
        )
      }
    }
    for (const coarse of coarseDiff) {
      const from = cursorAt(coarse)
      const to = cursorAt(coarse + coarseWidth)
      const myFine = mineByStart.has(coarse)
        ? await this.ctx.mailboxes.digest(mailbox, FINE_BUCKET_MS, coarse, coarse + coarseWidth)
        : []
      const theirFine = await this.call(peer, {
        kind: StoreRequest.Kind.DIGEST,
        mailbox,
        bucketMs: BigInt(FINE_BUCKET_MS),
        after: from,
        before: to
      })
      const fine = differing(myFine, theirFine.buckets)
      const sameFine = confirm ? myFine.filter((b) => !fine.includes(b.start)) : []
      for (const b of sameFine) {
        result.confirmed.push(
          ...await this.ctx.mailboxes.cursorsIn(mailbox, b.start, FINE_BUCKET_MS, Number.MAX_SAFE_INTEGER)
        )
      }
      for (let i = 0; i < fine.length; i += 256) {
        const buckets = fine.slice(i, i + 256)
        const ids = await this.call(peer, {
          kind: StoreRequest.Kind.IDS,
          mailbox,
          bucketMs: BigInt(FINE_BUCKET_MS),
          buckets: buckets.map((start) => ({ start, count: 0, hash: new Uint8Array(0) }))
        })
        const theirSet = new Set(ids.cursors.map(key))
        const local: Cursor[] = []
        for (const start of buckets) {
          local.push(...await this.ctx.mailboxes.cursorsIn(mailbox, start, FINE_BUCKET_MS, Number.MAX_SAFE_INTEGER))
        }
        const localSet = new Set(local.map(key))
        // what the peer deleted is deleted here too: a deletion this owner missed (it was down) is not undone
        const theirDeadSet = new Set(ids.tombstones.map(key))
        const theirDead = ids.tombstones.filter((c) => c.byteLength === CURSOR_BYTES && localSet.has(key(c)))
        if (theirDead.length > 0) {
          await this.ctx.mailboxes.tombstone(mailbox, theirDead.map((cursor) => ({ cursor, peer: '' })))
        }
        // and what this node deleted, the peer deletes: a deletion that reached only some servers (a stand-in,
        // a client whose view was partial) finds every owner
        const mine: Cursor[] = []
        for (const start of buckets) {
          mine.push(...await this.ctx.mailboxes.tombstonesInBucket(mailbox, start, FINE_BUCKET_MS, MAX_FETCH_LIMIT))
        }
        const toKill = mine.filter((c) => theirSet.has(key(c)) && !theirDeadSet.has(key(c)))
        for (let j = 0; j < toKill.length; j += MAX_FETCH_LIMIT) {
          await this.call(peer, {
            kind: StoreRequest.Kind.TOMBSTONES,
            mailbox,
            cursors: toKill.slice(j, j + MAX_FETCH_LIMIT) as Array<Uint8Array<ArrayBuffer>>
          })
        }
        const toPush = local.filter((c) => !theirSet.has(key(c)))
        result.pushed += await this.push(mailbox, peer, toPush)
        if (confirm) result.confirmed.push(...local)
        if (pull) result.pulled += await this.pull(mailbox, peer, ids.cursors.filter((c) => !localSet.has(key(c))))
      }
    }
    return result
  }

  private async push (mailbox: string, peer: string, cursors: Cursor[]): Promise<number> {
    let n = 0
    for (let i = 0; i < cursors.length; i += MAX_PUTS_PER_REQUEST) {
      const found = await this.ctx.mailboxes.get(mailbox, cursors.slice(i, i + MAX_PUTS_PER_REQUEST))
      if (found.length === 0) continue
      await this.call(peer, {
        kind: StoreRequest.Kind.STORE,
        puts: found.map((f) => ({ mailbox, envelope: f.bytes, hintFor: [] }))
      })
      n += found.length
    }
    return n
  }

  private async pull (mailbox: string, peer: string, cursors: Uint8Array[]): Promise<number> {
    let n = 0
    for (let i = 0; i < cursors.length; i += MAX_FETCH_LIMIT) {
      const res = await this.call(peer, {
        kind: StoreRequest.Kind.GET,
        mailbox,
        cursors: cursors.slice(i, i + MAX_FETCH_LIMIT) as Array<Uint8Array<ArrayBuffer>>
      })
      const entries: MailboxEntry[] = []
      for (const bytes of res.envelopes) {
        try {
          const env = openEnvelope(bytes, this.ctx.keys)
          const peer = conversationPeer(env, mailbox)
          if (peer == null) throw new Error('envelope does not belong to this mailbox')
          entries.push({ mailbox, peer, cursor: cursorOf(env), bytes, expiresAt: expiryOf(env) })
        } catch {
          this.ctx.reject('bad-repair-envelope')
        }
      }
      await this.ctx.mailboxes.put(entries)
      // what the other owner deleted is deleted here too (its digest counts it: the key stays)
      const dead = res.tombstones.slice(0, MAX_FETCH_LIMIT).filter((c) => c.byteLength === CURSOR_BYTES)
      if (dead.length > 0) await this.ctx.mailboxes.tombstone(mailbox, dead.map((cursor) => ({ cursor, peer: '' })))
      n += entries.length
    }
    return n
  }
}
