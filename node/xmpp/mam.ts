/**
 * Message Archive Management (XEP-0313, urn:xmpp:mam:2) over the user's replicated mailbox: a query
 * reads the log from its owners (the same merged read as `user.history`), filtered by the form's `with`
 * (a contact's bare JID), `start` and `end`, paged by Result Set Management (XEP-0059: `max`, `after`,
 * `before`; an empty `before` is the last page). The archive id of a message is its mailbox cursor, so
 * paging is exact across owners. Each result is a forwarded copy (XEP-0297) with its delay stamp;
 * the final iq result carries `<fin complete>` and the page's first and last ids.
 *
 * The mailbox holds more than messages (receipts, presence, roster and room notices, secret-chat
 * envelopes), each a protobuf or a sealed body. Only what the live path shows as a message is served:
 * chat (and headline) bodies, and room invitations, as the mediated invitation the live path sends
 * (muc.ts); everything else is skipped, never served as a body. Users are named by their handle JIDs.
 */

import xml, { type Element } from '@xmpp/xml'
import { Envelope } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { cursorAt, cursorOf, type Cursor } from '../store/mailbox-store.js'
import type { User } from '../session/user.js'
import type { ContactJids } from './contact-jids.js'
import { StanzaError } from './errors.js'
import { invitation } from './muc.js'
import { NS_CLIENT, NS_DATA, NS_DELAY, NS_FORWARD, NS_MAM, NS_RSM } from './ns.js'

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
  /** the handle JIDs of users the session knows by id */
  contacts: ContactJids
}

/** One archived message: its archive id, time, and the stanza shown (made once the page is read). */
interface Archived {
  cursor: string
  timestamp: number
  original: () => Element
}

/**
 * Run one query: send each result to `send` (as `<message>`s to the asking resource) and return the
 * `<fin>` for the iq result.
 */
export async function runQuery (
  host: ArchiveHost, query: Element, to: string, send: (el: Element) => void
): Promise<Element> {
  const fields = formFields(query)
  const rsm = query.getChild('set', NS_RSM)
  const maxText = rsm?.getChildText('max')
  const max = maxText == null ? DEFAULT_MAM_MAX : boundedInt(maxText, 0, MAX_MAM_MAX)
  const user = host.user
  let peer: string | undefined
  if (fields.with != null) {
    const ref = await user.resolve(host.handleOf(fields.with))
    host.contacts.learn(ref.userId, ref.handle)
    peer = ref.userId
  }
  const startAt = fields.start == null ? undefined : cursorAt(hlcPack(instant(fields.start), 0))
  const endAt = fields.end == null ? undefined : cursorAt(hlcPack(instant(fields.end) + 1, 0))
  const beforeEl = rsm?.getChild('before')
  const afterText = rsm?.getChildText('after') ?? undefined
  const backwards = beforeEl != null
  let after = afterText != null ? cursorOfId(afterText) : startAt
  if (after != null && startAt != null) after = maxCursor(after, startAt)
  let before = backwards && beforeEl.getText() !== '' ? cursorOfId(beforeEl.getText()) : endAt
  if (before != null && endAt != null) before = minCursor(before, endAt)

  // the mailbox also holds receipts, roster and room notices: read on until `max` messages or the end
  const found: Archived[] = []
  let more = true
  for (let round = 0; round < MAX_READS && more && found.length < Math.max(1, max); round++) {
    const page = await user.inbox({
      with: peer, after: hexOf(after), before: hexOf(before), limit: READ_PAGE, newestFirst: backwards
    })
    const shown: Archived[] = []
    for (const env of page.envelopes) {
      const a = await archived(host, env)
      if (a != null) shown.push(a)
    }
    more = page.more
    if (page.envelopes.length === 0) break
    if (backwards) {
      found.unshift(...shown)
      before = cursorOf(page.envelopes[0])
    } else {
      found.push(...shown)
      after = cursorOf(page.envelopes[page.envelopes.length - 1])
    }
  }
  const page = max === 0 ? [] : backwards ? found.slice(Math.max(0, found.length - max)) : found.slice(0, max)
  const complete = !more && page.length === found.length
  const queryid = query.attrs.queryid as string | undefined
  for (const a of page) {
    const stamp = xml('delay', { xmlns: NS_DELAY, stamp: new Date(a.timestamp).toISOString() })
    const attrs = queryid == null ? { xmlns: NS_MAM, id: a.cursor } : { xmlns: NS_MAM, queryid, id: a.cursor }
    const result = xml('result', attrs, xml('forwarded', { xmlns: NS_FORWARD }, stamp, a.original()))
    send(xml('message', { to }, result))
  }
  const set = xml('set', { xmlns: NS_RSM })
  if (page.length > 0) {
    set.append(xml('first', {}, page[0].cursor))
    set.append(xml('last', {}, page[page.length - 1].cursor))
  }
  return xml('fin', { xmlns: NS_MAM, complete: String(complete) }, set)
}

/** An envelope of the mailbox as an archived message, or undefined for what is not one to show. */
async function archived (host: ArchiveHost, env: Envelope): Promise<Archived | undefined> {
  const { user, contacts } = host
  const cursor = Buffer.from(cursorOf(env)).toString('hex')
  if (env.kind === Envelope.Kind.ROOM) {
    const inv = await user.rooms.invitationIn(env)
    if (inv == null) return undefined
    contacts.learn(inv.byId, inv.by)
    const original = (): Element => {
      const el = invitation(`${inv.address ?? inv.room}@conference.${host.domain}`, contacts.jid(inv.by))
      // inside <forwarded> a stanza names its namespace, or it is not a message (XEP-0297)
      el.attrs.xmlns = NS_CLIENT
      el.attrs.to = contacts.jid(user.userId)
      return el
    }
    return { cursor, timestamp: inv.at, original }
  }
  if (env.kind !== Envelope.Kind.CHAT && env.kind !== Envelope.Kind.HEADLINE) return undefined
  const m = await user.toMessage(env)
  if (m == null || (m.kind !== 'chat' && m.kind !== 'headline')) return undefined
  contacts.learn(m.fromId, m.from)
  const original = (): Element => xml('message',
    { xmlns: NS_CLIENT, type: m.kind, id: m.id, from: contacts.jid(m.fromId), to: contacts.jid(m.to) },
    xml('body', {}, m.text))
  return { cursor, timestamp: m.timestamp, original }
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

function hexOf (c: Cursor | undefined): string | undefined {
  return c == null ? undefined : Buffer.from(c).toString('hex')
}

function minCursor (a: Cursor, b: Cursor): Cursor {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0 ? a : b
}

function maxCursor (a: Cursor, b: Cursor): Cursor {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) >= 0 ? a : b
}
