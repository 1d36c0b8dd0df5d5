/**
 * PREKEYS_PUT, PREKEYS_GET, PREKEY_USED: the prekey directory of secret chats at a user's owners.
 *
 * One-time prekeys must be handed out once each. Claims go to one coordinating owner (the first of the
 * user's owners that answers, primary first): it retires the key on its own disk, then tells the other
 * owners (PREKEY_USED) before it answers, so a coordinator that takes over after it fails does not hand
 * out the same key. Only servers may send PREKEY_USED.
 *
 * Claims are budgeted per asking peer and per user (prekey-claims.ts): past either budget the bundle is
 * handed out without a one-time prekey, and the refusal is counted. One-time prekeys past their lifetime
 * are not handed out (prekey-store.ts).
 */

import { decodeBundle } from '../../../protocol/secret/index.js'
import { isUserId } from '../../../protocol/mailbox.js'
import { openPrekeyUpload } from '../../../protocol/prekeys.js'
import { StoreRequest, StoreResponse } from '../../../protocol/pb/store.js'
import type { ReplicationContext, StoreHandler } from '../context.js'
import type { Placement } from '../placement.js'
import { Forbidden, Rejection } from './rejection.js'

/**
 * What the prekey handlers use of the context: the prekey store, the clock and its allowed drift, the
 * user's other owners (told when a one-time prekey is spent), and whether a peer is a server.
 */
export interface PrekeyContext
  extends Pick<ReplicationContext, 'selfId' | 'prekeys' | 'now' | 'maxDriftMs' | 'reject' | 'call' | 'isServerPeer'> {
  placement: Pick<Placement, 'ownersOf'>
}

export const handlePrekeysPut: StoreHandler<PrekeyContext> = async (req, _from, ctx) => {
  const { userId, upload } = openPrekeyUpload(req.prekeys)
  const at = Number(upload.timestamp)
  const now = ctx.now()
  if (at - now > ctx.maxDriftMs) throw new Rejection('clock-drift', 'prekey upload is from the future')
  await ctx.prekeys.put(userId, upload.bundle, at, upload.oneTime)
  return { status: StoreResponse.Status.OK, remaining: await ctx.prekeys.remaining(userId, now) }
}

export const handlePrekeysGet: StoreHandler<PrekeyContext> = async (req, from, ctx) => {
  if (!isUserId(req.user)) throw new Rejection('bad-user', 'not a user id')
  const stored = await ctx.prekeys.bundle(req.user)
  if (stored == null) return { status: StoreResponse.Status.NOT_FOUND, error: 'no prekeys published here' }
  let bundle = stored.bundle
  const now = ctx.now()
  // over its budget (per asking peer, per user) a claim gets the bundle alone: the keys left stay for others
  const refused = req.claimOneTime && req.coordinate ? ctx.prekeys.claims.charge(from, req.user, now) : undefined
  if (refused != null) ctx.reject(refused)
  if (req.claimOneTime && req.coordinate && refused == null) {
    // `take` is serialised per user: two concurrent claims never get the same key
    const key = await ctx.prekeys.take(req.user, now)
    if (key != null) {
      const others = ctx.placement.ownersOf(req.user).filter((o) => o !== ctx.selfId)
      // every other owner learns the key is spent before anyone can use it
      await Promise.allSettled(
        others.map(async (o) => ctx.call(o, { kind: StoreRequest.Kind.PREKEY_USED, user: req.user, prekeyId: key.id }))
      )
      bundle = withOneTimePrekey(bundle, key)
    }
  }
  // the owner passes the bundle on as stored: the asking device verifies its signatures (it must not trust us)
  return {
    status: StoreResponse.Status.OK,
    bundle: bundle as Uint8Array<ArrayBuffer>,
    remaining: await ctx.prekeys.remaining(req.user, now)
  }
}

/** A stored bundle (which ends in the "no one-time prekey" flag) with a one-time prekey attached. */
function withOneTimePrekey (stored: Uint8Array, key: { id: number, publicKey: Uint8Array }): Uint8Array {
  const b = decodeBundle(stored) // shape only; the layout is protocol/secret/bundle.ts
  if (b.oneTimePrekey != null) return stored
  const out = new Uint8Array(stored.byteLength + 4 + 32)
  out.set(stored)
  const at = stored.byteLength - 1
  out[at] = 1
  new DataView(out.buffer).setUint32(at + 1, key.id)
  out.set(key.publicKey, at + 5)
  return out
}

export const handlePrekeyUsed: StoreHandler<PrekeyContext> = async (req, from, ctx) => {
  if (from !== ctx.selfId && !ctx.isServerPeer(from)) throw new Forbidden('not-a-server', 'only owners retire one-time prekeys')
  if (!isUserId(req.user)) throw new Rejection('bad-user', 'not a user id')
  await ctx.prekeys.retire(req.user, req.prekeyId)
  return { status: StoreResponse.Status.OK }
}
