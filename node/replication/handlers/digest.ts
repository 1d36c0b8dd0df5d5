/**
 * DIGEST and IDS: the two steps of reconciliation. DIGEST answers bucket counts and id-XORs of a
 * mailbox (coarse over everything, or fine within one coarse bucket); IDS lists the cursors in the
 * fine buckets the asker found different, and which of them are tombstones here. GET then fetches what
 * is missing.
 */

import { StoreResponse } from '../../../protocol/pb/store.js'
import { cursorTimestamp } from '../../store/mailbox-store.js'
import { COARSE_BUCKET_MS, FINE_BUCKET_MS, MAX_BUCKETS, MAX_FETCH_LIMIT, MAX_IDS } from '../constants.js'
import type { StoreHandler } from '../context.js'

/** Tombstones listed by one IDS answer at most (the decoder's bound). */
const MAX_TOMBSTONES = 1000
import { checkBucketMs, checkCursor, checkMailbox } from './checks.js'
import { Forbidden, Rejection } from './rejection.js'

/**
 * IDS lists entry ids (times and random ids, no content): any server may ask, as a server that stood in
 * or no longer owns a mailbox hands it over with it. GET hands out entries: the guard serves a user's
 * only to its other owners. DIGEST (counts and hashes) is open.
 */
function serversOnly (from: string, ctx: Parameters<StoreHandler>[2]): void {
  if (from !== ctx.selfId && !ctx.isServerPeer(from)) throw new Forbidden('not-a-server', 'only servers reconcile; clients read with FETCH')
}

export const handleDigest: StoreHandler = async (req, _from, ctx) => {
  checkMailbox(req.mailbox)
  const width = checkBucketMs(req.bucketMs, [COARSE_BUCKET_MS, FINE_BUCKET_MS])
  const after = checkCursor(req.after)
  const before = checkCursor(req.before)
  const buckets = await ctx.mailboxes.digest(req.mailbox, width, after != null ? cursorTimestamp(after) : undefined,
    before != null ? cursorTimestamp(before) : undefined)
  if (buckets.length > MAX_BUCKETS) throw new Rejection('too-many-buckets', 'digest too large; ask for a narrower range')
  return {
    status: StoreResponse.Status.OK,
    buckets: buckets.map((b) => ({ start: b.start, count: b.count, hash: b.hash as Uint8Array<ArrayBuffer> }))
  }
}

export const handleIds: StoreHandler = async (req, from, ctx) => {
  checkMailbox(req.mailbox)
  serversOnly(from, ctx)
  const width = checkBucketMs(req.bucketMs, [FINE_BUCKET_MS])
  const cursors: Array<Uint8Array<ArrayBuffer>> = []
  const tombstones: Array<Uint8Array<ArrayBuffer>> = []
  for (const b of req.buckets.slice(0, 256)) {
    if (cursors.length >= MAX_IDS) break
    const ids = await ctx.mailboxes.cursorsIn(req.mailbox, b.start, width, MAX_IDS - cursors.length)
    cursors.push(...ids as Array<Uint8Array<ArrayBuffer>>)
    // which of them are deleted here: the asker deletes them too (tombstones are replicated like entries)
    if (tombstones.length < MAX_TOMBSTONES) {
      const room = MAX_TOMBSTONES - tombstones.length
      const deleted = await ctx.mailboxes.tombstonesInBucket(req.mailbox, b.start, width, room)
      tombstones.push(...deleted as Array<Uint8Array<ArrayBuffer>>)
    }
  }
  return { status: StoreResponse.Status.OK, cursors, tombstones }
}

export const handleGet: StoreHandler = async (req, from, ctx) => {
  checkMailbox(req.mailbox)
  ctx.guard.checkReplicaRead(req.mailbox, from)
  const wanted = req.cursors.slice(0, MAX_FETCH_LIMIT).map((c) => checkCursor(c)).filter((c) => c != null)
  const found = await ctx.mailboxes.get(req.mailbox, wanted)
  const tombstones = await ctx.mailboxes.tombstonesIn(req.mailbox, wanted) as Array<Uint8Array<ArrayBuffer>>
  return { status: StoreResponse.Status.OK, envelopes: found.map((f) => f.bytes), tombstones }
}
