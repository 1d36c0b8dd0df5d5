/**
 * Options of the XMPP gateway: as a library user gives them (`createNode({ xmpp })`, `chorus start --xmpp`)
 * and as the gateway runs with them, checked and defaulted by `resolveOptions` (config.ts). Types only, in
 * a file of their own, so that config.ts needs nothing of the gateway's implementation.
 */

import type { SourceBudgetsInit } from './budgets.js'
import type { XmlStreamLimits } from './xml-stream.js'

/** Options of the XMPP gateway. */
export interface XmppOptions {
  listen: string
  /**
   * the mesh's XMPP domain: JIDs are `handle@domain`; the same on every gateway of a mesh
   * @default 'chorus.localhost'
   */
  domain?: string
  /** accept logins without STARTTLS (loopback tests and benchmarks) @default false */
  allowPlaintext?: boolean
  /** PEM certificate and key for STARTTLS; absent: a self-signed one made on first start */
  cert?: string
  key?: string
  /** connections served at once; more are refused with a stream error @default 10000 */
  maxConnections?: number
  /** stanzas a second one connection may send, sustained and in a burst @default 100, 500 */
  stanzaRate?: number
  stanzaBurst?: number
  /** bytes of one stanza @default 262144 */
  maxStanzaBytes?: number
  /** ms a connection has to log in @default 60000 */
  authTimeoutMs?: number
  /** ms an account's session stays open after its last resource left @default 60000 */
  lingerMs?: number
  /** seconds a dropped stream with stream management (XEP-0198) may be resumed in @default 120 */
  resumeSeconds?: number
  /** stanzas a stream-management stream keeps unacknowledged, attached or detached; past it it ends @default 5000 */
  maxUnacked?: number
  /** connections from one source address (an IPv4 address or an IPv6 /64) @default 100 */
  maxConnectionsPerAddress?: number
  /** connections not logged in yet, on the whole gateway @default 1000 */
  maxPreLogin?: number
  /** connections not logged in yet from one source address @default 10 */
  maxPreLoginPerAddress?: number
  /** login attempts (`<auth>`) per source address per minute @default 60 */
  loginsPerAddress?: number
  /** in-band registrations per source address per hour @default 10 */
  registrationsPerAddress?: number
  /** in-band registrations on the whole gateway per minute @default 30 */
  registrationsPerMinute?: number
  /**
   * `HOST:PORT` other gateways redirect clients to (see-other-host) when this one has room
   * @default the bound address, unless a wildcard
   */
  advertise?: string
}

/** Gateway settings (see `xmppOptions` in config.ts for bounds and defaults). */
export interface XmppGatewayOptions extends SourceBudgetsInit {
  host: string
  port: number
  domain: string
  allowPlaintext: boolean
  /**
   * PEM, the same on every gateway of the domain (a full gateway redirects only to one presenting it); absent: a
   * self-signed certificate for `domain`, made on first start and kept in the data dir (one gateway; no redirects)
   */
  cert?: string
  key?: string
  maxConnections: number
  authTimeoutMs: number
  stanzaRate: number
  stanzaBurst: number
  limits?: Partial<XmlStreamLimits>
  /** ms an account's session stays open after its last resource left (what comes meanwhile waits for the next one) */
  lingerMs: number
  /** seconds a dropped stream with stream management may be resumed in (XEP-0198) */
  resumeSeconds: number
  /** stanzas a stream-management stream keeps unacknowledged, attached or detached (XEP-0198) */
  maxUnacked: number
  /**
   * `host:port` other gateways send clients to when this one has room (default: the bound
   * address, unless it is a wildcard)
   */
  advertise?: string
}
