/** Small helpers of the account session (router.ts): error mapping, bounded maps, element copies. */

import xml, { type Element } from '@xmpp/xml'
import { logger } from '@libp2p/logger'
import { ForbiddenError, RateLimitedError, UnknownHandleError } from '../replication/errors.js'
import { StanzaError } from './errors.js'

const log = logger('chorus:xmpp:router')

/** Sent messages whose receipts are mapped back to the client's ids, and received ones a marker may name. */
export const MAX_TRACKED = 10_000

export function isCondition (c: string | undefined): c is ConstructorParameters<typeof StanzaError>[0] {
  return c === 'item-not-found' || c === 'forbidden' || c === 'resource-constraint' || c === 'service-unavailable' || c === 'recipient-unavailable'
}

/** Chorus errors as stanza errors; undefined when the session already bounced it as an error message. */
export function toStanzaError (err: any): StanzaError | undefined {
  if (err instanceof UnknownHandleError || err instanceof RateLimitedError || err instanceof ForbiddenError) return undefined
  if (err?.name === 'InvalidContactError' || err?.name === 'NoSubscriptionRequestError') return new StanzaError('not-acceptable', err.message)
  if (err?.name === 'RoomRuleError' || err?.name === 'NotInRoomError') return new StanzaError('not-allowed', err.message)
  if (err?.name === 'QuorumError' || err?.name === 'NoServersError') return new StanzaError('recipient-unavailable', err.message)
  if (err?.name === 'EnvelopeTooLargeError' || err?.name === 'InvalidArgumentError') return new StanzaError('not-acceptable', err.message)
  log.error('stanza failed: %s', err?.stack ?? err)
  return new StanzaError('internal-server-error', 'the mesh could not take it')
}

/** Remember `key → value` in a bounded map (the oldest goes first). */
export function remember (map: Map<string, string>, key: string, value: string): void {
  map.set(key, value)
  if (map.size > MAX_TRACKED) map.delete(map.keys().next().value as string)
}

/** A deep copy of an element (ltx's own clone is not part of @xmpp/xml's interface). */
export function cloneElement (el: Element): Element {
  return xml(el.name, { ...el.attrs }, ...el.children.map((c) => typeof c === 'string' ? c : cloneElement(c as Element)))
}
