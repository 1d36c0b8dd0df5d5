/**
 * The chaos checker on hand-made records: a clean record passes, and each kind of broken promise
 * (a duplicate, a lost message, a phantom, a gap or disorder in a history, a deleted entry still held,
 * a send that failed with only one owner down) is found and named. A checker that cannot fail would
 * let the chaos run pass vacuously.
 */

import { strict as assert } from 'node:assert'
import { check, passed, type ChaosRecord, type SendRecord } from '../../test/chaos/checker.js'
import type { Shown } from '../../test/helpers/agent.js'

const A = 'a'.repeat(32)
const B = 'b'.repeat(32)
const owners = [['s1', 's2', 's3'], ['s2', 's3', 's4']]

function send (seq: number, from: 'alice' | 'bob', o: Partial<SendRecord> = {}): SendRecord {
  return {
    seq,
    from,
    kind: 'dm',
    to: from === 'alice' ? 'bob' : 'alice',
    text: `dm:${from}:${seq}`,
    start: 1000 + seq * 100,
    end: 1050 + seq * 100,
    ok: true,
    id: `id${seq}`,
    owners,
    ...o
  }
}

function shown (s: SendRecord, incarnation = 1): Shown {
  return {
    to: s.to,
    id: s.id ?? '',
    fromId: s.from === 'alice' ? A : B,
    room: null,
    kind: 'chat',
    text: s.text,
    timestamp: s.start,
    cursor: '',
    incarnation,
    at: s.end
  }
}

function record (sends: SendRecord[], o: Partial<ChaosRecord> = {}): ChaosRecord {
  const entries = sends.filter((s) => s.ok).map(
    (s) => ({ id: s.id ?? '', fromId: s.from === 'alice' ? A : B, text: s.text, timestamp: s.start })
  )
  return {
    users: [{ handle: 'alice', userId: A }, { handle: 'bob', userId: B }],
    room: { id: 'room1', members: ['alice', 'bob'] },
    replicas: 3,
    writeQuorum: 2,
    sends,
    shown: sends.filter((s) => s.ok).map((s) => shown(s)),
    histories: [{ viewer: 'alice', conversation: 'dm:alice,bob', entries: [...entries] },
      { viewer: 'bob', conversation: 'dm:alice,bob', entries: [...entries] }],
    faults: [],
    resurrected: [],
    ...o
  }
}

describe('chaos checker', () => {
  const sends = [send(0, 'alice'), send(1, 'bob'), send(2, 'alice'), send(3, 'bob')]

  it('passes a clean record', () => {
    const r = check(record(sends))
    assert.ok(passed(r), JSON.stringify(r.violations))
    assert.equal(r.acknowledged, 4)
    assert.equal(r.shown, 4)
  })

  it('finds a message shown twice (after a restart) and one never shown', () => {
    const rec = record(sends)
    rec.shown.push(shown(sends[0], 2))
    rec.shown = rec.shown.filter((s) => s.text !== sends[3].text)
    const r = check(rec)
    assert.equal(r.duplicates, 1)
    assert.equal(r.lost, 1)
    assert.deepEqual(r.violations.map((v) => v.check).sort(), ['duplicate', 'lost'])
    assert.ok(!passed(r))
  })

  it('finds a phantom: shown, never sent (or sent by someone else)', () => {
    const rec = record(sends)
    rec.shown.push({ ...shown(sends[1]), text: 'forged' })
    rec.shown.push({ ...shown(sends[2]), text: sends[1].text, fromId: A })
    assert.equal(check(rec).phantoms, 2)
  })

  it('finds a history gap, a duplicate in a history, and histories out of order', () => {
    const rec = record(sends)
    rec.histories[0].entries.splice(1, 1)
    rec.histories[1].entries.push({ ...rec.histories[1].entries[0] })
    const r = check(rec)
    assert.equal(r.historyGaps, 1)
    assert.equal(r.historyDuplicates, 1)
    assert.ok(r.historyDisorder >= 1, 'the repeated entry is older than the one before it')
    const swapped = record(sends)
    const e = swapped.histories[0].entries
    ;[e[0], e[2]] = [e[2], e[0]]
    assert.ok(check(swapped).historyDisorder >= 1)
  })

  it('finds a deleted entry still held at the end', () => {
    assert.equal(check(record(sends, { resurrected: [{ server: 's1', id: 'id0' }] })).resurrected, 1)
  })

  it('excuses a failed send only when more than N - W owners of one of its mailboxes were down', () => {
    const failed = send(4, 'alice', { ok: false, id: undefined, error: 'QuorumError' })
    const oneDown = check(record([...sends, failed], { faults: [{ server: 's1', kind: 'kill', from: 1000, to: 2000 }] }))
    assert.equal(oneDown.unexcusedFailures, 1, 'one owner down: the send should have succeeded')
    const twoDown = check(
      record([...sends, failed], {
        faults: [{ server: 's2', kind: 'kill', from: 1000, to: 2000 }, { server: 's3', kind: 'pause', from: 1400, to: 1500 }]
      })
    )
    assert.equal(twoDown.unexcusedFailures, 0)
    assert.equal(twoDown.excusedFailures, 1)
    const skewOnly = check(
      record([...sends, failed], {
        faults: [{ server: 's2', kind: 'skew', from: 0, to: 1e15 }, { server: 's3', kind: 'kill', from: 1400, to: 1500 }]
      })
    )
    assert.equal(skewOnly.unexcusedFailures, 1, 'a server with a wrong clock is not down')
  })
})
