/**
 * Multi-User Chat (XEP-0045): the iqs of the MUC service `conference.<domain>` and its rooms, answered by
 * the account's `Muc` (muc.ts, which also takes the messages and presence sent to rooms). The service
 * answers disco#info and disco#items (the room directory); a room answers them too, `muc#admin` sets and
 * `muc#owner` gets and sets. The server lists the service in its disco#items and `muc` in its disco#info.
 */

import { StanzaError } from '../errors.js'
import type { Muc } from '../muc.js'
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER } from '../ns.js'
import type { Feature, IqHandler } from './registry.js'

export interface MucComponents {
  rooms: Pick<Muc, 'info' | 'items' | 'admin' | 'owner'>
}

/** The feature, for the MUC service `service` (`conference.<domain>`) of a gateway. */
export function muc (service: string): Feature<MucComponents> {
  // the service itself answers discovery only
  const ofRoom = (handler: IqHandler<MucComponents>): IqHandler<MucComponents> => async (req) => {
    if (req.to === service) throw new StanzaError('service-unavailable', `${String(req.query.attrs.xmlns)} is not served by the room service`)
    return await handler(req)
  }
  return {
    name: 'XEP-0045 multi-user chat',
    vars: [NS_MUC],
    items: [{ jid: service, name: 'Chorus rooms' }],
    iq: [
      { ns: NS_DISCO_INFO, to: ['rooms'], get: async ({ account, to }) => await account.rooms.info(String(to)) },
      { ns: NS_DISCO_ITEMS, to: ['rooms'], get: async ({ account, to }) => await account.rooms.items(String(to)) },
      {
        ns: NS_MUC_ADMIN,
        to: ['rooms'],
        set: ofRoom(async ({ account, to, query }) => {
          await account.rooms.admin(String(to), query)
          return undefined
        })
      },
      {
        ns: NS_MUC_OWNER,
        to: ['rooms'],
        get: ofRoom(async ({ account, to, query }) => await account.rooms.owner(String(to), 'get', query)),
        set: ofRoom(async ({ account, to, query }) => await account.rooms.owner(String(to), 'set', query))
      }
    ]
  }
}
