/** The wire and the math of Chorus, with no I/O. `node/` builds on this; this never imports `node/`. */
export * from './constants.js'
export { Member as PbMember, MembershipMessage } from './pb/membership.js'
