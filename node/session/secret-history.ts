/**
 * The plaintext history of a device's secret chats (servers have none), with self-destruct timers. In
 * the node's own LevelDB, sublevel `secret`:
 *
 *   `hist!<me>!<peer>!<cursor>`            a message, with its timer (JSON)
 *   `hid!<me>!<peer>!<id>`                 → its history key, by envelope id
 *   `hexp!<me>!<ms hex12>!<history key>`  self-destruct deadlines, in time order
 */

import type { Envelope } from '../../protocol/envelope.js'
import { cursorOf } from '../store/mailbox-store.js'
import type { SessionContext } from './context.js'
import type { Message } from './events.js'

/** A decrypted secret message as the library hands it out (kind 'secret'). */
export interface SecretMessage extends Message {
  /** self-destruct timer: the plaintext is deleted this long after it is read (0: never) */
  ttlMs: number
}

/** One message of the history. */
export interface HistoryEntry {
  id: string
  from: string
  fromId: string
  text: string
  timestamp: number
  ttlMs: number
  /** ms: when the plaintext goes (set when read, or when the peer's read receipt arrives) */
  expiresAt: number
  outgoing: boolean
}

export class SecretHistory {
  private readonly sub
  private readonly me: string

  constructor (ctx: SessionContext, private readonly onExpired: (peer: string, id: string) => void) {
    this.me = ctx.userId
    this.sub = ctx.secretLevel()
  }

  key (peer: string, env: Envelope): string {
    return `hist!${this.me}!${peer}!${Buffer.from(cursorOf(env)).toString('hex')}`
  }

  /** The writes that put a message in the chat's history (and its id index). */
  ops (peer: string, env: Envelope, entry: HistoryEntry): any[] {
    const key = this.key(peer, env)
    return [{ type: 'put', key, value: JSON.stringify(entry) }, { type: 'put', key: `hid!${this.me}!${peer}!${entry.id}`, value: key }]
  }

  async list (peer: string): Promise<SecretMessage[]> {
    const out: SecretMessage[] = []
    for await (const [key, value] of this.sub.iterator({ gt: `hist!${this.me}!${peer}!`, lt: `hist!${this.me}!${peer}!\xff` })) {
      const e: HistoryEntry = JSON.parse(value)
      out.push({ id: e.id, from: e.from, fromId: e.fromId, to: e.outgoing ? peer : this.me, text: e.text, timestamp: e.timestamp, kind: 'secret', cursor: key.slice(key.lastIndexOf('!') + 1), ttlMs: e.ttlMs })
    }
    return out
  }

  async startTimer (peer: string, id: string, reading: boolean): Promise<void> {
    const key = await this.sub.get(`hid!${this.me}!${peer}!${id}`)
    if (key == null) return
    const raw = await this.sub.get(key)
    if (raw == null) return
    const e: HistoryEntry = JSON.parse(raw)
    if (e.ttlMs === 0 || e.expiresAt !== 0 || e.outgoing === reading) return
    e.expiresAt = Date.now() + e.ttlMs
    await this.sub.batch([
      { type: 'put', key, value: JSON.stringify(e) },
      { type: 'put', key: `hexp!${this.me}!${e.expiresAt.toString(16).padStart(12, '0')}!${key}`, value: '' }
    ])
  }

  /** Delete the plaintext of every message whose self-destruct deadline has passed. */
  async expire (): Promise<void> {
    const now = Date.now()
    const prefix = `hexp!${this.me}!`
    const ops: Array<{ type: 'del', key: string }> = []
    const gone: Array<{ peer: string, id: string }> = []
    for await (const key of this.sub.keys({ gt: prefix, lt: `${prefix}${now.toString(16).padStart(12, '0')}!\xff`, limit: 1000 })) {
      const hist = key.slice(prefix.length + 13)
      const raw = await this.sub.get(hist)
      ops.push({ type: 'del', key })
      if (raw == null) continue
      const e: HistoryEntry = JSON.parse(raw)
      const peer = hist.split('!')[2]
      ops.push({ type: 'del', key: hist }, { type: 'del', key: `hid!${this.me}!${peer}!${e.id}` })
      gone.push({ peer, id: e.id })
    }
    if (ops.length === 0) return
    await this.sub.batch(ops)
    for (const d of gone) this.onExpired(d.peer, d.id)
  }
}
