/** Roster and presence (being written; see the helper's brief). */

import type { Envelope } from '../../protocol/envelope.js'
import type { SessionContext } from './context.js'

export class Roster {
  constructor (private readonly ctx: SessionContext) {}
  async open (): Promise<void> {}
  async close (): Promise<void> {}
  async handle (_env: Envelope): Promise<void> {}
  async setPresence (_state: string, _status: string): Promise<void> { throw new Error(`presence of ${this.ctx.handle}: not built yet`) }
}
