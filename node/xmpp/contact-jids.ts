/**
 * The JID the gateway writes for a user: `handle@domain` whenever the user's handle is known, never the
 * user id where a handle exists (a client files a message under its JID: a user id is an unknown contact).
 *
 * The mesh resolves handles to user ids, not back, and some of what the session hands out names a user
 * only by id (the recipient of the account's own messages, a sender that signed no handle). So each
 * account session keeps what it has seen verified: the handles it resolved to send, senders' verified
 * handles, and the roster's contacts; a user id nobody named stays as it is.
 */

import { isUserId } from '../../protocol/mailbox.js'
import type { User } from '../session/user.js'

/** User ids whose handles an account session remembers at most (the oldest are forgotten first). */
export const MAX_KNOWN_HANDLES = 10_000

/** What the names need of the account session. */
export interface ContactJidsComponents {
  user: Pick<User, 'userId' | 'handle' | 'roster'>
  domain: string
}

export class ContactJids {
  /** userId → handle, verified (resolved through the directory, or a checked sender's claim) */
  private readonly known = new Map<string, string>()

  constructor (private readonly c: ContactJidsComponents) {}

  /** Remember that `userId` is `handle` (both verified by the caller); a pair that is not one is ignored. */
  learn (userId: string, handle: string): void {
    if (userId === handle || !isUserId(userId) || isUserId(handle)) return
    this.known.delete(userId)
    this.known.set(userId, handle)
    if (this.known.size > MAX_KNOWN_HANDLES) this.known.delete(this.known.keys().next().value as string)
  }

  /** The handle of a handle or user id: the id itself when no handle is known for it. */
  handle (handleOrId: string): string {
    if (!isUserId(handleOrId)) return handleOrId
    if (handleOrId === this.c.user.userId) return this.c.user.handle
    const known = this.known.get(handleOrId)
    if (known != null) return known
    const contact = this.c.user.roster.list().find((e) => e.userId === handleOrId && !isUserId(e.handle))
    return contact?.handle ?? handleOrId
  }

  /** The bare JID of a handle or user id. */
  jid (handleOrId: string): string {
    return `${this.handle(handleOrId)}@${this.c.domain}`
  }
}
