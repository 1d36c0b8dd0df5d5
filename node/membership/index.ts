/** Membership: the live view of the mesh's peers. */
export {
  Membership, type MembershipInit, type MembershipComponents, type MembershipEvents, type MembershipStats,
  type PeerMemory
} from './membership.js'
export { MemberTable, type MemberEntry, type MemberTableInit, type LeaveReason } from './member-table.js'
export { Admission, MeshMismatchError, type AdmissionInit, type AdmissionComponents, type RevocationStore } from './admission.js'
export type { Member, MemberRecord, MemberState } from './member.js'
export * from './constants.js'
