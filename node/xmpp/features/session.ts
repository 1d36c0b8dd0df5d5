/**
 * Session establishment (RFC 3921 §3, `urn:ietf:params:xml:ns:xmpp-session`): RFC 6121 made it a no-op,
 * and old clients still ask for it after binding. Announced as an optional stream feature (connection.ts),
 * not in disco#info; answered with an empty result.
 */

import { NS_SESSION } from '../ns.js'
import { ANYONE, type Feature } from './registry.js'

export function session (): Feature {
  return { name: 'RFC 3921 session', iq: [{ ns: NS_SESSION, to: ANYONE, set: () => undefined, advertised: false }] }
}
