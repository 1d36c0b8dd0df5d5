/**
 * The handle directory: claim a handle at its owners, resolve a handle to its user; and the same for room
 * addresses (claimed as `#<address>`, protocol/handle.ts), with the list of rooms that have one.
 * Resolutions are verified (the claim's signature) and cached for a while; a handle's key, and a room
 * address's room, never change once claimed.
 */

import {
  ROOM_ADDRESS_PREFIX, agreedClaim, checkHandle, checkRoomAddress, claimVotes, isRoomAddressClaim, majorityOf,
  roomOfClaim, verifyHandleClaim, type HandleClaim
} from '../../protocol/handle.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { userIdOf } from '../../protocol/envelope.js'
import type { Replication } from '../replication/replication.js'
import {
  HandleTakenError, NoServersError, QuorumError, RoomAddressTakenError, UnknownHandleError, UnknownRoomAddressError
} from '../replication/errors.js'
import { MAX_ADDRESSES_PAGE } from '../replication/handlers/handles.js'

/** A resolved handle. */
export interface UserRef { handle: string, userId: string, publicKey: Uint8Array }

/** A room address and the room it names. */
export interface RoomAddress { address: string, roomId: string }

/** Cached resolutions at most; the oldest is evicted first. */
const CACHE_MAX = 10_000

/** Room addresses `listRooms` gathers at most (the directory a Jabber client is shown). */
export const MAX_LISTED_ADDRESSES = 1000

export class HandleDirectory {
  private readonly cache = new Map<string, UserRef>()
  private readonly rooms = new Map<string, string>()

  constructor (private readonly replication: Replication) {}

  /**
   * Claim `claim.handle` for its key. Resolves when the primary owner stored it on W owners; throws `HandleTakenError`.
   */
  async claim (claim: HandleClaim): Promise<void> {
    await this.claimAt(claim)
    this.remember(claim)
  }

  /**
   * Claim a room address (a claim made by `signRoomAddressClaim`). Throws `RoomAddressTakenError` when the
   * address is another room's.
   */
  async claimRoom (claim: HandleClaim): Promise<RoomAddress> {
    const address = claim.handle.slice(ROOM_ADDRESS_PREFIX.length)
    try {
      await this.claimAt(claim)
    } catch (err) {
      if (!(err instanceof HandleTakenError)) throw err
      const held = await this.resolveClaim(claim.handle)
      if (held == null) throw new QuorumError(`the owners of room address ${address} refused it but hold no claim of it`)
      this.rememberRoom(held)
      throw new RoomAddressTakenError(address, held)
    }
    return this.rememberRoom(claim)
  }

