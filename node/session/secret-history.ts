/**
 * The plaintext history of a device's secret chats (servers have none), with self-destruct timers. In
 * the node's own LevelDB, sublevel `secret`:
 *
 *   `hist!<me>!<peer>!<cursor>`           a message, sealed under its own key (JSON `{ v: 2, n, c }`)
 *   `hkey!<me>!<peer>!<cursor>`           that key
 *   `hid!<me>!<peer>!<id>`                → its history key, by envelope id
 *   `hexp!<me>!<ms hex12>!<history key>`  self-destruct deadlines, in time order
 *
 * Destroying a message is crypto-shredding plus compaction. A LevelDB `del` only writes a tombstone: the
 * value stays in the write-ahead log and the table files until a compaction rewrites them, which may be
 * never. So each message is sealed (ChaCha20-Poly1305) under a fresh key kept apart from it; when its
 * timer runs out both are deleted for good (SecretStore.destroy): the range of the user's history and
 * keys is compacted so that the log is flushed and the tables holding them are rewritten without them. Once the key is
 * gone from disk, any copy of the sealed message left anywhere (a backup, a file not yet reused) is noise. Entries
 * written before messages were sealed (plain JSON) are still read, and destroyed by the same compaction.
 */

import { randomBytes } from 'node:crypto'
import type { Envelope } from '../../protocol/envelope.js'
import { aeadOpen, aeadSeal } from '../../protocol/secret/primitives.js'
import { cursorOf } from '../../protocol/mailbox.js'
import { b64, unb64 } from './base64.js'
import type { Message } from './events.js'
import type { SecretOp, SecretStore } from './secret-store.js'

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

/** Self-destruct deadlines handled per `expire` run at most. */
const EXPIRE_BATCH = 1000
const ENTRY_KEY_BYTES = 32
const NONCE_BYTES = 12

export class SecretHistory {
  /** the earliest self-destruct deadline on disk (ms), once `expire` has read it: until then nothing is read */
  private nextExpiry = Infinity
  private expiryKnown = false
  constructor (
    private readonly store: SecretStore,
    private readonly me: string,
    private readonly onExpired: (peer: string, id: string) => void,
    private readonly now: () => number = Date.now
  ) {}

  key (peer: string, env: Envelope): string {
    return `hist!${this.me}!${peer}!${Buffer.from(cursorOf(env)).toString('hex')}`
  }

  /** The writes that put a message in the chat's history: sealed under a fresh key, that key, the id index. */
  ops (peer: string, env: Envelope, entry: HistoryEntry): SecretOp[] {
    const key = this.key(peer, env)
    const entryKey = new Uint8Array(randomBytes(ENTRY_KEY_BYTES))
    const ops: SecretOp[] = [
      { type: 'put', key, value: seal(entryKey, key, entry) },
      { type: 'put', key: keyOfEntry(key), value: b64(entryKey) },
      { type: 'put', key: `hid!${this.me}!${peer}!${entry.id}`, value: key }
    ]
    entryKey.fill(0)
    return ops
  }

  async list (peer: string): Promise<SecretMessage[]> {
    const out: SecretMessage[] = []
    for await (const [key, value] of this.store.entries({ gt: `hist!${this.me}!${peer}!`, lt: `hist!${this.me}!${peer}!\xff` })) {
      const e = await this.open(key, value)
      if (e == null) continue
      out.push({
        id: e.id,
        from: e.from,
        fromId: e.fromId,
        to: e.outgoing ? peer : this.me,
        text: e.text,
        timestamp: e.timestamp,
        kind: 'secret',
        cursor: key.slice(key.lastIndexOf('!') + 1),
        ttlMs: e.ttlMs
      })
    }
    return out
  }

  async startTimer (peer: string, id: string, reading: boolean): Promise<void> {
    const key = await this.store.get(`hid!${this.me}!${peer}!${id}`)
    if (key == null) return
    const raw = await this.store.get(key)
    if (raw == null) return
    const e = await this.open(key, raw)
    if (e == null || e.ttlMs === 0 || e.expiresAt !== 0 || e.outgoing === reading) return
    e.expiresAt = this.now() + e.ttlMs
    const entryKey = await this.store.get(keyOfEntry(key))
    await this.store.batch([
      // a legacy entry is sealed now: its destruction no longer hangs on compaction alone
      ...(entryKey == null ? this.resealed(key, e) : [{ type: 'put' as const, key, value: seal(unb64(entryKey), key, e) }]),
      { type: 'put', key: `hexp!${this.me}!${e.expiresAt.toString(16).padStart(12, '0')}!${key}`, value: '' }
    ])
    // after the write: a run of `expire` that read before it does not forget it
    this.nextExpiry = Math.min(this.nextExpiry, e.expiresAt)
  }

