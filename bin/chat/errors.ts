/** The errors of `chorus chat` commands: shown as one line, after which the client goes on. */

import { ChorusError } from '../../node/errors.js'

/** A command the client cannot carry out as typed (bad arguments, no conversation, unknown room). */
export class ChatCommandError extends ChorusError {
  static readonly code = 'ERR_CHAT_COMMAND'
  override readonly name = 'ChatCommandError'
  constructor (message: string) { super(message, ChatCommandError.code) }
}
