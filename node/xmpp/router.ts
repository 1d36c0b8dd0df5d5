/**
 * One logged-in account on a gateway: its Chorus session (`User`) and its connected resources. Stanzas
 * from the resources become the session's calls; the session's events become stanzas to every bound
 * resource.
 *
 * | XMPP                                              | Chorus                                   |
 * |---------------------------------------------------|------------------------------------------|
 * | `<message type="chat|normal">` to `bob@domain`    | `user.send('bob', body)`, stored at W    |
 * | `<message type="headline">`                        | `user.send(…, { type: 'headline' })`     |
 * | chat states (XEP-0085) without a body             | `user.typing`                            |
 * | `<presence/>`, `<show/>`, `<status/>`, unavailable | `user.setPresence`                       |
 * | `<presence type="subscribe|subscribed|…">`         | roster add / accept / deny / remove      |
 * | roster get / set / remove (RFC 6121 §2)           | `user.roster.list / add / remove`        |
 * | last activity (XEP-0012) of a contact             | the contact's last seen                  |
 * | ping (XEP-0199), disco#info/#items (XEP-0030)      | answered by the gateway                  |
 * | archive query (XEP-0313, mam.ts)                  | a read of the user's mailbox at its owners |
 * | rooms at `conference.<domain>` (XEP-0045, muc.ts)  | `user.rooms`: join, post, subject, invite, kick, roles |
 *
 * Events back: `message` (chat, headline, error) → `<message>` with the envelope id as `id` and as a
 * stanza-id (XEP-0359), and a delay stamp (XEP-0203) when it was held; `presence` → `<presence>`;
 * `subscription` → `<presence type="subscribe">`; `typing` → chat states; `receipt` → a delivery
 * receipt (XEP-0184) or a displayed marker (XEP-0333) under the client's own message id. A displayed
 * marker from the client marks the message read (its sender sees the read tick). A chat message one
 * resource sends is carbon-copied (XEP-0280) to the account's other resources that enabled carbons.
 */

import xml, { type Element } from '@xmpp/xml'
import { logger } from '@libp2p/logger'
import type { User } from '../session/user.js'
import type { Message, PresenceEvent, ReceiptEvent, SubscriptionRequestEvent, TypingEvent } from '../session/events.js'
import { HANDLE_PATTERN } from '../../protocol/handle.js'
import { errorReply, StanzaError } from './errors.js'
import type { Connection } from './connection.js'
import { NS_MAM, mamForm, runQuery } from './mam.js'
import { Muc, NS_MUC } from './muc.js'
import { NS_LAST, NS_ROSTER, RosterMap, availablePresence } from './roster-map.js'
import { cloneElement, isCondition, remember, toStanzaError } from './stanza-util.js'
import { ContactJids } from './contact-jids.js'
import { ReceiptMap, type ReceiptStatus } from './receipt-map.js'

const log = logger('chorus:xmpp:router')

export const NS_PING = 'urn:xmpp:ping'
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items'
export const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates'
export const NS_DELAY = 'urn:xmpp:delay'
export const NS_SID = 'urn:xmpp:sid:0'
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session'
export const NS_RECEIPTS = 'urn:xmpp:receipts'
export const NS_MARKERS = 'urn:xmpp:chat-markers:0'
export const NS_CARBONS = 'urn:xmpp:carbons:2'
const NS_FORWARD = 'urn:xmpp:forward:0'


/** Features the gateway announces in disco#info. */
export const FEATURES = [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_LAST, NS_ROSTER, NS_CHATSTATES, NS_SID, 'jabber:iq:register', 'urn:xmpp:delay', 'urn:xmpp:mam:2', NS_RECEIPTS, NS_MARKERS, NS_CARBONS, NS_MUC]
/** A message older than this when shown carries its delay stamp. */
const DELAY_AFTER_MS = 5000
/** Longest body the gateway passes on (characters); the envelope bounds the bytes too. */
export const MAX_BODY_CHARS = 16_384

const SHOW_TO_STATE: Record<string, 'online' | 'away' | 'busy'> = { chat: 'online', away: 'away', xa: 'away', dnd: 'busy' }

/** What a session needs of its gateway. */
export interface SessionHost {
  sent: () => void
  reject: (reason: string) => void
}

/** Chat messages of one account being stored at once; the account's next stanza waits beyond it. */
export const MAX_SENDS_IN_FLIGHT = 64

/** Stanzas an account keeps for its next resource while none is connected. */
export const MAX_PENDING_STANZAS = 1000

