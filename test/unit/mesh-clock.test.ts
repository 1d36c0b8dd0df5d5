/**
 * MeshClock: the median offset of the servers that answered, applied to this node's wall clock once
 * enough servers agree, ignored within the dead band, not applied beyond the correction limit, and
 * robust to one lying server.
 */

import { strict as assert } from 'node:assert'
import { MeshClock } from '../../node/membership/mesh-clock.js'

describe('MeshClock', () => {
  const T = 1_796_000_000_000
  let wall = T
  const clock = (): MeshClock => new MeshClock({ wall: () => wall })
  /** a server whose clock reads `offset` ms off ours answered a request that took 20 ms */
  const answer = (c: MeshClock, peer: string, offset: number): void => {
    c.sample(peer, wall + 10 + offset, wall, wall + 20)
  }

  beforeEach(() => { wall = T })

  it('a node 2 minutes behind the mesh corrects itself once two servers said so', () => {
    const c = clock()
    answer(c, 'a', 120_000)
    assert.equal(c.now(), T, 'one server is not enough')
    answer(c, 'b', 120_004)
    assert.equal(c.offsetMs, 120_002)
    assert.equal(c.now(), T + 120_002)
    assert.equal(c.ownTime(), T, 'what it tells its peers stays its own clock')
  })

  it('one server with a wrong clock does not move the median', () => {
    const c = clock()
    answer(c, 'a', 3)
    answer(c, 'b', -2)
    answer(c, 'liar', 3_000_000)
    assert.equal(c.offsetMs, 0, 'the median (3 ms) is within the dead band')
    assert.equal(c.measuredOffsetMs, 3)
  })

  it('ignores answers that took too long, forgets servers that left, and does not apply absurd offsets', () => {
    const c = clock()
    c.sample('slow', wall + 500_000, wall, wall + 5000)
    assert.equal(c.samples, 0)
    answer(c, 'a', 60_000)
    answer(c, 'b', 60_000)
    assert.equal(c.offsetMs, 60_000)
    c.forget('b')
    assert.equal(c.offsetMs, 0, 'one server left: not enough')
    answer(c, 'b', 2 * 3_600_000)
    answer(c, 'c', 2 * 3_600_000)
    assert.equal(c.offsetMs, 0, 'two hours off is for the operator to fix, not to apply')
    assert.equal(c.measuredOffsetMs, 2 * 3_600_000)
  })
})
