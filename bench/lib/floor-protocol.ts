/**
 * What the `floor` scenario's processes say to each other and to the coordinator: the libp2p protocol ids
 * of the stripped-down durable send (client → primary owner, primary → replicas), the shape of its frames,
 * and the agent commands and replies that drive it (bench/lib/agent-protocol.ts carries them over IPC).
 *
 * A frame is one length-prefixed message (varint length, as Chorus's streams use) of a 4-byte big-endian
 * sequence number and, on the way in, the encoded signed envelope; an acknowledgement is the sequence
 * number alone. Kept apart from the code that runs it so that both the agent side (floor-node.ts) and the
 * coordinator (bench/floor.ts) can name it without importing each other.
 */

/** Client → primary owner: `seq ‖ envelope` in, `seq` back once W owners have it on disk. */
export const FLOOR_PUT_PROTOCOL = '/chorus-bench/floor-put/1.0.0'

/** Primary → replica: `seq ‖ envelope` in, `seq` back once the replica has it on disk. */
export const FLOOR_REPLICATE_PROTOCOL = '/chorus-bench/floor-replicate/1.0.0'

/** Bytes of the sequence number that heads every frame. */
export const FLOOR_SEQ_BYTES = 4

/** Largest frame accepted: an envelope of the largest size the scenario sends, and its header. */
export const FLOOR_MAX_FRAME_BYTES = 70 * 1024

/** What an owner process does with each envelope of the next phase. */
export interface FloorOwnerConfig {
  /** verify the Ed25519 signature (the primary: the client's; a replica: the one the primary forwards) */
  verify: boolean
  /** write each envelope to LevelDB (off: acknowledge as soon as it is taken in: the transport alone) */
  store: boolean
  /** write the LevelDB batch with `{ sync: true }` (fsync before the acknowledgement) */
  sync: boolean
}

/** Commands of the floor scenario, by operation name (merged into `AgentCommands`). */
export interface FloorCommands {
  /**
   * Start a bare libp2p node (TCP + noise + yamux, nothing else). An owner opens its LevelDB under its data
   * directory and serves both floor protocols; a client signs `pool` envelopes of `size` body bytes.
   */
  floorStart: { role: 'owner' | 'client', size: number, pool: number }
  /**
   * Dial `peers` (multiaddrs with /p2p/) and open one stream to each: a client to the primary (one peer),
   * an owner to its replicas (it becomes the primary, acknowledging at `writeQuorum` copies on disk).
   */
  floorLink: { peers: string[], writeQuorum: number }
  /** Set what an owner does with the envelopes of the next phase. */
  floorConfigure: FloorOwnerConfig
  /** A client's load: `window` sends in flight (saturate), or `rate` a second (paced), for `ms`. */
  floorLoad: { mode: 'saturate' | 'paced', window: number, rate: number, ms: number }
  /** This process's CPU and counters; an owner first waits (at most `settleMs`) until nothing is outstanding. */
  floorStats: { settleMs: number }
}

/** What a client's signing of its pool cost, and what one envelope is. */
export interface FloorClientInfo {
  envelopeBytes: number
  /** `signEnvelope` (encode, Ed25519 sign) per envelope, ms: the client's work before the send, not counted */
  signMs: number
  /** `decodeEnvelope` + `verifyEnvelope` with a cached key, per envelope, ms: what an owner pays to verify */
  verifyMs: number
}

/** Running totals of one floor process. */
export interface FloorStats {
  /** user + system CPU of the whole process, ms */
  cpuMs: number
  /** LevelDB batches written (synced ones when the phase syncs) and the operations in them */
  batches: number
  ops: number
  /** signatures verified */
  verified: number
  /** envelopes that did not decode or verify, or whose write failed */
  rejected: number
  /** frames received on floor streams */
  framesIn: number
  /** owner: envelopes forwarded to a replica and not yet acknowledged when the stats were taken */
  outstanding: number
}

/** What a client's load did. */
export interface FloorLoadReport {
  acked: number
  /** sends still unacknowledged when the client gave up waiting */
  unacked: number
  startedAt: number
  endedAt: number
  /** send → acknowledgement (W owners on disk), ms, in completion order */
  latenciesMs: number[]
}

/** Replies of the floor commands, by operation name (merged into `AgentReplies`). */
export interface FloorReplies {
  floorStart: { peerId: string, multiaddrs: string[], client?: FloorClientInfo }
  floorLink: Record<string, never>
  floorConfigure: Record<string, never>
  floorLoad: FloorLoadReport
  floorStats: FloorStats
}
