/**
 * Errors of secret chats (X3DH + Double Ratchet). Every one extends `SecretChatError` and carries a stable
 * `code` to branch on (`ERR_*`, as every Chorus error) and a short `reason`, the label under which a node
 * counts the refusal (`chorus_rejected_total{reason="secret-<reason>"}`); messages are for people and may
 * change.
 */

import { ChorusError } from '../errors.js'

/** The base of every secret-chat error, so a caller can catch the family with one `instanceof`. */
export abstract class SecretChatError extends ChorusError {
  declare readonly reason: string
  constructor (message: string, code: string, reason: string) { super(message, code, { reason }) }
}

/** A ciphertext that does not authenticate: tampered, truncated, or sealed under another key or AD. */
export class DecryptError extends SecretChatError {
  static readonly code = 'ERR_DECRYPT'
  override readonly name = 'DecryptError'
  constructor (message = 'message does not authenticate') { super(message, DecryptError.code, 'decrypt-failed') }
}

/**
 * A message whose key is gone: it was decrypted before (its key deleted for forward secrecy), or it was
 * skipped so long ago that its stored key was evicted. The receiver cannot tell the two apart.
 */
export class ReplayError extends SecretChatError {
  static readonly code = 'ERR_REPLAY'
  override readonly name = 'ReplayError'
  constructor (message = 'message already received') { super(message, ReplayError.code, 'replay') }
}

/** A header whose counter is more than `MAX_SKIP` past its chain's: the session is left as it was. */
export class TooFarAheadError extends SecretChatError {
  static readonly code = 'ERR_TOO_FAR_AHEAD'
  override readonly name = 'TooFarAheadError'
  constructor (message = 'message counter too far ahead') { super(message, TooFarAheadError.code, 'too-far-ahead') }
}

/** A message that would make the receiver skip more than `MAX_SKIP` keys in all (old and new chain together). */
export class TooManySkippedError extends SecretChatError {
  static readonly code = 'ERR_TOO_MANY_SKIPPED'
  override readonly name = 'TooManySkippedError'
  constructor (message = 'message would skip too many keys') { super(message, TooManySkippedError.code, 'too-many-skipped') }
}

/** A prekey bundle (or an initial message) whose key material is not signed by the identity it names. */
export class BadBundleSignatureError extends SecretChatError {
  static readonly code = 'ERR_BAD_BUNDLE_SIGNATURE'
  override readonly name = 'BadBundleSignatureError'
  constructor (message = 'prekey bundle signature does not verify') { super(message, BadBundleSignatureError.code, 'bad-bundle-signature') }
}

/** An initial message naming a one-time prekey the receiver no longer holds (used already, or never issued). */
export class PrekeyUsedError extends SecretChatError {
  static readonly code = 'ERR_PREKEY_USED'
  override readonly name = 'PrekeyUsedError'
  constructor (message = 'one-time prekey already used') { super(message, PrekeyUsedError.code, 'prekey-used') }
}

/** Secret-chat wire data (header, bundle, initial message) that does not decode or breaks a bound. */
export class MalformedSecretMessageError extends SecretChatError {
  static readonly code = 'ERR_MALFORMED_SECRET_MESSAGE'
  override readonly name = 'MalformedSecretMessageError'
  constructor (message = 'malformed secret-chat data') { super(message, MalformedSecretMessageError.code, 'malformed-secret-message') }
}

/**
 * A session that cannot do what was asked (Bob sending first, a counter exhausted) or whose stored state is corrupt.
 */
export class SessionStateError extends SecretChatError {
  static readonly code = 'ERR_SESSION_STATE'
  override readonly name = 'SessionStateError'
  constructor (message = 'invalid session state') { super(message, SessionStateError.code, 'session-state') }
}

/** A Diffie-Hellman public key that yields an all-zero secret (a low-order point): contributes nothing. */
export class InvalidKeyError extends SecretChatError {
  static readonly code = 'ERR_INVALID_KEY'
  override readonly name = 'InvalidKeyError'
  constructor (message = 'invalid Diffie-Hellman public key') { super(message, InvalidKeyError.code, 'invalid-key') }
}

/**
 * An initial message whose (signed prekey id, ephemeral key) pair was used before: a replayed first
 * message (X3DH §4.2). Accepting it would start the session again from an old state.
 */
export class InitiationReplayError extends SecretChatError {
  static readonly code = 'ERR_INITIATION_REPLAY'
  override readonly name = 'InitiationReplayError'
  constructor (message = 'initial message already used') { super(message, InitiationReplayError.code, 'initiation-replay') }
}

/** A prekey bundle whose signed prekey is older than the fetching client accepts (its `createdAt` is signed). */
export class StaleBundleError extends SecretChatError {
  static readonly code = 'ERR_STALE_BUNDLE'
  override readonly name = 'StaleBundleError'
  constructor (message = 'prekey bundle is too old') { super(message, StaleBundleError.code, 'stale-bundle') }
}
