/**
 * XMPP's two error kinds (RFC 6120 §4.9 and §8.3): a stream error ends one client's connection, a
 * stanza error answers one stanza and the stream goes on. Both carry the defined condition the client
 * sees, and a text for the operator's log.
 */

import xml, { type Element } from '@xmpp/xml'
import { ChorusError } from '../errors.js'
import { NS_STANZA_ERRORS, NS_STREAM_ERRORS } from './ns.js'

/** The stream error conditions the gateway sends (RFC 6120 §4.9.3). */
export type StreamCondition =
  | 'bad-format' | 'connection-timeout' | 'host-unknown' | 'invalid-namespace' | 'not-authorized'
  | 'not-well-formed' | 'policy-violation' | 'resource-constraint' | 'restricted-xml' | 'see-other-host'
  | 'system-shutdown' | 'unsupported-stanza-type' | 'unsupported-version' | 'internal-server-error' | 'conflict'
  | 'undefined-condition'

/** An error that ends the stream: the client gets `<stream:error>` and the connection closes. */
export class StreamError extends ChorusError {
  static readonly code = 'ERR_XMPP_STREAM'
  override readonly name = 'StreamError'
  constructor (readonly condition: StreamCondition, message: string, readonly seeOtherHost?: string) {
    super(message, StreamError.code)
  }

  toElement (): Element {
    const cond = this.seeOtherHost == null
      ? xml(this.condition, { xmlns: NS_STREAM_ERRORS })
      : xml(this.condition, { xmlns: NS_STREAM_ERRORS }, this.seeOtherHost)
    return xml('stream:error', {}, cond, xml('text', { xmlns: NS_STREAM_ERRORS }, this.message))
  }
}

/** The stanza error conditions the gateway sends (RFC 6120 §8.3.3), with their error types. */
export const STANZA_CONDITIONS = {
  'bad-request': 'modify',
  conflict: 'cancel',
  'feature-not-implemented': 'cancel',
  forbidden: 'auth',
  'internal-server-error': 'wait',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  'registration-required': 'auth',
  'remote-server-not-found': 'cancel',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'unexpected-request': 'wait'
} as const

export type StanzaCondition = keyof typeof STANZA_CONDITIONS

/** An error that answers one stanza (`type="error"`); the stream goes on. */
export class StanzaError extends ChorusError {
  static readonly code = 'ERR_XMPP_STANZA'
  override readonly name = 'StanzaError'
  constructor (readonly condition: StanzaCondition, message = '') {
    super(message === '' ? condition : message, StanzaError.code)
  }

  /** The `<error/>` child for a reply. */
  toElement (): Element {
    const err = xml('error', { type: STANZA_CONDITIONS[this.condition] }, xml(this.condition, { xmlns: NS_STANZA_ERRORS }))
    if (this.message !== this.condition) err.append(xml('text', { xmlns: NS_STANZA_ERRORS }, this.message))
    return err
  }
}

/**
 * The error reply to `stanza` (RFC 6120 §8.3.1): the same name and id, from and to swapped, the original
 * children kept for a message or presence, `type="error"`.
 */
export function errorReply (stanza: Element, err: StanzaError, from: string): Element {
  const reply = xml(stanza.name, { type: 'error', id: stanza.attrs.id, from: stanza.attrs.to ?? from, to: stanza.attrs.from })
  if (stanza.name !== 'iq') for (const c of stanza.children) if (typeof c !== 'string') reply.append(c)
  reply.append(err.toElement())
  return reply
}

/** Two features of the gateway claim the same iq (namespace, type and addressee): a fault in how they are listed. */
export class FeatureConflictError extends ChorusError {
  static readonly code = 'ERR_XMPP_FEATURE_CONFLICT'
  override readonly name = 'FeatureConflictError'
  constructor (message: string) { super(message, FeatureConflictError.code) }
}
