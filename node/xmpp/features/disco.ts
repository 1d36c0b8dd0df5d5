/**
 * Service Discovery (XEP-0030) of the server and the account: disco#info lists what the registry's
 * features advertise, with the server's identity (an iq to the domain, or with no `to`) or the account's;
 * disco#items of the server lists the services features add (the MUC service). Rooms answer their own
 * (features/muc.ts); anyone else's disco#info is `service-unavailable`, their disco#items empty.
 */

import xml from '@xmpp/xml'
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from '../ns.js'
import type { DiscoCatalog, Feature, IqRequest } from './registry.js'

export interface DiscoComponents {
  catalog: DiscoCatalog
}

export function disco ({ catalog }: DiscoComponents): Feature {
  // a query with no `to` is the client asking its server (what clients mean by it, whatever RFC 6120 §10.3.3 says)
  const ofServer = (req: IqRequest): boolean => req.addressee === 'server' || req.to == null
  return {
    name: 'XEP-0030 service discovery',
    iq: [
      {
        ns: NS_DISCO_INFO,
        to: ['server', 'account'],
        get: (req) => xml('query', { xmlns: NS_DISCO_INFO },
          ofServer(req) ? xml('identity', { category: 'server', type: 'im', name: 'Chorus' }) : xml('identity', { category: 'account', type: 'registered' }),
          ...catalog.features().map((f) => xml('feature', { var: f })))
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
