/**
 * A device's ratchet sessions with each peer (node's own LevelDB, sublevel `secret`). Named for the
 * ratchet, not "session": a user's session is `User`, the gateway's `AccountSession` a Jabber login.
 *
 *   `sess!<me>!<peer>`          the session this device sends with (the active one)
 *   `prev!<me>!<peer>!<ek hex>` sessions that only decrypt, by the ephemeral key of the initiation they
 *                               came from: two initiations that crossed, or a peer that started again,
 *                               leave messages in flight under the session that lost (at most
 *                               DEFAULT_MAX_PREVIOUS_SESSIONS, the oldest goes first)
 *
 * Sessions are kept in memory once loaded and written back with coalescing: while one write for a peer
 * is on its way, later saves wait and go together in the next, each session with its newest state.
 */

import { RatchetSession } from '../../protocol/secret/index.js'
import { b64, unb64 } from './base64.js'
import type { SecretOp, SecretStore } from './secret-store.js'

/** What is stored of a session: the ratchet state and the session's X3DH facts. */
export interface SessionRecord {
  state: string
  /** our initial header, sent until the peer's first message arrives (initiator only) */
  initial?: string
  /** the ephemeral key of the initial header the session came from (both sides) */
  ephemeral: string
  peerIdentityKey: string
  peerIdentityDhKey: string
  /** the hybrid timestamp (decimal) of the first message of the peer's decrypted in this session */
  peerSince?: string
  /** ms: when this session stopped being the one this device sends with */
  demotedAt?: number
}

/** A session in memory, with the key it is stored under. */
export interface StoredSession { key: string, session: RatchetSession, record: SessionRecord }

/** Coalesced writes of one peer's sessions (see `save`). */
interface RatchetWriter {
  ops: SecretOp[]
  waiters: Array<{ resolve: () => void, reject: (err: Error) => void }>
  latest: Map<string, StoredSession>
  running: boolean
}

/** The ratchet sessions of one user on this device, by peer. */
export class RatchetStore {
  private readonly live = new Map<string, StoredSession>()
  private readonly writers = new Map<string, RatchetWriter>()

  constructor (
    private readonly store: SecretStore,
    private readonly me: string,
    private readonly maxPrevious: number
  ) {}

  /** Whether a write is still on its way (close waits for it). */
  get writing (): boolean {
    return this.writers.size > 0
  }

  activeKey (peer: string): string {
    return `sess!${this.me}!${peer}`
  }

  previousKey (peer: string, ephemeral: string): string {
    return `prev!${this.me}!${peer}!${Buffer.from(unb64(ephemeral)).toString('hex')}`
  }

  /**
   * The session this device sends with to `peer`: from memory, or from disk once. The object in memory is
   * only ever changed by operations that then save it (a message is committed to the ratchet only once it
   * is accepted).
   */
  async load (peer: string): Promise<StoredSession | undefined> {
    return this.loadKey(this.activeKey(peer))
  }

  /** The session with `peer` that came from the initiation with `ephemeral` (b64), active or previous. */
  async byEphemeral (peer: string, ephemeral: string): Promise<StoredSession | undefined> {
    const active = await this.load(peer)
    if (active?.record.ephemeral === ephemeral) return active
    return this.loadKey(this.previousKey(peer, ephemeral))
  }

  /** The sessions with `peer` that only decrypt, the most recently replaced first. */
  async previous (peer: string): Promise<StoredSession[]> {
    const prefix = `prev!${this.me}!${peer}!`
    const out: StoredSession[] = []
    for await (const key of this.store.keys({ gt: prefix, lt: `${prefix}\xff` })) {
      const s = await this.loadKey(key)
      if (s != null) out.push(s)
    }
    return out.sort((a, b) => (b.record.demotedAt ?? 0) - (a.record.demotedAt ?? 0))
  }

  /**
   * Make `next` the session this device sends with, `current` (if any) one that only decrypts. Resolves
   * once it is on disk, with `extra`.
   */
  async replace (
    peer: string,
    current: StoredSession | undefined,
    next: Omit<StoredSession, 'key'>,
    extra: SecretOp[],
    now: number
  ): Promise<void> {
    const writes: StoredSession[] = [{ ...next, key: this.activeKey(peer) }]
    const deletes: string[] = []
    if (current != null) {
      writes.push(this.demoted(peer, current, now))
      deletes.push(...await this.evictions(peer))
    }
    await this.save(peer, writes, extra, deletes)
  }

  /** Keep `s` as a session with `peer` that only decrypts. Resolves once it is on disk, with `extra`. */
  async keep (peer: string, s: Omit<StoredSession, 'key'>, extra: SecretOp[], now: number): Promise<void> {
    await this.save(peer, [this.demoted(peer, s, now)], extra, await this.evictions(peer))
  }

  private demoted (peer: string, s: Omit<StoredSession, 'key'>, now: number): StoredSession {
    return {
      key: this.previousKey(peer, s.record.ephemeral),
      session: s.session,
      record: { ...s.record, demotedAt: now }
    }
  }

  /** The previous sessions to delete so that one more fits in `maxPrevious`: the oldest. */
  private async evictions (peer: string): Promise<string[]> {
    return (await this.previous(peer)).slice(Math.max(0, this.maxPrevious - 1)).map((s) => s.key)
  }

  /**
   * Store sessions' states (and `extra` writes with them; `deletes` go). Saves coalesce: while one write
   * is on its way, later saves for the same peer wait and go together in the next, each session with its
   * newest state; each caller resolves once a write that includes its states is on disk.
   */
  async save (peer: string, writes: StoredSession[], extra: SecretOp[] = [], deletes: string[] = []): Promise<void> {
    let w = this.writers.get(peer)
    if (w == null) { w = { ops: [], waiters: [], latest: new Map(), running: false }; this.writers.set(peer, w) }
    for (const s of writes) { this.live.set(s.key, s); w.latest.set(s.key, s) }
    for (const key of deletes) { this.live.delete(key); w.latest.delete(key); w.ops.push({ type: 'del', key }) }
    w.ops.push(...extra)
    const done = new Promise<void>((resolve, reject) => { w.waiters.push({ resolve, reject }) })
    if (!w.running) void this.drainWrites(peer, w)
    return done
  }

  private async loadKey (key: string): Promise<StoredSession | undefined> {
    const cached = this.live.get(key)
    if (cached != null) return cached
    const raw = await this.store.get(key)
    if (raw == null) return undefined
    const record: SessionRecord = JSON.parse(raw)
    const loaded = { key, session: RatchetSession.deserialize(unb64(record.state)), record }
    this.live.set(key, loaded)
    return loaded
  }

  private async drainWrites (peer: string, w: RatchetWriter): Promise<void> {
    w.running = true
    while (w.waiters.length > 0) {
      const waiters = w.waiters.splice(0)
      const ops = w.ops.splice(0)
      const sessions = [...w.latest.values()]
      w.latest.clear()
      const puts: SecretOp[] = sessions.map((s) => ({
        type: 'put', key: s.key, value: JSON.stringify({ ...s.record, state: b64(s.session.serialize()) })
      }))
      try {
        await this.store.batch([...ops, ...puts])
        for (const x of waiters) x.resolve()
      } catch (err: any) {
        // memory must not run ahead of the disk: reload from it next time
        for (const s of sessions) this.live.delete(s.key)
        for (const x of waiters) x.reject(err)
      }
    }
    w.running = false
    if (w.waiters.length === 0) this.writers.delete(peer)
  }
}
