/**
 * The outbound put queue of one node (node/replication/put-batcher.ts), against a scripted store call:
 * the puts of one turn leave in one request per peer, a request's refusals fail only their own puts,
 * and a failed request fails every put it carried.
 */

import { strict as assert } from 'node:assert'
import { PutBatcher } from '../../node/replication/put-batcher.js'
import type { StoreCall } from '../../node/replication/rpc.js'
import { StoreResponse, type Put, type StoreRequest } from '../../protocol/pb/store.js'

const put = (mailbox: string): Put => ({ mailbox, envelope: new Uint8Array([1, 2, 3]), hintFor: [] })
const ok = (refused: StoreResponse['refused'] = []): StoreResponse =>
  StoreResponse.decode(StoreResponse.encode({ status: StoreResponse.Status.OK, refused }))
const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

describe('put batcher: one request per peer per turn', () => {
  let calls: Array<{ peer: string, req: Partial<StoreRequest> }>
  let answer: (req: Partial<StoreRequest>) => Promise<StoreResponse>
  let batcher: PutBatcher

  beforeEach(() => {
    calls = []
    answer = async () => ok()
    const call: StoreCall = async (peer, req) => {
      calls.push({ peer, req })
      return await answer(req)
    }
    batcher = new PutBatcher(call)
  })

  it('sends the puts one turn makes to a peer in one request, and other peers their own', async () => {
    await Promise.all([
      batcher.put('owner-a', put('alice')),
      batcher.put('owner-b', put('alice')),
      batcher.put('owner-a', put('bob')),
      batcher.put('owner-b', put('bob'))
    ])
    assert.deepEqual(calls.map((c) => [c.peer, c.req.puts?.map((p) => p.mailbox)]), [
      ['owner-a', ['alice', 'bob']],
      ['owner-b', ['alice', 'bob']]
    ])
  })

  it('sends a put of a later turn in a request of its own while the first is in flight', async () => {
    let release = (): void => {}
    answer = async () => { await new Promise<void>((resolve) => { release = resolve }); return ok() }
    const first = batcher.put('owner-a', put('alice'))
    await turn()
    answer = async () => ok()
    const second = batcher.put('owner-a', put('bob'))
    await second
    release()
    await first
    assert.deepEqual(calls.map((c) => c.req.puts?.map((p) => p.mailbox)), [['alice'], ['bob']])
  })

  it('fails only the puts the owner refused, and every put of a request that failed', async () => {
    answer = async () => ok([{ index: 1, status: StoreResponse.Status.REJECTED, error: 'not a member' }])
    const [a, b] = await Promise.allSettled([batcher.put('owner-a', put('alice')), batcher.put('owner-a', put('room'))])
    assert.equal(a.status, 'fulfilled')
    assert.equal(b.status, 'rejected')
    answer = async () => { throw new Error('connection reset') }
    const both = await Promise.allSettled([batcher.put('owner-a', put('alice')), batcher.put('owner-a', put('bob'))])
    assert.deepEqual(both.map((r) => r.status), ['rejected', 'rejected'])
    assert.equal(calls.length, 2)
  })
})
