/**
 * The one mapping between the store protocol's answers and typed errors, both ways. An owner that refuses
 * a request, or one put of a STORE, answers a status and the text `reason: message` (store.proto); the
 * asker turns them back into the error class of that status, keeping the reason.
 *
 * Owner side: store handlers, the room guard and the access rules throw `Rejection`s, each class answered
 * with its own status; the wire layer's errors about what the asker sent (a forged or malformed envelope,
 * a bad handle) are REJECTED under their code; anything else is the owner's own failure, ERROR `internal`.
 * Asker side: FORBIDDEN is a `ForbiddenError`, BUSY a `RateLimitedError`, any other status a `RemoteError`
 * that names it.
 */

import { BadSignatureError, type ChorusError, EnvelopeTooLargeError, MalformedEnvelopeError } from '../../protocol/errors.js'
import { InvalidHandleError, InvalidRoomAddressError } from '../../protocol/handle.js'
import { StoreResponse } from '../../protocol/pb/store.js'
import { ForbiddenError, RateLimitedError, RemoteError } from './errors.js'
import { Forbidden, NotNow, Rejection, SlowDown } from './handlers/rejection.js'

const Status = StoreResponse.Status

/** The reason an owner answers its own failures under (a bug or a broken disk, not the asker's doing). */
export const INTERNAL = 'internal'

/** How an owner answers an error of a handler. */
export interface Answer {
  status: StoreResponse.Status
  /** the stable label it is counted under: a `Rejection`'s reason, a wire error's code, or `internal` */
  reason: string
  /** `reason: message`, the answer's `error` text */
  error: string
}

/** The status of each kind of refusal, subclasses before `Rejection` itself. */
const REFUSALS: ReadonlyArray<[typeof Rejection, StoreResponse.Status]> = [
  [Forbidden, Status.FORBIDDEN], [NotNow, Status.ERROR], [SlowDown, Status.BUSY], [Rejection, Status.REJECTED]
]

/** Errors of the wire layer that mean the asker sent bad input, not that the owner failed. */
const BAD_INPUT: ReadonlyArray<new (message: string) => ChorusError> = [
  BadSignatureError, MalformedEnvelopeError, EnvelopeTooLargeError, InvalidHandleError, InvalidRoomAddressError
]

/** The status and text an owner answers `err` with (thrown by a handler, a guard or an access rule). */
export function answerOf (err: unknown): Answer {
  for (const [kind, status] of REFUSALS) if (err instanceof kind) return answer(status, err.reason, err.message)
  if (isBadInput(err)) return answer(Status.REJECTED, err.code, err.message)
  return answer(Status.ERROR, INTERNAL, err instanceof Error ? err.message : String(err))
}

/** Is `answer` the owner's own failure (to be logged) rather than the asker's doing? */
export function isInternal (answer: Answer): boolean {
  return answer.reason === INTERNAL
}

/** The `reason` of an answer's `reason: message` text; undefined when it names none. */
export function reasonOf (text: string): string | undefined {
  return /^([\w-]+): /.exec(text)?.[1]
}

/**
 * The typed error of a status other than OK that `from` answered with the text `reason: message`:
 * FORBIDDEN → `ForbiddenError`, BUSY → `RateLimitedError`, any other → `RemoteError` with the status;
 * each keeps the reason.
 */
export function errorOfStatus (status: StoreResponse.Status, text: string, from: string): ChorusError {
  const message = `${from} answered ${status}: ${text}`
  const reason = reasonOf(text)
  if (status === Status.FORBIDDEN) return new ForbiddenError(message, reason)
  if (status === Status.BUSY) return new RateLimitedError(message, reason)
  return new RemoteError(message, status, reason)
}

/**
 * What `err`, thrown by this node's own guard where it serves itself without the wire (it is one of the
 * owners it asks), would have reached the asker as: the same typed error a remote owner's answer gives.
 * Its own failures stay as they are.
 */
export function asAnswered (err: unknown, from: string): unknown {
  const a = answerOf(err)
  return isInternal(a) ? err : errorOfStatus(a.status, a.error, from)
}

function isBadInput (err: unknown): err is ChorusError {
  return BAD_INPUT.some((kind) => err instanceof kind)
}

function answer (status: StoreResponse.Status, reason: string, message: string): Answer {
  return { status, reason, error: `${reason}: ${message}` }
}
