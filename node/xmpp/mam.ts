/**
 * Message Archive Management (XEP-0313, urn:xmpp:mam:2) over the user's replicated mailbox: a query
 * reads the log from its owners (the same merged read as `user.history`), filtered by the form's `with`
 * (a contact's bare JID), `start` and `end`, paged by Result Set Management (XEP-0059: `max`, `after`,
 * `before`; an empty `before` is the last page). The archive id of a message is its mailbox cursor, so
 * paging is exact across owners. Each result is a forwarded copy (XEP-0297) with its delay stamp;
 * the final iq result carries `<fin complete>` and the page's first and last ids.
 */

import xml, { type Element } from '@xmpp/xml'
import { hlcPack } from '../../protocol/hlc.js'
import { cursorAt, cursorOf, type Cursor } from '../store/mailbox-store.js'
import type { Message } from '../session/events.js'
import type { User } from '../session/user.js'
import { StanzaError } from './errors.js'

export const NS_MAM = 'urn:xmpp:mam:2'
export const NS_RSM = 'http://jabber.org/protocol/rsm'
export const NS_FORWARD = 'urn:xmpp:forward:0'
const NS_DATA = 'jabber:x:data'
const NS_DELAY = 'urn:xmpp:delay'

/** Results per page when the client asks for none, and at most. */
export const DEFAULT_MAM_MAX = 50
export const MAX_MAM_MAX = 250
/** Envelopes read per round, and rounds per query at most (the mailbox holds more than chat messages). */
const READ_PAGE = 200
const MAX_READS = 10

/** What the query needs of the session around it. */
export interface ArchiveHost {
  user: User
  domain: string
  /** the contact's handle of a bare JID at this domain (throws StanzaError otherwise) */
  handleOf: (jid: string) => string
}

/** The form a client may fill (answered to `<iq type="get">`). */
export function mamForm (): Element {
  return xml('query', { xmlns: NS_MAM }, xml('x', { xmlns: NS_DATA, type: 'form' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM)),
    xml('field', { var: 'with', type: 'jid-single' }),
    xml('field', { var: 'start', type: 'text-single' }),
    xml('field', { var: 'end', type: 'text-single' })))
}

/**
 * Run one query: send each result to `send` (as `<message>`s to the asking resource) and return the
 * `<fin>` for the iq result.
 */
export async function runQuery (host: ArchiveHost, query: Element, to: string, send: (el: Element) => void): Promise<Element> {
  const fields = formFields(query)
  const rsm = query.getChild('set', NS_RSM)
  const max = rsm?.getChildText('max') == null ? DEFAULT_MAM_MAX : boundedInt(rsm.getChildText('max') as string, 0, MAX_MAM_MAX)
  const user = host.user
  const peer = fields.with == null ? undefined : (await user.resolve(host.handleOf(fields.with))).userId
  const startMs = fields.start == null ? undefined : instant(fields.start)
  const endMs = fields.end == null ? undefined : instant(fields.end)
  const beforeEl = rsm?.getChild('before')
  const afterText = rsm?.getChildText('after') ?? undefined
  const backwards = beforeEl != null
  let after = afterText != null ? cursorOfId(afterText) : startMs != null ? cursorAt(hlcPack(startMs, 0)) : undefined
  let before = backwards && beforeEl.getText() !== '' ? cursorOfId(beforeEl.getText()) : endMs != null ? cursorAt(hlcPack(endMs + 1, 0)) : undefined
  if (afterText != null && startMs != null && Buffer.compare(Buffer.from(after as Cursor), Buffer.from(cursorAt(hlcPack(startMs, 0)))) < 0) after = cursorAt(hlcPack(startMs, 0))
  if (backwards && beforeEl.getText() !== '' && endMs != null) before = minCursor(before as Cursor, cursorAt(hlcPack(endMs + 1, 0)))

  // the mailbox also holds receipts, roster and room notices: read on until `max` chat messages or the end
  const messages: Message[] = []
  let more = true
  for (let round = 0; round < MAX_READS && more && messages.length < Math.max(1, max); round++) {
    const page = await user.replication.reader.read(user.userId, { peer, after, before, limit: READ_PAGE, newestFirst: backwards, auth: user.readAuth(user.userId) })
    const chats: Message[] = []
    for (const env of page.envelopes) {
      const m = await user.toMessage(env)
      if (m != null && m.kind === 'chat') chats.push(m)
    }
    more = page.more
    if (page.envelopes.length === 0) break
    if (backwards) {
      messages.unshift(...chats)
      before = cursorOf(page.envelopes[0])
    } else {
      messages.push(...chats)
      after = cursorOf(page.envelopes[page.envelopes.length - 1])
    }
  }
  const shown = max === 0 ? [] : backwards ? messages.slice(Math.max(0, messages.length - max)) : messages.slice(0, max)
  const complete = !more && shown.length === messages.length
  const queryid = query.attrs.queryid as string | undefined
  for (const m of shown) {
    const mine = m.fromId === user.userId
    const other = mine ? await user.resolve(m.to).then((r) => r.handle, () => m.to) : m.from
    const original = xml('message', { xmlns: 'jabber:client', type: 'chat', id: m.id, from: mine ? `${user.handle}@${host.domain}` : `${other}@${host.domain}`, to: mine ? `${other}@${host.domain}` : `${user.handle}@${host.domain}` }, xml('body', {}, m.text))
    send(xml('message', { to }, xml('result', queryid == null ? { xmlns: NS_MAM, id: m.cursor } : { xmlns: NS_MAM, queryid, id: m.cursor },
      xml('forwarded', { xmlns: NS_FORWARD }, xml('delay', { xmlns: NS_DELAY, stamp: new Date(m.timestamp).toISOString() }), original))))
  }
  const set = xml('set', { xmlns: NS_RSM })
  if (shown.length > 0) {
    set.append(xml('first', {}, shown[0].cursor))
    set.append(xml('last', {}, shown[shown.length - 1].cursor))
  }
  return xml('fin', { xmlns: NS_MAM, complete: String(complete) }, set)
}

/** The submitted data form's single values, by var. */
function formFields (query: Element): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  const form = query.getChild('x', NS_DATA)
  for (const f of form?.getChildren('field') ?? []) {
    const name = f.attrs.var as string
    if (name === 'FORM_TYPE') {
      if (f.getChildText('value') !== NS_MAM) throw new StanzaError('bad-request', 'FORM_TYPE must be urn:xmpp:mam:2')
      continue
    }
    if (name !== 'with' && name !== 'start' && name !== 'end') throw new StanzaError('feature-not-implemented', `field ${String(name)} is not supported`)
    out[name] = f.getChildText('value') ?? undefined
  }
  return out
}

/** An XEP-0082 date-time, as ms. */
function instant (s: string): number {
  const ms = Date.parse(s)
  if (!Number.isFinite(ms)) throw new StanzaError('bad-request', `${s} is not a date-time`)
  return ms
}

function boundedInt (s: string, min: number, max: number): number {
  const n = Number(s)
  if (!Number.isInteger(n) || n < min) throw new StanzaError('bad-request', `max must be a whole number ≥ ${min}`)
  return Math.min(n, max)
}

/** An archive id (a mailbox cursor, hex) back to its bytes. */
function cursorOfId (id: string): Cursor {
  if (!/^[0-9a-f]{2,128}$/.test(id) || id.length % 2 !== 0) throw new StanzaError('item-not-found', `no archived message ${id.slice(0, 80)}`)
  return new Uint8Array(Buffer.from(id, 'hex'))
}

function minCursor (a: Cursor, b: Cursor): Cursor {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0 ? a : b
}
