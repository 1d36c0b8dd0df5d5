/**
 * Load balancing between XMPP gateways (RFC 6120 §4.9.3.19, `see-other-host`). Each gateway answers
 * `/chorus/xmpp-load/1.0.0` with where Jabber clients reach it (its advertised `host:port`) and how many
 * connections it serves out of how many it may. A gateway at its limit asks the live servers (a few at a
 * time, at most every few seconds) and redirects a new client to the least loaded one with room to spare
 * that it has verified itself; with none, it refuses the client (`resource-constraint`).
 *
 * What a server answers is only a claim. The answer comes over a libp2p stream, authenticated to the peer
 * dialled, and is taken only from a peer membership counts as a server (in a closed mesh: one admitted by
 * its certificate); it must parse and stay within bounds. Then, before any client is sent to the address it
 * names, this gateway connects there itself and checks that it presents the domain certificate this gateway
 * serves (gateway-check.ts). A server that lies about its load can thus at worst draw clients to a real
 * gateway of the domain, never to a host of its own.
 */

import { lpStream } from '@libp2p/utils'
import type { Libp2p } from '@libp2p/interface'
import { peerIdOf } from '../peer-ids.js'
import { logger } from '@libp2p/logger'
import { XMPP_LOAD_PROTOCOL } from '../../protocol/constants.js'
import { ChorusError } from '../errors.js'

const log = logger('chorus:xmpp:load')

/** What a gateway says of itself. */
export interface GatewayLoad {
  address: string
  connections: number
  max: number
}

/** Largest answer, bytes. @default 512 */
export const DEFAULT_MAX_ANSWER_BYTES = 512
/** Peers asked per refresh. @default 16 */
export const DEFAULT_ASK_AT_MOST = 16
/** ms an answer (and the choice made from it) is used before the peers are asked again. @default 3000 */
export const DEFAULT_FRESH_MS = 3000
/** ms a peer has to answer. @default 1000 */
export const DEFAULT_ASK_TIMEOUT_MS = 1000
/** The largest `max` a gateway may claim: the bound of `xmpp.maxConnections`. @default 1000000 */
export const MAX_CLAIMED_CONNECTIONS = 1_000_000

/** A load answer that does not parse or is out of bounds. */
export class InvalidLoadError extends ChorusError {
  static readonly code = 'ERR_INVALID_LOAD'
  override readonly name = 'InvalidLoadError'
  constructor (message: string) { super(message, InvalidLoadError.code) }
}

/** What the exchange uses of the gateway and the node. */
export interface LoadExchangeComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  /** this gateway's own load; undefined when it takes no redirected clients */
  own: () => GatewayLoad | undefined
  /** live servers to ask, this node excluded */
  servers: () => string[]
  /** is this peer a server (admitted, in a closed mesh) right now? */
  isServer: (peerId: string) => boolean
  /**
   * Resolves when clients may be sent to `address` (it presents the domain certificate); throws why not.
   * Absent: this gateway redirects no one.
   */
  check?: (address: string) => Promise<void>
  /** count a refusal by reason (the gateway's `rejected` counts) */
  reject: (reason: string) => void
}

/** Tunables; each defaults to the `DEFAULT_*` of the same name. */
export interface LoadExchangeInit {
  askAtMost?: number
  freshMs?: number
  askTimeoutMs?: number
}

/** Asks the other gateways for their load and answers them with this one's. */
export class LoadExchange {
  private best?: { load: GatewayLoad, at: number }
  private checkedAt = 0
  private asking?: Promise<void>

  constructor (private readonly components: LoadExchangeComponents, private readonly init: LoadExchangeInit = {}) {}

  async start (): Promise<void> {
    await this.components.libp2p.handle(XMPP_LOAD_PROTOCOL, (stream) => {
      void (async () => {
        const lp = lpStream(stream, { maxDataLength: DEFAULT_MAX_ANSWER_BYTES })
        const me = this.components.own()
        await lp.write(new TextEncoder().encode(JSON.stringify(me ?? null)))
        await stream.close()
      })().catch((err: Error) => { stream.abort(err) })
    }, { maxInboundStreams: 16 })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(XMPP_LOAD_PROTOCOL)
  }

