/**
 * Who may read what at an owner. A user's mailbox and roster are the user's alone: a FETCH of them needs
 * the user's read proof (protocol/read-auth.ts), whoever asks, servers included. A user's presence log
 * ("last seen", state, status) is the user's and its approved contacts': those its roster log, held by
 * the same owners, gives FROM or BOTH (as a Jabber server sends presence only to subscribers; see
 * docs/presence.md). Rooms have their own rules (room-guard.ts). Owners reconcile with DIGEST / IDS /
 * GET: GET hands out a user's entries only to the user's other owners, which hold them anyway.
 */

import { Envelope, type SenderKeyCache } from '../../protocol/envelope.js'
import { parseMailbox, userLog } from '../../protocol/mailbox.js'
import type { ReadAuth } from '../../protocol/pb/store.js'
import { verifyReadAuth } from '../../protocol/read-auth.js'
import { decodeRosterItem, hasFrom } from '../../protocol/roster.js'
import type { Cursor, MailboxStore } from '../store/mailbox-store.js'
import type { OwnerGuard, StoreGuard } from './context.js'
import { Forbidden } from './handlers/rejection.js'

/** Roster-log entries an owner looks through, newest first, for a reader's item before it refuses. */
const MAX_ROSTER_SCAN = 20_000

/** What the access guard reads. */
export interface AccessGuardComponents {
  /** the room rules, to which every room log's checks go */
  rooms: StoreGuard
  selfId: string
  /** whether a peer is a live server */
  isServerPeer: (peer: string) => boolean
  /** the owners of a mailbox in this node's view */
  ownersOf: (mailbox: string) => readonly string[]
  mailboxes: Pick<MailboxStore, 'range'>
  /** remembers the read proofs that verified (a session reuses one for a minute) */
  keys?: SenderKeyCache
}

/** The read and write rules of an owner's logs (a user's here; a room's in room-guard.ts). */
export class AccessGuard implements OwnerGuard {
  constructor (private readonly c: AccessGuardComponents) {}

  async checkPut (env: Envelope, mailbox: string, from: string): Promise<void> {
    await this.c.rooms.checkPut(env, mailbox, from)
  }

  async checkRead (mailbox: string, auth: ReadAuth | undefined, from: string): Promise<void> {
    const name = parseMailbox(mailbox)
    if (name?.kind === 'room') { await this.c.rooms.checkRead(mailbox, auth, from); return }
    if (name == null) return
    // no exception for servers: an owner reconciles with GET, and a user's node (server or not) has its proof
    if (auth == null) throw new Forbidden('no-read-proof', `reading ${mailbox} needs a read proof`)
    let reader: string
    try {
      reader = verifyReadAuth(auth, mailbox, Date.now(), this.c.keys)
    } catch (err: any) {
      throw new Forbidden('bad-read-proof', err.message)
    }
    if (reader === name.id) return
    if (name.log === 'presence' && await this.approved(name.id, reader)) return
    if (name.log === 'presence') {
      throw new Forbidden('not-approved', `${mailbox} is read by its user and the contacts it approved`)
    }
    throw new Forbidden('not-owner', `only its user may read ${mailbox}`)
  }

  /**
   * A server reading a replica to reconcile it (GET, or a PROBE without a proof). A user's logs go only
   * to their other owners in this node's view (a server whose view differs is refused until the views
   * agree, and its repair tries again); a room's to any server, as an owner judging a post pulls a room's
   * state from the servers after the owners too (room-guard.ts). Clients read with FETCH.
   */
  checkReplicaRead (mailbox: string, from: string): void {
    if (from === this.c.selfId) return
    if (!this.c.isServerPeer(from)) {
      throw new Forbidden('not-a-server', 'only servers reconcile; clients read with FETCH')
    }
    if (parseMailbox(mailbox)?.kind !== 'user') return
    if (!this.c.ownersOf(mailbox).includes(from)) {
      throw new Forbidden('not-an-owner', `${mailbox} is reconciled only between its owners`)
    }
  }

  /**
   * Whether `userId` approved `reader` (FROM or BOTH), by the newest item for `reader` in the user's
   * roster log here. Only the user can write that log (protocol/mailbox.ts), so the item is its word.
   */
  private async approved (userId: string, reader: string): Promise<boolean> {
    const log = userLog(userId, 'roster')
    let before: Cursor | undefined
    for (let scanned = 0; scanned < MAX_ROSTER_SCAN;) {
      // a newest-first page comes oldest first: walk it backwards
      const page = await this.c.mailboxes.range(log, { before, limit: 500, newestFirst: true })
      for (const e of [...page.entries].reverse()) {
        const env = Envelope.decode(e.bytes)
        if (env.kind !== Envelope.Kind.ROSTER) continue
        let contact: string
        let allowed: boolean
        try {
          const item = decodeRosterItem(env.body)
          contact = item.contact
          allowed = !item.removed && hasFrom(item.subscription)
        } catch {
          continue
        }
        if (contact === reader) return allowed
      }
      scanned += page.entries.length
      if (!page.more || page.entries.length === 0) return false
      before = page.entries[0].cursor
    }
    return false
  }
}
