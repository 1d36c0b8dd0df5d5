/**
 * Is this peer alive? One probe: a PING with a deadline; on silence (anything but a refused connection,
 * which means nothing listens there) one more, longer PING and, at the same time, PING_REQs to up to
 * INDIRECT_PROBES other live members (SWIM's indirect probe). Any ack clears the peer; otherwise the
 * member table suspects it. This module also serves other members' PING_REQs.
 */

import { logger } from '@libp2p/logger'
import { peerIdOf } from '../peer-ids.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { MalformedFrameError, isRefused } from '../errors.js'
import * as C from './constants.js'
import type { MemberTable } from './member-table.js'

const log = logger('chorus:membership')

/** The counters the prober keeps (a part of membership's `MembershipStats`). */
export interface ProbeStats {
  probesSent: number
  probesFailed: number
  /** probes that asked other members to ping the target, and of those, the ones another member got an ack for */
  indirectProbes: number
  indirectAcks: number
  /** PING_REQs this node served for others */
  pingReqsServed: number
}

/** What the prober needs from membership. */
export interface ProberDeps {
  selfId: string
  probeTimeoutMs: number
  stats: ProbeStats
  /** whether a connection to `peerId` is open (a probe that must dial first gets more time) */
  connected: (peerId: string) => boolean
  /** one request on a fresh stream, its reply applied to the view; throws on silence or a broken stream */
  request: (
    peerId: string,
    kind: MembershipMessage.Kind,
    timeoutMs: number,
    target?: string
  ) => Promise<MembershipMessage | undefined>
  table: Pick<MemberTable, 'get' | 'live' | 'probeFailed'>
}

export class Prober {
  private readonly inFlight = new Set<string>()
  private pingReqsInFlight = 0

  constructor (private readonly d: ProberDeps) {}

  /** Ping one peer; on silence, suspect it. Concurrent probes of one peer are merged. */
  async probe (peerId: string): Promise<void> {
    if (this.inFlight.has(peerId)) return
    this.inFlight.add(peerId)
    this.d.stats.probesSent++
    try {
      // a probe that must first open a connection (dial, noise, yamux) gets more time than an ack on a
      // live one: on a busy host the handshake alone can take longer than a probe timeout
      const timeout = this.d.connected(peerId) ? this.d.probeTimeoutMs : this.d.probeTimeoutMs * C.DIAL_TIMEOUT_FACTOR
      try {
        await this.ping(peerId, timeout)
      } catch (err: any) {
        // a refused connection is a dead process: suspect at once. Silence may only be a busy host (ours
        // or theirs) or a path that is broken between us alone: give it one more, longer chance, and at
        // the same time ask other members to ping it (SWIM's indirect probe). Either answer clears it.
        if (isRefused(err) || this.d.table.get(peerId)?.state !== 'alive') throw err
        await Promise.any([this.ping(peerId, timeout * 2), this.indirect(peerId, timeout * 2)])
      }
    } catch (err: any) {
      this.d.stats.probesFailed++
      log('probe of %s failed: %s', peerId, err.message)
      this.d.table.probeFailed(peerId)
    } finally {
      this.inFlight.delete(peerId)
    }
  }

  private async ping (peerId: string, timeoutMs: number): Promise<void> {
    const reply = await this.d.request(peerId, MembershipMessage.Kind.PING, timeoutMs)
    if (reply?.kind !== MembershipMessage.Kind.ACK) throw new MalformedFrameError('expected an ACK')
  }

  /** Ask up to INDIRECT_PROBES other members to ping `target`; resolves when one of them got its ack. */
  private async indirect (target: string, timeoutMs: number): Promise<void> {
    const helpers = this.d.table.live().filter((m) => m.peerId !== target && m.role !== 'client' && m.state === 'alive')
    for (let i = helpers.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[helpers[i], helpers[j]] = [helpers[j], helpers[i]]
    }
    const chosen = helpers.slice(0, C.INDIRECT_PROBES)
    if (chosen.length === 0) throw new Error('no member to probe through')
    this.d.stats.indirectProbes++
    await Promise.any(chosen.map(async (h) => {
      const reply = await this.d.request(h.peerId, MembershipMessage.Kind.PING_REQ, timeoutMs, target)
      if (reply?.kind !== MembershipMessage.Kind.ACK) throw new Error(`${h.peerId} had no answer from ${target}`)
    }))
    this.d.stats.indirectAcks++
  }

  /**
   * A PING_REQ: ping `target` for `from`. Only members this node knows as live are pinged (a PING_REQ
   * cannot make it dial anywhere new), at most MAX_PING_REQS at a time; anything else is a NACK.
   */
  async pingFor (target: string, from: string): Promise<MembershipMessage.Kind> {
    if (target.length === 0 || target.length > C.MAX_PEER_ID_LENGTH) throw new MalformedFrameError('PING_REQ without a valid target')
    try { peerIdOf(target) } catch { throw new MalformedFrameError(`PING_REQ target ${target.slice(0, 64)} is not a peer id`) }
    const state = this.d.table.get(target)?.state
    if (target === from || target === this.d.selfId || (state !== 'alive' && state !== 'suspect')) return MembershipMessage.Kind.NACK
    if (this.pingReqsInFlight >= C.MAX_PING_REQS) return MembershipMessage.Kind.NACK
    this.pingReqsInFlight++
    this.d.stats.pingReqsServed++
    try {
      await this.ping(target, this.d.probeTimeoutMs)
      return MembershipMessage.Kind.ACK
    } catch {
      return MembershipMessage.Kind.NACK
    } finally {
      this.pingReqsInFlight--
    }
  }
}
