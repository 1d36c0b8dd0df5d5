/**
 * Jabber clients for the gateway tests: xmpp.js (`@xmpp/client`, a third-party XMPP library) connected
 * over TCP with STARTTLS or over a WebSocket (RFC 7395), and raw TCP and WebSocket connections for what no
 * well-behaved library sends.
 *
 * The gateways of these tests present self-signed certificates, so certificate checks are off while a
 * test file runs (`trustSelfSigned`), as a Jabber client is told to accept a certificate it was shown.
 * A `JabberClients` per test file keeps every connection it opened and closes them all in `after`; the
 * stanza helpers below (stream errors, error conditions, Multi-User Chat status codes) are what the
 * gateway tests assert on.
 */

import { strict as assert } from 'node:assert'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { client, xml, type Client } from '@xmpp/client'
import type { Element } from '@xmpp/xml'
import { WebSocket as WsClient } from 'ws'
import { scaled, waitFor } from './wait.js'

export const DOMAIN = 'chorus.localhost'
export const PASSWORD = 'correct horse battery staple'
/** The gateway's WebSocket path on the node's HTTP listener. */
export const WEBSOCKET_PATH = '/xmpp-websocket'
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing'
/** The gateway's Multi-User Chat service (XEP-0045). */
export const MUC_SERVICE = `conference.${DOMAIN}`
export const NS_MUC = 'http://jabber.org/protocol/muc'
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user'

/**
 * xmpp.js opens WebSockets with the global `WebSocket`, which Node.js has from version 22 on; on older
 * ones the `ws` package's client (the same interface) stands in.
 */
function ensureWebSocket (): void {
  const g = globalThis as { WebSocket?: unknown }
  g.WebSocket ??= WsClient
}

/** Accept self-signed certificates until the returned function is called. */
export function trustSelfSigned (): () => void {
  const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
  return () => {
    if (before == null) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before
  }
}

/** A connected xmpp.js client and every stanza it received. */
export interface JabberClient {
  xmpp: Client
  jid: string
  stanzas: Element[]
  /** Wait for a stanza matching `pred` (seen already or still to come). */
  next: (what: string, pred: (el: Element) => boolean, timeoutMs?: number) => Promise<Element>
  /** Send and wait for the iq result (throws on an error reply). */
  iq: (el: Element) => Promise<Element>
  stop: () => Promise<void>
}

export interface ConnectOptions {
  /** register the account in band (XEP-0077) before logging in */
  register?: boolean
  resource?: string
  password?: string
  /** keep xmpp.js's reconnect (off by default: a test stops its clients for good) */
  reconnect?: boolean
  /** connect over a WebSocket: `address` is then the node's HTTP listener (`host:port`) */
  websocket?: boolean
}

/**
 * Connect `username` to the gateway at `address` (`host:port`) with xmpp.js: its XMPP port, or with
 * `websocket` the node's HTTP listener.
 */
