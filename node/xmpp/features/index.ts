/**
 * The features of an account session, each one file of this folder (registry.ts says how they register).
 * Adding a XEP is its file, and one line in `accountFeatures`; its components, if it needs some the
 * list does not have yet, join `AccountFeatureComponents` and the account session provides them. A
 * gateway builds the registry once (`accountRegistry`) and answers every account's iqs with it: each
 * request brings the components of the account it is for (`IqRequest.account`), so an account session
 * keeps no handlers of its own.
 */

import { carbons } from './carbons.js'
import { chat } from './chat.js'
import { disco } from './disco.js'
import { lastActivity, type LastActivityComponents } from './last.js'
import { mam, type MamComponents } from './mam.js'
import { muc, type MucComponents } from './muc.js'
import { ping } from './ping.js'
import { registration } from './register.js'
import { FeatureRegistry, type DiscoCatalog, type Feature } from './registry.js'
import { roster, type RosterComponents } from './roster.js'
import { session } from './session.js'

export { FeatureRegistry } from './registry.js'
export type { Addressee, Feature, IqRequest, IqType, Requester } from './registry.js'

/** What the features of an account session need of it. */
export type AccountFeatureComponents = RosterComponents & LastActivityComponents & MamComponents & MucComponents

/** The features, in the order disco#info lists what they advertise; `service` is the gateway's MUC service. */
export function accountFeatures (service: string, catalog: DiscoCatalog): Array<Feature<AccountFeatureComponents>> {
  return [
    disco({ catalog }),
    ping(),
    lastActivity(),
    roster(),
    chat(),
    registration(),
    mam(),
    carbons(),
    muc(service),
    session()
  ]
}

/** The registry of a gateway's account sessions (MUC service `service`): every feature of `accountFeatures`, added. */
export function accountRegistry (service: string): FeatureRegistry<AccountFeatureComponents> {
  const registry = new FeatureRegistry<AccountFeatureComponents>()
  for (const feature of accountFeatures(service, registry)) registry.add(feature)
  return registry
}
