/**
 * Bounds of secret chats. They are fixed, not tunable: both ends and every stored session must agree on
 * them, so changing one is a protocol change.
 */

/**
 * Most message keys one header may make the receiver skip in one chain (header `n` minus the chain's
 * counter, or `pn` minus it when the chain is closed). Past this the message throws `TooFarAheadError`,
 * and the same number bounds the keys skipped across both chains for one message (`TooManySkippedError`).
 * libsignal allows 25,000 forward jumps; 1,000 is plenty for a chat (a gap that large means the sender's
 * messages were lost, not delayed) and bounds the HMACs a single hostile header can cost to ~1,000.
 */
export const MAX_SKIP = 1000

/**
 * Most skipped message keys a session stores, over all chains; the oldest is evicted first (its message,
 * if it ever comes, then reads as a replay). Twice `MAX_SKIP`, so one message never evicts its own keys.
 * libsignal stores 2,000 too. At 68 bytes each this caps the stored session at ~136 KiB.
 */
export const MAX_SKIPPED_KEYS = 2000

/**
 * Ratchet public keys of closed receiving chains remembered, newest kept. They let a duplicate from an
 * older chain be told apart (`ReplayError`) from a new ratchet step; a duplicate from a chain older than
 * this still fails, as `DecryptError`. Their skipped keys are kept regardless (libsignal keeps 5 chains).
 */
export const MAX_PREVIOUS_CHAINS = 16

/** Largest associated data a session binds (X3DH's is 128 bytes: two Ed25519 and two X25519 keys). */
export const MAX_ASSOCIATED_DATA_BYTES = 256

/** Most one-time prekeys generated in one batch (Signal uploads 100 at a time). */
export const MAX_ONE_TIME_PREKEY_BATCH = 1000

/** SHA-512 iterations per party of a safety number: Signal's NumericFingerprint count. */
export const SAFETY_NUMBER_ITERATIONS = 5200

/** Longest stable identifier (UTF-8 bytes) a safety number takes for a party. */
export const MAX_STABLE_ID_BYTES = 256
