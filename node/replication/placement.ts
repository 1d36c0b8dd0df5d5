/**
 * Placement: which servers own a mailbox or a handle under the current membership view. Keeps one
 * `Ring` per view and rebuilds it (cheaply, from cached positions) when the view changes.
 */

import { parseMailbox, roomMailbox } from '../../protocol/mailbox.js'
import { boundedMemo } from '../../protocol/bounded-memo.js'
import { Ring, keyPoint, positionSource, type KeyKind, type RingMember } from '../../protocol/ring.js'
import { parseTopic } from '../../protocol/topics.js'
import type { Member } from '../membership/index.js'

/** What placement reads: the live server peers and this node. */
export interface PlacementComponents {
  /** this node as a ring member, while it is a server admitted to own data (undefined otherwise) */
  self: () => RingMember | undefined
  /** the live servers admitted to own data, with their capacity and ring seed */
  liveServers: () => Member[]
  /** changes whenever the view changes */
  viewVersion: () => number
}

/** The ring key of a mailbox: its user or room; a sub-log (`.roster`, `.state`, ...) lives with its parent. */
export function mailboxKey (mailbox: string): { kind: KeyKind, id: string } {
  const name = parseMailbox(mailbox)
  if (name != null) return { kind: name.kind, id: name.id }
  return mailbox.startsWith('room.') ? { kind: 'room', id: mailbox.slice(5) } : { kind: 'user', id: mailbox }
}

/**
 * Owner lists kept per ring: a mailbox's owners are asked on every put, probe and session tick, and each
 * answer hashed its key again. A new ring starts an empty table; past this size, the oldest list made goes.
 */
export const MAX_CACHED_OWNERS = 65_536

export class Placement {
  private ring?: Ring
  private viewKey = ''
  private version = -1
  private readonly positions = new Map<string, Float64Array>()
  /** a key's N owners on the current ring, kept (the same array each time: it is read-only) */
  private owners?: (key: { kind: KeyKind, id: string }) => readonly string[]

  constructor (private readonly components: PlacementComponents, readonly replicas: number) {}

  /** The N owners of a mailbox, primary first. */
  ownersOf (mailbox: string): readonly string[] {
    return this.cachedOwners(mailboxKey(mailbox))
  }

  /** The N owners of a handle claim. */
  ownersOfHandle (handle: string): readonly string[] {
    return this.cachedOwners({ kind: 'handle', id: handle })
  }

  /**
   * The N servers that relay a gossipsub topic: an inbox shard's own point on the ring; a room's topic
   * is relayed by the room's owners, who judge its traffic by the state log on their disk.
   */
  ownersOfTopic (topic: string): string[] {
    const where = parseTopic(topic)
    if (where?.kind === 'room') return [...this.ownersOf(roomMailbox(where.roomId))]
    return this.current().owners(keyPoint('topic', topic), this.replicas)
  }

  /** The first `n` servers after a mailbox's point: its owners, then the stand-ins for sloppy quorum. */
  successorsOf (mailbox: string, n: number): string[] {
    const { kind, id } = mailboxKey(mailbox)
    return this.current().owners(keyPoint(kind, id), n)
  }

  /** The live servers on the ring (this node too, when it is one). */
  servers (): string[] {
    return this.current().members()
  }

  /** Live servers on the ring. */
  serverCount (): number {
    return this.current().size
  }

  private cachedOwners (key: { kind: KeyKind, id: string }): readonly string[] {
    const ring = this.current()
    this.owners ??= boundedMemo(MAX_CACHED_OWNERS, (k: { kind: KeyKind, id: string }) => `${k.kind}/${k.id}`,
      (k) => Object.freeze(ring.owners(keyPoint(k.kind, k.id), this.replicas)))
    return this.owners(key)
  }

  private current (): Ring {
    const version = this.components.viewVersion()
    if (this.ring != null && version === this.version) return this.ring
    this.version = version
    const members: RingMember[] = this.components.liveServers().map(
      (m) => ({ peerId: m.peerId, capacity: m.capacity, seed: m.seed })
    )
    const self = this.components.self()
    if (self != null) members.push(self)
    members.sort((a, b) => (a.peerId < b.peerId ? -1 : 1))
    const key = members.map((m) => `${m.peerId}*${m.capacity ?? 1}*${m.seed ?? ''}`).join(',')
    if (this.ring == null || key !== this.viewKey) {
      this.ring = new Ring(members, undefined, this.positions)
      this.viewKey = key
      this.owners = undefined
      // forget positions of servers long gone: the cache stays the size of the view
      if (this.positions.size > members.length * 2 + 16) {
        const live = new Set(members.map(positionSource))
        for (const k of this.positions.keys()) if (!live.has(k.slice(0, k.lastIndexOf('/')))) this.positions.delete(k)
      }
    }
    return this.ring
  }
}
