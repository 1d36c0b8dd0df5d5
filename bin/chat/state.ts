/**
 * What `chorus chat` remembers while it runs: where plain lines go (the current conversation), the
 * messages this run sent and how far each got (the ticks), and the messages shown but not yet read
 * because another conversation was open. All of it is bounded: a long session keeps the newest.
 */

import type { Message, ReceiptEvent, Room, SecretChat } from '../../node/index.js'
import { clean } from './format.js'

/** Where plain lines go: a direct chat, a room, or a secret chat. */
export type Conversation =
  | { kind: 'dm', handle: string }
  | { kind: 'room', room: Room }
  | { kind: 'secret', chat: SecretChat }

/** Sent messages whose ticks are followed at most. @default 1000 */
export const MAX_TRACKED_SENDS = 1000

/** Receipts kept for sends not yet acknowledged (a receipt can overtake the send's own ack). @default 200 */
export const MAX_EARLY_RECEIPTS = 200

/** Unread messages kept per conversation, and conversations with unread messages, at most. @default 100 */
export const MAX_UNREAD = 100

/** A stable key of a conversation: `dm:bob`, `room:<id>`, `secret:bob`. */
export function keyOf (c: Conversation): string {
  if (c.kind === 'dm') return `dm:${c.handle}`
  if (c.kind === 'room') return `room:${c.room.id}`
  return `secret:${c.chat.peer}`
}

/** The conversation a received message belongs to. */
export function keyOfMessage (m: Message): string {
  if (m.kind === 'groupchat' && m.room != null) return `room:${m.room}`
  if (m.kind === 'secret') return `secret:${m.from}`
  return `dm:${m.from}`
}

/** How a conversation is labelled on screen: `bob`, `#team`, `secret bob`. */
export function labelOf (c: Conversation): string {
  if (c.kind === 'dm') return c.handle
  if (c.kind === 'room') return roomLabel(c.room.name)
  return `secret ${c.chat.peer}`
}

/** A room's label: its name, cleaned and kept short (names are up to 256 characters of anything). */
export function roomLabel (name: string): string {
  return `#${clean(name === '' ? '?' : name, 24)}`
}

/** A tick to show: a send acknowledged by W owners, or a receipt that moved a message on. */
export interface Tick {
  label: string
  text: string
  status: 'delivered' | 'read'
  by: string
}

interface Sent { label: string, text: string, reached: Map<string, 'delivered' | 'read'> }

/** The ticks of this run's sends: which receipts are news (each status once per reader, never backwards). */
export class Ticks {
  private readonly sent = new Map<string, Sent>()
  private readonly early = new Map<string, ReceiptEvent[]>()

  /** A send was acknowledged: remember it, and return the receipts that came before the ack. */
  acknowledged (id: string, label: string, text: string): Tick[] {
    this.sent.set(id, { label, text, reached: new Map() })
    if (this.sent.size > MAX_TRACKED_SENDS) this.sent.delete(this.sent.keys().next().value as string)
    const early = this.early.get(id) ?? []
    this.early.delete(id)
    return early.map((r) => this.receipt(r)).filter((t): t is Tick => t != null)
  }

  /**
   * A receipt: the tick to show, or undefined when it says nothing new (a repeat, a 'delivered' after
   * 'read', or a message this run did not send). One for a send not yet acknowledged is kept for it.
   */
  receipt (r: ReceiptEvent, pendingSends = 0): Tick | undefined {
    const s = this.sent.get(r.id)
    if (s == null) {
      // only worth keeping while a send is in flight: otherwise it is from an earlier run
      if (pendingSends > 0) {
        this.early.set(r.id, [...(this.early.get(r.id) ?? []), r].slice(-8))
        if (this.early.size > MAX_EARLY_RECEIPTS) this.early.delete(this.early.keys().next().value as string)
      }
      return undefined
    }
    const had = s.reached.get(r.by)
    if (had === 'read' || had === r.status) return undefined
    s.reached.set(r.by, r.status)
    return { label: s.label, text: s.text, status: r.status, by: r.by }
  }
}

/** Messages shown while another conversation was open: read receipts go once that conversation is opened. */
export class Unread {
  private readonly byKey = new Map<string, Message[]>()

  add (key: string, m: Message): void {
    const list = this.byKey.get(key) ?? []
    this.byKey.delete(key)
    list.push(m)
    if (list.length > MAX_UNREAD) list.shift()
    this.byKey.set(key, list)
    if (this.byKey.size > MAX_UNREAD) this.byKey.delete(this.byKey.keys().next().value as string)
  }

  /** Take (and forget) the unread messages of a conversation. */
  take (key: string): Message[] {
    const list = this.byKey.get(key) ?? []
    this.byKey.delete(key)
    return list
  }

  /** Unread counts by conversation key. */
  counts (): Array<[string, number]> {
    return [...this.byKey].map(([k, v]) => [k, v.length])
  }
}
