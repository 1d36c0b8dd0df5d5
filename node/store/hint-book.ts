/**
 * Hints: which owners missed which mailboxes. The envelopes themselves are in the mailbox log; a hint
 * is only the note "peer P lacks something of mailbox M", kept until P is reachable and reconciled.
 * Sublevel `hints`: `<peer>!<mailbox>` → ''.
 */

import type { ChorusDb } from './db.js'
import type { GroupCommit } from './group-commit.js'

export class HintBook {
  private readonly sub

  constructor (db: ChorusDb, private readonly commit: GroupCommit) {
    this.sub = db.sublevel<string, string>('hints', { valueEncoding: 'utf8' })
  }

  async add (pairs: Array<{ peer: string, mailbox: string }>): Promise<void> {
    if (pairs.length === 0) return
    await this.commit.write(
      pairs.map((p) => ({ type: 'put' as const, sublevel: this.sub as any, key: `${p.peer}!${p.mailbox}`, value: '' }))
    )
  }

  /** Every hint, grouped by peer. */
  async byPeer (): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>()
    for await (const key of this.sub.keys()) {
      const i = key.indexOf('!')
      const peer = key.slice(0, i)
      const list = out.get(peer) ?? []
      list.push(key.slice(i + 1))
      out.set(peer, list)
    }
    return out
  }

  async remove (peer: string, mailbox: string): Promise<void> {
    await this.sub.del(`${peer}!${mailbox}`)
  }

  /** Hints pending, counted up to `limit` (a dashboard sampling every second must not walk a huge backlog). */
  async count (limit = Infinity): Promise<number> {
    let n = 0
    for await (const _ of this.sub.keys(Number.isFinite(limit) ? { limit } : {})) n++
    return n
  }
}
