/**
 * STORE: put envelopes into mailboxes. Every put is decoded and its signature verified (once, here)
 * before anything is written. What only a misbehaving node sends — a forged, malformed or misrouted
 * envelope — refuses the whole request, so it never lands beside good ones. What an honest node can
 * carry for one of its users — a post the room's rules forbid, a sender over its rate — refuses only
 * that sender's puts (listed in `refused`); the others of the request are stored, so one user cannot
 * fail another's sends that were batched with it.
 *
 * A timestamp far ahead of this server's clock is refused only in a client's first-hand put, and as
 * NotNow (answered ERROR): the clock at fault may be this server's own, so the writer goes on to another
 * server rather than fail the send. Servers passing on what an owner accepted (hints, repair) are not
 * judged by this clock again: a server whose clock is behind would otherwise refuse repair for minutes.
 */

import { sameBytes } from '../../../protocol/bytes.js'
import { openEnvelope, userIdOf, type Envelope } from '../../../protocol/envelope.js'
import { hlcMillis } from '../../../protocol/hlc.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import { conversationPeer, cursorOf, type MailboxEntry } from '../../store/mailbox-store.js'
import { NotNow, Rejection, SlowDown } from './rejection.js'
import { expiryOf } from '../expiry.js'
import type { StoreHandler } from '../context.js'
import { answerOf } from '../status.js'

export const handleStore: StoreHandler = async (req, from, ctx) => {
  const entries: MailboxEntry[] = []
  const hints: Array<{ peer: string, mailbox: string }> = []
  const refused: StoreResponse.Refusal[] = []
  /** refuse put `index` alone: counted, and answered by its index */
  const refuse = (index: number, err: Rejection): void => {
    const { status, reason, error } = answerOf(err)
    ctx.reject(reason)
    refused.push({ index, status, error })
  }
  const now = ctx.now()
  // a client's puts are charged to their senders, one token per envelope (its second mailbox is free);
  // servers pass on what an owner already accepted (hints, repair) and are not charged again
  const charging = from !== ctx.selfId && !ctx.isServerPeer(from)
  /** a direct message comes twice in a request (its two mailboxes): decoded and checked once */
  let last: { bytes: Uint8Array, env: Envelope } | undefined
  for (const [index, put] of req.puts.entries()) {
    const env = last != null && sameBytes(last.bytes, put.envelope) ? last.env : openEnvelope(put.envelope, ctx.keys)
    last = { bytes: put.envelope, env }
    const sender = userIdOf(env.senderKey)
    const peer = conversationPeer(env, put.mailbox)
    if (peer == null) throw new Rejection('wrong-mailbox', `mailbox ${put.mailbox} is neither sender nor recipient of the envelope`)
    try {
      if (charging && hlcMillis(env.timestamp) - now > ctx.maxDriftMs) {
        throw new NotNow('clock-drift', `envelope timestamp is ${hlcMillis(env.timestamp) - now} ms ahead of this server's clock`)
      }
      await ctx.guard.checkPut(env, put.mailbox, from)
    } catch (err: any) {
      if (!(err instanceof Rejection)) throw err
      refuse(index, err)
      continue
    }
    if (charging && !ctx.senders.charge(sender, Buffer.from(env.id).toString('hex'))) {
      refuse(index, new SlowDown('rate-limited', `sender ${sender} is over its rate; retry later`))
      continue
    }
    entries.push({ mailbox: put.mailbox, peer, cursor: cursorOf(env), bytes: put.envelope, expiresAt: expiryOf(env) })
    for (const peer of put.hintFor) if (peer !== ctx.selfId) hints.push({ peer, mailbox: put.mailbox })
  }
  await ctx.mailboxes.put(entries)
  await ctx.hints.add(hints)
  return { status: StoreResponse.Status.OK, stored: entries.length, refused }
}
