/**
 * Roster management (RFC 6121 §2): get and set on the account's own roster (roster-map.ts maps it onto
 * `user.roster`). A set is answered first, then pushed to every resource.
 */

import { NS_ROSTER } from '../ns.js'
import type { RosterMap } from '../roster-map.js'
import type { Feature } from './registry.js'

export interface RosterComponents {
  roster: Pick<RosterMap, 'items' | 'set' | 'changed'>
}

export function roster (): Feature<RosterComponents> {
  return {
    name: 'RFC 6121 roster',
    iq: [{
      ns: NS_ROSTER,
      to: ['account'],
      get: ({ account }) => account.roster.items(),
      set: async ({ account: { roster }, query, afterResult }) => {
        await roster.set(query)
        afterResult(() => { roster.changed() })
        return undefined
      }
    }]
  }
}
