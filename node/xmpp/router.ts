/**
 * One logged-in account on a gateway: its Chorus session (`User`) and its connected resources. Stanzas
 * from the resources become the session's calls; the session's events become stanzas to every bound
 * resource.
 *
 * | XMPP                                                | Chorus                                   | where            |
 * |-----------------------------------------------------|------------------------------------------|------------------|
 * | `<message>` to a user (chat states, receipts, …)    | `user.send`, `typing`, `markRead`        | features/chat.ts |
 * | `<presence/>`, `<show/>`, `<status/>`, unavailable  | `user.setPresence`                       | here             |
 * | `<presence type="subscribe|subscribed|…">`          | roster add / accept / deny / remove      | here             |
 * | an iq get or set                                    | the feature that serves it (roster, …)   | features/        |
 * | rooms at `conference.<domain>` (XEP-0045)           | `user.rooms`                             | muc.ts           |
 *
 * Events back: `message` → `<message>` (a room's to the resources joined to it); `presence` →
 * `<presence>`; `subscription` → `<presence type="subscribe">`; `typing` and `receipt` → chat states and
 * receipts (features/chat.ts); every change of the roster is pushed (roster-map.ts).
 */

import xml, { type Element } from '@xmpp/xml'
import { logger } from '@libp2p/logger'
import { HANDLE_PATTERN } from '../../protocol/handle.js'
import type { Message, PresenceEvent, SubscriptionRequestEvent } from '../session/events.js'
import type { User } from '../session/user.js'
import { toStanzaError } from './conditions.js'
import type { Connection } from './connection.js'
import { ContactJids } from './contact-jids.js'
import { errorReply, StanzaError } from './errors.js'
import { Chat } from './features/chat.js'
import type { AccountFeatureComponents, Addressee, FeatureRegistry, Requester } from './features/index.js'
import { runQuery } from './mam.js'
import { Muc } from './muc.js'
import { RosterMap, availablePresence } from './roster-map.js'
import { childElements, cloneElement } from './stanza-util.js'

const log = logger('chorus:xmpp:router')

const SHOW_TO_STATE: Record<string, 'online' | 'away' | 'busy'> = { chat: 'online', away: 'away', xa: 'away', dnd: 'busy' }

/** Longest status the gateway passes on (characters). */
const MAX_STATUS_CHARS = 256

/** What a session needs of its gateway. */
export interface SessionHost {
  sent: () => void
  reject: (reason: string) => void
  /** who answers which iq: one registry for every session of the gateway (features/index.ts) */
  features: FeatureRegistry<AccountFeatureComponents>
}

/** Stanzas an account keeps for its next resource while none is connected. */
export const MAX_PENDING_STANZAS = 1000

export class AccountSession {
  private readonly resources = new Map<string, Connection>()
  private listening = false
  /** a resource sent its initial presence, and none has said unavailable since */
  private online = false
  /**
   * What came while no resource was bound (the session's feeds have shown it, so nothing else will):
   * handed to the next resource that binds, oldest first; past MAX_PENDING_STANZAS the oldest go (they
   * stay in the user's history).
   */
  readonly pending: Element[]
  /** set while the last resource has left and the session waits before closing */
  linger?: NodeJS.Timeout

  /** users' handle JIDs, also for those the session names by user id */
  private readonly contacts: ContactJids
  /** messages to and from users */
  private readonly chat: Chat
  /** group chat (XEP-0045) on the user's Chorus rooms */
  private readonly muc: Muc
  /** roster pushes, contacts' presence */
  private readonly rosterMap: RosterMap
  /** what the features (`host.features`) use of this account */
  private readonly account: AccountFeatureComponents
  /** resources that sent their initial presence */
  private readonly announced = new WeakSet<Connection>()

  constructor (
    readonly user: User,
    private readonly domain: string,
    private readonly host: SessionHost,
    pending: Element[] = []
  ) {
    this.pending = pending
    this.contacts = new ContactJids({ user, domain })
    const handleOf = (jid: string | undefined): string => this.handleOf(jid)
    const jidOf = (handleOrId: string): string => this.contacts.jid(handleOrId)
    const toAll = (el: Element): void => { this.toAll(el) }
    const toResource = (resource: string, el: Element): void => { this.toResource(resource, el) }
    this.muc = new Muc({ user, domain, handleOf, jidOf, toResource })
    this.rosterMap = new RosterMap({ user, jidOf, handleOf, toAll })
    this.chat = new Chat({
      user,
      domain,
      bare: this.bare,
      contacts: this.contacts,
      handleOf,
      toAll,
      toCarbons: (sender, el) => { this.toCarbons(sender, el) },
      reject: (reason) => { host.reject(reason) }
    })
    const archive = { user, domain, handleOf, contacts: this.contacts }
    this.account = {
      roster: this.rosterMap,
      contact: (handle) => user.roster.list().find((e) => e.handle === handle),
      handleOf,
      archive: { query: async (query, to, send) => await runQuery(archive, query, to, send) },
      rooms: this.muc
    }
  }

