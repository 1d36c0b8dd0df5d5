/**
 * One-to-one chat, both ways, with the extensions carried on its messages: chat states (XEP-0085),
 * delivery receipts (XEP-0184), delayed delivery (XEP-0203), displayed markers (XEP-0333) and stanza ids
 * (XEP-0359). The gateway's disco#info lists them from here (`chat`).
 *
 * From the client: a `chat`, `normal` or `headline` message with a body is `user.send` (pipelined: at most
 * MAX_SENDS_IN_FLIGHT per account), carbon-copied to the account's other resources (XEP-0280); without a
 * body, a displayed marker marks the message read, a chat state is `user.typing`, and a receipt is dropped
 * (Chorus sent "delivered" when the gateway showed the message). To the client: `message` (chat, headline,
 * error), `typing` and `receipt` events, a receipt under the id the client gave its message.
 */

import xml, { type Element } from '@xmpp/xml'
import { logger } from '@libp2p/logger'
import type { Message, ReceiptEvent, TypingEvent } from '../../session/events.js'
import type { User } from '../../session/user.js'
import { BOUNCED_BY_SEND, codeOf, isStanzaCondition, toStanzaError } from '../conditions.js'
import type { Connection } from '../connection.js'
import type { ContactJids } from '../contact-jids.js'
import { errorReply, StanzaError } from '../errors.js'
import { NS_CHATSTATES, NS_DELAY, NS_MARKERS, NS_RECEIPTS, NS_SID } from '../ns.js'
import { ReceiptMap, type ReceiptStatus } from '../receipt-map.js'
import { remember } from '../stanza-util.js'
import { carbonCopy } from './carbons.js'
import type { Feature } from './registry.js'

const log = logger('chorus:xmpp:chat')

/** A message older than this when shown carries its delay stamp. */
const DELAY_AFTER_MS = 5000
/** Longest body the gateway passes on (characters); the envelope bounds the bytes too. */
export const MAX_BODY_CHARS = 16_384
/** Chat messages of one account being stored at once; the account's next stanza waits beyond it. */
export const MAX_SENDS_IN_FLIGHT = 64

/** The chat states that say the user stopped typing (XEP-0085 §4: anything but composing). */
const STOPPED = ['paused', 'active', 'inactive', 'gone']

export function chat (): Feature {
  return { name: 'one-to-one chat', vars: [NS_CHATSTATES, NS_SID, NS_DELAY, NS_RECEIPTS, NS_MARKERS] }
}

/** What chat needs of the account session. */
export interface ChatComponents {
  user: Pick<User, 'send' | 'resolve' | 'typing' | 'markRead'>
  domain: string
  /** the account's bare JID */
  bare: string
  contacts: ContactJids
  /** the handle of a JID at this domain (throws StanzaError otherwise) */
  handleOf: (jid: string | undefined) => string
  /** to every bound resource (kept for the next one while none is) */
  toAll: (el: Element) => void
  /** to the account's resources on this gateway, but `sender`, that enabled carbons */
  toCarbons: (sender: Connection, el: Element) => void
  /** a refused stanza, for the operator's counters */
  reject: (reason: string) => void
}

export class Chat {
  /** envelope id → the client's id, for messages sent asking a receipt (XEP-0184) or a marker (XEP-0333) */
  private readonly asked = new ReceiptMap()
  /** envelope id → sender's userId, of messages shown, for the markers the client sends back */
  private readonly shown = new Map<string, string>()
  /** chat messages being stored (pipelined: at most MAX_SENDS_IN_FLIGHT) */
  private readonly sending = new Set<Promise<void>>()

  constructor (private readonly c: ChatComponents) {}

  /** A message from one of the account's resources, not to a room. */
  async fromClient (conn: Connection, el: Element): Promise<void> {
    const type = el.attrs.type ?? 'normal'
    if (type === 'error') return
    if (type === 'groupchat') throw new StanzaError('feature-not-implemented', 'group chat goes through a room (XEP-0045)')
    const to = this.c.handleOf(el.attrs.to)
    const body = el.getChildText('body')
    if (body == null) {
      await this.withoutBody(to, el)
      return
    }
    if ([...body].length > MAX_BODY_CHARS) throw new StanzaError('policy-violation', `a body has at most ${MAX_BODY_CHARS} characters`)
    // The recipient is resolved first (an unknown one is item-not-found: conditions.ts), so the send
    // signs at once (its own lookup hits the cache) and sends taken in order are signed, and so ordered,
    // in order.
    const ref = await this.c.user.resolve(to)
    this.c.contacts.learn(ref.userId, ref.handle)
    this.send(conn, el, to, body)
    const copy = carbonCopy(el, conn.jid, this.c.bare)
    if (copy != null) this.c.toCarbons(conn, copy)
    if (this.sending.size >= MAX_SENDS_IN_FLIGHT) await Promise.race(this.sending)
  }

