/**
 * The room directory's list (`rooms.directoryList()`, and disco#items of the MUC service): the listed rooms
 * that have an address, in address order, as their state logs say. Gathering it asks every server for the
 * address claims it holds (`HandleDirectory.listRooms`, up to MAX_LISTED_ADDRESSES) and reads each room's
 * state, so the node keeps one list for every session (`RoomList`, built by chorus-node.ts) for
 * DIRECTORY_TTL_MS, and reads DIRECTORY_READS states at a time.
 *
 * A listed room's state log is readable by anyone (the owners' rule, replication/room-guard.ts), so the
 * list one session gathers is the one any other would: the session that asks first reads for all.
 */

import type { RoomState } from '../../protocol/room.js'
import type { HandleDirectory } from './directory.js'

/** A room of the directory: a listed room with an address. */
export interface ListedRoom {
  id: string
  address: string
  name: string
  description: string
  public: boolean
  members: number
}

/** The directory's list, kept this long (it asks every server). @default 30000 */
export const DIRECTORY_TTL_MS = 30_000

/** Room states the directory reads at once at most. @default 8 */
export const DIRECTORY_READS = 8

/** How the session that asks reads a room's state (`Rooms.peek`). */
export type PeekRoom = (roomId: string) => Promise<RoomState>

/** The node's room directory list, shared by its sessions. */
export class RoomList {
  private listing?: { at: number, rooms: Promise<ListedRoom[]> }

  constructor (private readonly directory: Pick<HandleDirectory, 'listRooms'>) {}

  /**
   * The listed rooms, gathered at most once per DIRECTORY_TTL_MS (a gather that fails is not kept); `peek`
   * reads a room's state for the session that asks, and is used only when the list is gathered.
   */
  async list (peek: PeekRoom): Promise<ListedRoom[]> {
    const now = Date.now()
    if (this.listing == null || now - this.listing.at > DIRECTORY_TTL_MS) {
      const rooms = this.gather(peek)
      const listing = { at: now, rooms }
      this.listing = listing
      rooms.catch(() => { if (this.listing === listing) this.listing = undefined })
    }
    return await this.listing.rooms
  }

  private async gather (peek: PeekRoom): Promise<ListedRoom[]> {
    const addresses = await this.directory.listRooms()
    const out: ListedRoom[] = []
    let next = 0
    const reader = async (): Promise<void> => {
      while (next < addresses.length) {
        const { address, roomId } = addresses[next++]
        const state = await peek(roomId).catch(() => undefined)
        if (state == null || !state.created || !state.listed || state.address !== address) continue
        out.push({
          id: roomId,
          address,
          name: state.name,
          description: state.settings.description,
          public: state.public,
          members: state.members().length
        })
      }
    }
    await Promise.all(Array.from({ length: Math.min(DIRECTORY_READS, addresses.length) }, reader))
    return out.sort((a, b) => (a.address < b.address ? -1 : 1))
  }
}
