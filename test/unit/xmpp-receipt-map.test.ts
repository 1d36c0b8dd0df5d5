/**
 * The gateway's receipt map (node/xmpp/receipt-map.ts): a receipt is told under the client's id, only
 * for what the client asked, each status once however many copies come; the map is bounded.
 */

import { strict as assert } from 'node:assert'
import { ReceiptMap } from '../../node/xmpp/receipt-map.js'

describe('xmpp receipt map (unit)', () => {
  it('tells each status asked for once, under the client\'s id, and counts the copies it drops', () => {
    const map = new ReceiptMap()
    map.ask('e1', 'c1', ['delivered', 'read'])
    assert.equal(map.take('e1', 'delivered'), 'c1')
    assert.equal(map.take('e1', 'delivered'), undefined, 'a second session\'s "delivered"')
    assert.equal(map.take('e1', 'read'), 'c1')
    assert.equal(map.take('e1', 'read'), undefined)
    assert.equal(map.take('e1', 'delivered'), undefined)
    assert.equal(map.duplicates, 3)
  })

  it('tells only what was asked: a receipt request is not a marker, and the reverse', () => {
    const map = new ReceiptMap()
    map.ask('e1', 'c1', ['delivered'])
    map.ask('e2', 'c2', ['read'])
    assert.equal(map.take('e1', 'read'), undefined)
    assert.equal(map.take('e2', 'delivered'), undefined)
    assert.equal(map.take('e1', 'delivered'), 'c1')
    assert.equal(map.take('e2', 'read'), 'c2')
    assert.equal(map.take('e3', 'delivered'), undefined, 'a message sent without asking')
    assert.equal(map.duplicates, 0)
  })

  it('forgets a failed send, and keeps at most `max` messages, the oldest going first', () => {
    const map = new ReceiptMap(2)
    map.ask('e1', 'c1', ['delivered'])
    map.forget('e1')
    assert.equal(map.take('e1', 'delivered'), undefined)
    for (const i of [2, 3, 4]) map.ask(`e${i}`, `c${i}`, ['delivered'])
    assert.equal(map.take('e2', 'delivered'), undefined)
    assert.equal(map.take('e3', 'delivered'), 'c3')
    assert.equal(map.take('e4', 'delivered'), 'c4')
  })
})
