/**
 * Assembles the libp2p 3 node of a Chorus peer: TCP and WebSocket listeners, noise, yamux (both tuned:
 * a TCP socket written once per turn, a yamux window update per half window; node/wire-tuning.ts), identify,
 * ping, a Kad-DHT on Chorus's own protocol id, gossipsub with our own message ids, bootstrap discovery
 * and Prometheus metrics in the node's own registry.
 */

import { createHash } from 'node:crypto'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type KadDHT } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { corkConnections, lazyWindowUpdates } from './wire-tuning.js'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { createLibp2p } from 'libp2p'
import type { Registry } from 'prom-client'
import { KAD_PROTOCOL } from '../protocol/constants.js'
import { inboxTopics } from '../protocol/topics.js'
import type { PubsubCounters } from './relay/pubsub-counters.js'
import { SCORE_THRESHOLDS, peerScoreParams } from './relay/scoring.js'
import type { ResolvedOptions } from './config.js'
import { DEFAULT_INBOUND_CONNECTION_THRESHOLD, DEFAULT_MAX_CONNECTIONS } from './constants.js'

/** The services every Chorus libp2p node carries. */
export interface ChorusServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
}

/** The libp2p node type of Chorus. */
export type ChorusLibp2p = Libp2p<ChorusServices>

/** Largest gossipsub message data accepted (bytes); envelopes are far smaller. */
export const MAX_PUBSUB_DATA_BYTES = 256 * 1024

/**
 * Gossipsub message id: sha256 of the data, truncated to 20 bytes. Chorus envelopes carry their own
 * signature and unique id, so messages are unsigned at the gossipsub layer (StrictNoSign) and a
 * duplicate costs one hash, not one Ed25519 verification (about 4× the throughput, measured).
 */
export function messageId (msg: { data: Uint8Array }): Uint8Array {
  return createHash('sha256').update(msg.data).digest().subarray(0, 20)
}

let metricsInstances = 0

/**
 * `@libp2p/prometheus-metrics` keeps its metric objects in a module-level map, so a second node in
 * the same process would report into the first node's registry. Each node therefore loads its own
 * instance of that module (a distinct URL is a distinct ES module), and so gets its own map. One node
 * per process (the `chorus` command) loads it once.
 */
async function perNodeMetrics (): Promise<typeof import('@libp2p/prometheus-metrics')> {
  const url = `${import.meta.resolve('@libp2p/prometheus-metrics')}?node=${++metricsInstances}`
  return await import(url)
}

/** Build (but do not start) the libp2p node for `opts`; gossipsub reports what it does to `pubsubCounters`. */
export async function buildLibp2p (
  opts: ResolvedOptions,
  privateKey: PrivateKey,
  registry: Registry,
  pubsubCounters: PubsubCounters
): Promise<ChorusLibp2p> {
  const ws = opts.listen.some((a) => a.getComponents().some((c) => c.name === 'ws' || c.name === 'wss')) ||
    opts.bootstrap.some((a) => a.getComponents().some((c) => c.name === 'ws' || c.name === 'wss'))
  const { prometheusMetrics } = await perNodeMetrics()
  lazyWindowUpdates()
  return createLibp2p<ChorusServices>({
    privateKey,
    start: false,
    addresses: { listen: opts.listen.map(String) },
    transports: ws ? [tcp(), webSockets()] : [tcp()],
    connectionEncrypters: [corkConnections(noise())],
    streamMuxers: [yamux()],
    connectionGater: opts.connectionGater,
    connectionManager: {
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      inboundConnectionThreshold: DEFAULT_INBOUND_CONNECTION_THRESHOLD
    },
    peerDiscovery: opts.bootstrap.length > 0 ? [bootstrap({ list: opts.bootstrap.map(String), timeout: 0 })] : [],
    metrics: prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: true }),
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: opts.role === 'client',
        peerInfoMapper: opts.allowPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper
      }),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: messageId,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        maxInboundDataLength: MAX_PUBSUB_DATA_BYTES,
        emitSelf: false,
        // inbox shards are scored from the start; room topics are added as they are joined (node/relay)
        scoreParams: peerScoreParams(inboxTopics(), opts.allowPrivateAddresses),
        scoreThresholds: SCORE_THRESHOLDS,
        metricsRegister: pubsubCounters.register,
        metricsTopicStrToLabel: new Map()
      })
    }
  })
}