  private async claimAt (claim: HandleClaim): Promise<void> {
    const owners = this.replication.placement.ownersOfHandle(claim.handle)
    if (owners.length === 0) throw new NoServersError()
    let lastError: Error | undefined
    for (const owner of owners) {
      try {
        const res = await this.replication.call(owner, { kind: StoreRequest.Kind.CLAIM, claim, coordinate: true })
        if (res.status === StoreResponse.Status.CONFLICT) throw new HandleTakenError(claim.handle)
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
    const claim = await this.resolveClaim(handle)
    if (claim == null) throw new UnknownHandleError(handle)
    return this.remember(claim)
  }

  /** Resolve a room address to its room. Throws `UnknownRoomAddressError` when no owner holds a claim. */
  async resolveRoom (address: string): Promise<RoomAddress> {
    checkRoomAddress(address)
    const hit = this.rooms.get(address)
    if (hit != null) return { address, roomId: hit }
    const claim = await this.resolveClaim(ROOM_ADDRESS_PREFIX + address)
    if (claim == null) throw new UnknownRoomAddressError(address)
    return this.rememberRoom(claim)
  }

  /**
   * The rooms that have an address, in address order (at most MAX_LISTED_ADDRESSES): every server is asked
   * for the address claims it holds, and an address counts when a majority of its owners hold one claim
   * of it. Which of them are listed is the rooms' own setting (their state), for the caller to read.
   */
  async listRooms (): Promise<RoomAddress[]> {
    const servers = this.replication.placement.servers()
    if (servers.length === 0) throw new NoServersError()
    const held = new Map<string, Map<string, HandleClaim>>()
    await Promise.all(servers.map(async (server) => {
      let after = ''
      for (let n = 0; n < MAX_LISTED_ADDRESSES;) {
        const req = { kind: StoreRequest.Kind.ADDRESSES, handle: after, limit: MAX_ADDRESSES_PAGE }
        const res = await this.replication.call(server, req).catch(() => undefined)
        if (res == null || res.status !== StoreResponse.Status.OK) return
        for (const c of res.claims) {
          if (c.handle <= after) continue
          after = c.handle
          try { verifyHandleClaim(c) } catch { continue }
          if (!isRoomAddressClaim(c)) continue
          const at = held.get(c.handle) ?? new Map<string, HandleClaim>()
          at.set(server, c)
          held.set(c.handle, at)
        }
        n += res.claims.length
        if (res.claims.length < MAX_ADDRESSES_PAGE) return
      }
    }))
    const out: RoomAddress[] = []
    for (const key of [...held.keys()].sort()) {
      if (out.length >= MAX_LISTED_ADDRESSES) break
      const owners = this.replication.placement.ownersOfHandle(key)
      const agreed = agreedClaim(owners.map((o) => held.get(key)?.get(o)), owners.length)
      if (agreed != null) out.push(this.rememberRoom(agreed))
    }
    return out
  }

  /**
   * The claim of `key` most of its owners that answered hold (of a room address: a majority of all its
   * owners); undefined when none holds one. Throws `QuorumError` when no owner answers, when the owners are
   * split evenly, or when fewer than a majority hold a room address's claim.
   */
  private async resolveClaim (key: string): Promise<HandleClaim | undefined> {
    const handle = key
    const owners = this.replication.placement.ownersOfHandle(handle)
    if (owners.length === 0) throw new NoServersError()
    const answers = await Promise.allSettled(
      owners.map(async (o) => this.replication.call(o, { kind: StoreRequest.Kind.RESOLVE, handle }))
    )
    const claims: HandleClaim[] = []
    let answered = 0
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue
      answered++
      if (a.value.claim != null) {
        try {
          const c = verifyHandleClaim(a.value.claim)
          if (c.handle === handle) claims.push(c)
        } catch {}
      }
    }
    if (answered === 0) throw new QuorumError(`no owner of handle ${handle} answered`)
    if (claims.length === 0) return undefined
    // owners agree except in a split claim; then the claim most owners hold wins, and a tie names nobody
    // (one owner that holds a claim of its own, beside one honest owner and one that holds none yet, must
    // not get the user's messages half of the time)
    const [best, next] = claimVotes(claims)
    if (next != null && next.n === best.n) throw new QuorumError(`the owners of handle ${handle} disagree on its key`)
    // a room address counts only when a majority of all its owners hold it (`agreedClaim`'s rule): else one
    // owner holding a claim of its own would steer a Jabber user joining a free address into its room
    // instead of creating one; a handle's claim counts when it leads, so one owner's, the others holding none
    if (isRoomAddressClaim(best.claim) && best.n < majorityOf(owners.length)) {
      throw new QuorumError(`the address ${handle.slice(1)} is held by ${best.n} of its ${owners.length} owners, no majority`)
    }
    return best.claim
  }

  private rememberRoom (claim: HandleClaim): RoomAddress {
    const address = claim.handle.slice(ROOM_ADDRESS_PREFIX.length)
    const roomId = roomOfClaim(claim)
    if (this.rooms.size >= CACHE_MAX) this.rooms.delete(this.rooms.keys().next().value as string)
    this.rooms.set(address, roomId)
    return { address, roomId }
  }

  private remember (claim: HandleClaim): UserRef {
    const ref = { handle: claim.handle, userId: userIdOf(claim.publicKey), publicKey: claim.publicKey }
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string)
    this.cache.set(claim.handle, ref)
    return ref
  }
}
