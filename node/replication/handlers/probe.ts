/**
 * PROBE: for each mailbox asked about, its change counter here (node/store/change-sketch.ts), under the
 * same read checks as FETCH. One request carries every session of the asking
 * node that this server owns a mailbox of, so an idle node costs each owner one small request per sync
 * interval, not one listing per session and log. A mailbox the proof does not open answers 0 (the
 * session's full sync then meets the refusal itself), and refusals are counted like FETCH's. A server
 * asks too, without a proof, for the mailboxes it owns with this one (repair.ts): the guard answers it
 * only for a user's mailboxes it owns in this node's view.
 */

import { StoreResponse } from '../../../protocol/pb/store.js'
import type { StoreHandler } from '../context.js'
import { checkMailbox } from './checks.js'
import { Rejection } from './rejection.js'

/** Mailboxes one PROBE may ask about (the decoder refuses more). */
export const MAX_PROBES = 4096

/** Mailboxes an asker puts in one PROBE (each may carry a read proof of ~150 bytes). */
export const PROBES_PER_REQUEST = 1024

export const handleProbe: StoreHandler = async (req, from, ctx) => {
  const versions: bigint[] = []
  for (const p of req.probes) {
    try {
      checkMailbox(p.mailbox)
      // a server's repair asks without a proof, for mailboxes it owns too; anyone else shows a proof
      if (p.auth == null && from !== ctx.selfId && ctx.isServerPeer(from)) ctx.guard.checkReplicaRead(p.mailbox, from)
      else await ctx.guard.checkRead(p.mailbox, p.auth, from)
      versions.push(ctx.mailboxes.changes.version(p.mailbox))
    } catch (err: any) {
      if (!(err instanceof Rejection)) throw err
      ctx.reject(err.reason.toLowerCase())
      versions.push(0n)
    }
  }
  return { status: StoreResponse.Status.OK, epoch: ctx.mailboxes.changes.epoch, versions }
}
