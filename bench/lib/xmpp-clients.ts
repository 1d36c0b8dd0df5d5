/**
 * The Jabber clients of a benchmark client process: xmpp.js (`@xmpp/client`, the same third-party
 * library the gateway's tests use) connections to any c2s server, Chorus's gateway or Prosody alike.
 * The process registers accounts in band, logs them in and keeps them connected, then runs load phases
 * between pairs of its own accounts: a pair's sender and receiver live in this process, so the receiver
 * times each message against the send time on the same clock, and the sender knows how many of its
 * messages are still in flight (XMPP has no delivery acknowledgement without extensions).
 */

import xml, { type Element } from '@xmpp/xml'
import type { XmppAccount, XmppLoadCommand, XmppLoadReport, XmppOpenReport } from './agent-protocol.js'
import { sleep, wallClock } from './clock.js'
import { decodeTextPayload, encodeTextPayload } from './payload.js'
import { FAST_SCRAM, FastScramSha1 } from './xmpp-scram.js'

const NS_STREAMS = 'http://etherx.jabber.org/streams'
const NS_REGISTER = 'jabber:iq:register'
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas'
/** Bound on one step of a login (xmpp.js defaults to 2 s; a first login on a loaded mesh takes longer). */
const STEP_TIMEOUT_MS = 30_000
/** A message not received this long after it was sent is counted lost (and frees its window slot). */
export const LOSS_TIMEOUT_MS = 10_000
/** How often in-flight messages are checked for loss. */
const SWEEP_MS = 250

/** The part of an xmpp.js client this module uses (`@xmpp/client` ships no types). */
interface XmppJs {
  timeout: number
  socket: { secure?: boolean, setNoDelay?: (on: boolean) => void } | null
  iqCaller: { request: (el: Element, timeoutMs?: number) => Promise<Element> }
  reconnect: { stop: () => void }
  saslFactory: { use: (name: string, mechanism: new () => unknown) => void }
  start: () => Promise<unknown>
  stop: () => Promise<unknown>
  send: (el: Element) => Promise<void>
  on: ((event: 'stanza', fn: (el: Element) => void) => void) & ((event: 'error' | 'connect', fn: () => void) => void)
  prependListener: (event: 'element', fn: (el: Element) => void) => void
}
type ClientFactory = (options: Record<string, unknown>) => XmppJs

/**
 * xmpp.js, loaded on first use: only client processes need it, and it is a dev dependency. The module
 * name is a variable so that the build does not look for its types (the tests declare them for
 * themselves; a second declaration here would clash with theirs when the tests are typechecked).
 */
let factory: Promise<ClientFactory> | undefined
async function xmppJs (): Promise<ClientFactory> {
  const name = '@xmpp/client'
  factory ??= (import(name) as Promise<{ client: ClientFactory }>).then((m) => m.client)
  return await factory
}

/** One connected account. */
interface Connected { account: XmppAccount, xmpp: XmppJs, onStanza?: (el: Element) => void }

/** A pair's state during a phase: messages in flight by sequence number, and its own sequence. */
interface PairState { from: Connected, receiver: Connected, to: string, seq: number, inFlight: Map<number, number> }

/** The xmpp.js clients of one process. */
export class XmppClients {
  private readonly connected = new Map<string, Connected>()

  /** Register every account in band, then log it in once and disconnect. */
  async register (accounts: readonly XmppAccount[], concurrency: number): Promise<XmppOpenReport> {
    return await eachOf(accounts, concurrency, async (a) => {
      const c = await this.open(a, true)
      await c.xmpp.stop().catch(() => {})
    })
  }

  /** Log every account in, bind, send initial presence (a resource without it gets no chat messages). */
  async connect (accounts: readonly XmppAccount[], concurrency: number): Promise<XmppOpenReport> {
    const report = await eachOf(accounts, concurrency, async (a) => {
      const c = await this.open(a, false)
      this.connected.set(a.username, c)
      await c.xmpp.send(xml('presence'))
    })
    report.secure = accounts.filter((a) => this.connected.get(a.username)?.xmpp.socket?.secure === true).length
    return report
  }

  /** Disconnect every client. */
  async close (): Promise<void> {
    const all = [...this.connected.values()]
    this.connected.clear()
    await Promise.all(all.map(async (c) => { await c.xmpp.stop().catch(() => {}) }))
  }

