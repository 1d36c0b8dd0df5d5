/**
 * The serving side of `/chorus/store/1.0.0` on server nodes: read one bounded request, dispatch it to
 * its handler, answer. Bad input is answered REJECTED (or the stream aborted when it does not even
 * decode), counted by reason, and the node goes on serving everyone else.
 */

import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { STORE_PROTOCOL } from '../../protocol/constants.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { isEndOfStream, isMalformedFrame } from '../errors.js'
import { DEFAULT_PEER_PUT_RATE, MAX_FRAME_BYTES, MAX_STREAM_BUFFER_BYTES } from './constants.js'

/** Requests of one stream handled at once; reading pauses beyond it (back-pressure on the sender). */
const MAX_CONCURRENT_PER_STREAM = 64
import type { ReplicationContext, StoreHandler } from './context.js'
import { handleDigest, handleGet, handleIds } from './handlers/digest.js'
import { handleFetch } from './handlers/fetch.js'
import { handleAddresses, handleClaim, handleResolve } from './handlers/handles.js'
import { TokenBuckets } from '../rate-limit.js'
import { handleDelete, handleTombstones } from './handlers/delete.js'
import { handlePrekeyUsed, handlePrekeysGet, handlePrekeysPut } from './handlers/prekeys.js'
import { Rejection, SlowDown } from './handlers/rejection.js'
import { handleStore } from './handlers/store.js'
import { handleProbe } from './handlers/probe.js'
import { handleWatch } from './handlers/watch.js'
import { handleAccountGet, handleAccountPut } from './handlers/accounts.js'
import { decodeRequest } from './rpc.js'
import { answerOf, isInternal } from './status.js'
import { KindCounters } from './traffic.js'

const log = logger('chorus:replication:server')

const HANDLERS: Partial<Record<StoreRequest.Kind, StoreHandler>> = {
  [StoreRequest.Kind.STORE]: handleStore,
  [StoreRequest.Kind.FETCH]: handleFetch,
  [StoreRequest.Kind.DIGEST]: handleDigest,
  [StoreRequest.Kind.IDS]: handleIds,
  [StoreRequest.Kind.GET]: handleGet,
  [StoreRequest.Kind.CLAIM]: handleClaim,
  [StoreRequest.Kind.RESOLVE]: handleResolve,
  [StoreRequest.Kind.DELETE]: handleDelete,
  [StoreRequest.Kind.TOMBSTONES]: handleTombstones,
  [StoreRequest.Kind.PREKEYS_PUT]: handlePrekeysPut,
  [StoreRequest.Kind.PREKEYS_GET]: handlePrekeysGet,
  [StoreRequest.Kind.PREKEY_USED]: handlePrekeyUsed,
  [StoreRequest.Kind.PROBE]: handleProbe,
  [StoreRequest.Kind.WATCH]: handleWatch,
  [StoreRequest.Kind.ACCOUNT_PUT]: handleAccountPut,
  [StoreRequest.Kind.ACCOUNT_GET]: handleAccountGet,
  [StoreRequest.Kind.ADDRESSES]: handleAddresses
}

export class StoreServer {
  /**
   * This server's handler per request kind: its own copy of the defaults, so that one node's table can be
   * changed without touching another's (the adversary tests make one real node answer as a liar would).
   */
  readonly handlers: Partial<Record<StoreRequest.Kind, StoreHandler>> = { ...HANDLERS }
  /** envelopes per remote peer: a flooding peer gets BUSY, others are unaffected */
  private readonly budget: TokenBuckets
  constructor (
    private readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle'>,
    private readonly ctx: ReplicationContext,
    putRate = DEFAULT_PEER_PUT_RATE,
    private readonly traffic = new KindCounters()
  ) {
    this.budget = new TokenBuckets(putRate)
  }

  async start (): Promise<void> {
    await this.libp2p.handle(STORE_PROTOCOL, (stream, connection) => {
      void this.serve(stream, connection)
    }, { maxInboundStreams: 32, maxOutboundStreams: 32 })
  }

  async stop (): Promise<void> {
    await this.libp2p.unhandle(STORE_PROTOCOL)
  }

  /**
   * Serve one long-lived stream: read requests one after another, run up to MAX_CONCURRENT_PER_STREAM
   * at once, write each response as it is ready. A frame that does not decode ends this stream only.
   */
  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_STREAM_BUFFER_BYTES })
    const from = connection.remotePeer.toString()
    let writing: Promise<void> = Promise.resolve()
    let running = 0
    let slotFreed: (() => void) | undefined
    try {
      for (;;) {
        const bytes = await lp.read().catch((err) => { if (isEndOfStream(err)) return null; throw err })
        if (bytes == null) break
        const req = decodeRequest(bytes.subarray())
        this.traffic.request(req.kind, bytes.byteLength, req.puts.length)

        // eslint-disable-next-line no-unmodified-loop-condition -- a dispatch's .finally() lowers running
        while (running >= MAX_CONCURRENT_PER_STREAM) await new Promise<void>((resolve) => { slotFreed = resolve })
        running++
        void this.dispatch(req, from).then((res) => {
          res.requestId = req.requestId
          const frame = StoreResponse.encode(res)
          this.traffic.response(req.kind, frame.byteLength)
          writing = writing.then(async () => lp.write(frame)).catch((err) => { stream.abort(err) })
        }).finally(() => { running--; slotFreed?.(); slotFreed = undefined })
      }
      await writing
      await stream.close().catch(() => {})
    } catch (err: any) {
      this.ctx.reject(isMalformedFrame(err) ? 'malformed-frame' : 'read-failed')
      log('stream from %s ended: %s', from, err.message)
      stream.abort(err)
    }
  }

  /** Serve a request from this node itself (a server that is one of the owners it is asking). */
  async local (req: Partial<StoreRequest>, selfId: string): Promise<StoreResponse> {
    const full = StoreRequest.decode(StoreRequest.encode(req))
    return StoreResponse.decode(StoreResponse.encode(await this.dispatch(full, selfId)))
  }

  private async dispatch (req: StoreRequest, from: string): Promise<Partial<StoreResponse>> {
    try {
      const handler = this.handlers[req.kind]
      if (handler == null) throw new Rejection('unknown-kind', 'unknown request kind')
      if (req.kind === StoreRequest.Kind.STORE && from !== this.ctx.selfId &&
          !this.budget.take(from, req.puts.length)) {
        throw new SlowDown('rate-limited', 'too many envelopes from this peer; slow down')
      }
      return await handler(req, from, this.ctx)
    } catch (err: any) {
      // a refusal is counted under its reason; a failure of this node's own under `internal`, and logged
      const answer = answerOf(err)
      this.ctx.reject(answer.reason.toLowerCase())
      if (isInternal(answer)) log.error('%s request from %s failed: %s', req.kind, from, err?.stack ?? err?.message)
      return { status: answer.status, error: answer.error }
    }
  }
}
