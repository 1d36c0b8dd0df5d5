/**
 * The roster side of an account session (RFC 6121): roster get and set (their iq is features/roster.ts),
 * roster pushes whenever an item's subscription or pending request changes (after the client's own
 * subscription stanzas, and as the contact's answers arrive), and the contacts' current presence when a
 * resource becomes available.
 */

import xml, { type Element } from '@xmpp/xml'
import type { RosterEntry } from '../session/roster.js'
import type { User } from '../session/user.js'
import { StanzaError } from './errors.js'
import { NS_ROSTER } from './ns.js'

const STATE_TO_SHOW: Record<string, string | undefined> = { online: undefined, away: 'away', busy: 'dnd' }

/** A contact's available presence as a stanza: Chorus's state as `<show>`, and its status. */
export function availablePresence (from: string, state: string, status: string): Element {
  const el = xml('presence', { from })
  const show = STATE_TO_SHOW[state]
  if (show != null) el.append(xml('show', {}, show))
  if (status !== '') el.append(xml('status', {}, status))
  return el
}

/** What the roster part needs of its session. */
export interface RosterHost {
  user: User
  jidOf: (handle: string) => string
  handleOf: (jid: string) => string
  /** to every bound resource */
  toAll: (el: Element) => void
}

export class RosterMap {
  /** each item as last pushed: `subscription` + `ask` */
  private readonly pushed = new Map<string, string>()
  private pushes = 0

  constructor (private readonly host: RosterHost) {
    for (const e of host.user.roster.list()) this.pushed.set(e.handle, shape(e))
  }

  private item (e: RosterEntry): Element {
    const attrs: Record<string, string> = { jid: this.host.jidOf(e.handle), subscription: e.subscription }
    if (e.pendingOut) attrs.ask = 'subscribe'
    return xml('item', attrs)
  }

  /** The roster, as the result of a roster get. */
  items (): Element {
    return xml('query', { xmlns: NS_ROSTER }, ...this.host.user.roster.list().map((e) => this.item(e)))
  }

  /** A roster set: add the one item, or remove it (the push follows: `changed`). */
  async set (query: Element): Promise<void> {
    const items = query.getChildren('item')
    if (items.length !== 1) throw new StanzaError('bad-request', 'a roster set carries one item')
    const handle = this.host.handleOf(items[0].attrs.jid)
    if (items[0].attrs.subscription === 'remove') await this.host.user.roster.remove(handle)
    else await this.host.user.roster.add(handle)
  }

  /** Push every item whose subscription or pending request changed since the last push (and removals). */
  changed (): void {
    const now = new Map(this.host.user.roster.list().map((e) => [e.handle, e]))
    for (const [handle, e] of now) {
      if (this.pushed.get(handle) === shape(e)) continue
      this.pushed.set(handle, shape(e))
      this.push(this.item(e))
    }
    for (const handle of [...this.pushed.keys()]) {
      if (now.has(handle)) continue
      this.pushed.delete(handle)
      this.push(xml('item', { jid: this.host.jidOf(handle), subscription: 'remove' }))
    }
  }

  private push (item: Element): void {
    this.host.toAll(xml('iq', { type: 'set', id: `push-${(++this.pushes).toString(36)}` }, xml('query', { xmlns: NS_ROSTER }, item)))
  }

  /** The presence of every contact the user sees online, for a resource that just became available. */
  current (): Element[] {
    const out: Element[] = []
    for (const e of this.host.user.roster.list()) {
      const p = e.presence
      if (p == null || p.state === 'offline' || (e.subscription !== 'to' && e.subscription !== 'both')) continue
      out.push(availablePresence(this.host.jidOf(e.handle), p.state, p.status))
    }
    return out
  }
}

function shape (e: RosterEntry): string {
  return `${e.subscription}${e.pendingOut ? '+ask' : ''}`
}
