/**
 * The library surface's argument checks (node/session/arguments.ts): each rule refuses what it should
 * with `InvalidOptionError` naming the argument, takes what it should, and never puts a long value whole
 * into its message.
 */

import { strict as assert } from 'node:assert'
import {
  CREATE_ROOM_OPTIONS, HISTORY_OPTIONS, MAX_TIMER_MS, OPEN_USER_OPTIONS, PRESENCE_STATES, ROOM_ROLES, SEND_OPTIONS,
  describeValue, requireBoolean, requireEnvelope, requireHandle, requireMessages, requireOneOf, requireOptions,
  requireString, requireText, rule
} from '../../node/session/arguments.js'
import { CURSOR_BYTES } from '../../node/store/mailbox-store.js'
import { Envelope, MAX_BODY_BYTES, generateIdentity, signEnvelope } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { MAX_ROOM_NAME_LENGTH } from '../../protocol/room.js'

/** `fn` throws InvalidOptionError blaming `option`. */
function refuses (fn: () => unknown, option: string): void {
  assert.throws(fn, (err: any) => {
    assert.equal(err.name, 'InvalidOptionError', `${err.name}: ${err.message}`)
    assert.equal(err.code, 'ERR_INVALID_OPTION')
    assert.equal(err.option, option, `blames ${err.option}: ${err.message}`)
    assert.ok(err.message.length < 300, `a short message: ${err.message.length} characters`)
    return true
  })
}

const CURSOR = 'ab'.repeat(CURSOR_BYTES)
const ID = '0f'.repeat(16)

