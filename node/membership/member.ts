/**
 * Member records: the decoded, validated form of `pb.Member`, and conversion both ways.
 */

import { peerIdOf } from '../peer-ids.js'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Role } from '../../protocol/constants.js'
import { Member as PbMember } from '../../protocol/pb/membership.js'
import { MalformedFrameError } from '../errors.js'
import { MAX_ADDRS_PER_MEMBER, MAX_PEER_ID_LENGTH } from './constants.js'

/** Liveness of a member as this node believes it. `pending` is heard of but not yet reached directly. */
export type MemberState = 'pending' | 'alive' | 'suspect' | 'dead' | 'left'

/** What a peer says about itself, or what is gossiped about it. */
export interface MemberRecord {
  peerId: string
  role: Role
  capacity: number
  addrs: Multiaddr[]
  incarnation: bigint
  state: 'alive' | 'suspect' | 'dead' | 'left'
  version: string
  /** closed mesh: the admission certificate a server sends in its own record (never gossiped for others) */
  certificate?: Uint8Array<ArrayBuffer>
}

/** A member in the live view, as the node exposes it. */
export interface Member {
  peerId: string
  role: Role
  capacity: number
  addrs: string[]
  state: 'alive' | 'suspect'
  /** ms since epoch of the last direct contact */
  lastSeen: number
  version: string
  /** closed mesh: the ring seed of the server's admission certificate (its positions derive from it) */
  seed?: string
}

const ROLE_TO_PB: Record<Role, PbMember.Role> = {
  server: PbMember.Role.SERVER,
  bootstrap: PbMember.Role.BOOTSTRAP,
  client: PbMember.Role.CLIENT
}
const ROLE_FROM_PB: Record<string, Role> = { SERVER: 'server', BOOTSTRAP: 'bootstrap', CLIENT: 'client' }
const STATE_TO_PB = {
  alive: PbMember.State.ALIVE,
  suspect: PbMember.State.SUSPECT,
  dead: PbMember.State.DEAD,
  left: PbMember.State.LEFT
} as const
const STATE_FROM_PB: Record<string, MemberRecord['state']> = { ALIVE: 'alive', SUSPECT: 'suspect', DEAD: 'dead', LEFT: 'left' }

/** Encode a record for the wire. */
export function toPb (r: MemberRecord): PbMember {
  return {
    peerId: r.peerId,
    role: ROLE_TO_PB[r.role],
    capacity: r.capacity,
    addrs: r.addrs.map((a) => a.bytes),
    incarnation: r.incarnation,
    state: STATE_TO_PB[r.state],
    version: r.version,
    certificate: r.certificate ?? new Uint8Array(0)
  }
}

/** Validate and decode a wire record. Throws `MalformedFrameError` on anything out of bounds. */
export function fromPb (m: PbMember | undefined): MemberRecord {
  if (m == null) throw new MalformedFrameError('member record missing')
  if (m.peerId.length === 0 || m.peerId.length > MAX_PEER_ID_LENGTH) throw new MalformedFrameError('bad peer id length')
  try { peerIdOf(m.peerId) } catch { throw new MalformedFrameError('peer id does not parse') }
  const role = ROLE_FROM_PB[m.role]
  const state = STATE_FROM_PB[m.state]
  if (role == null) throw new MalformedFrameError('unknown role')
  if (state == null) throw new MalformedFrameError('unknown state')
  if (m.addrs.length > MAX_ADDRS_PER_MEMBER) throw new MalformedFrameError('too many addresses')
  if (m.version.length > 64) throw new MalformedFrameError('version too long')
  const addrs = m.addrs.map((bytes) => {
    try { return multiaddr(bytes) } catch { throw new MalformedFrameError('address does not parse') }
  })
  const record: MemberRecord = {
    peerId: m.peerId,
    role,
    capacity: Math.max(1, Math.min(m.capacity, 1000)),
    addrs,
    incarnation: m.incarnation,
    state,
    version: m.version
  }
  if (m.certificate.byteLength > 0) record.certificate = m.certificate
  return record
}
