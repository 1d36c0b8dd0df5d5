/**
 * CLAIM and RESOLVE of handles. First come, first served, serialised by the handle's primary owner:
 * a claim sent with `coordinate` is checked against every live owner before it is stored and copied
 * to them, so two owners never accept two different keys for one handle in the same view; and it must
 * be fresh by the mesh's clock, so nobody can back-date a claim into first place.
 *
 * A claim sent without `coordinate` (a copy) comes only from a server: another owner of the handle, or a
 * former owner handing over; one from a client is refused. Whoever sends it, the owners' word decides
 * what is stored: a claim that a majority of the handle's owners hold replaces another, a handle held
 * by no owner here is filled only with the one claim the other owners hold, and a claim no owner holds is
 * a first claim, fresh or refused. One owner, or a minority, cannot replace what the others hold, however
 * early it signs its claim: when the owners are split with no majority the handle is contested, and stays
 * so (counted, and refused to readers) rather than go to whoever signed the earliest timestamp.
 */

import { logger } from '@libp2p/logger'
import {
  ROOM_ADDRESS_PREFIX, agreedClaim, claimantOf, firstClaim, sameClaimant, verifyHandleClaim, type HandleClaim
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

/** A claim that no owner holds yet must be signed now: not ahead of the mesh's clock, nor long before it. */
function fresh (claim: HandleClaim, ctx: ReplicationContext): void {
  notAhead(claim, ctx)
  const age = ctx.now() - hlcMillis(claim.timestamp)
  if (age > DEFAULT_MAX_CLAIM_AGE_MS) {
    throw new Rejection('stale-claim', `a first claim is signed when it is made, not ${age} ms before`)
  }
}

/** The number of owners a handle has in this node's view. */
const ownerCount = (handle: string, ctx: ReplicationContext): number => ctx.placement.ownersOfHandle(handle).length

/** A claimer's claim: checked with every live owner, stored and copied to W of them. */
async function coordinate (claim: HandleClaim, ctx: ReplicationContext): Promise<Answer> {
  const existing = await ctx.handles.get(claim.handle)
  if (existing != null) return answer(existing, claim)
  const others = await heldByOthers(claim.handle, ctx)
  const agreed = agreedClaim(others.claims, ownerCount(claim.handle, ctx))
  const own = others.claims.filter((c) => sameClaimant(c, claim))
  if (agreed != null && !sameClaimant(agreed, claim)) {
    await ctx.handles.put(agreed)
    return answer(agreed, claim)
  }
  if (agreed == null && own.length === 0) {
    const rival = firstClaim(others.claims)
    // held by another claimant at a minority of the owners: taken, or contested; nothing is stored here
    if (rival != null) return answer(rival, claim)
    fresh(claim, ctx)
  }
  // the claimer's own (a claim of the same key held by owners that answered keeps its first timestamp)
  const mine = firstClaim([claim, ...own]) as HandleClaim
  await ctx.handles.put(mine)
  const others2 = ctx.placement.ownersOfHandle(claim.handle).filter((p) => p !== ctx.selfId)
  const copy = { kind: StoreRequest.Kind.CLAIM, claim: mine, coordinate: false }
  const copies = await Promise.allSettled(others2.map(async (p) => await ctx.call(p, copy)))
  let acks = 1
  for (const c of copies) if (c.status === 'fulfilled' && c.value.status === StoreResponse.Status.OK) acks++
  if (acks < Math.min(ctx.writeQuorum, others2.length + 1)) {
    throw new Rejection('quorum', `claim stored on ${acks} owners, fewer than the write quorum`)
  }
  return { status: StoreResponse.Status.OK, claim: mine }
}

/**
 * What a handle held by no claim here is filled with: the claim a majority of its owners hold, else the one
 * claimant the other owners hold, if they hold one; undefined when none of them holds a claim. Throws
 * NotNow (`contested-claim`) when they hold different claims and none has a majority.
 */
function settleBlank (
  handle: string,
  others: Held,
  agreed: HandleClaim | undefined,
  from: string,
  ctx: ReplicationContext
): HandleClaim | undefined {
  if (agreed != null) return agreed
  const claimants = new Set(others.claims.map(claimantOf))
  if (claimants.size === 1) return firstClaim(others.claims)
  if (claimants.size === 0) return undefined
  log('handle %s: its owners hold different claims and none has a majority; %s sent one', handle, from)
  throw new NotNow('contested-claim', `the owners of ${handle} disagree; nothing is stored until a majority agrees`)
}

/**
 * Another owner's copy. Held here already: kept, unless a majority of the owners hold another claim (then
 * that one). Nothing held here: the claim the others agree on (a majority, or the only claimant any of
 * them holds), or, when none holds one, the copy as a first claim (fresh).
 */
async function copyFromOwner (claim: HandleClaim, from: string, ctx: ReplicationContext): Promise<Answer> {
  notAhead(claim, ctx)
  const existing = await ctx.handles.get(claim.handle)
  if (existing != null && sameClaimant(existing, claim)) return answer(existing, claim)
  const others = await heldByOthers(claim.handle, ctx)
  const agreed = agreedClaim([existing, ...others.claims], ownerCount(claim.handle, ctx))
  if (existing != null) {
    if (agreed == null || sameClaimant(agreed, existing)) return answer(existing, claim)
    log('handle %s: the owners agree on another claim than the one held here; it replaces it', claim.handle)
    await ctx.handles.put(agreed)
    return answer(agreed, claim)
  }
  const settled = settleBlank(claim.handle, others, agreed, from, ctx)
  if (settled != null) {
    await ctx.handles.put(settled)
    return answer(settled, claim)
  }
  fresh(claim, ctx)
  await ctx.handles.put(claim)
  return { status: StoreResponse.Status.OK, claim }
}

/**
 * A server that does not own the handle hands a claim over (it owned the handle before the view
 * changed). The owners' word comes first: the claim fills the handle here only when every other owner
 * answered and none holds one.
 */
async function handOver (claim: HandleClaim, from: string, ctx: ReplicationContext): Promise<Answer> {
  notAhead(claim, ctx)
  const existing = await ctx.handles.get(claim.handle)
  if (existing != null) return answer(existing, claim)
  const others = await heldByOthers(claim.handle, ctx)
  const settled = settleBlank(claim.handle, others, agreedClaim(others.claims, ownerCount(claim.handle, ctx)), from,
    ctx)
  if (settled != null) {
    await ctx.handles.put(settled)
    return answer(settled, claim)
  }
  if (!others.all) throw new NotNow('owners-unreachable', `cannot check ${claim.handle} with its owners now`)
  await ctx.handles.put(claim)
  return answer(claim, claim)
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
  return await handOver(claim, from, ctx)
}

/** RESOLVE: the claim of a handle held here, or NOT_FOUND. Anyone may ask: claims are public. */
export const handleResolve: StoreHandler = async (req, _from, ctx) => {
  const claim = await ctx.handles.get(req.handle)
  return claim == null ? { status: StoreResponse.Status.NOT_FOUND } : { status: StoreResponse.Status.OK, claim }
}

/** Room address claims answered by one ADDRESSES request at most. */
export const MAX_ADDRESSES_PAGE = 256

/**
 * ADDRESSES: the room address claims held here, in address order, after `handle` (a claim key, `#…`, or
 * empty for the first page), at most `limit` (≤ MAX_ADDRESSES_PAGE). Anyone may ask: it is the room
 * directory, and claims are public.
 */
export const handleAddresses: StoreHandler = async (req, _from, ctx) => {
  if (req.handle !== '' && !req.handle.startsWith(ROOM_ADDRESS_PREFIX)) throw new Rejection('malformed', 'ADDRESSES pages by a room address key (#…)')
  const limit = Math.min(MAX_ADDRESSES_PAGE, Math.max(1, req.limit))
  const after = req.handle === '' ? ROOM_ADDRESS_PREFIX : req.handle
  const below = String.fromCharCode(ROOM_ADDRESS_PREFIX.charCodeAt(0) + 1)
  return { status: StoreResponse.Status.OK, claims: await ctx.handles.range(after, below, limit) }
}
