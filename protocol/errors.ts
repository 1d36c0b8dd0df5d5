/** Errors of the wire layer. Callers branch on `code`. */

/** An envelope or frame that does not decode or breaks a bound. */
export class MalformedEnvelopeError extends Error {
  override readonly name = 'MalformedEnvelopeError'
  readonly code = 'ERR_MALFORMED_ENVELOPE'
}

/** An envelope larger than the protocol allows. */
export class EnvelopeTooLargeError extends Error {
  override readonly name = 'EnvelopeTooLargeError'
  readonly code = 'ERR_ENVELOPE_TOO_LARGE'
}

/** A signature that does not verify against the claimed sender key: a forgery or a corruption. */
export class BadSignatureError extends Error {
  override readonly name = 'BadSignatureError'
  readonly code = 'ERR_BAD_SIGNATURE'
}
