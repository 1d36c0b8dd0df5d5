/** Membership defaults. Tests shorten the timings; operators rarely need to. */

/** Time between two probe rounds (SWIM's protocol period). @default 1000 */
export const DEFAULT_PROBE_INTERVAL_MS = 1000

/** How long a probe waits for its ack, dial included. @default 1000 */
export const DEFAULT_PROBE_TIMEOUT_MS = 1000

/** How long a peer stays suspect, unrefuted, before it is declared dead and leaves the view. @default 4000 */
export const DEFAULT_SUSPICION_TIMEOUT_MS = 4000

/** Time between full-view syncs with one random member (anti-entropy of the view). @default 15000 */
export const DEFAULT_SYNC_INTERVAL_MS = 15000

/** While the node sees no other member, it redials bootstrap and remembered peers this often. @default 2000 */
export const DEFAULT_REJOIN_INTERVAL_MS = 2000

/** How long a dead member is remembered so that stale gossip cannot bring it back. @default 600000 */
export const DEFAULT_DEAD_RETENTION_MS = 10 * 60 * 1000

/** Updates piggybacked on one ping or ack. @default 8 */
export const DEFAULT_MAX_PIGGYBACK = 8

/** Dissemination factor λ: an update is sent λ·log2(n+1) times. @default 3 */
export const DEFAULT_RETRANSMIT_MULT = 3

/** Members a table holds at most; beyond it new peers are not admitted (bounded memory). @default 10000 */
export const DEFAULT_MAX_MEMBERS = 10000

/** Largest membership frame accepted or sent, in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024

/** Updates accepted in one frame; a sync reply carries at most MAX_SYNC_MEMBERS. */
export const MAX_UPDATES_PER_FRAME = 4096

/** Members sent in one sync reply. */
export const MAX_SYNC_MEMBERS = 4096

/** Addresses accepted per member record. */
export const MAX_ADDRS_PER_MEMBER = 16

/** Longest peer id string accepted. */
export const MAX_PEER_ID_LENGTH = 128

/** How long a stopping node waits for its LEAVE to reach each member, at least. @default 1000 */
export const LEAVE_TIMEOUT_MS = 1000

/** Probes of newly heard-of peers run at once, at most this many at a time. @default 32 */
export const MAX_JOIN_PROBES = 32

/** Extra view syncs after start, in ms: a node that starts with others catches their joins quickly. */
export const WARMUP_SYNCS_MS = [250, 500, 1000, 2000, 4000]

/** A probe that has to dial first waits this many probe timeouts. @default 3 */
export const DIAL_TIMEOUT_FACTOR = 3

/** Members asked to ping a silent peer for us before we suspect it (SWIM's k). @default 3 */
export const INDIRECT_PROBES = 3

/** PING_REQs a node serves at a time; more are answered NACK at once. @default 16 */
export const MAX_PING_REQS = 16

/**
 * Revocations a node keeps per signer (the mesh key, each operator key): bounded memory, and a leaked
 * operator key can fill only its own quota. Beyond it new ones of that signer are not kept; none is
 * pushed out. @default 4096
 */
export const MAX_REVOCATIONS_PER_SIGNER = 4096

/** Revocations one frame carries (a view sync shares them between signers), and certificates beside them. */
export const MAX_REVOCATIONS_PER_FRAME = 512

/** Certificates of one peer a frame may offer as evidence for its revocations. */
export const MAX_EVIDENCE_PER_PEER = 4

/** Certificates whose signatures a node remembers having verified. */
export const VERIFIED_CACHE_SIZE = 8192

/**
 * A peer refused at the membership handshake is reported (event, log line) at most this often per reason.
 * @default 60000
 */
export const REFUSAL_REPORT_INTERVAL_MS = 60_000
