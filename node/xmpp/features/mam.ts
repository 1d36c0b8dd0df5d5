/**
 * Message Archive Management (XEP-0313) of the account: a get is answered with the query form, a set runs
 * the query over the user's replicated mailbox (mam.ts), its results sent to the asking resource ahead of
 * the `<fin>` result.
 */

import xml, { type Element } from '@xmpp/xml'
import { NS_DATA, NS_MAM } from '../ns.js'
import type { Feature } from './registry.js'

export interface MamComponents {
  archive: {
    /** run `query`: each result to `send`, addressed `to`; returns the `<fin>` */
    query: (query: Element, to: string, send: (el: Element) => void) => Promise<Element>
  }
}

export function mam (): Feature<MamComponents> {
  return {
    name: 'XEP-0313 message archive management',
    iq: [{
      ns: NS_MAM,
      to: ['account'],
      get: () => mamForm(),
      set: async ({ account, query, from }) => await account.archive.query(query, from.jid, (m) => { from.send(m) })
    }]
  }
}

/** The form a client may fill. */
export function mamForm (): Element {
  return xml('query', { xmlns: NS_MAM }, xml('x', { xmlns: NS_DATA, type: 'form' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM)),
    xml('field', { var: 'with', type: 'jid-single' }),
    xml('field', { var: 'start', type: 'text-single' }),
    xml('field', { var: 'end', type: 'text-single' })))
}
