/**
 * CLAIM and RESOLVE of handles. First come, first served, serialised by the handle's primary owner:
 * a claim sent with `coordinate` is checked against every live owner before it is stored and copied
 * to them, so two owners never accept two different keys for one handle in the same view.
 */

import { verifyHandleClaim } from '../../../protocol/handle.js'
import { StoreRequest, StoreResponse } from '../../../protocol/pb/store.js'
import type { StoreHandler } from '../context.js'
import { Rejection } from './rejection.js'

const sameKey = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

export const handleClaim: StoreHandler = async (req, _from, ctx) => {
  const claim = verifyHandleClaim(req.claim)
  const existing = await ctx.handles.get(claim.handle)
  if (existing != null) {
    if (!sameKey(existing.publicKey, claim.publicKey)) return { status: StoreResponse.Status.CONFLICT, claim: existing }
    return { status: StoreResponse.Status.OK, claim: existing }
  }
  if (!req.coordinate) {
    await ctx.handles.put(claim)
    return { status: StoreResponse.Status.OK, claim }
  }
  const others = ctx.placement.ownersOfHandle(claim.handle).filter((p) => p !== ctx.selfId)
  const answers = await Promise.allSettled(others.map(async (p) => ctx.call(p, { kind: StoreRequest.Kind.RESOLVE, handle: claim.handle })))
  for (const a of answers) {
    if (a.status === 'fulfilled' && a.value.claim != null && !sameKey(a.value.claim.publicKey, claim.publicKey)) {
      const held = verifyHandleClaim(a.value.claim)
      await ctx.handles.put(held)
      return { status: StoreResponse.Status.CONFLICT, claim: held }
    }
  }
  await ctx.handles.put(claim)
  const copies = await Promise.allSettled(others.map(async (p) => ctx.call(p, { kind: StoreRequest.Kind.CLAIM, claim, coordinate: false })))
  let acks = 1
  for (const c of copies) {
    if (c.status === 'fulfilled' && c.value.status === StoreResponse.Status.OK) acks++
    if (c.status === 'fulfilled' && c.value.status === StoreResponse.Status.CONFLICT) return { status: StoreResponse.Status.CONFLICT, claim: c.value.claim }
  }
  if (acks < Math.min(ctx.writeQuorum, others.length + 1)) throw new Rejection('quorum', `claim stored on ${acks} owners, fewer than the write quorum`)
  return { status: StoreResponse.Status.OK, claim }
}

export const handleResolve: StoreHandler = async (req, _from, ctx) => {
  const claim = await ctx.handles.get(req.handle)
  return claim == null ? { status: StoreResponse.Status.NOT_FOUND } : { status: StoreResponse.Status.OK, claim }
}
