/**
 * DELETE: a user deletes entries of its own mailbox for good (secret messages after delivery). Only the
 * mailbox's user may ask (a proof signed by its identity key over the mailbox and the cursors), and only
 * secret envelopes can be deleted: a chat message also lives in its sender's mailbox, and deleting one
 * copy would not delete the message. The entries become tombstones (node/store/mailbox-store.ts).
 *
 * TOMBSTONES: the same deletion passed on by a server in repair (its user's proof stays with the server
 * that took the DELETE). Only servers may send it, and it deletes only what DELETE could: secret
 * envelopes to the mailbox's user held here. This is how a deletion that reached the wrong servers (a
 * client whose view was partial) or a stand-in finds the owners.
 */

import { Envelope, userIdOf } from '../../../protocol/envelope.js'
import { parseMailbox } from '../../../protocol/mailbox.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import { deleteScope, verifyReadAuth } from '../../../protocol/read-auth.js'
import { conversationPeer, type Bytes } from '../../store/mailbox-store.js'
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
    who = verifyReadAuth(req.auth, deleteScope(req.mailbox, cursors), ctx.now())
  } catch (err: any) {
    throw new Forbidden('bad-proof', err.message)
  }
  if (who !== name.id) throw new Forbidden('not-owner', 'only the mailbox\'s user may delete from it')
  await ctx.mailboxes.tombstone(req.mailbox, await deletable(req.mailbox, cursors, ctx, true))
  return { status: StoreResponse.Status.OK, stored: cursors.length }
}

export const handleTombstones: StoreHandler = async (req, from, ctx) => {
  checkMailbox(req.mailbox)
  if (from !== ctx.selfId && !ctx.isServerPeer(from)) throw new Forbidden('not-a-server', 'only servers pass deletions on')
  const name = parseMailbox(req.mailbox)
  if (name?.kind !== 'user' || name.log !== '') throw new Rejection('bad-mailbox', 'only entries of a user mailbox can be deleted')
  if (req.cursors.length > MAX_FETCH_LIMIT) throw new Rejection('too-many', `at most ${MAX_FETCH_LIMIT} entries per deletion`)
  const cursors = req.cursors.map((c) => checkCursor(c)).filter((c) => c != null)
  const dead = await deletable(req.mailbox, cursors, ctx, false)
  await ctx.mailboxes.tombstone(req.mailbox, dead)
  return { status: StoreResponse.Status.OK, stored: dead.length }
}

/**
 * The tombstones for `cursors` of a user's mailbox: each entry held here must be a secret envelope to its
 * user (else Forbidden); with `missingToo`, cursors not held here get a tombstone as well, so a write still
 * on its way never lands.
 */
async function deletable (
  mailbox: string,
  cursors: Bytes[],
  ctx: Parameters<StoreHandler>[2],
  missingToo: boolean
): Promise<Array<{ cursor: Bytes, peer: string, expiresAt: number }>> {
  const found = await ctx.mailboxes.get(mailbox, cursors)
  const dead: Array<{ cursor: Bytes, peer: string, expiresAt: number }> = []
  for (const f of found) {
    const env = Envelope.decode(f.bytes)
    if (env.kind !== Envelope.Kind.SECRET || env.recipient !== mailbox) throw new Forbidden('not-deletable', 'only secret messages to this user can be deleted')
    dead.push({
      cursor: f.cursor,
      peer: conversationPeer(env, mailbox) ?? userIdOf(env.senderKey),
      expiresAt: expiryOf(env)
    })
  }
  if (!missingToo) return dead
  // entries not here yet (a write still on its way, an owner repairing) get a tombstone too, so they never land
  const here = new Set(found.map((f) => Buffer.from(f.cursor).toString('hex')))
  for (const c of cursors) if (!here.has(Buffer.from(c).toString('hex'))) dead.push({ cursor: c, peer: '', expiresAt: 0 })
  return dead
}
