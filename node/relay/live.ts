/**
 * `/chorus/live/1.0.0`: the point-to-point links of the live hop. One long-lived, one-way stream per peer
 * pair carries length-prefixed `LiveFrame`s; opening a stream costs round trips, so a link is opened once
 * and reused until it fails. Frames queued while a write is under way go out together in the next one
 * (one write for many frames under load, one per frame when idle). Live delivery is best effort (a
 * recipient's sync brings whatever a link loses), so a link never buffers without bound: a frame that
 * finds a link's queue full is dropped and counted. A frame that does not decode ends that one inbound
 * stream, is counted, and nothing else.
 */

import { logger } from '@libp2p/logger'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { LIVE_PROTOCOL } from '../../protocol/constants.js'
import { MAX_ENVELOPE_BYTES } from '../../protocol/envelope.js'
import { LiveFrame, type Changes } from '../../protocol/pb/live.js'
import { isEndOfStream, isMalformedFrame, MalformedFrameError } from '../errors.js'
import { PeerStreams } from '../peer-streams.js'

const log = logger('chorus:relay:live')

/** Largest frame: one envelope and its framing. */
export const MAX_LIVE_FRAME_BYTES = MAX_ENVELOPE_BYTES + 64

/** Bytes of frames waiting on one link before new ones are dropped (about 2,000 direct messages). */
export const MAX_LIVE_QUEUE_BYTES = 1024 * 1024

/** How long opening a link may take. */
const OPEN_TIMEOUT_MS = 3000

/** What the links have carried (running totals). */
export interface LiveCounts {
  framesSent: number
  bytesSent: number
  framesReceived: number
  bytesReceived: number
  /** frames dropped: the link's queue was full, or it failed */
  dropped: number
}

/** A frame that arrived, and the peer it came from. */
export type FrameHandler = (from: string, frame: LiveFrame) => void

/** One outbound link: frames go out in order, those queued during a write together in the next. */
class Link {
  private queue: Uint8Array[] = []
  private queuedBytes = 0
  private writing?: Promise<void>
  closed = false

  constructor (
    private readonly stream: Stream,
    private readonly lp: LengthPrefixedStream<Stream>,
    private readonly counts: LiveCounts,
    private readonly onClose: () => void
  ) {
    // nothing reads an outbound link, so only this says that its stream went (the peer restarted, the
    // connection dropped): without it, the next frames would be queued on a dead stream and lost unseen
    stream.addEventListener('close', (evt) => { this.fail(evt.error ?? new Error('stream closed')) }, { once: true })
  }

  /** Queue one frame; false when the link is closed or its queue is full (the frame is dropped). */
  send (frame: Uint8Array): boolean {
    if (!this.closed && this.stream.writeStatus !== 'writable') this.fail(new Error(`stream is ${this.stream.writeStatus}`))
    if (this.closed || this.queuedBytes + frame.byteLength > MAX_LIVE_QUEUE_BYTES) return false
    this.queue.push(frame)
    this.queuedBytes += frame.byteLength
    this.writing ??= this.flush().finally(() => { this.writing = undefined })
    return true
  }

  private async flush (): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue
      const bytes = this.queuedBytes
      this.queue = []
      this.queuedBytes = 0
      try {
        await this.lp.writeV(batch)
      } catch (err: any) {
        this.counts.dropped += batch.length + this.queue.length
        this.queue = []
        this.queuedBytes = 0
        this.fail(err)
        return
      }
      this.counts.framesSent += batch.length
      this.counts.bytesSent += bytes
    }
  }

  fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    this.onClose()
    this.stream.abort(err)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.onClose()
    await this.writing
    await this.stream.close().catch(() => { this.stream.abort(new Error('close failed')) })
  }
}

/** The live links of one node: its outbound links by peer, and the handler of inbound ones. */
export class LiveLinks {
  private readonly links: PeerStreams<Link>
  private readonly inbound = new Set<Stream>()
  readonly counts: LiveCounts = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, dropped: 0 }

  constructor (
    private readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>,
    private readonly onFrame: FrameHandler,
    private readonly reject: (reason: string) => void
  ) {
    this.links = new PeerStreams(libp2p, LIVE_PROTOCOL, (stream, peer, closed) =>
      new Link(stream, lpStream(stream, { maxDataLength: MAX_LIVE_FRAME_BYTES }), this.counts, () => {
        closed()
        log('live link to %s closed', peer)
      }))
  }

  async start (): Promise<void> {
    await this.libp2p.handle(LIVE_PROTOCOL, (stream, connection) => {
      void this.serve(stream, connection)
    }, { maxInboundStreams: 8, maxOutboundStreams: 8 })
  }

  async stop (): Promise<void> {
    await this.libp2p.unhandle(LIVE_PROTOCOL)
    await this.links.close()
    for (const s of this.inbound) s.abort(new Error('node stopping'))
    this.inbound.clear()
  }

  /**
   * Send one encoded frame to `peer`, opening the link when there is none. Resolves once the frame is
   * queued on an open link; rejects when no link opens (the caller may try another relay).
   */
  async send (peer: string, frame: Uint8Array): Promise<void> {
    const link = await this.links.get(peer, OPEN_TIMEOUT_MS)
    if (!link.send(frame)) {
      this.counts.dropped++
      throw new Error(`live link to ${peer} is ${link.closed ? 'closed' : 'full'}`)
    }
  }

  /** Read one inbound stream's frames until it ends; a frame that does not decode ends it. */
  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: MAX_LIVE_FRAME_BYTES, maxBufferSize: 4 * MAX_LIVE_FRAME_BYTES })
    this.inbound.add(stream)
    try {
      for (;;) {
        const bytes = await lp.read().catch((err) => { if (isEndOfStream(err)) return null; throw err })
        if (bytes == null) break
        this.counts.framesReceived++
        this.counts.bytesReceived += bytes.byteLength
        this.onFrame(from, decodeLiveFrame(bytes.subarray()))
      }
      await stream.close().catch(() => {})
    } catch (err: any) {
      this.reject(isMalformedFrame(err) ? 'malformed-frame' : 'read-failed')
      log('live stream from %s ended: %s', from, err.message)
      stream.abort(err)
    } finally {
      this.inbound.delete(stream)
    }
  }
}

/** Decode a live frame within the protocol's bounds. */
export function decodeLiveFrame (bytes: Uint8Array): LiveFrame {
  try {
    return LiveFrame.decode(bytes)
  } catch (err: any) {
    throw new MalformedFrameError(`live frame does not decode: ${err.message}`)
  }
}

/** Encode a live frame. */
export function encodeLiveFrame (envelope: Uint8Array, relay: boolean): Uint8Array {
  return LiveFrame.encode({ envelope: envelope as Uint8Array<ArrayBuffer>, relay })
}

/** Encode an owner's push of changes as a live frame (no envelope). */
export function encodeChangesFrame (changes: Changes): Uint8Array {
  return LiveFrame.encode({ envelope: new Uint8Array(0), relay: false, changes })
}
