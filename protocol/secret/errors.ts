/**
 * Errors of secret chats (X3DH + Double Ratchet). Every one extends `SecretChatError` and carries a stable
 * `code` to branch on (`ERR_*`, as every Chorus error) and a short `reason`, the label under which a node
 * counts the refusal (`chorus_rejected_total{reason="secret-<reason>"}`); messages are for people and may
 * change.
 */

/** The base of every secret-chat error, so a caller can catch the family with one `instanceof`. */
export abstract class SecretChatError extends Error {
  abstract readonly code: string
  abstract readonly reason: string
}

/** A ciphertext that does not authenticate: tampered, truncated, or sealed under another key or AD. */
export class DecryptError extends SecretChatError {
  override readonly name = 'DecryptError'
  readonly code = 'ERR_DECRYPT'
  readonly reason = 'decrypt-failed'
  constructor (message = 'message does not authenticate') { super(message) }
}

/**
 * A message whose key is gone: it was decrypted before (its key deleted for forward secrecy), or it was
 * skipped so long ago that its stored key was evicted. The receiver cannot tell the two apart.
 */
export class ReplayError extends SecretChatError {
  override readonly name = 'ReplayError'
  readonly code = 'ERR_REPLAY'
  readonly reason = 'replay'
  constructor (message = 'message already received') { super(message) }
}

/** A header whose counter is more than `MAX_SKIP` past its chain's: the session is left as it was. */
export class TooFarAheadError extends SecretChatError {
  override readonly name = 'TooFarAheadError'
  readonly code = 'ERR_TOO_FAR_AHEAD'
  readonly reason = 'too-far-ahead'
  constructor (message = 'message counter too far ahead') { super(message) }
}

/** A message that would make the receiver skip more than `MAX_SKIP` keys in all (old and new chain together). */
export class TooManySkippedError extends SecretChatError {
  override readonly name = 'TooManySkippedError'
  readonly code = 'ERR_TOO_MANY_SKIPPED'
  readonly reason = 'too-many-skipped'
  constructor (message = 'message would skip too many keys') { super(message) }
}

/** A prekey bundle (or an initial message) whose key material is not signed by the identity it names. */
export class BadBundleSignatureError extends SecretChatError {
  override readonly name = 'BadBundleSignatureError'
  readonly code = 'ERR_BAD_BUNDLE_SIGNATURE'
  readonly reason = 'bad-bundle-signature'
  constructor (message = 'prekey bundle signature does not verify') { super(message) }
}

/** An initial message naming a one-time prekey the receiver no longer holds (used already, or never issued). */
export class PrekeyUsedError extends SecretChatError {
  override readonly name = 'PrekeyUsedError'
  readonly code = 'ERR_PREKEY_USED'
  readonly reason = 'prekey-used'
  constructor (message = 'one-time prekey already used') { super(message) }
}

/** Secret-chat wire data (header, bundle, initial message) that does not decode or breaks a bound. */
export class MalformedSecretMessageError extends SecretChatError {
  override readonly name = 'MalformedSecretMessageError'
  readonly code = 'ERR_MALFORMED_SECRET_MESSAGE'
  readonly reason = 'malformed-secret-message'
  constructor (message = 'malformed secret-chat data') { super(message) }
}

/** A session that cannot do what was asked (Bob sending first, a counter exhausted) or whose stored state is corrupt. */
export class SessionStateError extends SecretChatError {
  override readonly name = 'SessionStateError'
  readonly code = 'ERR_SESSION_STATE'
  readonly reason = 'session-state'
  constructor (message = 'invalid session state') { super(message) }
}

/** A Diffie-Hellman public key that yields an all-zero secret (a low-order point): contributes nothing. */
export class InvalidKeyError extends SecretChatError {
  override readonly name = 'InvalidKeyError'
  readonly code = 'ERR_INVALID_KEY'
  readonly reason = 'invalid-key'
  constructor (message = 'invalid Diffie-Hellman public key') { super(message) }
}

/**
 * An initial message whose (signed prekey id, ephemeral key) pair was used before: a replayed first
 * message (X3DH §4.2). Accepting it would start the session again from an old state.
 */
export class InitiationReplayError extends SecretChatError {
  override readonly name = 'InitiationReplayError'
  readonly code = 'ERR_INITIATION_REPLAY'
  readonly reason = 'initiation-replay'
  constructor (message = 'initial message already used') { super(message) }
}

/** A prekey bundle whose signed prekey is older than the fetching client accepts (its `createdAt` is signed). */
export class StaleBundleError extends SecretChatError {
  override readonly name = 'StaleBundleError'
  readonly code = 'ERR_STALE_BUNDLE'
  readonly reason = 'stale-bundle'
  constructor (message = 'prekey bundle is too old') { super(message) }
}
