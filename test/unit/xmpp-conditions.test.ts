/**
 * How the gateway answers a failure (node/xmpp/conditions.ts): by the error's code, through one table,
 * never by its name or message. Each code the table names is the code of a real Chorus error, so a
 * renamed code cannot fall out of the table unnoticed.
 */

import { strict as assert } from 'node:assert'
import { EnvelopeTooLargeError } from '../../protocol/errors.js'
import { InvalidHandleError, InvalidRoomAddressError } from '../../protocol/handle.js'
import { RoomRuleError } from '../../protocol/room-events.js'
import { InvalidContactError, InvalidPresenceError, NoSubscriptionRequestError } from '../../protocol/roster.js'
import { InvalidOptionError, NodeStateError } from '../../node/errors.js'
import {
  ForbiddenError, HandleTakenError, NoServersError, QuorumError, RateLimitedError, UnknownHandleError,
  UnknownRoomAddressError
} from '../../node/replication/errors.js'
import { NotInRoomError, UnknownRoomError } from '../../node/session/rooms.js'
import { PassphraseError } from '../../node/session/vault.js'
import { InvalidAccountError } from '../../node/xmpp/accounts.js'
import {
  BOUNCED_BY_SEND, STANZA_CONDITION_OF, STREAM_CONDITION_OF, codeOf, isStanzaCondition, toStanzaError, toStreamError
} from '../../node/xmpp/conditions.js'
import { StanzaError, StreamError } from '../../node/xmpp/errors.js'
import { SaslError } from '../../node/xmpp/sasl.js'

/** One error of every kind the gateway maps. */
const ERRORS: Error[] = [
  new QuorumError('2 of 3'), new NoServersError(), new RateLimitedError('slow down'), new ForbiddenError('no'),
  new RoomRuleError('not-invited', 'invite first'), new NotInRoomError('r'), new UnknownHandleError('nobody'),
  new UnknownRoomError('r'), new UnknownRoomAddressError('team'), new InvalidHandleError('Bad'),
  new InvalidRoomAddressError('Bad'), new InvalidContactError('self'), new NoSubscriptionRequestError('none'),
  new InvalidPresenceError('long'), new EnvelopeTooLargeError('big'), new InvalidOptionError('to', 'bad'),
  new HandleTakenError('ann'), new PassphraseError('wrong', 'wrong'), new InvalidAccountError('short password'),
  new SaslError('malformed-request', 'SASLprep')
]

describe('xmpp error conditions (unit)', () => {
  it('maps every code in its tables from a real Chorus error', () => {
    const codes = new Set(ERRORS.map(codeOf))
    for (const code of Object.keys(STANZA_CONDITION_OF)) assert.ok(codes.has(code), `${code}: no such error`)
    for (const code of BOUNCED_BY_SEND) assert.ok(Object.hasOwn(STANZA_CONDITION_OF, code), code)
    assert.equal(codeOf(new NodeStateError('stopping')), Object.keys(STREAM_CONDITION_OF)[0])
  })

  it('answers an error by its code, with its message', () => {
    const quorum = toStanzaError(new QuorumError('2 of 3'))
    assert.deepEqual([quorum.condition, quorum.message], ['recipient-unavailable', '2 of 3'])
    assert.equal(toStanzaError(new RoomRuleError('not-invited', 'x')).condition, 'not-allowed')
    assert.equal(toStanzaError(new UnknownRoomError('r')).condition, 'item-not-found')
    assert.equal(toStanzaError(new InvalidOptionError('to', 'bad')).condition, 'not-acceptable')
    assert.equal(toStanzaError(new HandleTakenError('ann')).condition, 'conflict')
    // a plain object with a code is answered the same: the class does not matter, the code does
    assert.equal(toStanzaError({ code: 'ERR_NOT_IN_ROOM', message: 'x' }).condition, 'not-allowed')
  })

  it('lets one handler answer a code otherwise, and keeps a StanzaError as it is', () => {
    assert.equal(toStanzaError(new ForbiddenError('members only'), { ERR_FORBIDDEN: 'registration-required' }).condition, 'registration-required')
    assert.equal(toStanzaError(new ForbiddenError('no')).condition, 'forbidden')
    const own = new StanzaError('jid-malformed', 'no')
    assert.equal(toStanzaError(own, { ERR_FORBIDDEN: 'registration-required' }), own)
  })

  it('answers what no table names internal-server-error, whatever its name or message says', () => {
    const lookalike = new Error('unknown-room')
    lookalike.name = 'QuorumError'
    for (const err of [lookalike, new TypeError('x is undefined'), { code: 'toString' }, { code: 42 }, 'a string', undefined]) {
      const e = toStanzaError(err)
      assert.equal(e.condition, 'internal-server-error', String(err))
      assert.equal(e.message, 'the mesh could not take it', 'no internals to the client')
    }
  })

  it('ends a stream with its own StreamError, the node stopping as system-shutdown, anything else internal-server-error', () => {
    const own = new StreamError('not-authorized', 'the session is gone')
    assert.equal(toStreamError(own), own)
    assert.equal(toStreamError(new NodeStateError('the node is not started')).condition, 'system-shutdown')
    assert.equal(toStreamError(new TypeError('x')).condition, 'internal-server-error')
  })

  it('knows the conditions a session\'s bounce may name', () => {
    assert.ok(isStanzaCondition('item-not-found'))
    assert.ok(isStanzaCondition('resource-constraint'))
    assert.ok(!isStanzaCondition('toString'))
    assert.ok(!isStanzaCondition(undefined))
  })
})
