/**
 * The order owners settle disagreeing handle claims by (protocol/handle.ts): earlier signed timestamp
 * first, then the lower hash of the signed bytes; the same answer whichever way round it is asked.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity } from '../../protocol/envelope.js'
import { compareClaims, firstClaim, sameClaimant, signHandleClaim } from '../../protocol/handle.js'

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
})