export class AccountSession {
  private readonly resources = new Map<string, Connection>()
  private listening = false
  private available = false
  /**
   * What came while no resource was bound (the session's feeds have shown it, so nothing else will):
   * handed to the next resource that binds, oldest first; past MAX_PENDING_STANZAS the oldest go (they
   * stay in the user's history).
   */
  readonly pending: Element[]
  /** set while the last resource has left and the session waits before closing */
  linger?: NodeJS.Timeout
  /** envelope id → the client's id, for messages sent asking a receipt (XEP-0184) or a marker (XEP-0333) */
  private readonly asked = new ReceiptMap()
  /** envelope id → sender's userId, of messages shown, for the markers the client sends back */
  private readonly shown = new Map<string, string>()

  /** group chat (XEP-0045) on the user's Chorus rooms */
  private readonly muc: Muc
  /** roster get/set/pushes, contacts' presence, last activity */
  private readonly rosterMap: RosterMap
  /** resources that sent their initial presence */
  private readonly announced = new WeakSet<Connection>()
  /** chat messages being stored (pipelined: at most MAX_SENDS_IN_FLIGHT per account) */
  private readonly sending = new Set<Promise<void>>()
  /** users' handle JIDs, also for those the session names by user id */
  private readonly contacts: ContactJids

  constructor (readonly user: User, private readonly domain: string, private readonly host: SessionHost, pending: Element[] = []) {
    this.pending = pending
    this.contacts = new ContactJids({ user, domain })
    this.muc = new Muc({
      user,
      domain,
      toResource: (resource, el) => { const c = this.resources.get(resource); if (c != null) this.deliver(c, resource, el) },
      handleOf: (jid) => this.handleOf(jid),
      jidOf: (h) => this.jidOf(h)
    })
    this.rosterMap = new RosterMap({ user, jidOf: (h) => this.jidOf(h), handleOf: (jid) => this.handleOf(jid), toAll: (el) => { this.toAll(el) } })
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
    if (this.available) await this.user.setPresence('offline').catch(() => {})
  }

  /** Send to every bound resource, or keep it for the next one. */
  private toAll (el: Element): void {
    if (this.resources.size === 0) {
      this.pending.push(el)
      if (this.pending.length > MAX_PENDING_STANZAS) this.pending.shift()
      return
    }
    for (const [resource, c] of this.resources) this.deliver(c, resource, el)
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
    this.user.on('typing', (t) => { this.onTyping(t) })
    this.user.on('subscription', (s) => { this.onSubscription(s); this.rosterMap.changed() })
    this.user.on('receipt', (r) => { this.onReceipt(r) })
    this.user.on('room:member', (e) => { this.muc.onMember(e, (el) => { this.toAll(el) }) })
    this.user.on('error', (err) => { log('session %s: %s', this.user.handle, err.message) })
  }

  /** The bare JID of a user: the handle's, also where the session names the user by id. */
  private jidOf (handleOrId: string): string { return this.contacts.jid(handleOrId) }

  private onMessage (m: Message): void {
    this.contacts.learn(m.fromId, m.from)
    if (this.muc.onMessage(m)) return
    if (m.kind === 'chat' || m.kind === 'headline') {
      const el = xml('message', { type: m.kind, id: m.id, from: this.jidOf(m.from) },
        xml('body', {}, m.text),
        xml('stanza-id', { xmlns: NS_SID, id: m.id, by: this.bare }))
      if (m.kind === 'chat') {
        el.append(xml('active', { xmlns: NS_CHATSTATES }))
        el.append(xml('markable', { xmlns: NS_MARKERS }))
        remember(this.shown, m.id, m.fromId)
      }
      if (Date.now() - m.timestamp > DELAY_AFTER_MS) el.append(xml('delay', { xmlns: NS_DELAY, from: this.domain, stamp: new Date(m.timestamp).toISOString() }))
      this.toAll(el)
      return
    }
    if (m.kind === 'error') {
      const err = new StanzaError(isCondition(m.condition) ? m.condition : 'service-unavailable', m.text)
      this.toAll(xml('message', { type: 'error', from: this.jidOf(m.from) }, err.toElement()))
    }
  }

  private onPresence (p: PresenceEvent): void {
    const from = this.jidOf(p.from)
    if (p.state === 'offline') { this.toAll(xml('presence', { type: 'unavailable', from })); return }
    this.toAll(availablePresence(from, p.state, p.status))
  }

  private onTyping (t: TypingEvent): void {
    this.toAll(xml('message', { type: 'chat', from: this.jidOf(t.from) }, xml(t.active ? 'composing' : 'paused', { xmlns: NS_CHATSTATES })))
  }

  private onSubscription (s: SubscriptionRequestEvent): void {
    this.toAll(xml('presence', { type: 'subscribe', from: this.jidOf(s.from) }))
  }