  /** Where to send a client this gateway cannot take: a verified gateway with room to spare, or undefined. */
  async elsewhere (): Promise<string | undefined> {
    if (this.components.check == null) return undefined
    if (Date.now() - this.checkedAt > (this.init.freshMs ?? DEFAULT_FRESH_MS)) {
      this.asking ??= this.refresh().finally(() => { this.asking = undefined })
      await this.asking
    }
    return this.best?.load.address
  }

  private async refresh (): Promise<void> {
    const { servers, check } = this.components
    const peers = servers().sort(() => Math.random() - 0.5).slice(0, this.init.askAtMost ?? DEFAULT_ASK_AT_MOST)
    const answers = await Promise.all(peers.map(async (p) => await this.ask(p).catch((err: Error) => {
      if (err instanceof InvalidLoadError) this.components.reject('xmpp-load-invalid')
      log('asking %s: %s', p, err.message)
      return undefined
    })))
    const spare = answers.filter((a): a is GatewayLoad => a != null && a.connections < a.max)
    spare.sort((a, b) => a.connections / a.max - b.connections / b.max)
    // every candidate is checked at once (most verdicts are cached); the least loaded that passes wins
    const verdicts = await Promise.all(spare.map(async (load) => {
      try {
        await check?.(load.address)
        return true
      } catch (err: any) {
        this.components.reject('xmpp-redirect-unverified')
        log('not redirecting to %s: %s (%s)', load.address, err.message, err.code)
        return false
      }
    }))
    const chosen = spare.find((_, i) => verdicts[i])
    this.checkedAt = Date.now()
    this.best = chosen == null ? undefined : { load: chosen, at: this.checkedAt }
  }

  private async ask (peer: string): Promise<GatewayLoad | undefined> {
    if (!this.components.isServer(peer)) return undefined
    const signal = AbortSignal.timeout(this.init.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS)
    const stream = await this.components.libp2p.dialProtocol(peerIdOf(peer), XMPP_LOAD_PROTOCOL, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: DEFAULT_MAX_ANSWER_BYTES })
      const bytes = await lp.read({ signal })
      return parseLoad(new TextDecoder().decode(bytes.subarray()))
    } finally {
      await stream.close().catch(() => {})
    }
  }
}

/**
 * An answer, checked: `null` (the peer takes no redirected clients), or a `host:port` (a DNS name, an IPv4
 * address, or an IPv6 one in brackets; a port 1–65535) with whole counts, `connections ≤ max ≤ 1,000,000`.
 * Throws `InvalidLoadError` for anything else.
 */
export function parseLoad (text: string): GatewayLoad | undefined {
  let j: unknown
  try {
    j = JSON.parse(text)
  } catch {
    throw new InvalidLoadError('not JSON')
  }
  if (j === null) return undefined
  const { address, connections: c, max: m } = (typeof j === 'object' ? j : {}) as Partial<GatewayLoad>
  if (typeof address !== 'string' || !isHostPort(address)) {
    throw new InvalidLoadError(`not a host:port: ${String(address).slice(0, 64)}`)
  }
  if (!Number.isSafeInteger(c) || !Number.isSafeInteger(m)) throw new InvalidLoadError('counts must be whole numbers')
  if (c == null || m == null || c < 0 || m < 1 || c > m || m > MAX_CLAIMED_CONNECTIONS) {
    throw new InvalidLoadError(`counts out of bounds: ${String(c)} of ${String(m)}`)
  }
  return { address, connections: c, max: m }
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const HOST_PORT = new RegExp(`^(?:(?:${LABEL}\\.)*${LABEL}|\\[[0-9A-Fa-f:.]{2,45}\\]):(\\d{1,5})$`)

/** A `host:port` a client can dial: a DNS name or IPv4 address, or an IPv6 address in brackets. */
function isHostPort (s: string): boolean {
  const m = s.length <= 261 ? HOST_PORT.exec(s) : null
  return m != null && Number(m[1]) >= 1 && Number(m[1]) <= 65535
}
