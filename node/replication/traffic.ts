/**
 * What the store protocol (`/chorus/store/1.0.0`) carries, by request kind: frames and bytes of the
 * requests this node sent and of the answers it got back, and of the requests it served and its
 * answers, with the envelopes carried by STORE requests. Plain numbers, bumped per frame; exposed as
 * `chorus_store_rpc_*` metrics and read by the benchmarks to give the wire budget of a send.
 */

/** One kind of request, one direction. */
export interface KindTraffic {
  requests: number
  requestBytes: number
  responses: number
  responseBytes: number
  /** envelopes carried by these requests (STORE only) */
  puts: number
}

/** Traffic by request kind (`STORE`, `FETCH`, `DIGEST`, …). */
export type TrafficByKind = Record<string, KindTraffic>

/** A copy of both directions. */
export interface TrafficSnapshot {
  /** requests this node sent, and the answers it got */
  sent: TrafficByKind
  /** requests this node served, and its answers */
  served: TrafficByKind
}

const empty = (): KindTraffic => ({ requests: 0, requestBytes: 0, responses: 0, responseBytes: 0, puts: 0 })

/** The counters of one direction. */
export class KindCounters {
  private readonly byKind = new Map<string, KindTraffic>()

  /** A request frame of `bytes` carrying `puts` envelopes. */
  request (kind: string, bytes: number, puts = 0): void {
    const t = this.of(kind)
    t.requests++
    t.requestBytes += bytes
    t.puts += puts
  }

  /** A response frame of `bytes`. */
  response (kind: string, bytes: number): void {
    const t = this.of(kind)
    t.responses++
    t.responseBytes += bytes
  }

  /** Requests of `kind` so far. */
  requests (kind: string): number {
    return this.byKind.get(kind)?.requests ?? 0
  }

  snapshot (): TrafficByKind {
    return Object.fromEntries([...this.byKind].map(([k, t]) => [k, { ...t }]))
  }

  private of (kind: string): KindTraffic {
    let t = this.byKind.get(kind)
    if (t == null) { t = empty(); this.byKind.set(kind, t) }
    return t
  }
}

/** Both directions of one node. */
export class StoreTraffic {
  readonly sent = new KindCounters()
  readonly served = new KindCounters()

  snapshot (): TrafficSnapshot {
    return { sent: this.sent.snapshot(), served: this.served.snapshot() }
  }
}
