/**
 * What a client is told when handling its input fails: one table from the `code` every Chorus error
 * carries to the XMPP stanza condition of the answer (RFC 6120 §8.3.3), and one to the stream condition
 * where a failure ends the stream (§4.9.3). Code in node/xmpp/ chooses a condition here, by code, never by
 * an error's name or message text; an error with no entry is a fault of the gateway's own: logged, and
 * answered `internal-server-error`.
 */

import { logger } from '@libp2p/logger'
import { STANZA_CONDITIONS, StanzaError, StreamError, type StanzaCondition, type StreamCondition } from './errors.js'

const log = logger('chorus:xmpp')

/** The stanza condition of each Chorus error code that handling a stanza may meet. */
export const STANZA_CONDITION_OF = {
  // the mesh cannot take it now: the client may try again later
  ERR_QUORUM: 'recipient-unavailable',
  ERR_NO_SERVERS: 'recipient-unavailable',
  ERR_RATE_LIMITED: 'resource-constraint',
  // the owners refused it
  ERR_FORBIDDEN: 'forbidden',
  ERR_ROOM_RULE: 'not-allowed',
  ERR_NOT_IN_ROOM: 'not-allowed',
  // nothing by that name
  ERR_UNKNOWN_HANDLE: 'item-not-found',
  ERR_UNKNOWN_ROOM: 'item-not-found',
  ERR_UNKNOWN_ROOM_ADDRESS: 'item-not-found',
  // a JID whose localpart is no handle or room address
  ERR_INVALID_HANDLE: 'jid-malformed',
  ERR_INVALID_ROOM_ADDRESS: 'jid-malformed',
  // what the client asked for cannot be
  ERR_INVALID_CONTACT: 'not-acceptable',
  ERR_NO_SUBSCRIPTION_REQUEST: 'not-acceptable',
  ERR_INVALID_PRESENCE: 'not-acceptable',
  ERR_ENVELOPE_TOO_LARGE: 'not-acceptable',
  ERR_INVALID_OPTION: 'not-acceptable',
  // in-band registration (XEP-0077): the handle is another's (on the mesh, or a native user of this
  // node, whose vault the new account's key does not open); a username or password that makes no account
  ERR_HANDLE_TAKEN: 'conflict',
  ERR_PASSPHRASE: 'conflict',
  ERR_INVALID_ACCOUNT: 'not-acceptable',
  ERR_SASL: 'not-acceptable'
} as const satisfies Record<string, StanzaCondition>

/** A Chorus error code the stanza table names. */
export type MappedCode = keyof typeof STANZA_CONDITION_OF

/**
 * Where one handler answers a code otherwise than the table (a members-only room's
 * `forbidden` is `registration-required`).
 */
export type ConditionOverrides = Partial<Record<MappedCode, StanzaCondition>>

/**
 * The stream condition of each Chorus error code that may end a stream: the node stopping under it. A
 * `StreamError` keeps its own condition.
 */
export const STREAM_CONDITION_OF = {
  ERR_NODE_STATE: 'system-shutdown'
} as const satisfies Record<string, StreamCondition>

/**
 * The codes of the failures `user.send` has told the sender of already, with an error message of its own
 * (a bounce, as a Jabber server sends one): an error reply to the same stanza would tell it twice.
 */
export const BOUNCED_BY_SEND: ReadonlySet<string> = new Set(['ERR_UNKNOWN_HANDLE', 'ERR_RATE_LIMITED', 'ERR_FORBIDDEN'])

/** An error's `code`, if it has one. */
export function codeOf (err: unknown): string | undefined {
  const code = err != null && typeof err === 'object' && 'code' in err ? err.code : undefined
  return typeof code === 'string' ? code : undefined
}

/** The stanza error to answer a failure with: its own, or its code's condition (`overrides` first). */
export function toStanzaError (err: unknown, overrides: ConditionOverrides = {}): StanzaError {
  if (err instanceof StanzaError) return err
  const code = codeOf(err)
  const condition = code == null ? undefined : own(overrides, code) ?? own(STANZA_CONDITION_OF, code)
  if (condition != null) return new StanzaError(condition, messageOf(err))
  log.error('stanza failed: %s', err instanceof Error ? err.stack : String(err))
  return new StanzaError('internal-server-error', 'the mesh could not take it')
}

/** The stream error to end a stream with after a failure: its own, or its code's condition. */
export function toStreamError (err: unknown): StreamError {
  if (err instanceof StreamError) return err
  const code = codeOf(err)
  const condition = code == null ? undefined : own(STREAM_CONDITION_OF, code)
  if (condition != null) return new StreamError(condition, messageOf(err))
  log.error('stream failed: %s', err instanceof Error ? err.stack : String(err))
  return new StreamError('internal-server-error', messageOf(err))
}

/** Whether a condition a session names (its bounce's) is one the gateway sends. */
export function isStanzaCondition (name: string | undefined): name is StanzaCondition {
  return name != null && Object.hasOwn(STANZA_CONDITIONS, name)
}

/** `table[key]` when the table holds `key` itself (never what Object's prototype has under that name). */
function own<V> (table: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
