/** Defaults of a Chorus node. Every option falls back to one of these as `init.x ?? DEFAULT_X`. */

import { homedir } from 'node:os'
import { join } from 'node:path'

/** @default 'server' */
export const DEFAULT_ROLE = 'server'

/** The TCP port a server or bootstrap node listens on when no `listen` is given. @default 7400 */
export const DEFAULT_TCP_PORT = 7400

/** The WebSocket port a server or bootstrap node listens on when no `listen` is given. @default 7401 */
export const DEFAULT_WS_PORT = 7401

/** Copies of every key (N). @default 3 */
export const DEFAULT_REPLICAS = 3

/** Owners that must have a write on disk before it is acknowledged (W). @default 2 */
export const DEFAULT_WRITE_QUORUM = 2

/** Upper bound on N: more copies than this is a configuration mistake, not durability. */
export const MAX_REPLICAS = 16

/** Declared capacity (ownership weight) of a server. @default 1 */
export const DEFAULT_CAPACITY = 1

/** Upper bound on declared capacity. */
export const MAX_CAPACITY = 1000

/** At most this many listen and bootstrap addresses each. */
export const MAX_ADDRESSES = 32

/** The data directory when none is given: `$CHORUS_HOME` or `~/.chorus`. */
export function defaultDataDir (): string {
  return process.env.CHORUS_HOME ?? join(homedir(), '.chorus')
}

/** Connections libp2p keeps at most; gossipsub and membership need far fewer. @default 300 */
export const DEFAULT_MAX_CONNECTIONS = 300

/**
 * Inbound connections accepted per second from one host. libp2p's default (5) starves a local mesh
 * where every node shares 127.0.0.1.
 * @default 200
 */
export const DEFAULT_INBOUND_CONNECTION_THRESHOLD = 200
