/**
 * Room addresses as a session uses them (the claims are protocol/handle.ts's, the directory
 * directory.ts's): claiming one for a room it is about to create, resolving one to its room, and checking
 * the address a room's CREATE names (its creator's word) against the address's claim.
 */

import { logger } from '@libp2p/logger'
import { checkRoomAddress, signRoomAddressClaim } from '../../protocol/handle.js'
import { newRoomNonce } from '../../protocol/room.js'
import { RoomAddressTakenError } from '../replication/errors.js'
import type { HandleDirectory, RoomAddress } from './directory.js'
import type { Logs, Signer } from './ports.js'
import { loadRoomState } from './room-state-log.js'
import { requireString } from './arguments.js'

const log = logger('chorus:session:rooms')

/** The room directory operations a session uses. */
export type RoomDirectory = Pick<HandleDirectory, 'claimRoom' | 'resolveRoom'>

/** What the addresses of a session's rooms use: the creator's key and clock, the state log, the directory. */
export interface RoomAddressesComponents {
  signer: Pick<Signer, 'identity' | 'clock'>
  logs: Pick<Logs, 'read'>
  directory: RoomDirectory
}

const sameKey = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

export class RoomAddresses {
  constructor (private readonly c: RoomAddressesComponents) {}

  /**
   * Claim `address` for a room this user is about to create, and give the nonce to create it with: a fresh
   * one, or, when this user's own claim of the address holds and its room was never written, that claim's
   * (so the room is written now). Throws `RoomAddressTakenError` when another room has the address.
   */
  async claim (address: string): Promise<Uint8Array<ArrayBuffer>> {
    checkRoomAddress(address)
    const nonce = newRoomNonce()
    try {
      const claim = signRoomAddressClaim(address, this.c.signer.identity, nonce, this.c.signer.clock.now())
      await this.c.directory.claimRoom(claim)
      return nonce
    } catch (err) {
      if (!(err instanceof RoomAddressTakenError) ||
          !sameKey(err.claim.publicKey, this.c.signer.identity.publicKey) ||
          (await loadRoomState(this.c, err.roomId)).created) throw err
      return new Uint8Array(err.claim.roomNonce)
    }
  }

  /** The room an address names. Throws `UnknownRoomAddressError`. */
  async resolve (address: string): Promise<RoomAddress> {
    requireString('address', address)
    return await this.c.directory.resolveRoom(checkRoomAddress(address))
  }

  /** The address of room `roomId` when `claimed` (its CREATE's word) is confirmed by the address's claim. */
  async addressOf (roomId: string, claimed: string): Promise<string | undefined> {
    if (claimed === '') return undefined
    try {
      return (await this.c.directory.resolveRoom(claimed)).roomId === roomId ? claimed : undefined
    } catch (err: any) {
      log('address %s of room %s does not resolve: %s', claimed, roomId, err.message)
      return undefined
    }
  }
}
