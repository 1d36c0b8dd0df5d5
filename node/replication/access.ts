/**
 * Who may read what at an owner. A user's mailbox and roster are the user's alone: a FETCH of them needs
 * the user's read proof (protocol/read-auth.ts). A user's presence log is readable by anyone (contacts
 * read it for "last seen"; see docs/presence.md). Rooms have their own rules (room-guard.ts). Servers
 * reconcile with DIGEST / IDS / GET, which only servers may use: a client reads through FETCH and its
 * checks.
 */

import { parseMailbox } from '../../protocol/mailbox.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import { verifyReadAuth } from '../../protocol/read-auth.js'
import type { Envelope } from '../../protocol/envelope.js'
import type { StoreGuard } from './context.js'
import { Forbidden } from './handlers/rejection.js'

export class AccessGuard implements StoreGuard {
  constructor (private readonly rooms: StoreGuard, private readonly selfId: string, private readonly isServerPeer: (peer: string) => boolean) {}

  async checkPut (env: Envelope, mailbox: string, from: string): Promise<void> {
    await this.rooms.checkPut(env, mailbox, from)
  }

  async checkRead (mailbox: string, auth: ReadAuth | undefined, from: string): Promise<void> {
    const name = parseMailbox(mailbox)
    if (name?.kind === 'room') { await this.rooms.checkRead(mailbox, auth, from); return }
    if (name == null || name.log === 'presence') return
    if (from !== this.selfId && this.isServerPeer(from) && auth == null) return
    if (auth == null) throw new Forbidden('no-read-proof', `reading ${mailbox} needs its user's read proof`)
    let reader: string
    try {
      reader = verifyReadAuth(auth, mailbox)
    } catch (err: any) {
      throw new Forbidden('bad-read-proof', err.message)
    }
    if (reader !== name.id) throw new Forbidden('not-owner', `only its user may read ${mailbox}`)
  }
}
