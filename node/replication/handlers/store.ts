/**
 * STORE: put envelopes into mailboxes. All-or-nothing per request: every put is decoded and its
 * signature verified (once, here) before anything is written, so a forged or malformed put never
 * lands beside good ones. A put may only go to the sender's or the recipient's mailbox.
 */

import { openEnvelope } from '../../../protocol/envelope.js'
import { hlcMillis } from '../../../protocol/hlc.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import { conversationPeer, cursorOf, type MailboxEntry } from '../../store/mailbox-store.js'
import { Rejection } from './rejection.js'
import type { StoreHandler } from '../context.js'

export const handleStore: StoreHandler = async (req, _from, ctx) => {
  const entries: MailboxEntry[] = []
  const hints: Array<{ peer: string, mailbox: string }> = []
  const now = Date.now()
  for (const put of req.puts) {
    const env = openEnvelope(put.envelope, ctx.keys)
    const peer = conversationPeer(env, put.mailbox)
    if (peer == null) throw new Rejection('wrong-mailbox', `mailbox ${put.mailbox} is neither sender nor recipient of the envelope`)
    if (hlcMillis(env.timestamp) - now > ctx.maxDriftMs) throw new Rejection('clock-drift', 'envelope timestamp is too far in the future')
    entries.push({ mailbox: put.mailbox, peer, cursor: cursorOf(env), bytes: put.envelope })
    for (const peer of put.hintFor) if (peer !== ctx.selfId) hints.push({ peer, mailbox: put.mailbox })
  }
  await ctx.mailboxes.put(entries)
  await ctx.hints.add(hints)
  return { status: StoreResponse.Status.OK, stored: entries.length }
}
