/** The errors of `chorus chat` commands: shown as one line, after which the client goes on. */

/** A command the client cannot carry out as typed (bad arguments, no conversation, unknown room). */
export class ChatCommandError extends Error {
  override readonly name = 'ChatCommandError'
  readonly code = 'ERR_CHAT_COMMAND'
}
