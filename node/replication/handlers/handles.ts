/**
 * CLAIM and RESOLVE of handles. First come, first served, serialised by the handle's primary owner:
 * a claim sent with `coordinate` is checked against every live owner before it is stored and copied
 * to them, so two owners never accept two different keys for one handle in the same view; and it must
 * be fresh by the mesh's clock, so nobody can back-date a claim into first place.
 *
 * A claim sent without `coordinate` (a copy) is stored as it comes only from another owner of the
 * handle. One from another server (a former owner handing over) is checked against the owners first and
 * fills only a handle no owner holds; one from a client is refused. Owners that hold different claims
 * (a partition, a race) settle on the first by `compareClaims`: a copy that comes first replaces the
 * claim held, and repair (repair.ts) carries the first to every owner.
 */

import { logger } from '@libp2p/logger'
import {
  compareClaims, firstClaim, sameClaimant, verifyHandleClaim, type HandleClaim
} from '../../../protocol/handle.js'
import { hlcMillis } from '../../../protocol/hlc.js'
import { StoreRequest, StoreResponse } from '../../../protocol/pb/store.js'
import { DEFAULT_MAX_CLAIM_AGE_MS } from '../constants.js'
import type { ReplicationContext, StoreHandler } from '../context.js'
import { Forbidden, NotNow, Rejection } from './rejection.js'

const log = logger('chorus:replication:handles')

type Answer = Partial<StoreResponse>

/** OK when `held` binds the handle to the asker's key, else CONFLICT naming the claim held. */
function answer (held: HandleClaim, asked: HandleClaim): Answer {
  const status = sameClaimant(held, asked) ? StoreResponse.Status.OK : StoreResponse.Status.CONFLICT
  return { status, claim: held }
}

/** A claim from the future is refused by every owner (ERROR: the claimer tries another owner). */
function notAhead (claim: HandleClaim, ctx: ReplicationContext): void {
  const ahead = hlcMillis(claim.timestamp) - ctx.now()
  if (ahead > ctx.maxDriftMs) throw new NotNow('clock-drift', `handle claim is ${ahead} ms ahead of this clock`)
}

/** What the other owners of a handle hold. */
interface Held { claims: HandleClaim[], all: boolean }

/** The verified claims the other owners hold (those that answered), and whether all of them did. */
async function heldByOthers (handle: string, ctx: ReplicationContext): Promise<Held> {
  const others = ctx.placement.ownersOfHandle(handle).filter((p) => p !== ctx.selfId)
  const req = { kind: StoreRequest.Kind.RESOLVE, handle }
  const answers = await Promise.allSettled(others.map(async (p) => await ctx.call(p, req)))
  const claims: HandleClaim[] = []
  for (const a of answers) {
    if (a.status !== 'fulfilled' || a.value.claim == null) continue
    try {
      const c = verifyHandleClaim(a.value.claim)
      if (c.handle === handle) claims.push(c)
    } catch {
      ctx.reject('bad-handle-claim')
    }
  }
  return { claims, all: answers.every((a) => a.status === 'fulfilled') }
}

/** A claimer's claim: fresh, checked with every live owner, stored and copied to W of them. */
async function coordinate (claim: HandleClaim, ctx: ReplicationContext): Promise<Answer> {
  const existing = await ctx.handles.get(claim.handle)
  if (existing != null) return answer(existing, claim)
  notAhead(claim, ctx)
  const age = ctx.now() - hlcMillis(claim.timestamp)
  if (age > DEFAULT_MAX_CLAIM_AGE_MS) {
    throw new Rejection('stale-claim', `a first claim is signed when it is made, not ${age} ms before`)
  }
  const held = firstClaim((await heldByOthers(claim.handle, ctx)).claims)
  if (held != null) {
    await ctx.handles.put(held)
    return answer(held, claim)
  }
  await ctx.handles.put(claim)
  const others = ctx.placement.ownersOfHandle(claim.handle).filter((p) => p !== ctx.selfId)
  const copy = { kind: StoreRequest.Kind.CLAIM, claim, coordinate: false }
  const copies = await Promise.allSettled(others.map(async (p) => await ctx.call(p, copy)))
  let acks = 1
  for (const c of copies) {
    if (c.status !== 'fulfilled') continue
    if (c.value.status === StoreResponse.Status.OK) acks++
    if (c.value.status === StoreResponse.Status.CONFLICT && c.value.claim != null) {
      // that owner holds a claim that comes first (it would have taken ours otherwise): so do we
      const theirs = verifyHandleClaim(c.value.claim)
      if (theirs.handle === claim.handle && compareClaims(theirs, claim) < 0) {
        await ctx.handles.put(theirs)
        return answer(theirs, claim)
      }
    }
  }
  if (acks < Math.min(ctx.writeQuorum, others.length + 1)) {
    throw new Rejection('quorum', `claim stored on ${acks} owners, fewer than the write quorum`)
  }
  return { status: StoreResponse.Status.OK, claim }
}

/** Another owner's copy: stored when nothing is held here, or when it comes before the claim held. */
async function copyFromOwner (claim: HandleClaim, from: string, ctx: ReplicationContext): Promise<Answer> {
  notAhead(claim, ctx)
  const existing = await ctx.handles.get(claim.handle)
  const keep = existing != null && (sameClaimant(existing, claim) || compareClaims(existing, claim) < 0)
  if (keep) return answer(existing, claim)
  if (existing != null) log('handle %s: %s sent a claim that comes first; it replaces the one held', claim.handle, from)
  await ctx.handles.put(claim)
  return { status: StoreResponse.Status.OK, claim }
}

/**
 * A server that does not own the handle hands a claim over (it owned the handle before the view
 * changed). The owners' word comes first: the claim fills the handle here only when every other owner
 * answered and none holds one.
 */
async function handOver (claim: HandleClaim, ctx: ReplicationContext): Promise<Answer> {
  notAhead(claim, ctx)
  const existing = await ctx.handles.get(claim.handle)
  if (existing != null) return answer(existing, claim)
  const others = await heldByOthers(claim.handle, ctx)
  const held = firstClaim(others.claims)
  if (held == null && !others.all) {
    throw new NotNow('owners-unreachable', `cannot check ${claim.handle} with its owners now`)
  }
  await ctx.handles.put(held ?? claim)
  return answer(held ?? claim, claim)
}

/** CLAIM: a claimer's claim (`coordinate`), or a server's copy of one; the claim held is answered. */
export const handleClaim: StoreHandler = async (req, from, ctx) => {
  const claim = verifyHandleClaim(req.claim)
  if (req.coordinate) return await coordinate(claim, ctx)
  if (from === ctx.selfId) return await copyFromOwner(claim, from, ctx)
  if (!ctx.isServerPeer(from)) {
    throw new Forbidden('not-a-handle-owner', `only the owners of ${claim.handle} copy its claim`)
  }
  if (ctx.placement.ownersOfHandle(claim.handle).includes(from)) return await copyFromOwner(claim, from, ctx)
  return await handOver(claim, ctx)
}

/** RESOLVE: the claim of a handle held here, or NOT_FOUND. Anyone may ask: claims are public. */
export const handleResolve: StoreHandler = async (req, _from, ctx) => {
  const claim = await ctx.handles.get(req.handle)
  return claim == null ? { status: StoreResponse.Status.NOT_FOUND } : { status: StoreResponse.Status.OK, claim }
}
