/**
 * Network partitions for in-process meshes. Every node gets its own `PartitionGater` (a libp2p
 * ConnectionGater consulted on every dial and every connection, inbound and outbound); cutting a
 * node off denies it on both sides and hangs up the connections that already exist, so from either
 * side the other looks crashed. Healing removes the denials, and optionally redials (see `heal`).
 */

import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { ChorusNode } from '../../node/index.js'
import { scaled } from './wait.js'

/** A ConnectionGater that refuses a changing set of peers. */
export class PartitionGater implements ConnectionGater {
  /** peer ids (strings) this node may neither dial nor accept */
  readonly denied = new Set<string>()
  /** refused dials and connections, for diagnostics */
  refused = 0

  private deny (peer: PeerId): boolean {
    const no = this.denied.has(peer.toString())
    if (no) this.refused++
    return no
  }

  denyDialPeer = (peer: PeerId): boolean => this.deny(peer)
  denyOutboundConnection = (peer: PeerId): boolean => this.deny(peer)
  denyInboundEncryptedConnection = (peer: PeerId): boolean => this.deny(peer)
  denyOutboundEncryptedConnection = (peer: PeerId): boolean => this.deny(peer)
  denyInboundUpgradedConnection = (peer: PeerId): boolean => this.deny(peer)
  denyOutboundUpgradedConnection = (peer: PeerId): boolean => this.deny(peer)
}

/**
 * A fresh gater for every node of a mesh: `startMesh({ options: () => ({ connectionGater: new PartitionGater() }) })`.
 */
function gaterOf (node: ChorusNode): PartitionGater {
  const g = node.options.connectionGater
  if (!(g instanceof PartitionGater)) throw new Error(`node ${node.peerId.toString()} was created without a PartitionGater`)
  return g
}

/** Cut `node` off from every node in `others` (both directions) and close the connections they have. */
export async function isolate (node: ChorusNode, others: ChorusNode[]): Promise<void> {
  const rest = others.filter((o) => o !== node)
  for (const o of rest) {
    gaterOf(node).denied.add(o.peerId.toString())
    gaterOf(o).denied.add(node.peerId.toString())
  }
  await Promise.allSettled(rest.flatMap((o) => [node.libp2p.hangUp(o.peerId), o.libp2p.hangUp(node.peerId)]))
}

/**
 * Lift every denial between `node` and `others`. With `reconnect`, `node` then dials each of them:
 * identify on the new connections makes both sides sync with each other directly. Needed after a
 * partition long enough for peers to be declared dead: membership re-admits a dead peer only on
 * direct contact or a higher incarnation, never on hearsay of the same incarnation, and servers never
 * contact client nodes, so without it a client can keep a healed server out of its view for as long
 * as it remembers the dead (deadRetentionMs, 10 minutes by default).
 */
export async function heal (node: ChorusNode, others: ChorusNode[], o: { reconnect?: boolean } = {}): Promise<void> {
  const rest = others.filter((p) => p !== node)
  for (const p of rest) {
    gaterOf(node).denied.delete(p.peerId.toString())
    gaterOf(p).denied.delete(node.peerId.toString())
  }
  if (o.reconnect === true) {
    await Promise.allSettled(
      rest.map(async (p) => node.libp2p.dial(p.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(scaled(10_000)) }))
    )
  }
}
