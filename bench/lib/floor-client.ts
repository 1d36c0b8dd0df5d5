/**
 * A client process of the `floor` scenario: it holds a pool of envelopes signed beforehand (Chorus's own
 * `signEnvelope`, so the bytes are those a Chorus client sends) and sends each as one frame on its open
 * stream to the primary owner, timing send → acknowledgement. Signing is not part of the floor (a client
 * signs before it sends, whatever the server side costs); what it costs is measured once and reported.
 */

import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import {
  Envelope, SenderKeyCache, decodeEnvelope, generateIdentity, signEnvelope, userIdOf, verifyEnvelope
} from '../../protocol/envelope.js'
import { sleep, wallClock } from './clock.js'
import type { FloorClientInfo, FloorCommands, FloorLoadReport } from './floor-protocol.js'
import { readSeq, seqHeader, type FrameLink } from './floor-wire.js'

/** How long a load waits for its last acknowledgements after the sending stops. */
const ACK_WAIT_MS = 10_000

/** `pool` envelopes of `size` body bytes, signed by one fresh identity, encoded; and what that cost. */
export function signPool (pool: number, size: number): { envelopes: Uint8Array[], info: FloorClientInfo } {
  const identity = generateIdentity()
  const recipient = userIdOf(generateIdentity().publicKey)
  const t0 = performance.now()
  const envelopes: Uint8Array[] = []
  for (let i = 0; i < pool; i++) {
    const env = signEnvelope({
      kind: Envelope.Kind.CHAT,
      recipient,
      body: randomBytes(size),
      timestamp: BigInt(Date.now()) * 1000n + BigInt(i),
      senderHandle: 'alice'
    }, identity)
    envelopes.push(Envelope.encode(env))
  }
  const t1 = performance.now()
  const keys = new SenderKeyCache()
  for (const bytes of envelopes) verifyEnvelope(decodeEnvelope(bytes), keys)
  const t2 = performance.now()
  return {
    envelopes,
    info: { envelopeBytes: envelopes[0]?.byteLength ?? 0, signMs: (t1 - t0) / pool, verifyMs: (t2 - t1) / pool }
  }
}

/** One client's sending side over its link to the primary. */
export class FloorClient {
  private link?: FrameLink
  private nextSeq = 0
  private nextEnvelope = 0
  /** send time of each unacknowledged frame, by sequence number */
  private readonly inFlight = new Map<number, number>()
  private report?: FloorLoadReport
  private onAck?: () => void

  constructor (private readonly envelopes: readonly Uint8Array[]) {
    if (envelopes.length === 0) throw new RangeError('a floor client needs at least one envelope')
  }

  /** The stream to the primary is open. */
  connect (link: FrameLink): void {
    this.link = link
  }

  /** An acknowledgement from the primary. */
  onFrame (_from: FrameLink, frame: Uint8Array): void {
    const seq = readSeq(frame)
    const sentAt = this.inFlight.get(seq)
    if (sentAt == null || this.report == null) return
    this.inFlight.delete(seq)
    this.report.acked++
    this.report.latenciesMs.push(wallClock() - sentAt)
    this.onAck?.()
  }

  /** Send for `cmd.ms`: `window` in flight, or `rate` a second; then wait for the acknowledgements. */
  async load (cmd: FloorCommands['floorLoad']): Promise<FloorLoadReport> {
    if (this.link == null) throw new Error('the floor client is not linked to a primary')
    if (this.report != null) throw new Error('a floor load is already running')
    const report: FloorLoadReport = { acked: 0, unacked: 0, startedAt: wallClock(), endedAt: 0, latenciesMs: [] }
    this.report = report
    const endAt = report.startedAt + cmd.ms
    try {
      if (cmd.mode === 'saturate') await this.saturate(endAt, Math.max(1, cmd.window))
      else await this.paced(endAt, cmd.rate)
      const deadline = Date.now() + ACK_WAIT_MS
      while (this.inFlight.size > 0 && Date.now() < deadline && this.link?.closed !== true) await sleep(2)
      report.endedAt = wallClock()
      report.unacked = this.inFlight.size
      return report
    } finally {
      this.inFlight.clear()
      this.report = undefined
      this.onAck = undefined
    }
  }

  private sendOne (): void {
    const seq = this.nextSeq
    this.nextSeq = (this.nextSeq + 1) >>> 0
    const envelope = this.envelopes[this.nextEnvelope]
    this.nextEnvelope = (this.nextEnvelope + 1) % this.envelopes.length
    this.inFlight.set(seq, wallClock())
    this.link?.send(seqHeader(seq), envelope)
  }

  /** Keep `window` sends in flight until `endAt`: each acknowledgement lets the next one go. */
  private async saturate (endAt: number, window: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.onAck = () => {
        if (wallClock() < endAt) this.sendOne()
        else if (this.inFlight.size === 0) resolve()
      }
      for (let i = 0; i < window; i++) this.sendOne()
      // the link may fail with sends in flight: stop waiting at the end of the phase regardless
      timer = setTimeout(resolve, endAt - wallClock() + ACK_WAIT_MS)
    })
    clearTimeout(timer)
  }

  /** One send every 1000 / `rate` ms until `endAt`; sends that fell behind go at once. */
  private async paced (endAt: number, rate: number): Promise<void> {
    const gapMs = 1000 / rate
    const t0 = wallClock()
    let issued = 0
    while (wallClock() < endAt) {
      this.sendOne()
      issued++
      const wait = t0 + issued * gapMs - wallClock()
      if (wait > 0) await sleep(wait)
    }
  }
}
