/**
 * Delivery and read receipts. A receipt is a signed RECEIPT envelope to the original sender listing the
 * ids it covers; it is stored in the sender's mailbox (so an offline sender still sees its messages
 * delivered when it comes back) and published live. Receipts are coalesced: everything acknowledged to
 * one sender within `flushMs` travels in one envelope, so a busy conversation costs a receipt per
 * batch, not per message.
 */

import { logger } from '@libp2p/logger'
import { Envelope } from '../../protocol/envelope.js'
import { Receipt } from '../../protocol/pb/chat.js'
import type { Outbox, SessionState, Signer } from './ports.js'

const log = logger('chorus:receipts')

/** Ids per receipt envelope at most (the decoder's bound too). */
export const MAX_RECEIPT_IDS = 512

/** How long acknowledgements wait to be coalesced. @default 50 */
export const DEFAULT_RECEIPT_FLUSH_MS = 50

type Status = 'delivered' | 'read'

/** What receipts use of the session (ports.ts): sign as the user, store and publish, stop on close. */
export interface ReceiptsComponents {
  signer: Pick<Signer, 'userId' | 'sign'>
  outbox: Pick<Outbox, 'send'>
  session: SessionState
}

/** Receipt settings. */
export interface ReceiptsInit {
  /** how long acknowledgements wait to be coalesced @default DEFAULT_RECEIPT_FLUSH_MS */
  flushMs?: number
}

export class Receipts {
  private readonly queue = new Map<string, { to: string, status: Status, room: string, ids: Uint8Array[] }>()
  private timer?: NodeJS.Timeout
  private flushing = Promise.resolve()

  private readonly flushMs: number

  constructor (private readonly c: ReceiptsComponents, init: ReceiptsInit = {}) {
    this.flushMs = init.flushMs ?? DEFAULT_RECEIPT_FLUSH_MS
  }

  /** Acknowledge envelope `id` (raw 16 bytes) from user `to`. */
  ack (to: string, status: Status, id: Uint8Array, room = ''): void {
    if (to === this.c.signer.userId || this.c.session.closed) return
    const k = `${to}|${status}|${room}`
    let q = this.queue.get(k)
    if (q == null) { q = { to, status, room, ids: [] }; this.queue.set(k, q) }
    q.ids.push(id)
    if (q.ids.length >= MAX_RECEIPT_IDS) { void this.flush(); return }
    this.timer ??= setTimeout(() => { void this.flush() }, this.flushMs)
  }

  /** Send everything queued now. */
  async flush (): Promise<void> {
    if (this.timer != null) { clearTimeout(this.timer); this.timer = undefined }
    const batches = [...this.queue.values()]
    this.queue.clear()
    this.flushing = this.flushing.then(async () => {
      await Promise.all(batches.map(async (b) => {
        for (let i = 0; i < b.ids.length; i += MAX_RECEIPT_IDS) {
          const body = Receipt.encode({
            status: b.status === 'read' ? Receipt.Status.READ : Receipt.Status.DELIVERED,
            ids: b.ids.slice(i, i + MAX_RECEIPT_IDS).map((id) => new Uint8Array(id)),
            room: b.room
          })
          const env = this.c.signer.sign(Envelope.Kind.RECEIPT, b.to, body)
          try {
            await this.c.outbox.send(env)
          } catch (err: any) {
            // the live copy may still have made it; a lost receipt is a status that stays "sent"
            log('receipt to %s not stored: %s', b.to, err.message)
          }
        }
      }))
    })
    return this.flushing
  }

  /** Flush and stop. */
  async close (): Promise<void> {
    await this.flush()
  }
}

/** Decode a receipt body within its bounds; `undefined` when it is malformed. */
export function decodeReceipt (body: Uint8Array): Receipt | undefined {
  try {
    const r = Receipt.decode(body, { limits: { ids: MAX_RECEIPT_IDS } })
    if (r.ids.some((id) => id.byteLength !== 16) || r.room.length > 80) return undefined
    return r
  } catch {
    return undefined
  }
}