export async function jabber (address: string, username: string, o: ConnectOptions = {}): Promise<JabberClient> {
  const password = o.password ?? PASSWORD
  const stanzas: Element[] = []
  // registration happens on the first connection only (a reconnect logs in)
  let registered = false
  if (o.websocket === true) ensureWebSocket()
  const xmpp = client({
    service: o.websocket === true ? `ws://${address}${WEBSOCKET_PATH}` : `xmpp://${address}`,
    domain: DOMAIN,
    resource: o.resource ?? 'test',
    // xmpp.js gives each step of the login 2 s by default; on a loaded test machine registration and the
    // first login (a handle claim at the quorum, a mailbox catch-up) can take longer
    timeout: scaled(20_000),
    credentials: async (authenticate: any, mechanisms: string[]) => {
      if (o.register === true && !registered) {
        registered = true
        await xmpp.iqCaller.request(
          xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:register' }, xml('username', {}, username), xml('password', {}, password))),
          scaled(30_000)
        )
      }
      await authenticate({ username, password }, mechanisms[0])
    }
  })
  xmpp.on('stanza', (el: Element) => { stanzas.push(el) })
  xmpp.on('error', () => {})
  if (process.env.CHORUS_TEST_XMPP_DEBUG != null) {
    // every element both ways and the connection's status changes, on stderr
    const tag = `${username}/${o.resource ?? 'test'}`
    xmpp.on('send' as 'stanza', (el: Element) => { process.stderr.write(`${tag} >> ${String(el).slice(0, 600)}\n`) })
    xmpp.on('element' as 'stanza', (el: Element) => { process.stderr.write(`${tag} << ${String(el).slice(0, 600)}\n`) })
    xmpp.on('status' as 'stanza', (st: unknown) => { process.stderr.write(`${tag} status ${String(st)}\n`) })
  }
  if (o.reconnect !== true) xmpp.reconnect.stop()
  await xmpp.start()
  const next = async (what: string, pred: (el: Element) => boolean, timeoutMs = scaled(20_000)): Promise<Element> => {
    return await waitFor(`${username} to receive ${what}`, () => stanzas.find(pred), { timeoutMs, intervalMs: 20 }) as Element
  }
  return {
    xmpp,
    jid: String(xmpp.jid),
    stanzas,
    next,
    iq: async (el) => await xmpp.iqCaller.request(el, scaled(20_000)),
    stop: async () => { xmpp.reconnect.stop(); await xmpp.stop().catch(() => {}) }
  }
}

/**
 * Cut a client's connection under it, with no stream close (as a network failure does): xmpp.js then
 * reconnects, and resumes the stream if stream management is on.
 */
export function dropConnection (c: JabberClient): void {
  const socket = c.xmpp.socket
  if (socket == null) throw new Error(`${c.jid} has no connection to drop`)
  if ('url' in socket) {
    // a WebSocket: `ws`'s client ends it without a closing handshake; the global one can only close it
    if (socket.socket?.terminate != null) socket.socket.terminate()
    else socket.socket?.close()
  } else if ('destroy' in socket) {
    socket.destroy()
  } else {
    socket.socket?.destroy()
  }
}

/** A body of a chat message from `from` (a bare JID), if `el` is one. */
export function chatFrom (el: Element, from: string): string | undefined {
  if (el.name !== 'message' || String(el.attrs.from ?? '').split('/')[0] !== from) return undefined
  return el.getChildText('body') ?? undefined
}

/**
 * For `assert.rejects`: the login (or registration) failed with SASL or stanza error `condition`, as
 * xmpp.js reports it (the condition, or failing that its message).
 */
export function failedWith (condition: string): (err: any) => boolean {
  return (err) => err.condition === condition || new RegExp(condition).test(String(err.message))
}

/** A stream error with `condition`, as the gateway writes it on a TCP stream. */
export function streamError (condition: string): RegExp {
  return new RegExp(`<stream:error><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>`)
}

/** The defined condition of an error stanza's `<error/>` (its first child other than `<text/>`). */
export function errorCondition (el: Element): string | undefined {
  return el.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name
}

/** The stanzas `c` got of type error with `condition` (e.g. the pings a flood had refused). */
export function errorsWith (c: JabberClient, condition: string): Element[] {
  return c.stanzas.filter((el) => el.attrs.type === 'error' && el.getChild('error')?.getChild(condition) != null)
}

/** Send `count` pings at once (ids f0, f1, …) and wait for the answer to the last one. */
export async function floodWithPings (c: JabberClient, count: number, timeoutMs = scaled(30_000)): Promise<void> {
  const pings = Array.from({ length: count }, (_, i) => xml('iq', { type: 'get', id: `f${i}`, to: DOMAIN }, xml('ping', { xmlns: 'urn:xmpp:ping' })))
  await Promise.all(pings.map(async (p) => { await c.xmpp.send(p) }))
  await c.next('the last ping\'s answer', (el) => el.attrs.id === `f${count - 1}`, timeoutMs).catch((err) => {
    throw new Error(`${String(err.message)}; got ${c.stanzas.length}: ${c.stanzas.slice(-3).map(String).join(' ')}`)
  })
}