  /**
   * A message without a body: a displayed marker marks the message read; a delivery receipt is dropped
   * (Chorus sent "delivered" itself when the gateway showed the message); a chat state is typing.
   */
  private async withoutBody (to: string, el: Element): Promise<void> {
    const displayed = el.getChild('displayed', NS_MARKERS)
    if (displayed != null) {
      const id = String(displayed.attrs.id)
      const fromId = this.shown.get(id)
      // eslint-disable-next-line @typescript-eslint/consistent-type-assertions -- markRead reads id, fromId and kind
      if (fromId != null) this.c.user.markRead({ id, fromId, kind: 'chat' } as Message)
      return
    }
    if (el.getChild('received', NS_RECEIPTS) != null) return
    const typing = el.getChild('composing', NS_CHATSTATES) != null
    if (!typing && !STOPPED.some((state) => el.getChild(state, NS_CHATSTATES) != null)) return
    await this.c.user.typing(to, typing).catch((err: Error) => { log('typing to %s: %s', to, err.message) })
  }

  /**
   * Store the message; the next stanza is taken meanwhile. A failure comes back as an error reply to this
   * stanza, unless the session told the client of it already (a bounce).
   */
  private send (conn: Connection, el: Element, to: string, body: string): void {
    const headline = el.attrs.type === 'headline'
    const clientId = el.attrs.id as string | undefined
    const statuses: ReceiptStatus[] = []
    if (el.getChild('request', NS_RECEIPTS) != null) statuses.push('delivered')
    if (el.getChild('markable', NS_MARKERS) != null) statuses.push('read')
    // the map entry is made when the envelope is signed: the live copy goes out before the owners have
    // stored it, and its receipt can be back before `send` resolves
    let envelopeId: string | undefined
    const signed = (id: string): void => {
      envelopeId = id
      if (clientId != null && !headline) this.asked.ask(id, clientId, statuses)
    }
    const sending = this.c.user.send(to, body, { type: headline ? 'headline' : 'chat', signed }).then(() => {}, (err: unknown) => {
      if (envelopeId != null) this.asked.forget(envelopeId)
      if (BOUNCED_BY_SEND.has(codeOf(err) ?? '')) return
      const e = toStanzaError(err)
      this.c.reject(`stanza-${e.condition}`)
      conn.send(errorReply(el, e, this.c.domain))
    })
    this.sending.add(sending)
    void sending.finally(() => { this.sending.delete(sending) })
  }

  /** A message event of the session, for the client; false for one that is not chat's (a room's). */
  onMessage (m: Message): boolean {
    if (m.kind === 'chat' || m.kind === 'headline') {
      this.c.toAll(this.shownAs(m))
      return true
    }
    if (m.kind === 'error') {
      const err = new StanzaError(isStanzaCondition(m.condition) ? m.condition : 'service-unavailable', m.text)
      this.c.toAll(xml('message', { type: 'error', from: this.c.contacts.jid(m.from) }, err.toElement()))
      return true
    }
    return false
  }

  /**
   * A chat or headline message as the client sees it: the envelope id as its id and stanza-id,
   * a delay stamp when it was held.
   */
  private shownAs (m: Message): Element {
    const el = xml('message', { type: m.kind, id: m.id, from: this.c.contacts.jid(m.from) },
      xml('body', {}, m.text),
      xml('stanza-id', { xmlns: NS_SID, id: m.id, by: this.c.bare }))
    if (m.kind === 'chat') {
      el.append(xml('active', { xmlns: NS_CHATSTATES }))
      el.append(xml('markable', { xmlns: NS_MARKERS }))
      remember(this.shown, m.id, m.fromId)
    }
    if (Date.now() - m.timestamp > DELAY_AFTER_MS) {
      el.append(xml('delay', { xmlns: NS_DELAY, from: this.c.domain, stamp: new Date(m.timestamp).toISOString() }))
    }
    return el
  }

  onTyping (t: TypingEvent): void {
    const state = xml(t.active ? 'composing' : 'paused', { xmlns: NS_CHATSTATES })
    this.c.toAll(xml('message', { type: 'chat', from: this.c.contacts.jid(t.from) }, state))
  }

  /** Delivered → XEP-0184 `<received>`, read → XEP-0333 `<displayed>`, under the id the client gave. */
  onReceipt (r: ReceiptEvent): void {
    if (r.room != null) return
    const id = this.asked.take(r.id, r.status)
    if (id == null) return
    const payload = r.status === 'delivered' ? xml('received', { xmlns: NS_RECEIPTS, id }) : xml('displayed', { xmlns: NS_MARKERS, id })
    this.c.toAll(xml('message', { from: this.c.contacts.jid(r.by) }, payload))
  }
}
