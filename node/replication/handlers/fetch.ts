/**
 * FETCH: a page of a mailbox (or of one conversation in it), in (timestamp, id) order; or only the
 * page's cursors (`cursorsOnly`, for a reader that wants to see what it is missing before it fetches);
 * or the entries named by `cursors`. The same read checks apply to all three.
 */

import { StoreResponse } from '../../../protocol/pb/store.js'
import { MAX_FETCH_LIMIT, MAX_IDS } from '../constants.js'
import type { ReplicationContext, StoreGuard, StoreHandler } from '../context.js'
import { checkCursor, checkMailbox } from './checks.js'

/** What FETCH uses of the context: the mailbox store, and the read check of the log asked for. */
export interface FetchContext extends Pick<ReplicationContext, 'mailboxes'> {
  guard: Pick<StoreGuard, 'checkRead'>
}

export const handleFetch: StoreHandler<FetchContext> = async (req, from, ctx) => {
  checkMailbox(req.mailbox)
  if (req.peer !== '') checkMailbox(req.peer)
  await ctx.guard.checkRead(req.mailbox, req.auth, from)
  if (req.cursorsOnly) {
    const page = await ctx.mailboxes.cursors(req.mailbox, {
      after: checkCursor(req.after),
      before: checkCursor(req.before),
      limit: Math.max(1, Math.min(req.limit || MAX_IDS, MAX_IDS))
    })
    return { status: StoreResponse.Status.OK, cursors: page.cursors as Array<Uint8Array<ArrayBuffer>>, more: page.more }
  }
  if (req.cursors.length > 0) {
    const wanted = req.cursors.slice(0, MAX_FETCH_LIMIT).map((c) => checkCursor(c)).filter((c) => c != null)
    const found = await ctx.mailboxes.get(req.mailbox, wanted)
    return { status: StoreResponse.Status.OK, envelopes: found.map((f) => f.bytes) }
  }
  const limit = Math.max(1, Math.min(req.limit || MAX_FETCH_LIMIT, MAX_FETCH_LIMIT))
  const page = await ctx.mailboxes.range(req.mailbox, {
    after: checkCursor(req.after),
    before: checkCursor(req.before),
    limit,
    peer: req.peer === '' ? undefined : req.peer,
    newestFirst: req.newestFirst
  })
  return { status: StoreResponse.Status.OK, envelopes: page.entries.map((e) => e.bytes), more: page.more }
}
