/**
 * Stream management (XEP-0198, urn:xmpp:sm:3), the server's half of one resource's stream: it counts
 * the stanzas the client sent (`h` of `<a/>`), numbers and keeps every stanza sent to the client until
 * the client acknowledges it, and asks for acknowledgements as stanzas go out. When the TCP connection
 * drops, the resource stays bound and its stanzas queue here for `resumeSeconds`; a new connection that logs
 * in as the same account and resumes (`<resume previd h/>`) gets what the client had not acknowledged,
 * and carries on. So a flaky connection loses no message: what was sent and not acknowledged is sent
 * again, and what was queued while it was gone follows.
 */

import { randomBytes } from 'node:crypto'
import xml, { type Element } from '@xmpp/xml'
import { NS_SM } from './ns.js'

/** Seconds a dropped stream may be resumed in (announced as `max`). */
export const DEFAULT_RESUME_SECONDS = 120
/** Stanzas kept unacknowledged at most (`xmpp.maxUnacked`); past it the stream is closed (the client does not ack). */
export const DEFAULT_MAX_UNACKED = 5000
/** Unacknowledged stanzas after which the server asks for an ack. */
const ASK_EVERY = 10

export class SmState {
  readonly id = randomBytes(12).toString('base64url')
  /** stanzas handled from the client */
  inbound = 0
  /** stanzas the client acknowledged */
  private acked = 0
  /** sent and not yet acknowledged, oldest first; the first is number `acked + 1` */
  private unacked: Element[] = []
  private sinceAsk = 0

  constructor (readonly resumable: boolean, readonly resumeSeconds: number) {}

  /** `<enabled/>` for the client. */
  enabled (): Element {
    return this.resumable
      ? xml('enabled', { xmlns: NS_SM, id: this.id, resume: 'true', max: String(this.resumeSeconds) })
      : xml('enabled', { xmlns: NS_SM })
  }

  /** A stanza goes out: keep it until acked. Returns `<r/>` to send after it when it is time to ask. */
  outbound (el: Element): Element | undefined {
    this.unacked.push(el)
    if (++this.sinceAsk < ASK_EVERY) return undefined
    this.sinceAsk = 0
    return xml('r', { xmlns: NS_SM })
  }

  get pending (): number { return this.unacked.length }

  /** The client acknowledged `h` stanzas in all. Throws on an `h` beyond what was sent. */
  ack (h: number): void {
    if (!Number.isInteger(h) || h < this.acked || h > this.acked + this.unacked.length) {
      // a count going back, or past what was sent: a broken client
      if (h < this.acked) return
      throw new RangeError(`acknowledged ${h} stanzas, only ${this.acked + this.unacked.length} sent`)
    }
    this.unacked.splice(0, h - this.acked)
    this.acked = h
  }

  /** What to send again after a resume at the client's `h`: every stanza it had not handled. */
  resumeFrom (h: number): Element[] {
    this.ack(h)
    const again = this.unacked
    this.unacked = []
    this.sinceAsk = 0
    return again
  }

  /** Everything never acknowledged (the stream could not be resumed: it goes to the account's next resource). */
  drain (): Element[] {
    const all = this.unacked
    this.unacked = []
    return all
  }
}
