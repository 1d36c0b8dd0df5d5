/**
 * Gossipsub peer scoring, set explicitly. The one signal Chorus relies on is P4, invalid deliveries:
 * validators Reject what no honest relay forwards (a forged signature, a malformed or misrouted
 * envelope, a post by someone kicked out of the room), and a peer that forwards one loses 100 points
 * per message squared, below the graylist threshold at once. Mesh-delivery penalties (P3) stay off:
 * a quiet chat topic is not a misbehaving peer.
 */

import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'

/** Thresholds: gossip to / accept gossip from a peer below -10 stops; below -80 its RPCs are dropped. */
export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 20
}

/** What an invalid message costs the peer that forwarded it (times the count squared). */
export const INVALID_MESSAGE_WEIGHT = -100

/** Score parameters of one chat topic (an inbox shard or a room). */
export function chatTopicScore (): TopicScoreParams {
  return {
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 100,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.9,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.9,
    invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
    // halves in about a minute: a peer that stops forwarding forgeries earns its place back
    invalidMessageDeliveriesDecay: 0.99
  }
}

/**
 * Peer score parameters. `loopback` meshes (tests, one host) switch off the IP-colocation penalty,
 * which would otherwise punish every peer for sharing 127.0.0.1.
 */
export function peerScoreParams (topics: string[], loopback: boolean): Partial<PeerScoreParams> {
  return {
    topics: Object.fromEntries(topics.map((t) => [t, chatTopicScore()])),
    topicScoreCap: 50,
    appSpecificScore: () => 0,
    appSpecificWeight: 1,
    IPColocationFactorWeight: loopback ? 0 : -5,
    IPColocationFactorThreshold: 10,
    IPColocationFactorWhitelist: new Set(),
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 6,
    behaviourPenaltyDecay: 0.9,
    decayInterval: 1000,
    decayToZero: 0.01,
    retainScore: 3_600_000
  }
}
