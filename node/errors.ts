/**
 * Typed errors of the running node. The base class is the protocol's (protocol/errors.ts), re-exported
 * here: callers branch on `instanceof`, `code` (stable strings) or `reason`, never on message text.
 */

import { ChorusError } from '../protocol/errors.js'

export { ChorusError, type ChorusErrorOptions } from '../protocol/errors.js'

/** An option, flag, environment variable or config-file value is out of bounds or malformed. */
export class InvalidOptionError extends ChorusError {
  static readonly code = 'ERR_INVALID_OPTION'
  override readonly name = 'InvalidOptionError'
  /** The option at fault, as the user spelt it (e.g. `replicas`, `--listen`). */
  readonly option: string
  constructor (option: string, message: string) {
    super(`${option}: ${message}`, InvalidOptionError.code)
    this.option = option
  }
}

/** The data directory cannot be created or written, or another process holds it. */
export class DataDirError extends ChorusError {
  static readonly code = 'ERR_DATA_DIR'
  override readonly name = 'DataDirError'
  constructor (message: string) { super(message, DataDirError.code) }
}

/** A listen address could not be bound (port in use, address not on this host). */
export class ListenError extends ChorusError {
  static readonly code = 'ERR_LISTEN'
  override readonly name = 'ListenError'
  constructor (message: string) { super(message, ListenError.code) }
}

/** The persisted node key exists but cannot be read as a private key. */
export class NodeKeyError extends ChorusError {
  static readonly code = 'ERR_NODE_KEY'
  override readonly name = 'NodeKeyError'
  constructor (message: string) { super(message, NodeKeyError.code) }
}

/** A peer sent a frame that does not decode or breaks a bound; the stream is aborted, the node goes on. */
export class MalformedFrameError extends ChorusError {
  static readonly code = 'ERR_MALFORMED_FRAME'
  override readonly name = 'MalformedFrameError'
  constructor (message: string) { super(message, MalformedFrameError.code) }
}

/**
 * A method was called in a lifecycle state that does not allow it (e.g. `stop()` twice is fine,
 * `start()` after `stop()` is not).
 */
export class NodeStateError extends ChorusError {
  static readonly code = 'ERR_NODE_STATE'
  override readonly name = 'NodeStateError'
  constructor (message: string) { super(message, NodeStateError.code) }
}

/*
 * Errors of libraries (libp2p, Node's sockets) are told apart here, in one place. libp2p identifies its
 * errors by `name` (a bundle may hold two copies of a package, so `instanceof` is unreliable for them);
 * Node's by `code`.
 */

/** What lpStream throws for a length prefix that is too large or itself malformed. */
const LENGTH_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

/** Did reading a frame fail because the peer sent a bad frame (rather than because the stream broke)? */
export function isMalformedFrame (err: any): boolean {
  return err instanceof MalformedFrameError || LENGTH_ERRORS.has(err?.name)
}

/** Did reading a frame fail only because the peer closed the stream between frames (its normal end)? */
export function isEndOfStream (err: any): boolean {
  return err?.name === 'UnexpectedEOFError' || err?.code === 'ERR_UNEXPECTED_EOF'
}

/**
 * Did a dial fail because nothing listens there (the connection was refused or reset: a dead process),
 * as opposed to silence? Looks through aggregated dial errors and causes. libp2p's transports pass some
 * socket errors on only as text, so the text is looked at too.
 */
export function isRefused (err: any, depth = 0): boolean {
  if (err == null || depth > 4) return false
  if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET' || /ECONNREFUSED|ECONNRESET/.test(String(err.message))) return true
  for (const e of Array.isArray(err.errors) ? err.errors : []) if (isRefused(e, depth + 1)) return true
  return isRefused(err.cause, depth + 1)
}
