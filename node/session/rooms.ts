/** Rooms (being written; see the helper's brief). */

import type { SessionContext } from './context.js'

export class Rooms {
  constructor (private readonly ctx: SessionContext) {}
  async open (): Promise<void> {}
  async close (): Promise<void> {}
  async sync (): Promise<void> { if (this.ctx.closed) return undefined }
}
