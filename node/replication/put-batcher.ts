/**
 * Outbound puts to one peer, coalesced: the puts of one turn of the event loop leave in one request (a
 * direct message's two mailboxes often share owners: one frame each way to each, not two), and while
 * requests are in flight, new puts queue and the next request carries all of them (up to
 * MAX_PUTS_PER_REQUEST). Under load a send costs a share of one round trip instead of one round trip
 * per owner.
 */

import { StoreRequest, StoreResponse, type Put } from '../../protocol/pb/store.js'
import { DEFAULT_RPC_TIMEOUT_MS, MAX_PUTS_PER_REQUEST, OUTBOUND_WINDOW } from './constants.js'
import type { StoreCall } from './rpc.js'
import { errorOfStatus } from './status.js'

interface Waiting { put: Put, resolve: () => void, reject: (err: Error) => void }

interface Queue { waiting: Waiting[], inFlight: number, scheduled: boolean }

type Call = StoreCall

/** One queue per peer. */
export class PutBatcher {
  private readonly queues = new Map<string, Queue>()

  constructor (private readonly call: Call, private readonly timeoutMs = DEFAULT_RPC_TIMEOUT_MS) {}

  /** Resolves when `peer` has the put on disk; rejects when the request carrying it fails. */
  async put (peer: string, put: Put): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let q = this.queues.get(peer)
      if (q == null) { q = { waiting: [], inFlight: 0, scheduled: false }; this.queues.set(peer, q) }
      q.waiting.push({ put, resolve, reject })
      if (q.scheduled) return
      // the rest of this turn's puts to `peer` (the other mailbox of the same envelope) join this request
      q.scheduled = true
      const queue = q
      queueMicrotask(() => {
        queue.scheduled = false
        this.pump(peer, queue)
      })
    })
  }

  private pump (peer: string, q: Queue): void {
    while (q.inFlight < OUTBOUND_WINDOW && q.waiting.length > 0) {
      const batch = q.waiting.splice(0, MAX_PUTS_PER_REQUEST)
      q.inFlight++
      this.call(peer, { kind: StoreRequest.Kind.STORE, puts: batch.map((w) => w.put) }, this.timeoutMs)
        .then((res) => {
          if (res.status !== StoreResponse.Status.OK) throw errorOfStatus(res.status, res.error, peer)
          // puts refused for their sender (room rules, rate) fail alone; the rest of the batch is stored
          const refused = new Map(res.refused.map((r) => [r.index, r]))
          batch.forEach((w, i) => {
            const r = refused.get(i)
            if (r == null) { w.resolve(); return }
            w.reject(errorOfStatus(r.status, r.error, peer))
          })
        })
        .catch((err: Error) => { for (const w of batch) w.reject(err) })
        .finally(() => {
          q.inFlight--
          if (q.waiting.length > 0) this.pump(peer, q)
          else if (q.inFlight === 0) this.queues.delete(peer)
        })
    }
  }
}
