/**
 * WATCH: PROBE, and a watch of each readable mailbox asked about, so this owner pushes the asker every
 * later write to it (node/replication/watches.ts). A probe with a read proof passes the same checks as
 * FETCH and registers a watch; one without a proof only renews a watch the asker already holds, proven
 * within WATCH_PROOF_MS (a renewal costs no signature check), and answers 0 otherwise, as a refused proof
 * does: the asker then registers again with a proof. A watch over a bound answers 0 too (counted as
 * `watch-limit`), and the asker polls as before.
 */

import { StoreResponse } from '../../../protocol/pb/store.js'
import type { StoreHandler } from '../context.js'
import { checkMailbox } from './checks.js'
import { Rejection } from './rejection.js'

export const handleWatch: StoreHandler = async (req, from, ctx) => {
  const watches = ctx.watches
  if (watches == null) throw new Rejection('not-owner', 'this node keeps no mailboxes')
  const versions: bigint[] = []
  for (const p of req.probes) {
    try {
      checkMailbox(p.mailbox)
      if (p.auth == null) {
        if (!watches.holds(from, p.mailbox)) { versions.push(0n); continue }
      } else {
        await ctx.guard.checkRead(p.mailbox, p.auth, from)
      }
      if (watches.watch(from, p.mailbox, p.auth != null)) {
        versions.push(ctx.mailboxes.changes.version(p.mailbox))
      } else {
        ctx.reject('watch-limit')
        versions.push(0n)
      }
    } catch (err: any) {
      if (!(err instanceof Rejection)) throw err
      ctx.reject(err.reason.toLowerCase())
      versions.push(0n)
    }
  }
  return { status: StoreResponse.Status.OK, epoch: ctx.mailboxes.changes.epoch, versions }
}
