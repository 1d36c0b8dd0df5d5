/**
 * Typed errors of the replication layer, as the asking side sees them. An owner's refusal arrives as a
 * status and `reason: message`; status.ts turns it into one of these, keeping the wire `reason`.
 */
import { roomOfClaim, type HandleClaim } from '../../protocol/handle.js'
import { ChorusError } from '../errors.js'

/**
 * Fewer than W owners (or stand-ins) acknowledged a write in time, or no owner answered a read. `errors`
 * holds what the owners said, where the caller kept it: a refusal among them keeps its `reason`.
 */
export class QuorumError extends ChorusError {
  static readonly code = 'ERR_QUORUM'
  override readonly name = 'QuorumError'
  constructor (message: string, readonly errors: readonly unknown[] = []) { super(message, QuorumError.code) }
}

/** A remote node answered with an error status (ERROR, REJECTED; CONFLICT or NOT_FOUND where it expected OK). */
export class RemoteError extends ChorusError {
  static readonly code = 'ERR_REMOTE'
  override readonly name = 'RemoteError'
  /** @param reason the `reason` of the answer's `reason: message` text, when it names one */
  constructor (message: string, readonly status: string, reason?: string) {
    super(message, RemoteError.code, { reason })
  }
}

/** The handle is claimed by another key. */
export class HandleTakenError extends ChorusError {
  static readonly code = 'ERR_HANDLE_TAKEN'
  override readonly name = 'HandleTakenError'
  constructor (handle: string) { super(`handle ${handle} is taken by another user`, HandleTakenError.code) }
}

/** No claim of this handle exists at its owners. */
export class UnknownHandleError extends ChorusError {
  static readonly code = 'ERR_UNKNOWN_HANDLE'
  override readonly name = 'UnknownHandleError'
  constructor (handle: string) { super(`no user has the handle ${handle}`, UnknownHandleError.code) }
}

/** No room has this address: no claim of `#<address>` exists at its owners. */
export class UnknownRoomAddressError extends ChorusError {
  static readonly code = 'ERR_UNKNOWN_ROOM_ADDRESS'
  override readonly name = 'UnknownRoomAddressError'
  constructor (address: string) { super(`no room has the address ${address}`, UnknownRoomAddressError.code) }
}

/** The room address is another room's. */
export class RoomAddressTakenError extends ChorusError {
  static readonly code = 'ERR_ROOM_ADDRESS_TAKEN'
  override readonly name = 'RoomAddressTakenError'
  readonly roomId: string
  /** @param claim the claim the address's owners hold */
  constructor (address: string, readonly claim: HandleClaim) {
    super(`the room address ${address} is taken by room ${roomOfClaim(claim)}`, RoomAddressTakenError.code)
    this.roomId = roomOfClaim(claim)
  }
}

/** A direct message to a bare userId whose public key this session has not learnt (from a handle or a message). */
export class UnknownKeyError extends ChorusError {
  static readonly code = 'ERR_UNKNOWN_KEY'
  override readonly name = 'UnknownKeyError'
  constructor (userId: string) { super(`no public key is known for ${userId}: send to its handle, or reply to a message from it`, UnknownKeyError.code) }
}

/** No server is known: the node is not (yet) part of a mesh with servers. */
export class NoServersError extends ChorusError {
  static readonly code = 'ERR_NO_SERVERS'
  override readonly name = 'NoServersError'
  constructor () { super('no live server peers in view: is the node connected to a mesh?', NoServersError.code) }
}

/**
 * The owners refused (FORBIDDEN): the asker may not read or write this log (a room it is not a member of,
 * say); `reason` is theirs (`not-member`, `no-voice`, …) when they named one.
 */
export class ForbiddenError extends ChorusError {
  static readonly code = 'ERR_FORBIDDEN'
  override readonly name = 'ForbiddenError'
  constructor (message: string, reason?: string) { super(message, ForbiddenError.code, { reason }) }
}

/** The owners refused (BUSY): this sender, or this node, sent more than its rate allows; retry later. */
export class RateLimitedError extends ChorusError {
  static readonly code = 'ERR_RATE_LIMITED'
  override readonly name = 'RateLimitedError'
  constructor (message: string, reason?: string) { super(message, RateLimitedError.code, { reason }) }
}
