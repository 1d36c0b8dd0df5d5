/**
 * DELETE: a user deletes entries of its own mailbox for good (secret messages after delivery). Only the
 * mailbox's user may ask (a proof signed by its identity key over the mailbox and the cursors), and only
 * secret envelopes can be deleted: a chat message also lives in its sender's mailbox, and deleting one
 * copy would not delete the message. The entries become tombstones (node/store/mailbox-store.ts).
 */

import { Envelope, userIdOf } from '../../../protocol/envelope.js'
import { parseMailbox } from '../../../protocol/mailbox.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import { deleteScope, verifyReadAuth } from '../../../protocol/read-auth.js'
import { conversationPeer } from '../../store/mailbox-store.js'
import { MAX_FETCH_LIMIT } from '../constants.js'
import type { StoreHandler } from '../context.js'
import { checkCursor, checkMailbox } from './checks.js'
import { Forbidden, Rejection } from './rejection.js'
import { expiryOf } from '../expiry.js'

export const handleDelete: StoreHandler = async (req, _from, ctx) => {
  checkMailbox(req.mailbox)
  const name = parseMailbox(req.mailbox)
  if (name?.kind !== 'user' || name.log !== '') throw new Rejection('bad-mailbox', 'only entries of a user mailbox can be deleted')
  if (req.cursors.length > MAX_FETCH_LIMIT) throw new Rejection('too-many', `at most ${MAX_FETCH_LIMIT} entries per deletion`)
  const cursors = req.cursors.map((c) => checkCursor(c)).filter((c) => c != null)
  if (req.auth == null) throw new Forbidden('no-proof', 'a deletion must be signed by the mailbox\'s user')
  let who: string
  try {
    who = verifyReadAuth(req.auth, deleteScope(req.mailbox, cursors))
  } catch (err: any) {
    throw new Forbidden('bad-proof', err.message)
  }
  if (who !== name.id) throw new Forbidden('not-owner', 'only the mailbox\'s user may delete from it')
  const found = await ctx.mailboxes.get(req.mailbox, cursors)
  const dead = []
  for (const f of found) {
    const env = Envelope.decode(f.bytes)
    if (env.kind !== Envelope.Kind.SECRET || env.recipient !== req.mailbox) throw new Forbidden('not-deletable', 'only secret messages to this user can be deleted')
    dead.push({ cursor: f.cursor, peer: conversationPeer(env, req.mailbox) ?? userIdOf(env.senderKey), expiresAt: expiryOf(env) })
  }
  // entries not here yet (a write still on its way, an owner repairing) get a tombstone too, so they never land
  const here = new Set(found.map((f) => Buffer.from(f.cursor).toString('hex')))
  for (const c of cursors) if (!here.has(Buffer.from(c).toString('hex'))) dead.push({ cursor: c, peer: '', expiresAt: 0 })
  await ctx.mailboxes.tombstone(req.mailbox, dead)
  return { status: StoreResponse.Status.OK, stored: dead.length }
}
