/**
 * What a stranger may take of a gateway before logging in, and what one source address may take at all.
 * A connection costs a socket and a parser; a login attempt costs reads at the owners of a handle; a
 * registration costs PBKDF2 four times over and a mesh-wide handle claim. Without bounds one script fills
 * the gateway with idle sockets or loops on registrations. The bounds:
 *
 * - connections from one source address, and of those, connections not yet logged in;
 * - connections not yet logged in on the whole gateway (the rest of `maxConnections` stays for users);
 * - `<auth>` attempts per source address per minute (token bucket);
 * - registrations per source address per hour, and per gateway per minute (token buckets).
 *
 * A source is an IPv4 address, or an IPv6 /64 (a host is given a whole /64 and may use any address in it).
 * Behind a proxy every client has the proxy's address: raise the per-address bounds there.
 */

import { TokenBuckets } from '../rate-limit.js'

/** Connections from one source address @default 100 */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 100
/** Connections not yet logged in, on the whole gateway @default 1000 */
export const DEFAULT_MAX_PRE_LOGIN = 1000
/** Connections not yet logged in from one source address @default 10 */
export const DEFAULT_MAX_PRE_LOGIN_PER_ADDRESS = 10
/** `<auth>` attempts per source address per minute @default 60 */
export const DEFAULT_LOGINS_PER_ADDRESS = 60
/** Registrations (XEP-0077) per source address per hour @default 10 */
export const DEFAULT_REGISTRATIONS_PER_ADDRESS = 10
/** Registrations on the whole gateway per minute @default 30 */
export const DEFAULT_REGISTRATIONS_PER_MINUTE = 30

/** Sources whose buckets are remembered at once (past it the oldest start full again). */
const MAX_SOURCES = 100_000

/** The bounds (`xmpp.*` options, see config.ts). */
export interface SourceBudgetsInit {
  maxConnectionsPerAddress: number
  maxPreLogin: number
  maxPreLoginPerAddress: number
  loginsPerAddress: number
  registrationsPerAddress: number
  registrationsPerMinute: number
}

/** Why a connection or a request was refused: the reason counted, the XMPP condition and a text. */
export interface Refusal {
  reason: 'xmpp-address-limit' | 'xmpp-pre-login-address-limit' | 'xmpp-pre-login-limit'
  | 'xmpp-login-throttled' | 'register-throttled-address' | 'register-throttled-gateway'
  condition: 'policy-violation' | 'resource-constraint'
  text: string
}

/** Open connections and login and registration budgets, by source address. */
export class SourceBudgets {
  /** open connections by source, and of those the ones not logged in */
  private readonly open = new Map<string, number>()
  private readonly preLogin = new Map<string, number>()
  private preLoginTotal = 0
  private readonly logins: TokenBuckets
  private readonly registrations: TokenBuckets
  private readonly gatewayRegistrations: TokenBuckets

  constructor (private readonly o: SourceBudgetsInit) {
    this.logins = new TokenBuckets(o.loginsPerAddress / 60, o.loginsPerAddress, MAX_SOURCES)
    this.registrations = new TokenBuckets(o.registrationsPerAddress / 3600, o.registrationsPerAddress, MAX_SOURCES)
    this.gatewayRegistrations = new TokenBuckets(o.registrationsPerMinute / 60, o.registrationsPerMinute, 1)
  }

  /** Connections not logged in, on the whole gateway. */
  get notLoggedIn (): number { return this.preLoginTotal }

  /** A new connection from `source`: counted (not logged in) and undefined, or the refusal. */
  connect (source: string): Refusal | undefined {
    if ((this.open.get(source) ?? 0) >= this.o.maxConnectionsPerAddress) {
      return refusal('xmpp-address-limit', 'policy-violation', 'too many connections from your address')
    }
    if ((this.preLogin.get(source) ?? 0) >= this.o.maxPreLoginPerAddress) {
      return refusal('xmpp-pre-login-address-limit', 'policy-violation', 'too many logins from your address')
    }
    if (this.preLoginTotal >= this.o.maxPreLogin) {
      return refusal('xmpp-pre-login-limit', 'resource-constraint', 'too many connections log in now; try again soon')
    }
    bump(this.open, source, 1)
    bump(this.preLogin, source, 1)
    this.preLoginTotal++
    return undefined
  }

  /** A connection from `source` logged in: it no longer counts as one not logged in. */
  loggedIn (source: string): void {
    bump(this.preLogin, source, -1)
    this.preLoginTotal--
  }

  /** A connection from `source` ended (`loggedIn`: after it logged in). */
  disconnect (source: string, loggedIn: boolean): void {
    bump(this.open, source, -1)
    if (!loggedIn) this.loggedIn(source)
  }

  /** An `<auth>` from `source`: undefined when it may be tried, or the refusal. */
  login (source: string): Refusal | undefined {
    if (this.logins.take(source)) return undefined
    return refusal('xmpp-login-throttled', 'policy-violation', 'too many login attempts from your address; wait')
  }

  /** A registration from `source`: undefined when it may be tried, or the refusal. */
  register (source: string): Refusal | undefined {
    if (!this.registrations.take(source)) {
      return refusal('register-throttled-address', 'policy-violation', 'too many registrations from your address')
    }
    if (!this.gatewayRegistrations.take('')) {
      return refusal('register-throttled-gateway', 'resource-constraint', 'too many registrations here now; try later')
    }
    return undefined
  }
}

function refusal (reason: Refusal['reason'], condition: Refusal['condition'], text: string): Refusal {
  return { reason, condition, text }
}

function bump (counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by
  if (n > 0) counts.set(key, n)
  else counts.delete(key)
}

/**
 * The source of a client at `remote` (`address:port`): an IPv4 address (IPv4-mapped IPv6 included), or
 * an IPv6 address's /64.
 */
export function sourceOf (remote: string): string {
  const address = remote.slice(0, remote.lastIndexOf(':')).replace(/%.*$/, '').toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (mapped != null) return mapped[1]
  if (!address.includes(':')) return address
  const [head, tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail == null || tail === '' ? [] : tail.split(':')
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0')
  const groups = tail == null ? left : [...left, ...zeros, ...right]
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`
}
