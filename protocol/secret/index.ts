/**
 * Secret chats: end-to-end encryption between two devices with Signal's X3DH and Double Ratchet, on
 * node:crypto's X25519, HKDF/HMAC-SHA-256, ChaCha20-Poly1305 and Ed25519. Pure: no I/O. The node keeps
 * prekeys and `RatchetSession.serialize()` output in its store, and carries headers and ciphertexts in
 * envelopes.
 *
 * A session's life:
 * 1. Bob publishes `encodeBundle(prekeyBundle(...))`.
 * 2. Alice `initiate`s against it, then calls
 *    `RatchetSession.initAlice(sharedKey, bundle.signedPrekey.publicKey, associatedData)`. She sends
 *    `encodeInitialHeader(header)` with each message until `session.hasReceived`.
 * 3. Bob `respond`s once per initial header (keyed by sender and ephemeral key: later messages carry the
 *    same header, and their one-time prekey is gone by then), deletes the one-time prekey, and calls
 *    `RatchetSession.initBob(sharedKey, signedPrekey.keyPair, associatedData)`.
 *
 * A sender should store its session (`serialize`) before it lets a ciphertext out.
 */

export * from './constants.js'
export * from './errors.js'
export {
  MAX_BUNDLE_BYTES, MAX_INITIAL_HEADER_BYTES, decodeBundle, decodeInitialHeader, encodeBundle,
  encodeInitialHeader
} from './bundle.js'
export { HEADER_BYTES, decodeHeader, encodeHeader, type RatchetHeader } from './header.js'
export {
  AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, aeadOpen, aeadSeal, hkdf, hmacSha256, x25519, x25519Generate,
  x25519PublicKey, type X25519KeyPair
} from './primitives.js'
export { RatchetSession, type OpenedMessage, type SecretMessage } from './ratchet.js'
export { MAX_STATE_BYTES } from './ratchet-state.js'
export { fingerprint, safetyNumber, type SafetyNumber, type SafetyParty } from './safety.js'
export {
  checkBundleAge, createSecretIdentity, generateOneTimePrekeys, generateSignedPrekey, initiate, prekeyBundle, respond,
  verifyBundle,
  type InitialHeader, type OneTimePrekey, type PrekeyBundle, type SecretIdentity, type SignedPrekey,
  type X3dhInitiation, type X3dhResult
} from './x3dh.js'
