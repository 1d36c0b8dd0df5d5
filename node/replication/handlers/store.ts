/**
 * STORE: put envelopes into mailboxes. Every put is decoded and its signature verified (once, here)
 * before anything is written. What only a misbehaving node sends — a forged, malformed or misrouted
 * envelope, a clock far ahead — refuses the whole request, so it never lands beside good ones. What an
 * honest node can carry for one of its users — a post the room's rules forbid, a sender over its rate —
 * refuses only that sender's puts (listed in `refused`); the others of the request are stored, so one
 * user cannot fail another's sends that were batched with it.
 */

import { openEnvelope, userIdOf } from '../../../protocol/envelope.js'
import { hlcMillis } from '../../../protocol/hlc.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import { conversationPeer, cursorOf, type MailboxEntry } from '../../store/mailbox-store.js'
import { Forbidden, Rejection } from './rejection.js'
import { expiryOf } from '../expiry.js'
import type { StoreHandler } from '../context.js'

export const handleStore: StoreHandler = async (req, from, ctx) => {
  const entries: Array<MailboxEntry & { index: number, sender: string }> = []
  const hints: Array<{ index: number, peer: string, mailbox: string }> = []
  const refused: StoreResponse.Refusal[] = []
  const now = Date.now()
  // a client's puts are charged to their senders, once per envelope (its second mailbox is free);
  // servers pass on what an owner already accepted (hints, repair) and are not charged again
  const charge = from !== ctx.selfId && !ctx.isServerPeer(from) ? new Map<string, number>() : undefined
  const charged = new Set<string>()
  for (const [index, put] of req.puts.entries()) {
    const env = openEnvelope(put.envelope, ctx.keys)
    const sender = userIdOf(env.senderKey)
    if (charge != null) {
      const id = Buffer.from(env.id).toString('hex')
      if (!charged.has(id)) {
        charged.add(id)
        charge.set(sender, (charge.get(sender) ?? 0) + 1)
      }
    }
    const peer = conversationPeer(env, put.mailbox)
    if (peer == null) throw new Rejection('wrong-mailbox', `mailbox ${put.mailbox} is neither sender nor recipient of the envelope`)
    if (hlcMillis(env.timestamp) - now > ctx.maxDriftMs) throw new Rejection('clock-drift', 'envelope timestamp is too far in the future')
    try {
      await ctx.guard.checkPut(env, put.mailbox, from)
    } catch (err: any) {
      if (!(err instanceof Rejection)) throw err
      ctx.reject(err.reason)
      refused.push({ index, status: err instanceof Forbidden ? StoreResponse.Status.FORBIDDEN : StoreResponse.Status.REJECTED, error: `${err.reason}: ${err.message}` })
      continue
    }
    entries.push({ index, sender, mailbox: put.mailbox, peer, cursor: cursorOf(env), bytes: put.envelope, expiresAt: expiryOf(env) })
    for (const peer of put.hintFor) if (peer !== ctx.selfId) hints.push({ index, peer, mailbox: put.mailbox })
  }
  const overRate = new Set<string>()
  for (const [sender, n] of charge ?? []) {
    if (!ctx.senders.take(sender, n)) overRate.add(sender)
  }
  const kept = entries.filter((e) => {
    if (!overRate.has(e.sender)) return true
    ctx.reject('rate-limited')
    refused.push({ index: e.index, status: StoreResponse.Status.BUSY, error: `rate-limited: sender ${e.sender} is over its rate; retry later` })
    return false
  })
  const keptIndexes = new Set(kept.map((e) => e.index))
  await ctx.mailboxes.put(kept)
  await ctx.hints.add(hints.filter((h) => keptIndexes.has(h.index)))
  return { status: StoreResponse.Status.OK, stored: kept.length, refused: refused.sort((a, b) => a.index - b.index) }
}