/** The status codes of a Multi-User Chat presence or message (110: this is you, 201: room created …). */
export function mucStatus (el: Element): string[] {
  return el.getChild('x', NS_MUC_USER)?.getChildren('status').map((s) => String(s.attrs.code)) ?? []
}

/** The `<item/>` of a Multi-User Chat presence: affiliation, role, jid, nick. */
export function mucItem (el: Element): Record<string, string> {
  return (el.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs ?? {}) as Record<string, string>
}

/** `who` joins `room` (a name or a room id) as `nick`: its own presence there (status 110), or the error presence. */
export async function joinRoom (who: JabberClient, room: string, nick: string): Promise<Element> {
  await who.xmpp.send(xml('presence', { to: `${room}@${MUC_SERVICE}/${nick}` }, xml('x', { xmlns: NS_MUC })))
  const ownPresence = (el: Element): boolean =>
    el.name === 'presence' && String(el.attrs.from).startsWith(`${room}@${MUC_SERVICE}/`) &&
    (mucStatus(el).includes('110') || el.attrs.type === 'error')
  return await who.next(`${nick}'s own presence in ${room}`, ownPresence)
}

/** Send `el`, an iq that must fail: its error condition. */
export async function iqRefusal (who: JabberClient, el: Element): Promise<string | undefined> {
  const err = await who.iq(el).then(() => undefined, (e: { condition?: string, element?: Element }) => e)
  assert.ok(err != null, 'the iq is refused')
  return err.condition ?? (err.element == null ? undefined : errorCondition(err.element))
}

/** A raw TCP connection to a gateway, for malformed input: send text, read what comes back. */
export class RawXmpp {
  socket: Socket
  private text = ''
  closed = false

  private constructor (socket: Socket) {
    this.socket = socket
    this.attach(socket)
  }