  /** Delivered → XEP-0184 `<received>`, read → XEP-0333 `<displayed>`, under the id the client gave. */
  private onReceipt (r: ReceiptEvent): void {
    if (r.room != null) return
    const id = this.asked.take(r.id, r.status)
    if (id == null) return
    const payload = r.status === 'delivered' ? xml('received', { xmlns: NS_RECEIPTS, id }) : xml('displayed', { xmlns: NS_MARKERS, id })
    this.toAll(xml('message', { from: this.jidOf(r.by) }, payload))
  }

  /** A stanza from one of this account's resources (its `from` already stamped). */
  async stanza (conn: Connection, el: Element): Promise<void> {
    try {
      const room = this.muc.owns(el.attrs.to)
      if (room && el.name === 'message') await this.muc.message(conn.resource as string, el)
      else if (room && el.name === 'presence') await this.muc.presence(conn.resource as string, el)
      else if (el.name === 'message') await this.message(conn, el)
      else if (el.name === 'presence') await this.presence(conn, el)
      else if (el.name === 'iq') await this.iq(conn, el)
    } catch (err: any) {
      const e = err instanceof StanzaError ? err : toStanzaError(err)
      if (e == null) return
      this.host.reject(`stanza-${e.condition}`)
      if (el.attrs.type !== 'error' && el.attrs.type !== 'result') conn.send(errorReply(el, e, this.domain))
    }
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

  private async message (conn: Connection, el: Element): Promise<void> {
    const type = el.attrs.type ?? 'normal'
    if (type === 'error') return
    if (type === 'groupchat') throw new StanzaError('feature-not-implemented', 'group chat goes through a room (XEP-0045)')
    const to = this.handleOf(el.attrs.to)
    const body = el.getChildText('body')
    const displayed = el.getChild('displayed', NS_MARKERS)
    if (body == null && displayed != null) {
      const fromId = this.shown.get(String(displayed.attrs.id))
      if (fromId != null) this.user.markRead({ id: String(displayed.attrs.id), fromId, kind: 'chat' } as Message)
      return
    }
    if (body == null && el.getChild('received', NS_RECEIPTS) != null) return // Chorus sent "delivered" when the gateway got it
    if (body == null) {
      const composing = el.getChild('composing', NS_CHATSTATES) != null
      const stopped = el.getChild('paused', NS_CHATSTATES) ?? el.getChild('active', NS_CHATSTATES) ?? el.getChild('inactive', NS_CHATSTATES) ?? el.getChild('gone', NS_CHATSTATES)
      if (composing || stopped != null) await this.user.typing(to, composing).catch(() => {})
      return
    }
    if ([...body].length > MAX_BODY_CHARS) throw new StanzaError('policy-violation', `a body has at most ${MAX_BODY_CHARS} characters`)
    // Sends are pipelined: the next stanza is taken while this one is being stored. The recipient is
    // resolved first, so the send signs at once (its own lookup hits the cache) and sends taken in order
    // are signed, and so ordered, in order. A failure comes back as an error reply to this stanza.
    const ref = await this.user.resolve(to).catch((err: Error) => {
      throw err.name === 'UnknownHandleError' ? new StanzaError('item-not-found', err.message) : err
    })
    this.contacts.learn(ref.userId, ref.handle)
    const clientId = el.attrs.id as string | undefined
    const statuses: ReceiptStatus[] = []
    if (el.getChild('request', NS_RECEIPTS) != null) statuses.push('delivered')
    if (el.getChild('markable', NS_MARKERS) != null) statuses.push('read')
    // the map entry is made when the envelope is signed: the live copy goes out before the owners have
    // stored it, and its receipt can be back before `send` resolves
    let envelopeId: string | undefined
    const signed = (id: string): void => {
      envelopeId = id
      if (clientId != null && type !== 'headline') this.asked.ask(id, clientId, statuses)
    }
    const options = { type: type === 'headline' ? 'headline' as const : 'chat' as const, signed }
    const sending = this.user.send(to, body, options).then(() => {}, (err: unknown) => {
      if (envelopeId != null) this.asked.forget(envelopeId)
      const e = err instanceof StanzaError ? err : toStanzaError(err)
      if (e == null) return
      this.host.reject(`stanza-${e.condition}`)
      conn.send(errorReply(el, e, this.domain))
    })
    this.carbonCopy(conn, el)
    this.sending.add(sending)
    void sending.finally(() => { this.sending.delete(sending) })
    if (this.sending.size >= MAX_SENDS_IN_FLIGHT) await Promise.race(this.sending)
  }

  /** XEP-0280: a chat message one resource sent, copied to the account's other resources that asked. */
  private carbonCopy (from: Connection, el: Element): void {
    if (el.getChild('private', NS_CARBONS) != null) return
    for (const [resource, c] of this.resources) {
      if (c === from || !c.carbons) continue
      const copy = xml('message', { xmlns: 'jabber:client', type: el.attrs.type ?? 'chat', id: el.attrs.id, from: from.jid, to: el.attrs.to }, ...el.children.filter((x): x is Element => typeof x !== 'string'))
      this.deliver(c, resource, xml('message', { from: this.bare, type: el.attrs.type ?? 'chat' }, xml('sent', { xmlns: NS_CARBONS }, xml('forwarded', { xmlns: NS_FORWARD }, copy))))
    }
  }

  private async presence (conn: Connection, el: Element): Promise<void> {
    const type = el.attrs.type
    if (type == null || type === 'unavailable') {
      if (type === 'unavailable') {
        this.available = false
        await this.user.setPresence('offline', el.getChildText('status') ?? '')
        return
      }
      const first = !this.announced.has(conn)
      this.announced.add(conn)
      this.available = true
      await this.user.setPresence(SHOW_TO_STATE[el.getChildText('show') ?? ''] ?? 'online', (el.getChildText('status') ?? '').slice(0, 256))
      // RFC 6121 §4.2.2: a resource's initial presence gets the current presence of the contacts it sees
      if (first && conn.resource != null) for (const p of this.rosterMap.current()) this.deliver(conn, conn.resource, p)
      return
    }
    const to = this.handleOf(el.attrs.to)
    if (type === 'subscribe') await this.user.roster.add(to)
    else if (type === 'subscribed') await this.user.roster.accept(to)
    else if (type === 'unsubscribed') await this.user.roster.deny(to).catch(() => {})
    else if (type === 'unsubscribe') await this.user.roster.remove(to)
    else if (type === 'probe') { /* the gateway answers probes for its users' contacts itself: nothing to do */ } else throw new StanzaError('bad-request', `presence type ${type}`)
    this.rosterMap.changed()
  }

  private async iq (conn: Connection, el: Element): Promise<void> {
    const type = el.attrs.type
    if (type === 'result' || type === 'error') return
    const child = el.children.find((c): c is Element => typeof c !== 'string')
    if (child == null || (type !== 'get' && type !== 'set')) throw new StanzaError('bad-request', 'an iq get or set has one child')
    const ns = child.attrs.xmlns as string
    const to = el.attrs.to as string | undefined
    const result = (payload?: Element): void => {
      // a query to the account itself (no `to`) is answered without a `from` (RFC 6120 §10.3.3)
      const reply = xml('iq', to == null ? { type: 'result', id: el.attrs.id, to: conn.jid } : { type: 'result', id: el.attrs.id, from: to, to: conn.jid })
      if (payload != null) reply.append(payload)
      conn.send(reply)
      this.host.sent()
    }
    if (ns === NS_PING) { result(); return }
    if (ns === NS_CARBONS && type === 'set' && (child.name === 'enable' || child.name === 'disable')) { conn.carbons = child.name === 'enable'; result(); return }
    if (ns === NS_SESSION) { result(); return }
    if (ns === NS_ROSTER && (to == null || to === this.bare)) { await this.rosterMap.iq(child, type, result); return }
    if (this.muc.owns(to)) { result(await this.muc.iq(to as string, type, child)); return }
    if (ns === NS_DISCO_INFO && type === 'get') {
      if (to != null && to !== this.domain && this.handleOf(to) !== this.user.handle) throw new StanzaError('service-unavailable')
      result(xml('query', { xmlns: NS_DISCO_INFO },
        to == null || to === this.domain ? xml('identity', { category: 'server', type: 'im', name: 'Chorus' }) : xml('identity', { category: 'account', type: 'registered' }),
        ...FEATURES.map((f) => xml('feature', { var: f }))))
      return
    }
    if (ns === NS_DISCO_ITEMS && type === 'get') {
      result(to == null || to === this.domain ? xml('query', { xmlns: NS_DISCO_ITEMS }, xml('item', { jid: this.muc.service, name: 'Chorus rooms' })) : xml('query', { xmlns: NS_DISCO_ITEMS }))
      return
    }
    if (ns === NS_LAST && type === 'get' && to != null) { result(this.rosterMap.lastActivity(to)); return }
    if (ns === NS_MAM && (to == null || to === this.bare)) {
      if (type === 'get') { result(mamForm()); return }
      const handleOf = (jid: string): string => this.handleOf(jid)
      const archive = { user: this.user, domain: this.domain, handleOf, contacts: this.contacts }
      result(await runQuery(archive, child, conn.jid, (m) => { conn.send(m); this.host.sent() }))
      return
    }
    throw new StanzaError('service-unavailable', `${ns} is not served here`)
  }
}
