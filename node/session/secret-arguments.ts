/**
 * Checks of the arguments of `user.secret` (Secrets) and of a SecretChat. A JavaScript caller gets no
 * help from the types: each public method checks its arguments first, so a wrong one fails at once with
 * an `InvalidOptionError` naming it, before a session is loaded, a key used or anything stored, and not
 * with a TypeError from deep inside. A text too large for an envelope stays the envelope's own
 * `EnvelopeTooLargeError`, as for plain messages, and is caught before the ratchet moves.
 */

import { Envelope, MAX_BODY_BYTES } from '../../protocol/envelope.js'
import { EnvelopeTooLargeError } from '../../protocol/errors.js'
import { isUserId } from '../../protocol/mailbox.js'
import { InvalidOptionError } from '../errors.js'
import { describeValue as describe, requireOptions as requireShape, rule } from './arguments.js'
import { MAX_TTL_MS } from './secret-constants.js'

export { requireHandle } from './arguments.js'

/**
 * The longest secret text, in UTF-8 bytes: an envelope's body less room for the rest of a SECRET body
 * (an initial header, MAX_INITIAL_HEADER_BYTES; the ratchet header, nonce, tag, deadline and field tags).
 */
export const MAX_SECRET_TEXT_BYTES = MAX_BODY_BYTES - 1024

const ENVELOPE_ID_HEX = /^[0-9a-f]{32}$/

/** A user's id (what `SecretChat.peerId` and a message's `fromId` hold). */
export function requireUserId (name: string, value: unknown): string {
  if (typeof value !== 'string' || !isUserId(value)) throw new InvalidOptionError(name, `must be a user id (got ${describe(value)})`)
  return value
}

/** The text of a secret message. */
export function requireText (name: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidOptionError(name, `must be a string (got ${describe(value)})`)
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes > MAX_SECRET_TEXT_BYTES) throw new EnvelopeTooLargeError(`${name} of ${bytes} bytes exceeds ${MAX_SECRET_TEXT_BYTES}`)
  return value
}

/** A self-destruct timer: whole milliseconds, 0 (none) to MAX_TTL_MS. */
export function requireTtl (name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidOptionError(name, `must be a whole number of milliseconds (got ${describe(value)})`)
  }
  if (value < 0 || value > MAX_TTL_MS) throw new InvalidOptionError(name, `must be between 0 and ${MAX_TTL_MS} (got ${value})`)
  return value
}

/** The options of `SecretChat.send`: only `ttlMs`, a self-destruct timer. */
export function requireSendOptions (name: string, value: unknown): { ttlMs?: number } {
  requireShape(name, value, { ttlMs: rule.any() })
  const ttlMs = (value as { ttlMs?: unknown } | null | undefined)?.ttlMs
  return ttlMs == null ? {} : { ttlMs: requireTtl(`${name}.ttlMs`, ttlMs) }
}

/** Bytes of exactly `length`. */
export function requireBytes (name: string, value: unknown, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength !== length) {
    throw new InvalidOptionError(name, `must be ${length} bytes (got ${describe(value)})`)
  }
  return value
}

/** Envelope ids (hex), as a read receipt names them. */
export function requireIds (name: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(name, `must be an array of message ids (got ${describe(value)})`)
  value.forEach((id, i) => { requireMessageId(`${name}[${i}]`, id) })
  return value
}

/** An envelope id: 32 hex digits. */
function requireMessageId (name: string, value: unknown): string {
  if (typeof value !== 'string' || !ENVELOPE_ID_HEX.test(value)) throw new InvalidOptionError(name, `must be a message id, 32 hex digits (got ${describe(value)})`)
  return value
}

/** A secret message as the library handed it out: its id and its sender's id are what is used. */
export function requireMessage (name: string, value: unknown): { id: string, fromId: string } {
  if (value == null || typeof value !== 'object') throw new InvalidOptionError(name, `must be a secret message (got ${describe(value)})`)
  const m = value as { id?: unknown, fromId?: unknown }
  return { id: requireMessageId(`${name}.id`, m.id), fromId: requireUserId(`${name}.fromId`, m.fromId) }
}

/** A decoded SECRET envelope (what a session's feed hands `Secrets.handle`). */
export function requireSecretEnvelope (name: string, value: unknown): Envelope {
  if (value == null || typeof value !== 'object') throw new InvalidOptionError(name, `must be an envelope (got ${describe(value)})`)
  const env = value as Partial<Envelope>
  if (env.kind !== Envelope.Kind.SECRET) throw new InvalidOptionError(`${name}.kind`, `must be SECRET (got ${describe(env.kind)})`)
  requireBytes(`${name}.senderKey`, env.senderKey, 32)
  requireBytes(`${name}.id`, env.id, 16)
  if (!(env.body instanceof Uint8Array)) throw new InvalidOptionError(`${name}.body`, `must be bytes (got ${describe(env.body)})`)
  if (typeof env.timestamp !== 'bigint') throw new InvalidOptionError(`${name}.timestamp`, `must be a bigint (got ${describe(env.timestamp)})`)
  if (typeof env.senderHandle !== 'string') {
    throw new InvalidOptionError(`${name}.senderHandle`, `must be a string (got ${describe(env.senderHandle)})`)
  }
  return env as Envelope
}
