/**
 * Load balancing between XMPP gateways (RFC 6120 §4.9.3.19, `see-other-host`). Each gateway answers
 * `/chorus/xmpp-load/1.0.0` with where Jabber clients reach it (its advertised `host:port`) and how many
 * connections it serves out of how many it may. A gateway at its limit asks the live servers (a few at a
 * time, at most every few seconds) and redirects a new client to the least loaded one with room to spare;
 * with none, it refuses the client (`resource-constraint`).
 */

import { lpStream } from '@libp2p/utils'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import { XMPP_LOAD_PROTOCOL } from '../../protocol/constants.js'

const log = logger('chorus:xmpp:load')

/** What a gateway says of itself. */
export interface GatewayLoad {
  address: string
  connections: number
  max: number
}

/** Largest answer, bytes. */
const MAX_ANSWER_BYTES = 512
/** Peers asked per refresh, and how long an answer is trusted. */
const ASK_AT_MOST = 16
const FRESH_MS = 3000
const ASK_TIMEOUT_MS = 1000

export class LoadExchange {
  private best?: { load: GatewayLoad, at: number }
  private asking?: Promise<void>

  constructor (
    private readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>,
    private readonly own: () => GatewayLoad | undefined,
    private readonly servers: () => string[]
  ) {}

  async start (): Promise<void> {
    await this.libp2p.handle(XMPP_LOAD_PROTOCOL, (stream) => {
      void (async () => {
        const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
        const me = this.own()
        await lp.write(new TextEncoder().encode(JSON.stringify(me ?? null)))
        await stream.close()
      })().catch((err: Error) => { stream.abort(err) })
    }, { maxInboundStreams: 16 })
  }

  async stop (): Promise<void> {
    await this.libp2p.unhandle(XMPP_LOAD_PROTOCOL)
  }

  /** Where to send a client this gateway cannot take: a gateway with room to spare, or undefined. */
  async elsewhere (): Promise<string | undefined> {
    if (this.best == null || Date.now() - this.best.at > FRESH_MS) {
      this.asking ??= this.refresh().finally(() => { this.asking = undefined })
      await this.asking
    }
    return this.best?.load.address
  }

  private async refresh (): Promise<void> {
    const peers = this.servers().sort(() => Math.random() - 0.5).slice(0, ASK_AT_MOST)
    const answers = await Promise.all(peers.map(async (p) => await this.ask(p).catch((err: Error) => { log('asking %s: %s', p, err.message); return undefined })))
    const spare = answers.filter((a): a is GatewayLoad => a != null && a.connections < a.max)
    spare.sort((a, b) => a.connections / a.max - b.connections / b.max)
    this.best = spare.length === 0 ? undefined : { load: spare[0], at: Date.now() }
  }

  private async ask (peer: string): Promise<GatewayLoad | undefined> {
    const signal = AbortSignal.timeout(ASK_TIMEOUT_MS)
    const stream = await this.libp2p.dialProtocol(peerIdFromString(peer), XMPP_LOAD_PROTOCOL, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_ANSWER_BYTES })
      const bytes = await lp.read({ signal })
      return parseLoad(new TextDecoder().decode(bytes.subarray()))
    } finally {
      await stream.close().catch(() => {})
    }
  }
}

/** An answer, checked: a `host:port`, whole counts. */
function parseLoad (text: string): GatewayLoad | undefined {
  const j = JSON.parse(text) as GatewayLoad | null
  if (j == null || typeof j.address !== 'string' || !/^[A-Za-z0-9.:[\]-]{1,255}:\d{1,5}$/.test(j.address)) return undefined
  if (!Number.isInteger(j.connections) || !Number.isInteger(j.max) || j.connections < 0 || j.max < 1) return undefined
  return { address: j.address, connections: j.connections, max: j.max }
}
