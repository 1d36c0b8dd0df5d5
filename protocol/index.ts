/** The wire and the math of Chorus, with no I/O. `node/` builds on this; this never imports `node/`. */
export * from './constants.js'
export * from './errors.js'
export { Member as PbMember, MembershipMessage } from './pb/membership.js'
export { StoreRequest, StoreResponse, HandleClaim } from './pb/store.js'
export {
  Envelope, MAX_BODY_BYTES, MAX_ENVELOPE_BYTES, SenderKeyCache, envelopeIdHex, generateIdentity, openEnvelope,
  signEnvelope, userIdOf, verifyEnvelope, type EnvelopeDraft, type IdentityKey
} from './envelope.js'
export {
  HANDLE_PATTERN, InvalidHandleError, InvalidRoomAddressError, checkHandle, checkRoomAddress, isRoomAddress,
  roomOfClaim, signHandleClaim, signRoomAddressClaim, verifyHandleClaim
} from './handle.js'
export { ClockDriftError, HybridClock, hlcMillis, hlcPack } from './hlc.js'
export { CURSOR_BYTES, cursorAt, cursorOf, cursorTimestamp, type Cursor } from './mailbox.js'
export { DEFAULT_VNODES, Ring, keyPoint, owners, type KeyKind, type RingMember } from './ring.js'
export * as secret from './secret/index.js'
