/**
 * The client's ids of the messages an account sent asking a delivery receipt (XEP-0184) or a displayed
 * marker (XEP-0333), by envelope id. The router enters a message when its envelope is signed, before
 * the live copy leaves the node, so that a receipt coming back before the send is acknowledged at the
 * owners finds its entry. Each status asked is answered once: a message is "delivered" once by each
 * session of its recipient (a Jabber user on two gateways, a user on two devices), and the client is
 * told once.
 */

import type { ReceiptEvent } from '../session/events.js'
import { MAX_TRACKED } from './stanza-util.js'

/** A Chorus receipt's status: delivered → XEP-0184 `<received>`, read → XEP-0333 `<displayed>`. */
export type ReceiptStatus = ReceiptEvent['status']

interface Asked {
  clientId: string
  /** the statuses the client asked for */
  asked: ReadonlySet<ReceiptStatus>
  /** the statuses it has been told */
  told: Set<ReceiptStatus>
}

export class ReceiptMap {
  /** kept after every status was told, so that a later copy of a receipt is known for one */
  private readonly asked = new Map<string, Asked>()
  /** receipts dropped because their status had been told already */
  duplicates = 0

  /** @param max entries kept at most (the oldest go first) @default MAX_TRACKED */
  constructor (private readonly max = MAX_TRACKED) {}

  /** The message with envelope id `envelopeId` was sent as `clientId`, asking for `statuses`. */
  ask (envelopeId: string, clientId: string, statuses: ReceiptStatus[]): void {
    if (statuses.length === 0) return
    this.asked.set(envelopeId, { clientId, asked: new Set(statuses), told: new Set() })
    if (this.asked.size > this.max) this.asked.delete(this.asked.keys().next().value as string)
  }

  /** The send failed: nothing of it is to be told. */
  forget (envelopeId: string): void {
    this.asked.delete(envelopeId)
  }

  /**
   * The client's id under which to tell `status` of `envelopeId`: the first time it comes, if the client
   * asked for it; `undefined` otherwise (not asked, or told already).
   */
  take (envelopeId: string, status: ReceiptStatus): string | undefined {
    const a = this.asked.get(envelopeId)
    if (a == null || !a.asked.has(status)) return undefined
    if (a.told.has(status)) {
      this.duplicates++
      return undefined
    }
    a.told.add(status)
    return a.clientId
  }
}
