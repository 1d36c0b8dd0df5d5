/**
 * One outbound stream per peer for a protocol, opened once and reused: opening a libp2p stream costs
 * round trips (a fresh stream per store request made a send ~10× slower), so the live hop's links
 * (relay/live.ts) and the store protocol's request channels (replication/rpc.ts) each keep one per peer.
 *
 * What runs on the stream (its framing, queues, pending requests) is the caller's: it is built by the
 * caller's `build` once the stream opens, and only has to say whether it has `closed` and to `close()`.
 * The table here keeps the rules both share:
 *
 * - concurrent callers for one peer share one opening, and get what was built on it;
 * - what is built is reused until it has closed; then the next caller opens a new stream;
 * - an opening that fails (the dial failed, or took longer than its timeout) is not kept: the caller
 *   that started it gets its error; those that were waiting on it, like the next caller, open again;
 * - callers that find the stream closed, or its opening failed, share one new opening and its outcome,
 *   an error included (a caller waits on two openings at most), so no stream is opened and then lost;
 * - an entry is forgotten only while it is still the peer's current one, so a late close or failure of an
 *   old stream never drops the stream that replaced it;
 * - `close()` forgets every entry and closes what was built on each.
 */

import { peerIdOf } from './peer-ids.js'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'

/** What is built on one outbound stream: whether it has closed (or failed), and how to close it. */
export interface PeerStreamUse {
  readonly closed: boolean
  close: () => Promise<void>
}

/** The dialling side of libp2p that opening takes (`Pick<Libp2p, 'dialProtocol'>` is one). */
export interface ProtocolDialer<S = Stream> {
  dialProtocol: (peer: PeerId, protocol: string | string[], options: AbortOptions) => Promise<S>
}

/**
 * Build what runs on `peer`'s freshly opened `stream`. `closed` is called when it closes or fails (once,
 * or more: later calls do nothing); it forgets the entry, so the next caller opens a new stream.
 */
export type BuildOnStream<T, S = Stream> = (stream: S, peer: string, closed: () => void) => T

/** The outbound streams of one protocol, one per peer, with what the caller built on each. */
export class PeerStreams<T extends PeerStreamUse, S = Stream> {
  private readonly entries = new Map<string, Promise<T>>()

  constructor (
    private readonly dialer: ProtocolDialer<S>,
    /** the protocol to open; several: the first the peer speaks (the stream says which) */
    private readonly protocol: string | string[],
    private readonly build: BuildOnStream<T, S>
  ) {}

  /**
   * What is built on the open stream to `peer`, opening one (within `timeoutMs`) when there is none or
   * the last has closed. Rejects with the dial's error when the stream does not open.
   */
  async get (peer: string, timeoutMs: number): Promise<T> {
    const existing = this.entries.get(peer)
    if (existing != null) {
      const built = await existing.catch(() => undefined)
      if (built != null && !built.closed) return built
      this.forget(peer, existing)
      // another caller found it unusable first (or came after) and is opening the next one: share it
      const next = this.entries.get(peer)
      if (next != null) return await next
    }
    const opening: Promise<T> = (async () => {
      const stream = await this.dialer.dialProtocol(peerIdOf(peer), this.protocol, {
        signal: AbortSignal.timeout(timeoutMs)
      })
      return this.build(stream, peer, () => { this.forget(peer, opening) })
    })()
    this.entries.set(peer, opening)
    opening.catch(() => { this.forget(peer, opening) })
    return await opening
  }

  /** Forget every stream and close what was built on each (the node is stopping). */
  async close (): Promise<void> {
    const all = [...this.entries.values()]
    this.entries.clear()
    await Promise.allSettled(all.map(async (t) => (await t).close()))
  }

  /** Forget `peer`'s entry if it is still `entry` (a newer one may have replaced it). */
  private forget (peer: string, entry: Promise<T>): void {
    if (this.entries.get(peer) === entry) this.entries.delete(peer)
  }
}