  /**
   * Destroy every message whose self-destruct deadline has passed: its sealed text, its key and its
   * indexes are deleted, then the user's history and keys are compacted out of the files (see the header).
   */
  /** Would `expire` destroy (or have to look for) anything now? */
  due (): boolean {
    return !this.expiryKnown || this.now() >= this.nextExpiry
  }

  async expire (): Promise<void> {
    const now = this.now()
    // most sessions have nothing to destroy: the next deadline, once known, spares the read
    if (this.expiryKnown && now < this.nextExpiry) return
    const prefix = `hexp!${this.me}!`
    // unknown until this run has destroyed what is due (a failed run reads again next time)
    this.expiryKnown = false
    this.nextExpiry = Infinity
    let next = Infinity
    let n = 0
    const ops: SecretOp[] = []
    const gone: Array<{ peer: string, id: string }> = []
    for await (const key of this.store.keys({ gt: prefix, lt: `${prefix}\xff`, limit: EXPIRE_BATCH + 1 })) {
      const at = parseInt(key.slice(prefix.length, prefix.length + 12), 16)
      if (at > now) { next = at; break }
      // more are due than a run destroys: the next run reads again
      if (n++ === EXPIRE_BATCH) { next = now; break }
      const hist = key.slice(prefix.length + 13)
      const peer = hist.split('!')[2]
      ops.push({ type: 'del', key }, { type: 'del', key: hist }, { type: 'del', key: keyOfEntry(hist) })
      const raw = await this.store.get(hist)
      const e = raw == null ? undefined : await this.open(hist, raw)
      if (e == null) continue
      ops.push({ type: 'del', key: `hid!${this.me}!${peer}!${e.id}` })
      gone.push({ peer, id: e.id })
    }
    if (ops.length > 0) await this.store.destroy(ops, { gt: `hist!${this.me}!`, lt: `hkey!${this.me}!\xff` })
    // deadlines set while this ran lowered it already
    this.nextExpiry = Math.min(this.nextExpiry, next)
    this.expiryKnown = true
    if (ops.length === 0) return
    for (const d of gone) this.onExpired(d.peer, d.id)
  }

  /** A stored entry, opened with its key (or as written before entries were sealed). */
  private async open (key: string, value: string): Promise<HistoryEntry | undefined> {
    const stored = JSON.parse(value)
    if (stored.v !== 2) return stored as HistoryEntry
    const entryKey = await this.store.get(keyOfEntry(key))
    if (entryKey == null) return undefined // its key is destroyed: so is the message
    const plain = aeadOpen(unb64(entryKey), unb64(stored.n), unb64(stored.c), new TextEncoder().encode(key))
    return JSON.parse(Buffer.from(plain).toString('utf8'))
  }

  private resealed (key: string, e: HistoryEntry): SecretOp[] {
    const entryKey = new Uint8Array(randomBytes(ENTRY_KEY_BYTES))
    const ops: SecretOp[] = [{ type: 'put', key, value: seal(entryKey, key, e) },
      { type: 'put', key: keyOfEntry(key), value: b64(entryKey) }]
    entryKey.fill(0)
    return ops
  }
}

/** Where the key of the history entry at `histKey` is kept. */
function keyOfEntry (histKey: string): string {
  return `hkey!${histKey.slice('hist!'.length)}`
}

/** An entry sealed under `entryKey`, bound to where it is stored. */
function seal (entryKey: Uint8Array, key: string, entry: HistoryEntry): string {
  const nonce = new Uint8Array(randomBytes(NONCE_BYTES))
  const sealed = aeadSeal(entryKey, nonce, Buffer.from(JSON.stringify(entry), 'utf8'), new TextEncoder().encode(key))
  return JSON.stringify({ v: 2, n: b64(nonce), c: b64(sealed) })
}