describe('library arguments (node/session/arguments.ts)', () => {
  it('requireString: type and bounds', () => {
    assert.equal(requireString('s', ''), '')
    assert.equal(requireString('s', 'abc', { max: 3 }), 'abc')
    refuses(() => requireString('s', 'abcd', { max: 3 }), 's')
    refuses(() => requireString('s', '', { min: 1 }), 's')
    for (const bad of [42, null, undefined, {}, ['a'], Symbol('x'), 1n]) refuses(() => requireString('s', bad), 's')
  })

  it('requireBoolean and requireOneOf', () => {
    assert.equal(requireBoolean('b', false), false)
    for (const bad of [0, 1, 'true', null, undefined]) refuses(() => requireBoolean('b', bad), 'b')
    assert.equal(requireOneOf('state', 'away', PRESENCE_STATES), 'away')
    refuses(() => requireOneOf('state', 'sleeping', PRESENCE_STATES), 'state')
    refuses(() => requireOneOf('state', 1, PRESENCE_STATES), 'state')
  })

  it('the presence states and room roles are the protocol\'s', () => {
    assert.deepEqual([...PRESENCE_STATES].sort(), ['away', 'busy', 'offline', 'online'])
    assert.deepEqual([...ROOM_ROLES].sort(), ['admin', 'member', 'owner'])
  })

  it('requireHandle: a handle or a user id, within the handle\'s bound', () => {
    assert.equal(requireHandle('to', 'bob'), 'bob')
    assert.equal(requireHandle('to', 'a'.repeat(64)), 'a'.repeat(64))
    requireHandle('to', 'abcdefghijklmnopqrstuvwxyz234567')
    for (const bad of ['', 'Bob', 'has space', 'a'.repeat(65), 'x'.repeat(1_000_000), 42, null, { name: 'bob' }]) {
      refuses(() => requireHandle('to', bad), 'to')
    }
  })

  it('requireText: a string; too large for an envelope is EnvelopeTooLargeError, before any encoding', () => {
    assert.equal(requireText('text', ''), '')
    assert.equal(requireText('text', 'x'.repeat(MAX_BODY_BYTES)).length, MAX_BODY_BYTES)
    refuses(() => requireText('text', 42), 'text')
    refuses(() => requireText('text', undefined), 'text')
    assert.throws(() => requireText('text', 'x'.repeat(MAX_BODY_BYTES + 1)),
      { name: 'EnvelopeTooLargeError', code: 'ERR_ENVELOPE_TOO_LARGE' })
  })

  it('requireEnvelope: a signed envelope passes; anything else is blamed on the argument', () => {
    const recipient = 'abcdefghijklmnopqrstuvwxyz234567'
    const draft = { kind: Envelope.Kind.CHAT, recipient, body: new Uint8Array(3), timestamp: hlcPack(Date.now(), 0) }
    const env = signEnvelope(draft, generateIdentity())
    assert.equal(requireEnvelope('to', env), env)
    assert.equal(requireEnvelope('to', Envelope.decode(Envelope.encode(env))).recipient, env.recipient)
    const forged = [{ ...env, kind: 'NOPE' }, { ...env, body: 'text' }, { ...env, timestamp: 1 },
      { ...env, kind: Envelope.Kind.codec }]
    for (const bad of [42, null, {}, [], ...forged]) {
      refuses(() => requireEnvelope('to', bad), 'to')
    }
  })

  it('requireMessages: one message or a list; the id must be an envelope id', () => {
    const m = { id: ID, fromId: 'x', kind: 'chat', text: 'hi' }
    requireMessages('messages', m)
    requireMessages('messages', [m, { ...m, id: '', kind: 'error' }, { ...m, room: 'r' }])
    requireMessages('messages', [])
    refuses(() => requireMessages('messages', 'hi'), 'messages')
    refuses(() => requireMessages('messages', null), 'messages')
    refuses(() => requireMessages('messages', [m, 42]), 'messages[1]')
    refuses(() => requireMessages('messages', { ...m, id: 'not hex' }), 'messages.id')
    refuses(() => requireMessages('messages', [{ ...m, id: 'ab' }]), 'messages[0].id')
    refuses(() => requireMessages('messages', { ...m, fromId: 1 }), 'messages.fromId')
    refuses(() => requireMessages('messages', { ...m, kind: undefined }), 'messages.kind')
    refuses(() => requireMessages('messages', { ...m, room: 7 }), 'messages.room')
  })

  it('requireOptions: absent is fine; not an object, an unknown field or a bad field is blamed', () => {
    requireOptions('options', undefined, HISTORY_OPTIONS)
    requireOptions('options', {}, HISTORY_OPTIONS)
    requireOptions('options', { limit: 50, before: CURSOR }, HISTORY_OPTIONS)
    requireOptions('options', { limit: 10_000, before: { cursor: CURSOR.toUpperCase() } }, HISTORY_OPTIONS)
    // absent fields as the methods have always taken them: undefined, null, and a bounce's empty cursor
    requireOptions('options', { limit: undefined, before: null }, HISTORY_OPTIONS)
    requireOptions('options', { before: '' }, HISTORY_OPTIONS)
    for (const bad of [null, 'name', 42, [1], true]) {
      refuses(() => requireOptions('options', bad, HISTORY_OPTIONS), 'options')
    }
    refuses(() => requireOptions('options', { limt: 5 }, HISTORY_OPTIONS), 'limt')
    for (const limit of [0, -1, 1.5, Number.NaN, Infinity, '50', 2 ** 60]) {
      refuses(() => requireOptions('options', { limit }, HISTORY_OPTIONS), 'limit')
    }
    for (const before of [1234, 'xyz', CURSOR.slice(2), `${CURSOR}00`, { cursor: 5 }, {}, []]) {
      refuses(() => requireOptions('options', { before }, HISTORY_OPTIONS), 'before')
    }
  })

  it('requireOptions: required fields, bounded strings, timer bounds', () => {
    requireOptions('options', { name: 'team', public: true, subject: '' }, CREATE_ROOM_OPTIONS)
    requireOptions('options', { name: '' }, CREATE_ROOM_OPTIONS)
    refuses(() => requireOptions('options', {}, CREATE_ROOM_OPTIONS), 'name')
    refuses(() => requireOptions('options', { name: null }, CREATE_ROOM_OPTIONS), 'name')
    const longName = 'x'.repeat(MAX_ROOM_NAME_LENGTH + 1)
    refuses(() => requireOptions('options', { name: longName }, CREATE_ROOM_OPTIONS), 'name')
    refuses(() => requireOptions('options', { name: 'team', public: 'yes' }, CREATE_ROOM_OPTIONS), 'public')
    requireOptions('options', { timeoutMs: 0, syncIntervalMs: MAX_TIMER_MS, passphrase: 'the vault\'s' }, OPEN_USER_OPTIONS)
    refuses(() => requireOptions('options', { syncIntervalMs: 0 }, OPEN_USER_OPTIONS), 'syncIntervalMs')
    refuses(() => requireOptions('options', { syncIntervalMs: MAX_TIMER_MS + 1 }, OPEN_USER_OPTIONS), 'syncIntervalMs')
    refuses(() => requireOptions('options', { timeoutMs: -1 }, OPEN_USER_OPTIONS), 'timeoutMs')
    refuses(() => requireOptions('options', { passPhrase: 'typo' }, OPEN_USER_OPTIONS), 'passPhrase')
    requireOptions('options', { type: 'chat', signed: () => {} }, SEND_OPTIONS)
    refuses(() => requireOptions('options', { signed: 'not a function' }, SEND_OPTIONS), 'signed')
  })

  it('a rule can be used on its own', () => {
    rule.any()('x', Symbol('anything'))
    refuses(() => { rule.integer({ min: 1, max: 2 })('n', 3) }, 'n')
  })

  it('describe: short, whatever the value', () => {
    assert.equal(describeValue('bob'), '"bob"')
    assert.equal(describeValue('x'.repeat(1_000_000)), 'a string of 1000000 characters')
    assert.equal(describeValue(undefined), 'nothing')
    assert.equal(describeValue(null), 'null')
    assert.equal(describeValue([1, 2]), 'an array of 2')
    assert.equal(describeValue({}), 'an object')
    assert.equal(describeValue(() => {}), 'a function')
    assert.equal(describeValue(12n), '12')
  })
})