  get bare (): string { return `${this.user.handle}@${this.domain}` }

  /** Attach a bound connection; the resource is the client's wish unless taken or empty. */
  attach (conn: Connection, wish: string): string {
    let resource = wish.replace(/[\s/@]/g, '').slice(0, 64)
    if (resource === '' || this.resources.has(resource)) resource = `${resource === '' ? 'chorus' : resource}-${conn.id.slice(0, 6)}`
    this.resources.set(resource, conn)
    clearTimeout(this.linger)
    this.linger = undefined
    // after the bind result has gone out: first what waited, then the session's events (the first
    // listener releases what the session's catch-up held)
    setImmediate(() => {
      for (const el of this.pending.splice(0)) this.deliver(conn, resource, el)
      if (!this.listening) this.listen()
    })
    return resource
  }

  /** A resumed stream (XEP-0198) takes over `resource`. */
  replace (resource: string, conn: Connection): void {
    this.resources.set(resource, conn)
  }

  /** Keep stanzas for the next resource (a stream that ended with them unacknowledged). */
  keep (els: Element[]): void {
    for (const el of els) this.pending.push(el)
    while (this.pending.length > MAX_PENDING_STANZAS) this.pending.shift()
  }

  /** How many resources are bound. */
  get bound (): number { return this.resources.size }

  /** Detach a connection; returns how many resources are left. */
  detach (conn: Connection): number {
    if (conn.resource != null && this.resources.get(conn.resource) === conn) {
      this.resources.delete(conn.resource)
      this.muc.forget(conn.resource)
    }
    return this.resources.size
  }

  async goOffline (): Promise<void> {
    if (!this.online) return
    await this.user.setPresence('offline').catch((err: Error) => { log('%s offline: %s', this.user.handle, err.message) })
  }

  /** Send to every bound resource, or keep it for the next one. */
  private toAll (el: Element): void {
    if (this.resources.size === 0) {
      this.keep([el])
      return
    }
    for (const [resource, c] of this.resources) this.deliver(c, resource, el)
  }

  /** Send to one resource, if it is bound. */
  private toResource (resource: string, el: Element): void {
    const c = this.resources.get(resource)
    if (c != null) this.deliver(c, resource, el)
  }

  /** XEP-0280: to the resources on this gateway, but `sender`, that enabled carbons. */
  private toCarbons (sender: Connection, el: Element): void {
    for (const [resource, c] of this.resources) {
      if (c !== sender && c.carbons) this.deliver(c, resource, el)
    }
  }

  private deliver (c: Connection, resource: string, el: Element): void {
    // each resource gets its own copy: stream management keeps it, addressed, until acknowledged
    const copy = cloneElement(el)
    copy.attrs.to = `${this.bare}/${resource}`
    c.send(copy)
    this.host.sent()
  }

  /** The session's events, from the first bind on (events held during the catch-up come then, in order). */
  private listen (): void {
    this.listening = true
    this.user.on('message', (m) => { this.onMessage(m) })
    this.user.on('presence', (p) => { this.onPresence(p); this.rosterMap.changed() })
    this.user.on('typing', (t) => { this.chat.onTyping(t) })
    this.user.on('subscription', (s) => { this.onSubscription(s); this.rosterMap.changed() })
    this.user.on('receipt', (r) => { this.chat.onReceipt(r) })
    this.user.on('room:member', (e) => { this.muc.onMember(e, (el) => { this.toAll(el) }) })
    this.user.on('error', (err) => { log('session %s: %s', this.user.handle, err.message) })
  }

  private onMessage (m: Message): void {
    this.contacts.learn(m.fromId, m.from)
    if (!this.muc.onMessage(m)) this.chat.onMessage(m)
  }

  private onPresence (p: PresenceEvent): void {
    const from = this.contacts.jid(p.from)
    this.toAll(p.state === 'offline' ? xml('presence', { type: 'unavailable', from }) : availablePresence(from, p.state, p.status))
  }

  private onSubscription (s: SubscriptionRequestEvent): void {
    this.toAll(xml('presence', { type: 'subscribe', from: this.contacts.jid(s.from) }))
  }

  /**
   * A stanza from one of this account's resources (its `from` already stamped); a failure is answered with
   * an error.
   */
  async stanza (conn: Connection, el: Element): Promise<void> {
    try {
      await this.route(conn, el)
    } catch (err) {
      const e = toStanzaError(err)
      this.host.reject(`stanza-${e.condition}`)
      if (el.attrs.type !== 'error' && el.attrs.type !== 'result') conn.send(errorReply(el, e, this.domain))
    }
  }

