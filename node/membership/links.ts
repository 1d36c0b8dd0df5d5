/**
 * The dialling side of membership's requests: one long-lived stream per peer (`/chorus/membership/1.1.0`)
 * carries this node's pings, ping requests, syncs and its leave to that peer, each numbered, and their
 * replies in any order. A probe used to open a stream of its own: with libp2p that is a protocol
 * negotiation and a peer-store update on both sides, about a third of what an idle server did.
 *
 * - A request that gets no reply in its time fails, and so does its stream: the next request opens a new
 *   one (a stream whose connection died without a word would otherwise fail every probe after it, even
 *   once the peer is back over another connection).
 * - A stream that ends or fails fails every request waiting on it.
 * - A peer that speaks only `/chorus/membership/1.0.0` (an older node) gets one request a stream, as
 *   before.
 * - A reply is decoded (and bounded) by the caller's decoder; one whose number nothing waits for (it came
 *   after its request timed out) is dropped.
 */

import { logger } from '@libp2p/logger'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { PeerStreams, type PeerStreamUse, type ProtocolDialer } from '../peer-streams.js'
import { MAX_FRAME_BYTES } from './constants.js'

const log = logger('chorus:membership:links')

/** How long closing a link may wait for the peer's side before it is reset. */
const CLOSE_TIMEOUT_MS = 1000

interface Waiting {
  resolve: (reply: MembershipMessage) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** One peer's stream: numbered requests out, their replies in. */
class Link implements PeerStreamUse {
  closed = false
  private nextId = 1
  private readonly waiting = new Map<number, Waiting>()
  private writing: Promise<void> = Promise.resolve()
  private readonly lp: LengthPrefixedStream<Stream>
  /** an older peer's stream: one request, then it closes */
  private readonly single: boolean

  constructor (
    private readonly stream: Stream,
    private readonly decode: (bytes: Uint8Array) => MembershipMessage,
    private readonly onClose: () => void
  ) {
    this.lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    this.single = stream.protocol !== MEMBERSHIP_LINK_PROTOCOL
    stream.addEventListener('close', (evt) => { this.fail(evt.error ?? new Error('stream closed')) }, { once: true })
    if (!this.single) void this.readLoop()
  }

  /** Send `msg` (numbered here) and wait for its reply, within `timeoutMs`. */
  async request (msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage> {
    if (this.closed) throw new Error('membership link closed')
    if (this.single) return await this.once(msg, timeoutMs)
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    const frame = MembershipMessage.encode({ ...msg, requestId: id })
    const reply = new Promise<MembershipMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id)
        const err = new Error(`no membership reply within ${timeoutMs} ms`)
        reject(err)
        // a stream that answers nothing in time is not trusted with the next request
        this.fail(err)
      }, timeoutMs)
      this.waiting.set(id, { resolve, reject, timer })
    })
    this.writing = this.writing.then(async () => { await this.lp.write(frame) }).catch((err) => { this.fail(err) })
    return await reply
  }

  /** An older peer's stream: one request and its reply, then the stream closes. */
  private async once (msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage> {
    this.closed = true
    this.onClose()
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      await this.lp.write(MembershipMessage.encode(msg), { signal })
      const reply = this.decode((await this.lp.read({ signal })).subarray())
      await this.stream.close({ signal }).catch(() => {})
      return reply
    } catch (err: any) {
      this.stream.abort(err)
      throw err
    }
  }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        const reply = this.decode((await this.lp.read()).subarray())
        const w = this.waiting.get(reply.requestId)
        if (w == null) continue
        this.waiting.delete(reply.requestId)
        clearTimeout(w.timer)
        w.resolve(reply)
      }
    } catch (err: any) {
      this.fail(err)
    }
  }

  /** The stream failed (or answered nothing in time): what waits fails with `err`, and the stream is reset. */
  fail (err: Error): void {
    if (!this.end(err)) return
    if (this.stream.status === 'open') this.stream.abort(err)
  }

  /** The node is stopping: what waits fails, what was written goes out, and the stream is closed. */
  async close (): Promise<void> {
    if (!this.end(new Error('membership link closed'))) return
    await this.writing
    const signal = AbortSignal.timeout(CLOSE_TIMEOUT_MS)
    await this.stream.close({ signal }).catch((err) => { this.stream.abort(err) })
  }

  /** Take no more requests and fail those waiting with `err`; false when there was nothing left to end. */
  private end (err: Error): boolean {
    if (this.closed && this.waiting.size === 0) return false
    if (!this.closed) {
      this.closed = true
      this.onClose()
    }
    for (const w of this.waiting.values()) { clearTimeout(w.timer); w.reject(err) }
    this.waiting.clear()
    return true
  }
}

/** This node's membership links to its peers, one per peer, opened when first needed. */
export class MembershipLinks {
  private readonly links: PeerStreams<Link>

  constructor (dialer: ProtocolDialer, decode: (bytes: Uint8Array) => MembershipMessage) {
    this.links = new PeerStreams(dialer, [MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL], (stream, peer, closed) =>
      new Link(stream, decode, () => {
        closed()
        log('membership link to %s closed', peer)
      }))
  }

  /**
   * `msg` to `peer` and its reply, within `timeoutMs` from now (opening the link included). Rejects when
   * the link does not open, fails, or no reply comes in time.
   */
  async request (peer: string, msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage> {
    const deadline = Date.now() + timeoutMs
    const link = await this.links.get(peer, timeoutMs)
    return await link.request(msg, Math.max(1, deadline - Date.now()))
  }

  /** Close every link (the node is stopping). */
  async close (): Promise<void> {
    await this.links.close()
  }
}
