/**
 * The benchmark scenarios, by name. Adding one is a file exporting a `Scenario` and one line here.
 */

import type { Scenario } from './lib/scenario.js'
import { floorScenario } from './floor.js'
import { meshScenario } from './mesh.js'
import { relayScenario } from './relay.js'
import { ringScenario } from './ring.js'
import { scaleScenario } from './scale.js'
import { secretScenario } from './secret.js'
import { sessionsScenario } from './sessions.js'
import { storeScenario } from './store.js'
import { xmppScenario } from './xmpp.js'

/** Every scenario `npm run bench -- <name>` knows, in the order the list shows them. */
export const SCENARIOS: readonly Scenario[] = [
  meshScenario,
  storeScenario,
  relayScenario,
  secretScenario,
  sessionsScenario,
  xmppScenario,
  scaleScenario,
  floorScenario,
  ringScenario
]
