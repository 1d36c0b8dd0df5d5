import { strict as assert } from 'node:assert'
import { Ring, keyPoint, owners } from '../../protocol/ring.js'

const five = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((peerId) => ({ peerId }))

describe('ownership ring (protocol/ring.ts)', () => {
  it('keyPoint is sha256("chorus/<kind>/" + id)', () => {
    assert.equal(Buffer.from(keyPoint('user', 'alice')).toString('hex').slice(0, 16), '81c92129e1cc1d43')
    assert.notDeepEqual(keyPoint('user', 'alice'), keyPoint('room', 'alice'))
  })

  it('matches fixed vectors (any change here moves every user in a live mesh)', () => {
    const ring = new Ring(five)
    assert.deepEqual(ring.owners(keyPoint('user', 'alice'), 3), ['echo', 'alpha', 'bravo'])
    assert.deepEqual(ring.owners(keyPoint('user', 'bob'), 3), ['charlie', 'delta', 'bravo'])
    assert.deepEqual(ring.owners(keyPoint('user', 'carol'), 3), ['delta', 'alpha', 'charlie'])
    assert.deepEqual(ring.owners(keyPoint('user', 'dave'), 3), ['delta', 'bravo', 'charlie'])
  })

  it('is independent of the order of the view and of duplicates', () => {
    const a = owners(keyPoint('user', 'alice'), five, 3)
    const b = owners(keyPoint('user', 'alice'), [...five].reverse().concat(five[0]), 3)
    assert.deepEqual(a, b)
  })

  it('returns n distinct owners, or every server when there are fewer', () => {
    const ring = new Ring(five)
    for (let i = 0; i < 200; i++) {
      const o = ring.owners(keyPoint('user', `u${i}`), 3)
      assert.equal(new Set(o).size, 3)
    }
    assert.equal(ring.owners(keyPoint('user', 'x'), 9).length, 5)
    assert.deepEqual(new Ring([]).owners(keyPoint('user', 'x'), 3), [])
    assert.deepEqual(new Ring([{ peerId: 'solo' }]).owners(keyPoint('user', 'x'), 3), ['solo'])
  })

  it('keeps load within 1.25 × mean at N = 3 over 100 servers', () => {
    const servers = Array.from({ length: 100 }, (_, i) => ({ peerId: `peer-${i}` }))
    const ring = new Ring(servers)
    const counts = new Map<string, number>()
    const keys = 60_000
    for (let k = 0; k < keys; k++) {
      for (const p of ring.owners(keyPoint('user', `u${k}`), 3)) counts.set(p, (counts.get(p) ?? 0) + 1)
    }
    const max = Math.max(...counts.values())
    assert.ok(max / (keys * 3 / 100) < 1.25, `max/mean ${max / (keys * 3 / 100)}`)
  })

  it('moves only the keys a joining server takes', () => {
    const servers = Array.from({ length: 50 }, (_, i) => ({ peerId: `peer-${i}` }))
    const before = new Ring(servers)
    const after = new Ring([...servers, { peerId: 'newcomer' }])
    for (let k = 0; k < 5000; k++) {
      const p = keyPoint('user', `u${k}`)
      const gained = after.owners(p, 3).filter((o) => !before.owners(p, 3).includes(o))
      assert.ok(gained.length === 0 || (gained.length === 1 && gained[0] === 'newcomer'))
    }
  })

  it('weights ownership by declared capacity', () => {
    const ring = new Ring([{ peerId: 'big', capacity: 4 }, { peerId: 'small', capacity: 1 }])
    let big = 0
    for (let i = 0; i < 20_000; i++) if (ring.owners(keyPoint('user', `k${i}`), 1)[0] === 'big') big++
    assert.ok(big / 20_000 > 0.74 && big / 20_000 < 0.86, `big share ${big / 20_000}`)
  })

  it('rejects nonsense parameters', () => {
    assert.throws(() => new Ring(five, 0), RangeError)
    assert.throws(() => new Ring([{ peerId: 'a', capacity: -1 }]), RangeError)
  })
})
