/** Errors of a device's secret chats, beside the protocol's own (protocol/secret/errors.ts). */

import { SecretChatError } from '../../protocol/secret/errors.js'

/** The peer has published no prekeys (it never opened a session on a device that supports secret chats). */
export class NoPrekeysError extends SecretChatError {
  static readonly code = 'ERR_NO_PREKEYS'
  override readonly name = 'NoPrekeysError'
  constructor (peer: string, cause?: Error) {
    super(`no prekeys published for ${peer}${cause != null ? `: ${cause.message}` : ''}`, NoPrekeysError.code, 'no-prekeys')
  }
}

/** A peer's identity keys changed since they were first seen: verify the safety number again. */
export class IdentityChangedError extends SecretChatError {
  static readonly code = 'ERR_IDENTITY_CHANGED'
  override readonly name = 'IdentityChangedError'
  constructor (readonly peer: string) {
    super(`the identity keys of ${peer} changed: compare safety numbers again`, IdentityChangedError.code, 'identity-changed')
  }
}
