import { strict as assert } from 'node:assert'
import { boundedMemo } from '../../protocol/bounded-memo.js'
import { MAX_PEER_IDS, peerIdOf } from '../../node/peer-ids.js'

describe('boundedMemo', () => {
  it('makes each value once, drops the oldest past its bound, and keeps nothing of a make that throws', () => {
    const made: string[] = []
    const memo = boundedMemo(2, (s: string) => s, (s: string) => {
      if (s === 'bad') throw new Error('does not parse')
      made.push(s)
      return { s }
    })
    const a = memo('a')
    assert.equal(memo('a'), a)
    memo('b')
    memo('c') // drops a
    assert.deepEqual(made, ['a', 'b', 'c'])
    assert.notEqual(memo('a'), a, 'made again after it was dropped')
    assert.throws(() => memo('bad'), /does not parse/)
    assert.throws(() => memo('bad'), /does not parse/, 'not kept: it throws again')
  })

  it('peer ids: one object per id string, and a string that is not an id throws', () => {
    const id = '12D3KooWEmudT319L17U3XzhYR9SamX86Bw8TnpJ3pKRcC292XX9'
    assert.equal(peerIdOf(id), peerIdOf(id))
    assert.equal(peerIdOf(id).toString(), id)
    assert.throws(() => peerIdOf('not-a-peer-id'))
    assert.ok(MAX_PEER_IDS >= 1024)
  })
})
