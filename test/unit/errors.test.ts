/**
 * The one error model (issue 22): every error class the library exports extends `ChorusError` with a
 * stable code of its own, and the store protocol's statuses map to typed errors and back in one place
 * (node/replication/status.ts), keeping the wire reason.
 */

import { strict as assert } from 'node:assert'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import * as library from '../../node/index.js'
import * as protocol from '../../protocol/index.js'
import { ChorusError } from '../../node/errors.js'
import { ChorusError as ProtocolChorusError } from '../../protocol/errors.js'
import { StoreResponse } from '../../protocol/pb/store.js'
import { ForbiddenError, RateLimitedError, RemoteError } from '../../node/replication/errors.js'
import { Forbidden, NotNow, Rejection, SlowDown } from '../../node/replication/handlers/rejection.js'
import { checkStatus } from '../../node/replication/rpc.js'
import { INTERNAL, answerOf, asAnswered, errorOfStatus, isInternal, reasonOf } from '../../node/replication/status.js'

type ErrorClass = (new (...args: any[]) => Error) & { code?: unknown }

const Status = StoreResponse.Status

/** The error classes among a module's exports (and its namespaces'), by export name. */
function errorClasses (exports: Record<string, unknown>, prefix = ''): Map<string, ErrorClass> {
  const out = new Map<string, ErrorClass>()
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value === 'function' && (value === Error || value.prototype instanceof Error)) {
      out.set(prefix + name, value as ErrorClass)
    } else if (value != null && typeof value === 'object' && Object.getPrototypeOf(value) === null) {
      for (const [n, c] of errorClasses(value as Record<string, unknown>, `${prefix}${name}.`)) out.set(n, c)
    }
  }
  return out
}

/** Bases of a family: never thrown themselves, so they have no code of their own. */
const FAMILIES = new Set<unknown>([ChorusError, library.SecretChatError])

/** Constructor arguments where two strings will not do. */
const ARGUMENTS = new Map<unknown, unknown[]>([
  [library.RoomAddressTakenError, [
    'lobby',
    {
      handle: '#lobby',
      publicKey: new Uint8Array(32),
      timestamp: 1n,
      signature: new Uint8Array(64),
      roomNonce: new Uint8Array(16)
    }
  ]]
])

describe('errors: one model (unit)', () => {
  const classes = new Map([...errorClasses(library), ...errorClasses(protocol)])

  it('has one base class, the same object from protocol/ and node/', () => {
    assert.equal(ChorusError, ProtocolChorusError)
    assert.equal(library.ChorusError, protocol.ChorusError)
    assert.ok(classes.size > 50, `${classes.size} error classes exported`)
  })

  for (const [name, cls] of errorClasses({ ...library, ...protocol })) {
    if (FAMILIES.has(cls) || (name.startsWith('secret.') && classes.get(name.slice('secret.'.length)) === cls)) continue
    it(`${name} extends ChorusError, with a stable code and its own name`, () => {
      assert.ok(cls.prototype instanceof ChorusError, `${name} extends ChorusError`)
      assert.equal(typeof cls.code, 'string', `${name} has a static code`)
      assert.match(cls.code as string, /^ERR_[A-Z0-9_]+$/)
      const ErrorClass = cls
      const err = new ErrorClass(...(ARGUMENTS.get(cls) ?? ['x', 'y'])) as ChorusError
      assert.ok(err instanceof cls && err instanceof ChorusError && err instanceof Error)
      assert.equal(err.code, cls.code)
      assert.equal(err.name, cls.name)
      assert.ok(err.message.length > 0)
    })
  }

  it('gives each class its own code', () => {
    const byCode = new Map<string, Set<string>>()
    for (const cls of new Set(classes.values())) {
      if (FAMILIES.has(cls)) continue
      byCode.set(cls.code as string, (byCode.get(cls.code as string) ?? new Set()).add(cls.name))
    }
    assert.deepEqual([...byCode].filter(([, names]) => names.size > 1), [])
  })

  it('has no class in node/ (but node/xmpp/), protocol/ or bin/ but the base extending Error itself', () => {
    const root = join(import.meta.dirname, '..', '..')
    const offenders: string[] = []
    for (const dir of ['node', 'protocol', 'bin']) {
      for (const file of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
        const path = join(dir, file)
        if (!path.endsWith('.ts') || path.startsWith(join('node', 'xmpp'))) continue
        const text = readFileSync(join(root, path), 'utf8')
        for (const m of text.matchAll(/class (\w+) extends Error\b/g)) offenders.push(`${path}: ${m[1]}`)
      }
    }
    assert.deepEqual(offenders, ['protocol/errors.ts: ChorusError'], 'only the base')
  })

  it('keeps the reason a refusal carries, and its cause', () => {
    const cause = new Error('below')
    const err = new ChorusError('m', 'ERR_X', { reason: 'why', cause })
    assert.equal(err.reason, 'why')
    assert.equal(err.cause, cause)
    assert.ok(!('reason' in new ChorusError('m', 'ERR_X')), 'no reason where none was given')
    assert.equal(new library.RoomRuleError('not-member', 'm').reason, 'not-member')
    assert.equal(new library.PassphraseError('wrong', 'm').reason, 'wrong')
    assert.equal(new library.DecryptError().reason, 'decrypt-failed')
  })
})

