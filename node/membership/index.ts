/** Membership: the live view of the mesh's peers. */
export { Membership, type MembershipInit, type MembershipComponents, type MembershipEvents, type MembershipStats, type PeerMemory } from './membership.js'
export { MemberTable, type MemberEntry, type MemberTableInit } from './member-table.js'
export type { Member, MemberRecord, MemberState } from './member.js'
export * from './constants.js'
