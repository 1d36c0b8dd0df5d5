/**
 * XMPP Ping (XEP-0199): an empty result, whoever the ping is to. A ping to a room JID is answered too,
 * joined or not (XEP-0410's self-ping, never `not-acceptable`).
 */

import { NS_PING } from '../ns.js'
import { ANYONE, type Feature } from './registry.js'

export function ping (): Feature {
  return { name: 'XEP-0199 ping', iq: [{ ns: NS_PING, to: ANYONE, get: () => undefined }] }
}
