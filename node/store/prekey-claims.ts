/**
 * How many one-time prekeys an owner hands out, per asking peer and per user whose keys they are. Anyone
 * may claim a user's one-time prekeys; without a bound one peer could take them all, and every session
 * started until the device refills would run X3DH without one (three DHs, no one-time key: a later leak
 * of the signed prekey then reads its first messages). A claim over either budget is answered with the
 * bundle alone, so the asker can still start a session (as Signal does when a user has no prekeys
 * left), and the keys left stay for others.
 *
 * The figures: a device uploads 100 one-time prekeys and refills when an owner holds fewer than 25,
 * checked every 10 minutes. Per user and owner, a burst of 20 and then 30 an hour: with N = 3 owners,
 * claims from many peers at once take at most 60 of the 100 before the device refills, and 15 per
 * refill check after that. Per peer and owner, a burst of 10 and then 30 an hour: half a user's burst,
 * so one peer alone cannot spend it all, and far above what a node opening chats for its users needs.
 */

import { TokenBuckets } from '../rate-limit.js'

/** One-time prekey claims one peer may make at once, at one owner. @default 10 */
export const DEFAULT_CLAIMS_PER_PEER_BURST = 10
/** One-time prekey claims one peer may make per hour, sustained, at one owner. @default 30 */
export const DEFAULT_CLAIMS_PER_PEER_PER_HOUR = 30
/** One-time prekeys of one user an owner hands out at once. @default 20 */
export const DEFAULT_CLAIMS_PER_USER_BURST = 20
/** One-time prekeys of one user an owner hands out per hour, sustained. @default 30 */
export const DEFAULT_CLAIMS_PER_USER_PER_HOUR = 30

/** Budgets of one-time prekey claims (see the header). */
export interface PrekeyClaimsInit {
  /** @default DEFAULT_CLAIMS_PER_PEER_BURST */
  perPeerBurst?: number
  /** @default DEFAULT_CLAIMS_PER_PEER_PER_HOUR */
  perPeerPerHour?: number
  /** @default DEFAULT_CLAIMS_PER_USER_BURST */
  perUserBurst?: number
  /** @default DEFAULT_CLAIMS_PER_USER_PER_HOUR */
  perUserPerHour?: number
}

/** Why a claim gets no one-time prekey: the label it is counted under (`chorus_rejected_total`). */
export type ClaimRefusal = 'prekey-claim-peer-rate' | 'prekey-claim-user-rate'

export class PrekeyClaims {
  private readonly byPeer: TokenBuckets
  private readonly byUser: TokenBuckets

  constructor (init: PrekeyClaimsInit = {}) {
    this.byPeer = new TokenBuckets((init.perPeerPerHour ?? DEFAULT_CLAIMS_PER_PEER_PER_HOUR) / 3600,
      init.perPeerBurst ?? DEFAULT_CLAIMS_PER_PEER_BURST)
    this.byUser = new TokenBuckets((init.perUserPerHour ?? DEFAULT_CLAIMS_PER_USER_PER_HOUR) / 3600,
      init.perUserBurst ?? DEFAULT_CLAIMS_PER_USER_BURST)
  }

  /**
   * Charge one claim of `user`'s one-time prekeys by `peer`: why it is refused, or `undefined` when it may have one.
   */
  charge (peer: string, user: string, now = Date.now()): ClaimRefusal | undefined {
    if (!this.byPeer.take(peer, 1, now)) return 'prekey-claim-peer-rate'
    if (!this.byUser.take(user, 1, now)) return 'prekey-claim-user-rate'
    return undefined
  }
}