  /** Messages and presence to a room are the room's; an iq goes to the feature that serves it. */
  private async route (conn: Connection, el: Element): Promise<void> {
    const toRoom = this.muc.owns(el.attrs.to)
    const resource = conn.resource as string
    if (el.name === 'message') await (toRoom ? this.muc.message(resource, el) : this.chat.fromClient(conn, el))
    else if (el.name === 'presence') await (toRoom ? this.muc.presence(resource, el) : this.presence(conn, el))
    else if (el.name === 'iq') await this.iq(conn, el)
  }

  /** `handle` of a JID at this domain; other domains are not federated. */
  private handleOf (jid: string | undefined): string {
    if (jid == null || jid === '') throw new StanzaError('bad-request', 'no recipient')
    const bare = jid.split('/')[0]
    const at = bare.indexOf('@')
    if (at < 0) throw new StanzaError('service-unavailable', `${bare} is not a user`)
    if (bare.slice(at + 1).toLowerCase() !== this.domain) throw new StanzaError('remote-server-not-found', `this gateway serves ${this.domain} only`)
    const handle = bare.slice(0, at).toLowerCase()
    if (!HANDLE_PATTERN.test(handle)) throw new StanzaError('jid-malformed', `${bare} is not a Chorus handle`)
    return handle
  }

  /**
   * A presence not to a room: the user's own availability (RFC 6121 §4), or a subscription stanza to a
   * contact (§3).
   */
  private async presence (conn: Connection, el: Element): Promise<void> {
    const type = el.attrs.type
    const status = (el.getChildText('status') ?? '').slice(0, MAX_STATUS_CHARS)
    if (type == null) await this.available(conn, SHOW_TO_STATE[el.getChildText('show') ?? ''] ?? 'online', status)
    else if (type === 'unavailable') await this.unavailable(status)
    else await this.subscription(type, this.handleOf(el.attrs.to))
  }

  private async available (conn: Connection, state: 'online' | 'away' | 'busy', status: string): Promise<void> {
    const first = !this.announced.has(conn)
    this.announced.add(conn)
    this.online = true
    await this.user.setPresence(state, status)
    // RFC 6121 §4.2.2: a resource's initial presence gets the current presence of the contacts it sees
    if (first && conn.resource != null) for (const p of this.rosterMap.current()) this.deliver(conn, conn.resource, p)
  }

  private async unavailable (status: string): Promise<void> {
    this.online = false
    await this.user.setPresence('offline', status)
  }

  /** subscribe, subscribed, unsubscribe, unsubscribed (RFC 6121 §3) on the roster; the changes are pushed. */
  private async subscription (type: string, to: string): Promise<void> {
    const roster = this.user.roster
    switch (type) {
      case 'subscribe': await roster.add(to); break
      case 'subscribed': await roster.accept(to); break
      case 'unsubscribe': await roster.remove(to); break
      // refusing a request that is not there (any more) changes nothing, and is no error to the client
      case 'unsubscribed': await roster.deny(to).catch((err: Error) => { log('%s denies %s: %s', this.user.handle, to, err.message) }); break
      // the gateway answers probes for its users' contacts itself
      case 'probe': break
      default: throw new StanzaError('bad-request', `presence type ${type}`)
    }
    this.rosterMap.changed()
  }

  /** An iq get or set, answered by the feature that serves its namespace for whom it is to (features/). */
  private async iq (conn: Connection, el: Element): Promise<void> {
    const type = el.attrs.type
    if (type === 'result' || type === 'error') return
    const query = childElements(el)[0]
    if (query == null || (type !== 'get' && type !== 'set')) throw new StanzaError('bad-request', 'an iq get or set has one child')
    const to = el.attrs.to as string | undefined
    const after: Array<() => void> = []
    const afterResult = (fn: () => void): void => { after.push(fn) }
    const payload = await this.host.features.answer({
      account: this.account, type, to, addressee: this.addressee(to), query, from: this.requester(conn), afterResult
    })
    // a query to the account itself (no `to`) is answered without a `from` (RFC 6120 §10.3.3)
    const reply = xml('iq', { type: 'result', id: el.attrs.id, ...to == null ? {} : { from: to }, to: conn.jid })
    if (payload != null) reply.append(payload)
    conn.send(reply)
    this.host.sent()
    for (const fn of after) fn()
  }

  /** Whom an iq is to: the account (no `to`, or one of its JIDs), the server, the rooms, or anyone else. */
  private addressee (to: string | undefined): Addressee {
    if (to == null) return 'account'
    if (to === this.domain) return 'server'
    if (this.muc.owns(to)) return 'rooms'
    return to.split('/')[0].toLowerCase() === this.bare ? 'account' : 'others'
  }

  /** The resource that sent an iq, as the features see it. */
  private requester (conn: Connection): Requester {
    return {
      jid: conn.jid,
      send: (el) => { conn.send(el); this.host.sent() },
      carbons: (on) => { conn.carbons = on }
    }
  }
}
