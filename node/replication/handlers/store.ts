/**
 * STORE: put envelopes into mailboxes. All-or-nothing per request: every put is decoded and its
 * signature verified (once, here) before anything is written, so a forged or malformed put never
 * lands beside good ones. A put may only go to the sender's or the recipient's mailbox.
 */

import { openEnvelope, userIdOf } from '../../../protocol/envelope.js'
import { hlcMillis } from '../../../protocol/hlc.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import { conversationPeer, cursorOf, type MailboxEntry } from '../../store/mailbox-store.js'
import { Rejection } from './rejection.js'
import { expiryOf } from '../expiry.js'
import type { StoreHandler } from '../context.js'

export const handleStore: StoreHandler = async (req, from, ctx) => {
  const entries: MailboxEntry[] = []
  const hints: Array<{ peer: string, mailbox: string }> = []
  const now = Date.now()
  // a client's puts are charged to their senders, once per envelope (its second mailbox is free);
  // servers pass on what an owner already accepted (hints, repair) and are not charged again
  const charge = from !== ctx.selfId && !ctx.isServerPeer(from) ? new Map<string, number>() : undefined
  const charged = new Set<string>()
  for (const put of req.puts) {
    const env = openEnvelope(put.envelope, ctx.keys)
    if (charge != null) {
      const id = Buffer.from(env.id).toString('hex')
      if (!charged.has(id)) {
        charged.add(id)
        const sender = userIdOf(env.senderKey)
        charge.set(sender, (charge.get(sender) ?? 0) + 1)
      }
    }
    const peer = conversationPeer(env, put.mailbox)
    if (peer == null) throw new Rejection('wrong-mailbox', `mailbox ${put.mailbox} is neither sender nor recipient of the envelope`)
    if (hlcMillis(env.timestamp) - now > ctx.maxDriftMs) throw new Rejection('clock-drift', 'envelope timestamp is too far in the future')
    await ctx.guard.checkPut(env, put.mailbox, from)
    entries.push({ mailbox: put.mailbox, peer, cursor: cursorOf(env), bytes: put.envelope, expiresAt: expiryOf(env) })
    for (const peer of put.hintFor) if (peer !== ctx.selfId) hints.push({ peer, mailbox: put.mailbox })
  }
  for (const [sender, n] of charge ?? []) {
    if (!ctx.senders.take(sender, n)) throw new Rejection('rate-limited', `sender ${sender} is over its rate; retry later`)
  }
  await ctx.mailboxes.put(entries)
  await ctx.hints.add(hints)
  return { status: StoreResponse.Status.OK, stored: entries.length }
}
