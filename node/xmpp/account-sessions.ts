/**
 * The account sessions of one gateway (router.ts `AccountSession`), from an account's first login here to
 * its last resource leaving. A login opens the user's Chorus session on this node, or joins the one open
 * (logins racing for one account open it once). When the last resource leaves, the user goes offline to
 * its contacts and the session stays open `lingerMs`, so that what comes meanwhile waits for the next
 * resource rather than being shown to nobody; then it closes, and what it still held waits for the
 * account's next session.
 */

import type { Element } from '@xmpp/xml'
import { logger } from '@libp2p/logger'
import type { IdentityKey } from '../../protocol/envelope.js'
import type { User } from '../session/user.js'
import type { Connection } from './connection.js'
import { AccountSession, type SessionHost } from './router.js'

const log = logger('chorus:xmpp')

/** What the sessions need of the gateway and its node. */
export interface AccountSessionsComponents {
  domain: string
  /** ms a session stays open after its account's last resource left */
  lingerMs: number
  /** open the user on this node with the account key a login proved, and the identity the account holds */
  openUser: (handle: string, o: { vaultKey: Uint8Array, identity: IdentityKey }) => Promise<User>
  closeUser: (handle: string) => Promise<void>
  /** what each session needs of the gateway */
  host: SessionHost
}

export class AccountSessions {
  private readonly sessions = new Map<string, AccountSession>()
  /** sessions being opened, by handle */
  private readonly opening = new Map<string, Promise<AccountSession>>()
  /** accounts whose last resource left: their session is closing (a login waits for it) */
  private readonly leaving = new Map<string, Promise<void>>()
  /** what closed sessions had not handed to any resource, for the account's next session */
  private readonly orphans = new Map<string, Element[]>()

  constructor (private readonly c: AccountSessionsComponents) {}

  /** How many accounts have a session open. */
  get size (): number { return this.sessions.size }

  /** The open session of `handle`, if any. */
  get (handle: string | undefined): AccountSession | undefined {
    return handle == null ? undefined : this.sessions.get(handle)
  }

  /** The account's session: the one open, or one opened now with the key and identity a login proved. */
  async open (handle: string, vaultKey: Buffer, identity: IdentityKey): Promise<AccountSession> {
    await this.leaving.get(handle)
    let opening = this.opening.get(handle)
    const open = this.sessions.get(handle)
    if (opening == null && open != null) return open
    if (opening == null) {
      opening = (async () => {
        // the identity the account holds; kept on this node, sealed, the first time the user logs in here
        const user = await this.c.openUser(handle, { vaultKey, identity })
        const pending = this.orphans.get(handle) ?? []
        this.orphans.delete(handle)
        const session = new AccountSession(user, this.c.domain, this.c.host, pending)
        this.sessions.set(handle, session)
        return session
      })()
      this.opening.set(handle, opening)
      opening.finally(() => { this.opening.delete(handle) }).catch(() => {})
    }
    return await opening
  }

  /**
   * A bound connection is gone for good. Messages its client never acknowledged go to the account's next
   * resource if none is left to have them; the last resource leaving starts the linger.
   */
  left (conn: Connection, why: string): void {
    const session = this.get(conn.handle)
    if (session == null || conn.resource == null) return
    log('%s left (%s)', conn.jid, why)
    const unacked = conn.sm?.drain() ?? []
    if (session.detach(conn) > 0) return
    session.keep(unacked.filter((el) => el.name === 'message'))
    void session.goOffline()
    const handle = conn.handle as string
    clearTimeout(session.linger)
    session.linger = setTimeout(() => { this.retire(handle, session) }, this.c.lingerMs)
    session.linger.unref()
  }

  /** Close every session (the gateway stops). */
  async stop (): Promise<void> {
    for (const s of this.sessions.values()) clearTimeout(s.linger)
    await Promise.all([...this.sessions.keys()].map(async (h) => {
      await this.c.closeUser(h).catch((err: Error) => { log.error('closing %s: %s', h, err.message) })
    }))
    this.sessions.clear()
  }

  /** Close a session whose account has had no resource for `lingerMs`. */
  private retire (handle: string, session: AccountSession): void {
    if (this.sessions.get(handle) !== session || session.bound > 0) return
    this.sessions.delete(handle)
    const leaving = (async () => {
      await this.c.closeUser(handle)
      // anything the closing session still took waits for the account's next session
      if (session.pending.length > 0) this.orphans.set(handle, session.pending)
    })().catch((err: Error) => { log.error('closing %s: %s', handle, err.message) }).finally(() => {
      if (this.leaving.get(handle) === leaving) this.leaving.delete(handle)
    })
    this.leaving.set(handle, leaving)
  }
}
