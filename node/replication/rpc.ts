/**
 * The client side of `/chorus/store/1.0.0`. One long-lived stream per peer carries pipelined requests;
 * each response names its request id and may come back out of order. Opening a stream costs several
 * round trips (measured here: a fresh stream per request made a send ~10× slower), so a stream is
 * opened once and reused until it fails. Every request is bounded in size and has its own deadline.
 */

import { logger } from '@libp2p/logger'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Libp2p, Stream } from '@libp2p/interface'
import { STORE_PROTOCOL } from '../../protocol/constants.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { ChorusError, MalformedFrameError } from '../errors.js'
import { PeerStreams } from '../peer-streams.js'
import { DEFAULT_RPC_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_STREAM_BUFFER_BYTES } from './constants.js'
import type { KindCounters } from './traffic.js'
import { MAX_PROBES } from './handlers/probe.js'
import { errorOfStatus } from './status.js'

const log = logger('chorus:replication:rpc')

/** A request did not get its response in time. */
export class RequestTimeoutError extends ChorusError {
  static readonly code = 'ERR_REQUEST_TIMEOUT'
  override readonly name = 'RequestTimeoutError'
  constructor (message: string) { super(message, RequestTimeoutError.code) }
}

/** Timed-out requests remembered per channel for counting their late answers. */
const MAX_LATE = 1024

interface Pending {
  kind: string
  resolve: (r: StoreResponse) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

/** One pipelined stream to one peer. */
class Channel {
  private readonly pending = new Map<number, Pending>()
  /** kinds of requests that timed out, by id: their answers still cross the wire and are counted */
  private readonly late = new Map<number, string>()
  private nextId = 1
  private writing: Promise<void> = Promise.resolve()
  closed = false

  constructor (
    private readonly stream: Stream,
    private readonly lp: LengthPrefixedStream<Stream>,
    private readonly traffic: KindCounters,
    private readonly onClose: () => void
  ) {
    void this.readLoop()
  }

  async request (req: Partial<StoreRequest>, timeoutMs: number): Promise<StoreResponse> {
    if (this.closed) throw new Error('channel closed')
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    const frame = StoreRequest.encode({ ...req, requestId: id })
    const kind = req.kind ?? StoreRequest.Kind.STORE
    this.traffic.request(kind, frame.byteLength, req.puts?.length ?? 0)
    const response = new Promise<StoreResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        this.late.set(id, kind)
        if (this.late.size > MAX_LATE) this.late.delete(this.late.keys().next().value as number)
        reject(new RequestTimeoutError(`no response within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { kind, resolve, reject, timer })
    })
    // frames are written one at a time, in order; a failed write fails the channel
    this.writing = this.writing.then(async () => this.lp.write(frame)).catch((err) => { this.fail(err) })
    return response
  }

  get load (): number { return this.pending.size }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        const bytes = (await this.lp.read()).subarray()
        const res = decodeResponse(bytes)
        const p = this.pending.get(res.requestId)
        if (p == null) {
          // answered after its deadline: already rejected
          const kind = this.late.get(res.requestId)
          if (kind != null) { this.late.delete(res.requestId); this.traffic.response(kind, bytes.byteLength) }
          continue
        }
        this.traffic.response(p.kind, bytes.byteLength)
        this.pending.delete(res.requestId)
        clearTimeout(p.timer)
        p.resolve(res)
      }
    } catch (err: any) {
      this.fail(err)
    }
  }

  fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    this.onClose()
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(err) }
    this.pending.clear()
    this.stream.abort(err)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.onClose()
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('channel closed')) }
    this.pending.clear()
    await this.stream.close().catch(() => { this.stream.abort(new Error('close failed')) })
  }
}

/** Channels to every peer this node talks replication with. */
export class StoreChannels {
  private readonly channels: PeerStreams<Channel>

  constructor (libp2p: Pick<Libp2p, 'dialProtocol'>, private readonly traffic: KindCounters) {
    this.channels = new PeerStreams(libp2p, STORE_PROTOCOL, (stream, peerId, closed) =>
      new Channel(stream,
        lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_STREAM_BUFFER_BYTES }), this.traffic,
        () => {
          closed()
          log('channel to %s closed', peerId)
        }))
  }

  /** Send `req` to `peerId`; other statuses than OK, CONFLICT and NOT_FOUND throw their typed error (status.ts). */
  async call (peerId: string, req: Partial<StoreRequest>, timeoutMs = DEFAULT_RPC_TIMEOUT_MS): Promise<StoreResponse> {
    const channel = await this.channels.get(peerId, timeoutMs)
    return checkStatus(await channel.request(req, timeoutMs), peerId)
  }

  /** Close every channel (node stopping). */
  async close (): Promise<void> {
    await this.channels.close()
  }
}

/** Pass OK, CONFLICT and NOT_FOUND answers through; throw the typed error of any other status (status.ts). */
export function checkStatus (res: StoreResponse, peerId: string): StoreResponse {
  if (res.status === StoreResponse.Status.OK || res.status === StoreResponse.Status.CONFLICT ||
      res.status === StoreResponse.Status.NOT_FOUND) {
    return res
  }
  throw errorOfStatus(res.status, res.error, peerId)
}

/** Decode a response within the protocol's bounds. */
export function decodeResponse (bytes: Uint8Array): StoreResponse {
  try {
    return StoreResponse.decode(bytes, {
      limits: {
        envelopes: 1000,
        buckets: 20_000,
        cursors: 20_000,
        tombstones: 1000,
        refused: 1000,
        versions: MAX_PROBES
      }
    })
  } catch (err: any) {
    throw new MalformedFrameError(`store response does not decode: ${err.message}`)
  }
}

/** Decode a request within the protocol's bounds. */
export function decodeRequest (bytes: Uint8Array): StoreRequest {
  try {
    return StoreRequest.decode(bytes, {
      limits: { puts: 512, puts$: { hintFor: 16 }, buckets: 20_000, cursors: 1000, probes: MAX_PROBES }
    })
  } catch (err: any) {
    throw new MalformedFrameError(`store request does not decode: ${err.message}`)
  }
}

/** The call signature every replication part uses. */
export type StoreCall = (peer: string, req: Partial<StoreRequest>, timeoutMs?: number) => Promise<StoreResponse>
