/**
 * Message Carbons (XEP-0280): a resource enables or disables copies of what the account's other
 * resources send; `carbonCopy` makes the copy a chat message gets (chat.ts sends it to those that enabled
 * them, on this gateway only).
 */

import xml, { type Element } from '@xmpp/xml'
import { StanzaError } from '../errors.js'
import { NS_CARBONS, NS_CLIENT, NS_FORWARD } from '../ns.js'
import { childElements } from '../stanza-util.js'
import { ANYONE, type Feature } from './registry.js'

export function carbons (): Feature {
  return {
    name: 'XEP-0280 message carbons',
    iq: [{
      ns: NS_CARBONS,
      to: ANYONE,
      set: ({ query, from }) => {
        if (query.name !== 'enable' && query.name !== 'disable') throw new StanzaError('bad-request', 'enable or disable')
        from.carbons(query.name === 'enable')
        return undefined
      }
    }]
  }
}

/**
 * The carbon of a message `sender` (a full JID of the account `bare`) sent: `<sent>` around a forwarded
 * copy; undefined for a message marked `<private/>`.
 */
export function carbonCopy (el: Element, sender: string, bare: string): Element | undefined {
  if (el.getChild('private', NS_CARBONS) != null) return undefined
  const type = el.attrs.type ?? 'chat'
  const copy = xml('message', { xmlns: NS_CLIENT, type, id: el.attrs.id, from: sender, to: el.attrs.to }, ...childElements(el))
  return xml('message', { from: bare, type }, xml('sent', { xmlns: NS_CARBONS }, xml('forwarded', { xmlns: NS_FORWARD }, copy)))
}
