/**
 * Receipts (node/session/receipts.ts) over fakes of the three ports they take: what is acknowledged to
 * one sender within the flush delay travels in one signed RECEIPT envelope, by status and room; nothing
 * goes to this user itself or after the session closed; a long list is split at the decoder's bound; a
 * receipt that cannot be stored is logged, not thrown.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, openEnvelope, userIdOf } from '../../protocol/envelope.js'
import { Receipt } from '../../protocol/pb/chat.js'
import { MAX_RECEIPT_IDS, Receipts, decodeReceipt, type ReceiptsComponents } from '../../node/session/receipts.js'
import { FakeSession } from './session-fakes.js'

const BOB = userIdOf(generateIdentity().publicKey)
const CAROL = userIdOf(generateIdentity().publicKey)
const id = (n: number): Uint8Array => new Uint8Array(16).fill(n)
const ids = (env: Envelope): number[] => Receipt.decode(env.body).ids.map((i) => i[0])

describe('receipts: coalesced, signed, sent to the original sender (unit)', () => {
  let me: FakeSession
  let receipts: Receipts

  const components = (s: FakeSession): ReceiptsComponents => ({
    signer: s.signer,
    outbox: s.outbox,
    session: s.session
  })

  beforeEach(() => {
    me = new FakeSession('alice')
    // a flush delay no test waits for: each flushes itself
    receipts = new Receipts(components(me), { flushMs: 60_000 })
  })
  afterEach(async () => { await receipts.close() })

  it('what is acknowledged to one sender goes in one receipt, signed by this user, to that sender', async () => {
    receipts.ack(BOB, 'delivered', id(1))
    receipts.ack(BOB, 'delivered', id(2))
    await receipts.flush()
    assert.equal(me.sent.length, 1)
    const env = me.sent[0]
    assert.equal(env.kind, Envelope.Kind.RECEIPT)
    assert.equal(env.recipient, BOB)
    assert.equal(userIdOf(env.senderKey), me.userId)
    assert.doesNotThrow(() => { openEnvelope(Envelope.encode(env)) }, 'signed by this user')
    const r = decodeReceipt(env.body)
    assert.equal(r?.status, Receipt.Status.DELIVERED)
    assert.deepEqual(ids(env), [1, 2])
    assert.equal(r?.room, '')
  })

  it('one receipt per sender, status and room', async () => {
    receipts.ack(BOB, 'delivered', id(1))
    receipts.ack(BOB, 'read', id(1))
    receipts.ack(CAROL, 'delivered', id(2))
    receipts.ack(CAROL, 'read', id(3), 'abcd')
    await receipts.flush()
    const seen = me.sent.map((e) => {
      const r = Receipt.decode(e.body)
      return `${e.recipient === BOB ? 'bob' : 'carol'} ${r.status} ${r.room} ${ids(e).join(',')}`
    })
    assert.deepEqual(seen.sort(), [
      `bob ${Receipt.Status.DELIVERED}  1`,
      `bob ${Receipt.Status.READ}  1`,
      `carol ${Receipt.Status.DELIVERED}  2`,
      `carol ${Receipt.Status.READ} abcd 3`
    ].sort())
  })

  it('waits the flush delay, then sends by itself', async () => {
    const quick = new Receipts(components(me), { flushMs: 5 })
    quick.ack(BOB, 'read', id(9))
    assert.equal(me.sent.length, 0, 'not at once')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(me.sent.length, 1)
    await quick.close()
  })

  it('nothing to this user itself, nothing once the session is closing', async () => {
    receipts.ack(me.userId, 'delivered', id(1))
    me.closed = true
    receipts.ack(BOB, 'delivered', id(2))
    await receipts.flush()
    assert.deepEqual(me.sent, [])
  })

  it('a full receipt goes at once; a longer list is split at the bound the receiver decodes', async () => {
    for (let i = 0; i < MAX_RECEIPT_IDS; i++) receipts.ack(BOB, 'delivered', id(i % 256))
    // the MAX_RECEIPT_IDS-th id flushed without waiting for the delay
    await receipts.close()
    assert.equal(me.sent.length, 1)
    assert.equal(Receipt.decode(me.sent[0].body).ids.length, MAX_RECEIPT_IDS)
    assert.notEqual(decodeReceipt(me.sent[0].body), undefined, 'within the decoder\'s bounds')
  })

  it('a receipt that cannot be stored is dropped (logged), and later ones still go', async () => {
    me.failSend = new Error('no quorum')
    receipts.ack(BOB, 'delivered', id(1))
    await receipts.flush()
    me.failSend = undefined
    receipts.ack(BOB, 'delivered', id(2))
    await receipts.flush()
    assert.deepEqual(me.sent.map(ids), [[2]])
  })

  it('decodeReceipt refuses ids that are not envelope ids and rooms past their bound', () => {
    const body = (o: Partial<Receipt>): Uint8Array => Receipt.encode({
      status: Receipt.Status.READ,
      ids: [id(1) as Uint8Array<ArrayBuffer>],
      room: '',
      ...o
    })
    assert.notEqual(decodeReceipt(body({})), undefined)
    assert.equal(decodeReceipt(body({ ids: [new Uint8Array(15)] })), undefined)
    assert.equal(decodeReceipt(body({ room: 'r'.repeat(81) })), undefined)
    assert.equal(decodeReceipt(new Uint8Array([0xff, 0xff])), undefined)
  })
})