  /**
   * One load phase over `cmd.pairs`; returns once the sending stopped and what was in flight arrived or was given up.
   */
  async load (cmd: XmppLoadCommand): Promise<XmppLoadReport> {
    const pairs = cmd.pairs.map((p): PairState => {
      const from = this.connected.get(p.from)
      const receiver = this.connected.get(p.to)
      if (from == null || receiver == null) throw new Error(`pair ${p.from} → ${p.to} is not connected here`)
      return { from, receiver, to: `${p.to}@${receiver.account.domain}`, seq: 0, inFlight: new Map() }
    })
    const report: XmppLoadReport = {
      sent: 0,
      received: 0,
      receivedInWindow: 0,
      duplicates: 0,
      lost: 0,
      errors: {},
      startedAt: wallClock(),
      endedAt: 0,
      lastAt: 0,
      latenciesMs: []
    }
    const endAt = report.startedAt + cmd.seconds * 1000
    let sending = true
    const send = (p: PairState): void => {
      const seq = p.seq++
      const sentAt = wallClock()
      p.inFlight.set(seq, sentAt)
      report.sent++
      const body = encodeTextPayload({ runId: cmd.runId, seq, sentAt }, cmd.size)
      p.from.xmpp.send(xml('message', { type: 'chat', to: p.to, id: `${cmd.runId}-${seq}` }, xml('body', {}, body))).catch((err: Error) => {
        if (p.inFlight.delete(seq)) countError(report, err.message)
      })
    }
    const refill = (p: PairState): void => {
      if (!sending || cmd.mode !== 'saturate') return
      while (p.inFlight.size < cmd.window) send(p)
    }
    // a receiver's messages, and each sender's bounces (an error stanza carries the id we gave it)
    for (const p of pairs) {
      p.receiver.onStanza = (el) => {
        if (el.name !== 'message' || el.attrs.type === 'error') return
        const header = decodeTextPayload(el.getChildText('body') ?? '')
        if (header == null || header.runId !== cmd.runId) return
        const at = wallClock()
        if (!p.inFlight.delete(header.seq)) { report.duplicates++; return }
        report.received++
        if (at <= endAt) report.receivedInWindow++
        report.lastAt = at
        report.latenciesMs.push(Math.round((at - header.sentAt) * 1000) / 1000)
        refill(p)
      }
      p.from.onStanza = (el) => {
        if (el.name !== 'message' || el.attrs.type !== 'error') return
        const [run, seq] = String(el.attrs.id ?? '').split('-').map(Number)
        if (run !== cmd.runId || !p.inFlight.delete(seq)) return
        countError(report,
          el.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS)?.name ?? 'error')
        refill(p)
      }
    }
    const sweeper = setInterval(() => {
      const before = wallClock() - LOSS_TIMEOUT_MS
      for (const p of pairs) {
        for (const [seq, sentAt] of p.inFlight) if (sentAt < before) { p.inFlight.delete(seq); report.lost++ }
        refill(p)
      }
    }, SWEEP_MS)
    try {
      if (cmd.mode === 'saturate') for (const p of pairs) refill(p)
      else await paced(pairs, cmd.rate, endAt, send)
      while (wallClock() < endAt) await sleep(Math.min(100, endAt - wallClock()))
      sending = false
      report.endedAt = wallClock()
      await drain(pairs)
    } finally {
      sending = false
      clearInterval(sweeper)
      for (const p of pairs) {
        report.lost += p.inFlight.size
        p.inFlight.clear()
        p.from.onStanza = undefined
        p.receiver.onStanza = undefined
      }
    }
    return report
  }

  private async open (account: XmppAccount, register: boolean): Promise<Connected> {
    const client = await xmppJs()
    const [host, port] = account.address.split(':')
    const c: Connected = { account, xmpp: undefined as unknown as XmppJs }
    const xmpp = client({
      service: `xmpp://${host}:${port}`,
      domain: account.domain,
      resource: 'bench',
      credentials: async (
        authenticate: (creds: Record<string, string>, mechanism: string) => Promise<void>,
        mechanisms: string[]
      ) => {
        if (register) {
          const query = xml('query', { xmlns: NS_REGISTER }, xml('username', {}, account.username), xml('password', {}, account.password))
          await xmpp.iqCaller.request(xml('iq', { type: 'set' }, query), STEP_TIMEOUT_MS)
        }
        // SCRAM-SHA-1 (the one SCRAM xmpp.js knows, and both servers offer), natively computed
        const mechanism = mechanisms.includes('SCRAM-SHA-1') ? FAST_SCRAM : mechanisms[0]
        await authenticate({ username: account.username, password: account.password }, mechanism)
      }
    })
    c.xmpp = xmpp
    xmpp.saslFactory.use(FAST_SCRAM, FastScramSha1)
    xmpp.timeout = STEP_TIMEOUT_MS
    xmpp.reconnect.stop()
    xmpp.on('error', () => {})
    xmpp.on('stanza', (el) => { c.onStanza?.(el) })
    // a measuring client adds no delay of its own (Nagle's algorithm would hold back small writes);
    // the TCP socket, before any STARTTLS, is the one TLS runs over too
    xmpp.on('connect', () => { xmpp.socket?.setNoDelay?.(true) })
    if (!account.tls) {
      // xmpp.js takes STARTTLS whenever it is offered: a plaintext run hides the offer from it
      xmpp.prependListener('element', (el) => {
        if (el.is('features', NS_STREAMS)) el.children = el.children.filter((ch) => typeof ch === 'string' || ch.name !== 'starttls')
      })
    } else {
      // the servers' certificates are self-signed: a benchmark client takes what it is shown
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    }
    await xmpp.start()
    return c
  }
}

/** Offer `rate` messages a second, round-robin over the pairs, until `endAt`. */
async function paced (
  pairs: readonly PairState[],
  rate: number,
  endAt: number,
  send: (p: PairState) => void
): Promise<void> {
  const gapMs = 1000 / rate
  const t0 = wallClock()
  let issued = 0
  while (wallClock() < endAt) {
    send(pairs[issued % pairs.length])
    issued++
    const wait = t0 + issued * gapMs - wallClock()
    if (wait > 0) await sleep(wait)
  }
}

/** Wait until every message sent has arrived or been given up (the sweeper gives up after LOSS_TIMEOUT_MS). */
async function drain (pairs: readonly PairState[]): Promise<void> {
  while (pairs.some((p) => p.inFlight.size > 0)) await sleep(50)
}

function countError (report: XmppLoadReport, key: string): void {
  report.errors[key] = (report.errors[key] ?? 0) + 1
}

/** Run `fn` over `items`, `concurrency` at a time; count what failed, by error message. */
async function eachOf<T> (
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>
): Promise<XmppOpenReport> {
  const t0 = wallClock()
  const errors: Record<string, number> = {}
  let next = 0
  let opened = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]
      try {
        await fn(item)
        opened++
      } catch (err: any) {
        const key = String(err?.condition ?? err?.message ?? err).slice(0, 80)
        errors[key] = (errors[key] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker))
  return { opened, failed: items.length - opened, ms: wallClock() - t0, errors, secure: 0 }
}
