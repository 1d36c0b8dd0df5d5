/**
 * Peer ids by their string form, parsed once. Chorus names peers by string (placement, membership, links),
 * and libp2p asks for `PeerId` objects: parsing one is a base58 decode and a multihash check, and a fresh
 * object encodes its string again when libp2p looks it up in its own maps. On the send path that was ~8 %
 * of a client's CPU (docs/benchmarks.md). A mesh names a few thousand peers at most; the table is bounded
 * and drops its oldest entry past MAX_PEER_IDS. A string that does not parse throws, as
 * `peerIdFromString` does, and is not kept.
 */

import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { boundedMemo } from '../protocol/bounded-memo.js'

/** Peer ids kept at most. */
export const MAX_PEER_IDS = 8192

/** The `PeerId` of a peer id string, parsed once; throws when it does not parse. */
export const peerIdOf: (id: string) => PeerId = boundedMemo(MAX_PEER_IDS, (id: string) => id, peerIdFromString)
