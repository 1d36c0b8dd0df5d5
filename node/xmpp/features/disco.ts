/**
 * Service Discovery (XEP-0030) of the server and the account: disco#info lists what the registry's
 * features advertise, with the server's identity (an iq to the domain, or with no `to`) or the account's;
 * disco#items of the server lists the services features add (the MUC service). Rooms answer their own
 * (features/muc.ts); anyone else's disco#info is `service-unavailable`, their disco#items empty.
 */

import xml, { type Element } from '@xmpp/xml'
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from '../ns.js'
import type { DiscoCatalog, Feature, IqRequest } from './registry.js'

export interface DiscoComponents {
  catalog: DiscoCatalog
}

export function disco ({ catalog }: DiscoComponents): Feature {
  // disco#info with no `to` gets the server's identity (clients that send one without `to` ask their server)
  const ofServer = (req: IqRequest): boolean => req.addressee === 'server' || req.to == null
  const identity = (req: IqRequest): Element => ofServer(req)
    ? xml('identity', { category: 'server', type: 'im', name: 'Chorus' })
    : xml('identity', { category: 'account', type: 'registered' })
  return {
    name: 'XEP-0030 service discovery',
    iq: [
      {
        ns: NS_DISCO_INFO,
        to: ['server', 'account'],
        get: (req) =>
          xml('query', { xmlns: NS_DISCO_INFO }, identity(req), ...catalog.features().map((f) => xml('feature', { var: f })))
      },
      {
        ns: NS_DISCO_ITEMS,
        to: ['server', 'account', 'others'],
        get: (req) => xml('query', { xmlns: NS_DISCO_ITEMS },
          ...ofServer(req) ? catalog.items().map((i) => xml('item', { jid: i.jid, name: i.name })) : [])
      }
    ]
  }
}
