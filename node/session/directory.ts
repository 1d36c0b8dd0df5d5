/**
 * The handle directory: claim a handle at its owners, resolve a handle to its user. Resolutions are
 * verified (the claim's signature) and cached for a while; a handle's key never changes once claimed.
 */

import { checkHandle, verifyHandleClaim, type HandleClaim } from '../../protocol/handle.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { userIdOf } from '../../protocol/envelope.js'
import type { Replication } from '../replication/replication.js'
import { HandleTakenError, NoServersError, QuorumError, UnknownHandleError } from '../replication/errors.js'

/** A resolved handle. */
export interface UserRef { handle: string, userId: string, publicKey: Uint8Array }

/** Cached resolutions at most; the oldest is evicted first. */
const CACHE_MAX = 10_000

export class HandleDirectory {
  private readonly cache = new Map<string, UserRef>()

  constructor (private readonly replication: Replication) {}

  /** Claim `claim.handle` for its key. Resolves when the primary owner stored it on W owners; throws `HandleTakenError`. */
  async claim (claim: HandleClaim): Promise<void> {
    const owners = this.replication.placement.ownersOfHandle(claim.handle)
    if (owners.length === 0) throw new NoServersError()
    let lastError: Error | undefined
    for (const owner of owners) {
      try {
        const res = await this.replication.call(owner, { kind: StoreRequest.Kind.CLAIM, claim, coordinate: true })
        if (res.status === StoreResponse.Status.CONFLICT) throw new HandleTakenError(claim.handle)
        this.remember(claim)
        return
      } catch (err: any) {
        if (err instanceof HandleTakenError) throw err
        lastError = err
      }
    }
    throw new QuorumError(`no owner of handle ${claim.handle} accepted the claim: ${lastError?.message ?? 'unreachable'}`)
  }

  /** Resolve a handle to its user. Throws `UnknownHandleError` when no owner holds a claim. */
  async resolve (handle: string): Promise<UserRef> {
    checkHandle(handle)
    const hit = this.cache.get(handle)
    if (hit != null) return hit
    const owners = this.replication.placement.ownersOfHandle(handle)
    if (owners.length === 0) throw new NoServersError()
    const answers = await Promise.allSettled(owners.map(async (o) => this.replication.call(o, { kind: StoreRequest.Kind.RESOLVE, handle })))
    const claims: HandleClaim[] = []
    let answered = 0
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue
      answered++
      if (a.value.claim != null) {
        try { claims.push(verifyHandleClaim(a.value.claim)) } catch {}
      }
    }
    if (answered === 0) throw new QuorumError(`no owner of handle ${handle} answered`)
    if (claims.length === 0) throw new UnknownHandleError(handle)
    // owners agree except in a split claim; then the claim most owners hold wins, and a tie names nobody
    // (one owner that holds a claim of its own, beside one honest owner and one that holds none yet, must
    // not get the user's messages half of the time)
    const votes = new Map<string, { claim: HandleClaim, n: number }>()
    for (const c of claims) {
      const k = Buffer.from(c.publicKey).toString('hex')
      const v = votes.get(k) ?? { claim: c, n: 0 }
      v.n++
      votes.set(k, v)
    }
    const [best, next] = [...votes.values()].sort((a, b) => b.n - a.n)
    if (next != null && next.n === best.n) throw new QuorumError(`the owners of handle ${handle} disagree on its key`)
    return this.remember(best.claim)
  }

  private remember (claim: HandleClaim): UserRef {
    const ref = { handle: claim.handle, userId: userIdOf(claim.publicKey), publicKey: claim.publicKey }
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string)
    this.cache.set(claim.handle, ref)
    return ref
  }
}
