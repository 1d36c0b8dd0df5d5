import { strict as assert } from 'node:assert'
import { ed25519Generate } from '../../protocol/ed25519.js'
import { userIdOf } from '../../protocol/envelope.js'
import { safetyNumber, type SafetyParty } from '../../protocol/secret/index.js'

function party (): SafetyParty {
  const { publicKey } = ed25519Generate()
  return { identityKey: publicKey, id: userIdOf(publicKey) }
}

describe('safety numbers (protocol/secret/safety.ts)', () => {
  const alice = party()
  const bob = party()
  const ab = safetyNumber(alice, bob)

  it('60 digits in 12 groups of 5, the same from both sides', () => {
    assert.match(ab.digits, /^\d{60}$/)
    assert.equal(ab.groups.length, 12)
    assert.equal(ab.groups.join(''), ab.digits)
    assert.deepEqual(safetyNumber(bob, alice), ab)
  })

  it('changes when either identity key or stable id changes', () => {
    const mallory = party()
    const numbers = new Set([
      ab.digits,
      safetyNumber(alice, { ...bob, identityKey: mallory.identityKey }).digits,
      safetyNumber({ ...alice, identityKey: mallory.identityKey }, bob).digits,
      safetyNumber(alice, { ...bob, id: mallory.id }).digits
    ])
    assert.equal(numbers.size, 4)
    const other = safetyNumber(alice, mallory)
    assert.notDeepEqual(other.picture, ab.picture)
  })

  it('the key picture is a deterministic, symmetric 8×8 grid of 4 shades, with a text rendering', () => {
    assert.deepEqual(safetyNumber(alice, bob).picture, ab.picture)
    assert.equal(ab.picture.length, 8)
    for (const row of ab.picture) {
      assert.equal(row.length, 8)
      for (const v of row) assert.ok(Number.isInteger(v) && v >= 0 && v <= 3)
    }
    const lines = ab.pictureText.split('\n')
    assert.equal(lines.length, 8)
    for (const line of lines) assert.match(line, /^(░░|▒▒|▓▓|██){8}$/)
  })

  it('matches a fixed vector (cross-checked with an independent Python implementation of the same algorithm)', () => {
    const n = safetyNumber({ identityKey: new Uint8Array(32).fill(1), id: 'alice' }, {
      identityKey: new Uint8Array(32).fill(2),
      id: 'bob'
    })
    assert.equal(n.digits, '019675601684161937029905244989023894893341874006419703186220')
    assert.deepEqual(n.picture,
      [[0, 1, 2, 0, 0, 1, 3, 0], [3, 0, 0, 3, 0, 3, 1, 3], [3, 0, 3, 3, 1, 2, 3, 1], [3, 1, 0, 0, 1, 0, 2, 0],
        [1, 2, 2, 3, 3, 0, 2, 2], [0, 3, 0, 2, 0, 0, 2, 3], [2, 0, 2, 3, 0, 3, 3, 2], [1, 3, 1, 0, 2, 0, 2, 1]])
  })

  it('rejects a bad key or id', () => {
    assert.throws(() => safetyNumber({ identityKey: new Uint8Array(31), id: 'a' }, bob), RangeError)
    assert.throws(() => safetyNumber(alice, { ...bob, id: '' }), RangeError)
  })
})
