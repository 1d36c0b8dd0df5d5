/**
 * The one error model of Chorus, and the errors of the wire layer. Every error a library user or a store
 * handler can meet extends `ChorusError` (node/errors.ts re-exports it): callers branch on `instanceof`,
 * on `code` (a stable `ERR_*` string per class) or on a refusal's `reason`, never on `name` or message
 * text, which are for people and may change.
 */

/** What a `ChorusError` may carry besides its message and code. */
export interface ChorusErrorOptions {
  /** the stable label of a refusal, as the wire carries it (`reason: message`) and counters count it */
  reason?: string
  /** the error this one was raised from */
  cause?: unknown
}

/** Base class: every Chorus error has a stable `code`; a refusal also has a `reason`. */
export class ChorusError extends Error {
  override readonly name: string = 'ChorusError'
  /** Stable `ERR_*` string of the condition: each class has its own, also as its static `code`. */
  readonly code: string
  /**
   * Why a peer refused, as it said so on the wire (`unknown-room`, `not-member`, `rate-limited`), or the
   * stable label of a local refusal (`PassphraseError`'s `wrong`); absent when there is nothing to add.
   */
  declare readonly reason?: string

  constructor (message: string, code: string, options: ChorusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.reason !== undefined) this.reason = options.reason
  }
}

/** An envelope or frame that does not decode or breaks a bound. */
export class MalformedEnvelopeError extends ChorusError {
  static readonly code = 'ERR_MALFORMED_ENVELOPE'
  override readonly name = 'MalformedEnvelopeError'
  constructor (message: string) { super(message, MalformedEnvelopeError.code) }
}

/** An envelope larger than the protocol allows. */
export class EnvelopeTooLargeError extends ChorusError {
  static readonly code = 'ERR_ENVELOPE_TOO_LARGE'
  override readonly name = 'EnvelopeTooLargeError'
  constructor (message: string) { super(message, EnvelopeTooLargeError.code) }
}

/** A signature that does not verify against the claimed sender key: a forgery or a corruption. */
export class BadSignatureError extends ChorusError {
  static readonly code = 'ERR_BAD_SIGNATURE'
  override readonly name = 'BadSignatureError'
  constructor (message: string) { super(message, BadSignatureError.code) }
}
