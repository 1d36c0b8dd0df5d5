/**
 * Last Activity (XEP-0012) of a contact: seconds since the contact was last seen (0 while online), and
 * its last status; only of a contact whose presence the user sees (subscription `to` or `both`).
 */

import xml, { type Element } from '@xmpp/xml'
import type { RosterEntry } from '../../session/roster.js'
import { StanzaError } from '../errors.js'
import { NS_LAST } from '../ns.js'
import type { Feature } from './registry.js'

export interface LastActivityComponents {
  /** the roster entry of a handle, if it has one */
  contact: (handle: string) => RosterEntry | undefined
  /** the handle a JID at this domain names (throws StanzaError otherwise) */
  handleOf: (jid: string) => string
}

export function lastActivity (): Feature<LastActivityComponents> {
  return {
    name: 'XEP-0012 last activity',
    iq: [{ ns: NS_LAST, to: ['others'], get: ({ account, to }) => lastSeen(account, String(to)) }]
  }
}

function lastSeen (c: LastActivityComponents, to: string): Element {
  const entry = c.contact(c.handleOf(to))
  if (entry == null || (entry.subscription !== 'to' && entry.subscription !== 'both')) {
    throw new StanzaError('forbidden', 'not subscribed to that contact\'s presence')
  }
  const p = entry.presence
  if (p == null) throw new StanzaError('item-not-found', 'never seen')
  const seconds = p.state === 'offline' ? Math.max(0, Math.round((Date.now() - p.lastSeen) / 1000)) : 0
  return xml('query', { xmlns: NS_LAST, seconds: String(seconds) }, p.status)
}
