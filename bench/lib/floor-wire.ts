/**
 * The `floor` scenario's framing: one long-lived libp2p stream carries length-prefixed frames both ways.
 * Frames queued in one turn of the event loop go out in one `stream.send` (one yamux frame, one noise
 * message), as Chorus's live links coalesce theirs (node/relay/live.ts); incoming bytes are cut into frames
 * by libp2p's own length-prefix decoder straight from the stream's `message` events, without the per-byte
 * reads of `lpStream`. This is the least a send can cost on the wire with Chorus's transport stack.
 */

import type { Stream } from '@libp2p/interface'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { FLOOR_MAX_FRAME_BYTES, FLOOR_SEQ_BYTES } from './floor-protocol.js'

/** Bytes of data a link may hold unread before the stream is failed. */
const MAX_BUFFER_BYTES = 64 * FLOOR_MAX_FRAME_BYTES

/** The unsigned LEB128 varint of `n` (the length prefix libp2p's length-prefixed streams use). */
export function varint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a varint encodes a whole number ≥ 0 (got ${n})`)
  const out: number[] = []
  let v = n
  while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 128) }
  out.push(v)
  return Uint8Array.from(out)
}

/** The 4-byte big-endian header of sequence number `seq` (taken modulo 2³²). */
export function seqHeader (seq: number): Uint8Array {
  const out = new Uint8Array(FLOOR_SEQ_BYTES)
  new DataView(out.buffer).setUint32(0, seq >>> 0)
  return out
}

/** The sequence number heading `frame`. */
export function readSeq (frame: Uint8Array): number {
  if (frame.byteLength < FLOOR_SEQ_BYTES) throw new RangeError(`a floor frame starts with a ${FLOOR_SEQ_BYTES}-byte sequence number (got ${frame.byteLength} bytes)`)
  return new DataView(frame.buffer, frame.byteOffset, FLOOR_SEQ_BYTES).getUint32(0)
}

/** One stream, framed: `send` queues a frame, `onFrame` gets each frame that arrives, whole. */
export class FrameLink {
  private queue: Uint8Array[][] = []
  private scheduled = false
  private draining = false
  closed = false
  framesIn = 0
  framesOut = 0
  /** `stream.send` calls (each one yamux data frame and one noise message or more) */
  writes = 0
  private readonly decoder = new LengthPrefixedDecoder({
    maxDataLength: FLOOR_MAX_FRAME_BYTES,
    maxBufferSize: MAX_BUFFER_BYTES
  })

  constructor (
    private readonly stream: Stream,
    onFrame: (link: FrameLink, frame: Uint8Array) => void,
    private readonly onError: (err: Error) => void
  ) {
    stream.addEventListener('message', (evt) => {
      try {
        for (const f of this.decoder.decode(evt.data)) {
          this.framesIn++
          onFrame(this, f.subarray())
        }
      } catch (err: any) {
        this.fail(err)
      }
    })
    stream.addEventListener('close', () => { this.closed = true })
  }

  /** Queue one frame made of `parts` (sent back to back, not copied); it leaves with the others of this turn. */
  send (...parts: Uint8Array[]): void {
    if (this.closed) return
    this.queue.push(parts)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => { this.flush() })
    }
  }

  /** Close the stream (the scenario is over). */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.stream.close().catch(() => { this.stream.abort(new Error('close failed')) })
  }

  private flush (): void {
    this.scheduled = false
    if (this.draining || this.closed || this.queue.length === 0) return
    const list = new Uint8ArrayList()
    for (const parts of this.queue) {
      list.append(varint(parts.reduce((n, p) => n + p.byteLength, 0)))
      for (const p of parts) list.append(p)
    }
    this.framesOut += this.queue.length
    this.queue = []
    this.writes++
    if (this.stream.send(list)) return
    // accepted, but the stream's buffer is full: hold what comes next until it drains
    this.draining = true
    this.stream.onDrain().then(() => {
      this.draining = false
      this.flush()
    }, (err: Error) => { this.fail(err) })
  }

  private fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    this.stream.abort(err)
    this.onError(err)
  }
}
