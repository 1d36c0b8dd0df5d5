/**
 * How owners settle disagreeing handle claims (protocol/handle.ts): by a majority of the owners, never by
 * the order of signed timestamps alone (an owner can back-date its own claim); the order (earlier signed
 * timestamp, then the lower hash of the signed bytes) only picks one of the copies of one claimant.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity } from '../../protocol/envelope.js'
import {
  agreedClaim, claimVotes, compareClaims, firstClaim, majorityOf, sameClaimant, signHandleClaim
} from '../../protocol/handle.js'

describe('handle claim order', () => {
  const alice = generateIdentity()
  const mallory = generateIdentity()

  it('puts the earlier signed timestamp first, whoever holds it', () => {
    const early = signHandleClaim('alice', alice, 1000n)
    const late = signHandleClaim('alice', mallory, 1001n)
    assert.ok(compareClaims(early, late) < 0)
    assert.ok(compareClaims(late, early) > 0)
    assert.equal(firstClaim([late, undefined, early]), early)
    assert.equal(firstClaim([]), undefined)
  })

  it('breaks a tie of timestamps by hash, the same way from both sides', () => {
    const a = signHandleClaim('alice', alice, 5000n)
    const m = signHandleClaim('alice', mallory, 5000n)
    assert.notEqual(compareClaims(a, m), 0)
    assert.equal(Math.sign(compareClaims(a, m)), -Math.sign(compareClaims(m, a)))
    assert.equal(firstClaim([a, m]), firstClaim([m, a]))
    assert.equal(compareClaims(a, signHandleClaim('alice', alice, 5000n)), 0, 'one claim, signed twice')
  })

  it('tells claims of one key apart from claims of another', () => {
    assert.ok(sameClaimant(signHandleClaim('alice', alice, 1n), signHandleClaim('alice', alice, 2n)))
    assert.ok(!sameClaimant(signHandleClaim('alice', alice, 1n), signHandleClaim('alice', mallory, 1n)))
  })

  it('settles on the claim a majority of the owners hold, however early a minority signs its own', () => {
    const real = signHandleClaim('alice', alice, 5000n)
    const backdated = signHandleClaim('alice', mallory, 1n)
    assert.equal(agreedClaim([real, real, backdated], 3), real)
    assert.equal(agreedClaim([backdated, real, undefined], 3), undefined, 'one each and a blank owner: no majority')
    assert.equal(agreedClaim([backdated, backdated, real], 3), backdated, 'two owners of three decide')
    assert.equal(agreedClaim([real], 1), real)
    assert.equal(agreedClaim([real, real], 5), undefined, 'two of five is no majority')
    // one claimant that signed twice counts once per owner, its first claim standing for it
    const again = signHandleClaim('alice', alice, 9000n)
    assert.equal(agreedClaim([again, real, backdated], 3), real)
  })

  it('counts the claims held by claimant, most held first, for a resolver that asks less than a majority', () => {
    const real = signHandleClaim('alice', alice, 5000n)
    const again = signHandleClaim('alice', alice, 9000n)
    const other = signHandleClaim('alice', mallory, 1n)
    assert.deepEqual(claimVotes([other, undefined, again, real]), [{ claim: real, n: 2 }, { claim: other, n: 1 }])
    assert.deepEqual(claimVotes([real, undefined, undefined]), [{ claim: real, n: 1 }], 'one owner\'s claim, the others blank')
    assert.deepEqual(claimVotes([undefined]), [])
    assert.deepEqual([1, 2, 3, 4, 5].map(majorityOf), [1, 2, 2, 3, 3])
  })
})
