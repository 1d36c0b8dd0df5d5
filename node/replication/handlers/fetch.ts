/** FETCH: a page of a mailbox (or of one conversation in it), in (timestamp, id) order. */

import { StoreResponse } from '../../../protocol/pb/store.js'
import { MAX_FETCH_LIMIT } from '../constants.js'
import type { StoreHandler } from '../context.js'
import { checkCursor, checkMailbox } from './checks.js'

export const handleFetch: StoreHandler = async (req, from, ctx) => {
  checkMailbox(req.mailbox)
  if (req.peer !== '') checkMailbox(req.peer)
  await ctx.guard.checkRead(req.mailbox, req.auth, from)
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
