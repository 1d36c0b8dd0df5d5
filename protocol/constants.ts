/**
 * Wire-level names shared by every Chorus node. Changing one of these is a protocol break: bump the
 * version segment and keep the old id served until the mesh has moved.
 */

/** The Kad-DHT protocol id: Chorus runs its own DHT, apart from the public IPFS one. */
export const KAD_PROTOCOL = '/chorus/kad/1.0.0'

/** Membership: SWIM-style probes, acks and view sync between Chorus peers; one request and its reply a stream. */
export const MEMBERSHIP_PROTOCOL = '/chorus/membership/1.0.0'

/**
 * Membership on one long-lived stream per peer pair: numbered requests (`request_id`), replies in any order.
 * A node dials this first and 1.0.0 when the peer does not speak it; it serves both.
 */
export const MEMBERSHIP_LINK_PROTOCOL = '/chorus/membership/1.1.0'

/** Gossipsub topic every node joins; raw-throughput benchmarks and mesh-wide notices use it. */
export const MESH_TOPIC = '/chorus/mesh/1'

/** The three roles a node can run in (README, "Roles"). */
export const ROLES = ['server', 'bootstrap', 'client'] as const

/** A node's role. Only `server` nodes own data. */
export type Role = typeof ROLES[number]

/** Replication: store, fetch and reconcile mailboxes, claim and resolve handles. */
export const STORE_PROTOCOL = '/chorus/store/1.0.0'

/** The live hop of inbox traffic: a sender → one relay of the shard → the nodes subscribed to it. */
export const LIVE_PROTOCOL = '/chorus/live/1.0.0'
/** XMPP gateways tell each other where they listen and how loaded they are (see-other-host redirects). */
export const XMPP_LOAD_PROTOCOL = '/chorus/xmpp-load/1.0.0'