  private attach (socket: Socket): void {
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => { this.text += d })
    socket.on('close', () => { this.closed = true })
    socket.on('error', () => {})
  }

  /**
   * STARTTLS (the gateway's certificate is self-signed: not checked), then a new stream over TLS.
   * `inject` is written in the same write as `<starttls/>`, in plaintext (what a man in the middle adds).
   */
  async startTls (inject = ''): Promise<void> {
    this.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>${inject}`)
    await this.until('proceed', /<proceed xmlns="urn:ietf:params:xml:ns:xmpp-tls"\/>/)
    const raw = this.socket
    raw.removeAllListeners('data')
    raw.removeAllListeners('close')
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: DOMAIN })
    await new Promise<void>((resolve, reject) => { secure.once('secureConnect', resolve); secure.once('error', reject) })
    this.socket = secure
    this.text = ''
    this.attach(secure)
    await this.header()
  }

  /** Connect to `address` (`host:port`), from `localAddress` if given (another loopback address: another client). */
  static async open (address: string, localAddress?: string): Promise<RawXmpp> {
    const [host, port] = address.split(':')
    const socket = connect({ port: Number(port), host, localAddress })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return new RawXmpp(socket)
  }

  /** Open a stream to the gateway's domain and wait for its features. */
  async header (): Promise<void> {
    this.send(`<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`)
    await this.until('stream features', /<\/stream:features>/)
  }

  send (s: string | Buffer): void { this.socket.write(s) }

  get received (): string { return this.text }

  /** Wait until what came back matches `re`. */
  async until (what: string, re: RegExp, timeoutMs = scaled(10_000)): Promise<RegExpMatchArray> {
    return await waitFor(`the gateway to send ${what}`, () => this.text.match(re) ?? undefined, {
      timeoutMs,
      intervalMs: 10
    }) as RegExpMatchArray
  }

  /** Wait until the gateway has closed the connection. */
  async closedByServer (timeoutMs = scaled(10_000)): Promise<void> {
    await waitFor('the gateway to close the connection', () => this.closed, { timeoutMs, intervalMs: 10 })
  }

  destroy (): void { this.socket.destroy() }
}

/** A raw WebSocket to a gateway (subprotocol `xmpp`), for malformed input: each message sent and received. */
export class RawXmppWebSocket {
  readonly messages: string[] = []
  closed = false
  /** the WebSocket close code, once closed */
  code?: number

  private constructor (readonly ws: WsClient) {
    ws.on('message', (data, isBinary) => { this.messages.push(isBinary ? '<binary>' : String(data)) })
    ws.on('close', (code) => { this.closed = true; this.code = code })
    ws.on('error', () => {})
  }

  /** Connect to `http://address/xmpp-websocket` asking for `protocols` (the gateway wants `xmpp`). */
  static async open (address: string, protocols: string[] = ['xmpp']): Promise<RawXmppWebSocket> {
    const ws = new WsClient(`ws://${address}${WEBSOCKET_PATH}`, protocols)
    // listening from the start: what the gateway sends at once may come in the same read as the upgrade
    const raw = new RawXmppWebSocket(ws)
    await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    return raw
  }

  /** Open the stream (RFC 7395 `<open/>`) and wait for the features. */
  async header (): Promise<void> {
    this.send(`<open xmlns='${NS_FRAMING}' to='${DOMAIN}' version='1.0'/>`)
    await this.until('stream features', /<\/stream:features>/)
  }

  send (message: string | Buffer): void { this.ws.send(message) }

  /** Everything received, one message a line. */
  get received (): string { return this.messages.join('\n') }

  /** Wait until what came back matches `re`. */
  async until (what: string, re: RegExp, timeoutMs = scaled(10_000)): Promise<RegExpMatchArray> {
    return await waitFor(`the gateway to send ${what}`, () => this.received.match(re) ?? undefined, {
      timeoutMs,
      intervalMs: 10
    }) as RegExpMatchArray
  }

  /** Wait until the gateway has closed the WebSocket. */
  async closedByServer (timeoutMs = scaled(10_000)): Promise<void> {
    await waitFor('the gateway to close the WebSocket', () => this.closed, { timeoutMs, intervalMs: 10 })
  }

  destroy (): void { this.ws.terminate() }
}

/** The Jabber connections of one test file: `cleanup()` (from `after`) closes every one still open. */
export class JabberClients {
  private readonly clients: JabberClient[] = []
  private readonly raws: Array<{ destroy: () => void }> = []

  /** `jabber(address, user, o)`, closed at cleanup. */
  async connect (address: string, user: string, o: ConnectOptions = {}): Promise<JabberClient> {
    const c = await jabber(address, user, o)
    this.clients.push(c)
    return c
  }

  /** Every client connected and not yet cleaned up, in the order they connected. */
  get connected (): readonly JabberClient[] {
    return this.clients
  }

  /** `RawXmpp.open(address, localAddress)`, destroyed at cleanup. */
  async raw (address: string, localAddress?: string): Promise<RawXmpp> {
    const r = await RawXmpp.open(address, localAddress)
    this.raws.push(r)
    return r
  }

  /** `RawXmppWebSocket.open(address, protocols)`, destroyed at cleanup. */
  async rawWebSocket (address: string, protocols?: string[]): Promise<RawXmppWebSocket> {
    const r = await RawXmppWebSocket.open(address, protocols)
    this.raws.push(r)
    return r
  }

  /** Destroy the raw connections opened so far (from `afterEach`, when no test's sockets may outlive it). */
  destroyRaws (): void {
    for (const r of this.raws.splice(0)) r.destroy()
  }

  async cleanup (): Promise<void> {
    this.destroyRaws()
    await Promise.all(this.clients.splice(0).map(async (c) => { await c.stop() }))
  }
}
