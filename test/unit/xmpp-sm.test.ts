/**
 * Stream management's bookkeeping (XEP-0198): stanzas kept until acknowledged, an ack request every few
 * stanzas, a resume that sends again exactly what the client had not handled, and counts that make no
 * sense refused.
 */

import { strict as assert } from 'node:assert'
import xml from '@xmpp/xml'
import { SmState } from '../../node/xmpp/stream-management.js'

const msg = (i: number): ReturnType<typeof xml> => xml('message', { id: `m${i}` }, xml('body', {}, String(i)))

describe('xmpp stream management state (unit)', () => {
  it('keeps what was sent until acked, asks every 10 stanzas, resumes with the unhandled rest', () => {
    const sm = new SmState(true, 120)
    const asks = Array.from({ length: 25 }, (_, i) => sm.outbound(msg(i + 1))).filter((r) => r != null)
    assert.equal(asks.length, 2)
    assert.equal(sm.pending, 25)
    sm.ack(10)
    assert.equal(sm.pending, 15)
    sm.ack(8) // an older count: ignored
    assert.equal(sm.pending, 15)
    const again = sm.resumeFrom(22)
    assert.deepEqual(again.map((el) => el.attrs.id), ['m23', 'm24', 'm25'])
    assert.equal(sm.pending, 0)
    // numbering goes on after the resume: the client has handled 22, the next stanza is 23
    sm.outbound(msg(26))
    sm.ack(23)
    assert.equal(sm.pending, 0)
  })

  it('refuses an ack of more stanzas than were sent', () => {
    const sm = new SmState(false, 120)
    sm.outbound(msg(1))
    assert.throws(() => { sm.ack(2) }, /only 1 sent/)
    assert.throws(() => sm.resumeFrom(5), /only 1 sent/)
    assert.equal(sm.enabled().attrs.resume, undefined, 'a stream enabled without resume announces none')
    assert.deepEqual(sm.drain().map((el) => el.attrs.id), ['m1'])
  })
})
