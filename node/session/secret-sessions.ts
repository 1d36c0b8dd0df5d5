/**
 * A device's ratchet sessions (node's own LevelDB, sublevel `secret`, `sess!<me>!<peer>`): kept in memory
 * once loaded, and written back with coalescing — while one write of a session is on its way, later
 * saves wait and go together in the next, with the newest state.
 */

import { RatchetSession } from '../../protocol/secret/index.js'
import type { SessionContext } from './context.js'
import { b64, unb64 } from './base64.js'

/** What is stored of a session: the ratchet state and the session's X3DH facts. */
export interface SessionRecord {
  state: string
  /** our initial header, sent until the peer's first message arrives (initiator only) */
  initial?: string
  /** the ephemeral key of the initial header the session came from (both sides) */
  ephemeral: string
  peerIdentityKey: string
  peerIdentityDhKey: string
}

/** Coalesced writes of one session's state (see `save`). */
interface SessionWriter {
  ops: any[]
  waiters: Array<{ resolve: () => void, reject: (err: Error) => void }>
  latest?: { session: RatchetSession, record: Omit<SessionRecord, 'state'> }
  running: boolean
}

export class SessionStore {
  private readonly sub
  private readonly me: string
  private readonly live = new Map<string, { session: RatchetSession, record: SessionRecord }>()
  private readonly writers = new Map<string, SessionWriter>()

  constructor (ctx: SessionContext) {
    this.me = ctx.userId
    this.sub = ctx.secretLevel()
  }

  /** Whether a write is still on its way (close waits for it). */
  get writing (): boolean {
    return this.writers.size > 0
  }

  /**
   * The session with `peer`: from memory, or from disk once. The object in memory is only ever changed by
   * operations that then save it (decrypt is transactional: a refused message leaves it as it was).
   */
  async load (peer: string): Promise<{ session: RatchetSession, record: SessionRecord } | undefined> {
    const cached = this.live.get(peer)
    if (cached != null) return cached
    const raw = await this.sub.get(`sess!${this.me}!${peer}`)
    if (raw == null) return undefined
    const record: SessionRecord = JSON.parse(raw)
    const loaded = { session: RatchetSession.deserialize(unb64(record.state)), record }
    this.live.set(peer, loaded)
    return loaded
  }

  /**
   * Store a session's state (and `extra` writes with it). Saves coalesce: while one write is on its way,
   * later saves of the same session wait and go together in the next, with the newest state — each
   * caller resolves once a write that includes its state is on disk.
   */
  async save (peer: string, session: RatchetSession, r: Omit<SessionRecord, 'state'>, extra: any[] = []): Promise<void> {
    this.live.set(peer, { session, record: r as SessionRecord })
    let w = this.writers.get(peer)
    if (w == null) { w = { ops: [], waiters: [], running: false }; this.writers.set(peer, w) }
    w.ops.push(...extra)
    w.latest = { session, record: r }
    const done = new Promise<void>((resolve, reject) => { w.waiters.push({ resolve, reject }) })
    if (!w.running) void this.drainWrites(peer, w)
    return done
  }

  private async drainWrites (peer: string, w: SessionWriter): Promise<void> {
    w.running = true
    while (w.waiters.length > 0 && w.latest != null) {
      const waiters = w.waiters.splice(0)
      const ops = w.ops.splice(0)
      const record: SessionRecord = { ...w.latest.record, state: b64(w.latest.session.serialize()) }
      try {
        await this.sub.batch([{ type: 'put', key: `sess!${this.me}!${peer}`, value: JSON.stringify(record) }, ...ops])
        for (const x of waiters) x.resolve()
      } catch (err: any) {
        // memory must not run ahead of the disk: reload from it next time
        this.live.delete(peer)
        for (const x of waiters) x.reject(err)
      }
    }
    w.running = false
    if (w.waiters.length === 0) this.writers.delete(peer)
  }
}
