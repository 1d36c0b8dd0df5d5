/**
 * Deleting delivered secret ciphertext at the owners, durably. Once a device has shown a secret message,
 * the envelope (ciphertext) is deleted at the owners of its mailbox. A deletion is first written to the
 * device's own database (sublevel `deletions`, `<userId>!<cursor hex>` → ''), then sent to every owner,
 * and forgotten only once W owners confirmed it; until then every maintenance tick sends it again, and a
 * restart finds it on disk. Owners that missed it get the tombstone from the others by repair
 * (docs/replication.md). A lost request, a restart between showing and deleting, owners busy or down:
 * none of them leaves the ciphertext on the servers for good.
 */

import { logger } from '@libp2p/logger'
import type { IdentityKey } from '../../protocol/envelope.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { deleteScope, signReadAuth } from '../../protocol/read-auth.js'
import { MAX_FETCH_LIMIT } from '../replication/constants.js'
import { unhex } from '../store/mailbox-store.js'
import type { Owners, Storage } from './ports.js'

const log = logger('chorus:session:secret')

/** Cursors deleted in one request at most: the owners' bound (a larger request is refused whole). */
export const DEFAULT_DELETION_BATCH = MAX_FETCH_LIMIT

/** What pending deletions use: a sublevel to keep them in, the user, and its owners (to delete at). */
export interface PendingDeletionsComponents {
  storage: Pick<Storage, 'sublevel'>
  userId: string
  identity: IdentityKey
  owners: Pick<Owners, 'ownersOf' | 'call' | 'writeQuorum'>
}

export class PendingDeletions {
  private readonly sub
  private flushing?: Promise<void>
  /** deletions known to be waiting (a hint: the database is the truth) */
  private waiting = true
  /** bumped by every `add`: a batch read before an add must not clear `waiting` for it */
  private added = 0

  constructor (private readonly c: PendingDeletionsComponents) {
    this.sub = c.storage.sublevel<string, string>('deletions', { valueEncoding: 'utf8' })
  }

  /** Whether deletions may be waiting (a hint: `flush` finds out). */
  get pending (): boolean {
    return this.waiting
  }

  /** Remember that the envelope at `cursor` is to be deleted at the owners. */
  async add (cursor: Uint8Array): Promise<void> {
    await this.sub.put(`${this.c.userId}!${Buffer.from(cursor).toString('hex')}`, '')
    this.added++
    this.waiting = true
  }

  /** Send what is waiting, a batch at a time; forget what W owners confirmed. One flush at a time. */
  async flush (): Promise<void> {
    if (!this.waiting) return
    this.flushing ??= (async () => {
      // batch after batch while each is confirmed; a batch that is not waits for the next tick
      for (let i = 0; i < 100 && this.waiting; i++) if (!await this.flushOnce()) return
    })().finally(() => { this.flushing = undefined })
    await this.flushing
  }

  /** One batch: true when it was confirmed (or nothing waits). */
  private async flushOnce (): Promise<boolean> {
    const prefix = `${this.c.userId}!`
    const generation = this.added
    const keys: string[] = []
    for await (const key of this.sub.keys({ gt: prefix, lt: `${prefix}~`, limit: DEFAULT_DELETION_BATCH })) keys.push(key)
    if (keys.length === 0) { this.waiting = this.added !== generation; return true }
    const cursors = keys.map((k) => unhex(k.slice(prefix.length)))
    const mailbox = this.c.userId
    const auth = signReadAuth(deleteScope(mailbox, cursors), this.c.identity)
    const owners = this.c.owners.ownersOf(mailbox)
    const req = { kind: StoreRequest.Kind.DELETE, mailbox, cursors, auth }
    const answers = await Promise.allSettled(owners.map(async (o) => this.c.owners.call(o, req)))
    const confirmed = answers.filter((a) => a.status === 'fulfilled').length
    if (owners.length > 0 && confirmed >= Math.min(this.c.owners.writeQuorum, owners.length)) {
      await this.sub.batch(keys.map((key) => ({ type: 'del' as const, key })))
      // more than one batch waited, or a deletion was added while this one was out: go on
      this.waiting = keys.length === DEFAULT_DELETION_BATCH || this.added !== generation
      return true
    }
    const why = answers.map((a) => (a.status === 'rejected' ? String(a.reason?.message ?? a.reason) : 'ok')).join('; ')
    log('deleting %d delivered secret envelopes of %s: %d of %d owners confirmed (%s); retrying', keys.length, mailbox, confirmed, owners.length, why)
    return false
  }
}