describe('errors: store statuses ↔ typed errors (unit, node/replication/status.ts)', () => {
  /** The class and status the asker gets for each status an owner may answer. */
  const ASKER: Array<[StoreResponse.Status, ErrorClass]> = [
    [Status.FORBIDDEN, ForbiddenError],
    [Status.BUSY, RateLimitedError],
    [Status.REJECTED, RemoteError],
    [Status.ERROR, RemoteError],
    [Status.CONFLICT, RemoteError],
    [Status.NOT_FOUND, RemoteError]
  ]

  for (const [status, cls] of ASKER) {
    it(`${status} → ${cls.name}, with the wire reason`, () => {
      const err = errorOfStatus(status, 'some-reason: what happened', 'peer-a')
      assert.ok(err instanceof cls, `${status} gave ${err.name}`)
      assert.equal(err.code, cls.code)
      assert.equal(err.reason, 'some-reason')
      assert.match(err.message, /peer-a/)
      if (err instanceof RemoteError) assert.equal(err.status, status)
      assert.equal(errorOfStatus(status, 'a text naming no reason', 'peer-a').reason, undefined)
    })
  }

  /** What an owner throws, the status it answers, and what the asker gets back. */
  const ROUND_TRIPS: Array<[string, Error, StoreResponse.Status, ErrorClass]> = [
    ['Rejection', new Rejection('bad-mailbox', 'not a mailbox'), Status.REJECTED, RemoteError],
    ['Forbidden', new Forbidden('not-member', 'not a member of the room'), Status.FORBIDDEN, ForbiddenError],
    ['NotNow', new NotNow('unknown-room', 'no state of the room here'), Status.ERROR, RemoteError],
    ['SlowDown', new SlowDown('rate-limited', 'over its rate'), Status.BUSY, RateLimitedError],
    ['BadSignatureError', new protocol.BadSignatureError('forged'), Status.REJECTED, RemoteError],
    ['MalformedEnvelopeError', new protocol.MalformedEnvelopeError('garbage'), Status.REJECTED, RemoteError],
    ['EnvelopeTooLargeError', new protocol.EnvelopeTooLargeError('big'), Status.REJECTED, RemoteError],
    ['InvalidHandleError', new protocol.InvalidHandleError('BAD'), Status.REJECTED, RemoteError],
    ['InvalidRoomAddressError', new protocol.InvalidRoomAddressError('BAD'), Status.REJECTED, RemoteError]
  ]

  for (const [what, thrown, status, cls] of ROUND_TRIPS) {
    it(`${what} at the owner → ${status} on the wire → ${cls.name} at the asker, reason kept`, () => {
      const answer = answerOf(thrown)
      const reason = thrown instanceof Rejection ? thrown.reason : (thrown as ChorusError).code
      assert.deepEqual(answer, { status, reason, error: `${reason}: ${thrown.message}` })
      assert.ok(!isInternal(answer))
      // through the protobuf, as a response and as one refused put
      const res = StoreResponse.decode(StoreResponse.encode({ status: answer.status, error: answer.error }))
      assert.throws(() => checkStatus(res, 'owner-1'), (err: unknown) =>
        err instanceof cls && (err as ChorusError).reason === reason && (err as ChorusError).code === cls.code)
      const put = { index: 0, status: answer.status, error: answer.error }
      const refusal = StoreResponse.decode(StoreResponse.encode({ status: Status.OK, refused: [put] })).refused[0]
      const err = errorOfStatus(refusal.status, refusal.error, 'owner-1')
      assert.ok(err instanceof cls)
      assert.equal(err.reason, reason)
      // and the same where a node serves itself
      const local = asAnswered(thrown, 'self') as ChorusError
      assert.ok(local instanceof cls)
      assert.equal(local.reason, reason)
    })
  }

  it('answers any other error ERROR `internal`, and leaves it as it is where a node serves itself', () => {
    const bug = new TypeError('cannot read properties of undefined')
    const answer = answerOf(bug)
    assert.deepEqual(answer, { status: Status.ERROR, reason: INTERNAL, error: `${INTERNAL}: ${bug.message}` })
    assert.ok(isInternal(answer))
    assert.equal(asAnswered(bug, 'self'), bug)
    // a ChorusError that is not about what the asker sent is the owner's failure too
    assert.ok(isInternal(answerOf(new library.DataDirError('disk gone'))))
  })

  it('passes OK, CONFLICT and NOT_FOUND through', () => {
    for (const status of [Status.OK, Status.CONFLICT, Status.NOT_FOUND]) {
      const res = StoreResponse.decode(StoreResponse.encode({ status }))
      assert.equal(checkStatus(res, 'owner-1'), res)
    }
  })

  it('reads the reason of `reason: message` only', () => {
    assert.equal(reasonOf('unknown-room: room x has no state at this owner yet'), 'unknown-room')
    assert.equal(reasonOf('ERR_BAD_SIGNATURE: signature does not verify'), 'ERR_BAD_SIGNATURE')
    assert.equal(reasonOf('no prekeys published here'), undefined)
    assert.equal(reasonOf(''), undefined)
  })
})
