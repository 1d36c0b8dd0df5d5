/**
 * Defaults of the benchmark harness. Every deadline is a bound, not a sleep: waits end as
 * soon as their condition holds.
 */

/** Server processes in a mesh scenario. @default 10 */
export const DEFAULT_NODES = 10

/** Offered rate of the paced raw-gossipsub phase, messages per second. @default 200 */
export const DEFAULT_RATE = 200

/** Length of each publishing phase, seconds. @default 5 */
export const DEFAULT_SECONDS = 5

/** Longest publishing phase accepted: two phases and the mesh must fit in DEFAULT_SCENARIO_TIMEOUT_MS. */
export const MAX_SECONDS = 60

/** Most server processes accepted (each is a ~120 MB Node process). */
export const MAX_NODES = 64

/** Largest payload accepted, bytes: well under the node's gossipsub limit (MAX_PUBSUB_DATA_BYTES, 256 KiB). */
export const MAX_SIZE = 128 * 1024

/** Payload size of benchmark messages, bytes. @default 200 */
export const DEFAULT_SIZE = 200

/** Gossipsub topic of the raw throughput measurement, apart from the mesh's own topic. */
export const DEFAULT_RAW_TOPIC = '/chorus/bench/raw'

/** How long an agent process may take to load its modules and report ready. @default 60000 */
export const DEFAULT_AGENT_READY_TIMEOUT_MS = 60_000

/** Bound on one ordinary request to an agent (stats, subscribe, progress …). @default 10000 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Bound on an agent's `createNode` + `start()`. @default 30000 */
export const DEFAULT_START_TIMEOUT_MS = 30_000

/** Bound on every server reaching the full view of the mesh. @default 60000 */
export const DEFAULT_VIEW_TIMEOUT_MS = 60_000

/** Bound on gossipsub meshes forming on the raw topic. @default 20000 */
export const DEFAULT_MESH_TIMEOUT_MS = 20_000

/** Quiet time after which a receiver that stopped receiving is deemed drained. @default 1000 */
export const DEFAULT_DRAIN_QUIET_MS = 1000

/** Bound on receivers draining after a phase, beyond the phase itself. @default 15000 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 15_000

/**
 * Idle time before the memory of the processes is read: startup grows V8's young generation, which V8 gives back once a
 * process has been quiet for several seconds (measured: 25–40 s after a mesh of 3 formed,
 * RSS fell from ~120 to ~85 MB).
 * @default 45000
 */
export const DEFAULT_IDLE_BEFORE_RSS_MS = 45_000

/** Bound on an agent's polite stop before it is killed. @default 5000 */
export const DEFAULT_STOP_TIMEOUT_MS = 5000

/** Safety net over a whole scenario run. @default 300000 */
export const DEFAULT_SCENARIO_TIMEOUT_MS = 300_000

/**
 * Saturation: a publisher waits while any outbound gossipsub stream holds more than this many unsent
 * bytes (gossipsub itself buffers without bound). @default 1048576
 */
export const DEFAULT_SATURATION_MAX_BUFFERED_BYTES = 1024 * 1024

/** Saturation: the publisher yields to the event loop after this many publishes so sockets flush. @default 32 */
export const DEFAULT_SATURATION_BATCH = 32

/**
 * Mesh peers each node must have on the raw topic before measuring. A gossipsub heartbeat grafts up to D
 * peers at once, so one mesh peer means the node's mesh is built; asking for D_lo would bake the node's
 * gossipsub settings into the bench (and hang if they change). @default 1
 */
export const DEFAULT_MIN_MESH_PEERS = 1

/** Bound on the view becoming whole again after the raw load (false deaths recover or not). @default 20000 */
export const DEFAULT_RECOVERY_TIMEOUT_MS = 20_000

/** How long the machine's idleness is sampled before a run. @default 1000 */
export const DEFAULT_BUSY_SAMPLE_MS = 1000

/** Above this share of busy CPU before a run, the bench warns that figures will be skewed. @default 25 */
export const DEFAULT_BUSY_WARN_PERCENT = 25

/**
 * Per-sender limits lifted (`replication` and `relay` settings): one benchmark sender offers thousands of
 * envelopes a second, which a node's defaults refuse by design.
 */
export const UNLIMITED = { senderRate: 1_000_000, senderBurst: 1_000_000 }
