/** Replication defaults. */

import { MAX_ENVELOPE_BYTES } from '../../protocol/envelope.js'

/** Deadline of one replication request, dial included. @default 3000 */
export const DEFAULT_RPC_TIMEOUT_MS = 3000

/** Largest replication frame, in bytes. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024

/**
 * Bytes a replication stream buffers before they are read: a whole frame plus the start of the next
 * (responses are pipelined). libp2p's default, 4 MiB, is below MAX_FRAME_BYTES: a larger frame would
 * overflow it and abort the stream whatever the length prefix allows.
 */
export const MAX_STREAM_BUFFER_BYTES = 2 * MAX_FRAME_BYTES

/**
 * Envelopes one frame can always carry: a request or answer full of maximum-size envelopes (plus 2 KiB
 * each for the mailbox, hints and protobuf framing) still fits MAX_FRAME_BYTES. More would make the
 * receiver refuse the frame, fail the whole channel, and fail again on every retry (122).
 */
const ENVELOPES_PER_FRAME = Math.floor(MAX_FRAME_BYTES / (MAX_ENVELOPE_BYTES + 2048))

/** Puts in one STORE request at most; the batcher splits larger backlogs. */
export const MAX_PUTS_PER_REQUEST = ENVELOPES_PER_FRAME

/** Entries in one FETCH / GET answer at most; larger reads are paged. */
export const MAX_FETCH_LIMIT = ENVELOPES_PER_FRAME

/** Cursors in one IDS answer at most (a fine bucket with more is listed in parts). */
export const MAX_IDS = 20_000

/** Buckets in one DIGEST answer at most. */
export const MAX_BUCKETS = 20_000

/** Coarse digest buckets: 2^26 ms ≈ 18.6 h of timestamp each. */
export const COARSE_BUCKET_MS = 2 ** 26

/** Fine digest buckets: 2^16 ms ≈ 65 s each. */
export const FINE_BUCKET_MS = 2 ** 16

/** Time between anti-entropy rounds over the mailboxes this node holds. @default 5000 */
export const DEFAULT_REPAIR_INTERVAL_MS = 5000

/** Time between hinted-handoff attempts for owners that were unreachable. @default 1000 */
export const DEFAULT_HINT_INTERVAL_MS = 1000

/** Inbound STORE requests served at once per peer; more wait, beyond twice that they are refused BUSY. */
export const MAX_INFLIGHT_PER_PEER = 16

/** Envelopes a single remote peer may push per second before it is refused (flood control). @default 20000 */
export const DEFAULT_PEER_PUT_RATE = 20_000

/** Outbound STORE requests in flight per peer at once. */
export const OUTBOUND_WINDOW = 4

/** Envelopes a second one sender may have accepted at an owner, sustained (per owner). */
export const DEFAULT_SENDER_RATE = 100

/** Envelopes one sender may send at once before the sustained rate applies. */
export const DEFAULT_SENDER_BURST = 500

/** How often an owner deletes entries and tombstones whose expiry has passed. */
export const EXPIRY_SWEEP_INTERVAL_MS = 2000

/**
 * A claim of a handle that no owner holds yet is refused when its signed time is older than this by
 * the mesh's clock: owners settle disagreements on the earliest claim, so a claim must not be
 * back-dated. Well above a claim's round trip (signed, then tried owner after owner). @default 600000
 */
export const DEFAULT_MAX_CLAIM_AGE_MS = 10 * 60_000
