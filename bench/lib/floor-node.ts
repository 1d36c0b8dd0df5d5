/**
 * One process of the `floor` scenario: a bare libp2p node on Chorus's transport stack (TCP, noise, yamux,
 * with Chorus's wire tuning: as node/libp2p.ts builds it, without identify, ping, the DHT, gossipsub or
 * metrics) and either the owner logic (floor-owner.ts, with its LevelDB in the agent's data directory) or
 * the client's (floor-client.ts).
 * The benchmark agent (bench/agent.ts) runs it for the `floor*` commands.
 */

import { join } from 'node:path'
import { noise } from '@libp2p/noise'
import { corkConnections, lazyWindowUpdates } from '../../node/wire-tuning.js'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { FloorClient, signPool } from './floor-client.js'
import { FloorOwner } from './floor-owner.js'
import {
  FLOOR_PUT_PROTOCOL, FLOOR_REPLICATE_PROTOCOL,
  type FloorClientInfo, type FloorCommands, type FloorLoadReport, type FloorOwnerConfig, type FloorReplies,
  type FloorStats
} from './floor-protocol.js'
import { FrameLink } from './floor-wire.js'

/** What a link does with each frame that arrives. */
type OnFrame = (link: FrameLink, frame: Uint8Array) => void

/** How long dialling a peer and opening the stream may take. */
const DIAL_TIMEOUT_MS = 10_000

/** A floor process: its libp2p node, its links, and its owner or client logic. */
export class FloorNode {
  private readonly links = new Set<FrameLink>()
  private readonly errors: string[] = []

  private constructor (
    private readonly libp2p: Libp2p,
    private readonly owner?: FloorOwner,
    private readonly client?: FloorClient,
    private readonly clientInfo?: FloorClientInfo
  ) {}

  /** Start the node of `cmd.role`; an owner's LevelDB goes under `dataDir`. */
  static async start (dataDir: string, cmd: FloorCommands['floorStart']): Promise<FloorNode> {
    lazyWindowUpdates()
    const libp2p = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [corkConnections(noise())],
      streamMuxers: [yamux()]
    })
    if (cmd.role === 'client') {
      const { envelopes, info } = signPool(cmd.pool, cmd.size)
      return new FloorNode(libp2p, undefined, new FloorClient(envelopes), info)
    }
    const node = new FloorNode(libp2p, await FloorOwner.open(join(dataDir, 'floor-db')))
    const owner = node.owner as FloorOwner
    await libp2p.handle(FLOOR_PUT_PROTOCOL, (stream) => { node.wrap(stream, (l, f) => { owner.onPut(l, f) }) })
    await libp2p.handle(FLOOR_REPLICATE_PROTOCOL, (stream) => {
      node.wrap(stream, (l, f) => { owner.onReplicate(l, f) })
    })
    return node
  }

  /** What the coordinator needs to dial this node, and (a client) what its envelopes are. */
  info (): FloorReplies['floorStart'] {
    return {
      peerId: this.libp2p.peerId.toString(),
      multiaddrs: this.libp2p.getMultiaddrs().map(String),
      ...(this.clientInfo != null ? { client: this.clientInfo } : {})
    }
  }

  /** Open one stream to each of `cmd.peers`: a client to its primary, an owner to its replicas. */
  async link (cmd: FloorCommands['floorLink']): Promise<void> {
    const client = this.client
    const owner = this.owner
    if (client != null) {
      if (cmd.peers.length !== 1) throw new Error('a floor client links to exactly one primary')
      client.connect(await this.open(cmd.peers[0], FLOOR_PUT_PROTOCOL, (l, f) => { client.onFrame(l, f) }))
      return
    }
    if (owner == null) throw new Error('neither owner nor client')
    const onAck: OnFrame = (l, f) => { owner.onReplicaAck(l, f) }
    const replicas = await Promise.all(cmd.peers.map(async (p) => await this.open(p, FLOOR_REPLICATE_PROTOCOL, onAck)))
    owner.lead(replicas, cmd.writeQuorum)
  }

  /** What an owner does with the envelopes of the next phase. */
  configure (config: FloorOwnerConfig): void {
    if (this.owner == null) throw new Error('only an owner is configured')
    this.owner.configure(config)
  }

  /** A client's load. */
  async load (cmd: FloorCommands['floorLoad']): Promise<FloorLoadReport> {
    if (this.client == null) throw new Error('only a client sends')
    return await this.client.load(cmd)
  }

  /** This process's CPU and counters, an owner's once nothing is outstanding (or `settleMs` passed). */
  async stats (settleMs: number): Promise<FloorStats> {
    if (this.errors.length > 0) throw new Error(`a floor stream failed: ${this.errors[0]}`)
    if (this.owner != null && settleMs > 0) await this.owner.settle(settleMs)
    const cpu = process.cpuUsage()
    let framesIn = 0
    for (const l of this.links) framesIn += l.framesIn
    const db = this.owner?.batches ?? { batches: 0, ops: 0 }
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      batches: db.batches,
      ops: db.ops,
      verified: this.owner?.verified ?? 0,
      rejected: this.owner?.rejected ?? 0,
      framesIn,
      outstanding: this.owner?.outstanding ?? 0
    }
  }

  /** Close every stream, stop libp2p, close the database. */
  async stop (): Promise<void> {
    await Promise.allSettled([...this.links].map(async (l) => { await l.close() }))
    await this.libp2p.stop()
    await this.owner?.close()
  }

  private async open (addr: string, protocol: string, onFrame: OnFrame): Promise<FrameLink> {
    const signal = AbortSignal.timeout(DIAL_TIMEOUT_MS)
    const stream = await this.libp2p.dialProtocol(multiaddr(addr), protocol, { signal })
    return this.wrap(stream, onFrame)
  }

  private wrap (stream: Stream, onFrame: OnFrame): FrameLink {
    const link = new FrameLink(stream, onFrame, (err) => { this.errors.push(err.message) })
    this.links.add(link)
    return link
  }
}
