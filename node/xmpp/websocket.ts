/**
 * XMPP over WebSocket (RFC 7395), the transport browsers use: the gateway's endpoint at
 * `/xmpp-websocket` on the node's HTTP listener, subprotocol `xmpp`. Each WebSocket text message is
 * exactly one complete element, parsed on its own with the TCP stream's parser and limits
 * (`parseElement`); the stream opens with `<open/>` (again after SASL) and ends with `<close/>`, in the
 * framing namespace. There is no STARTTLS: the HTTP listener has no TLS of its own, so a WebSocket counts
 * as unencrypted (logins only with `allowPlaintext`; in production, a TLS-terminating proxy in front).
 */

import { randomBytes } from 'node:crypto'
import { Element } from '@xmpp/xml'
import { WebSocket, type RawData } from 'ws'
import { StreamError } from './errors.js'
import { NS_CLIENT, NS_FRAMING, NS_STREAMS } from './ns.js'
import { CLOSE_GRACE_MS, type Transport, type TransportEvents } from './transport.js'
import { parseElement, type XmlStreamLimits } from './xml-stream.js'
import { serialize } from './xml-out.js'

/** Where the node's HTTP listener takes XMPP WebSocket upgrades. */
export const XMPP_WEBSOCKET_PATH = '/xmpp-websocket'
/** The WebSocket subprotocol of XMPP (RFC 7395 §3.1); a client must ask for it. */
export const XMPP_SUBPROTOCOL = 'xmpp'

/**
 * What a transport uses of its client's WebSocket (`ws`'s, from the HTTP listener's upgrade): its state,
 * sending, closing with and without the closing handshake, and its events.
 */
export interface ClientWebSocket {
  readonly readyState: number
  send: (data: string) => void
  close: (code: number) => void
  terminate: () => void
  on: ((event: 'message', listener: (data: RawData, isBinary: boolean) => void) => unknown) &
    ((event: 'error' | 'close', listener: () => void) => unknown)
}

/** One client on a WebSocket. */
export class WebSocketTransport implements Transport {
  readonly kind = 'websocket'
  /** the listener has no TLS; what a proxy in front did is not known here */
  readonly secure = false
  readonly canStartTls = false
  private on?: TransportEvents
  /** the next element must be `<open/>` (the stream starts, or restarts after SASL) */
  private expectOpen = true
  private headerSent = false
  private dead = false

  constructor (
    private readonly ws: ClientWebSocket,
    readonly remote: string,
    private readonly domain: string,
    private readonly limits: XmlStreamLimits
  ) {}

  start (on: TransportEvents): void {
    this.on = on
    this.ws.on('message', (data: RawData, isBinary: boolean) => { this.message(data, isBinary) })
    this.ws.on('error', () => { this.ws.terminate() })
    this.ws.on('close', () => { on.gone() })
  }

  header (): void {
    this.headerSent = true
    const id = randomBytes(8).toString('hex')
    this.send(new Element('open', { xmlns: NS_FRAMING, from: this.domain, id, version: '1.0', 'xml:lang': 'en' }))
  }

  restart (): void {
    this.expectOpen = true
    this.headerSent = false
  }

  send (el: Element | string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    this.ws.send(typeof el === 'string' ? el : serialize(framed(el)))
  }

  end (err?: StreamError): void {
    if (err != null && !this.headerSent) this.header()
    if (err != null) this.send(err.toElement())
    this.send(new Element('close', { xmlns: NS_FRAMING }))
    this.ws.close(1000)
    setTimeout(() => { this.ws.terminate() }, CLOSE_GRACE_MS).unref()
  }

  destroy (): void { this.ws.terminate() }

  /** One message: one element, or the stream error that ends the connection. */
  private message (data: RawData, isBinary: boolean): void {
    if (this.dead) return
    const on = this.on as TransportEvents
    try {
      if (isBinary) throw new StreamError('bad-format', 'XMPP over WebSocket is sent in text messages')
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)
      // refused before it is decoded or parsed
      const max = this.limits.maxStanzaBytes
      if (bytes.length > max) throw new StreamError('policy-violation', `a message may be at most ${max} bytes`)
      const text = bytes.toString('utf8')
      // whitespace keepalives are tolerated (RFC 7395 asks for WebSocket pings instead)
      if (text.trim() === '') return
      const el = parseElement(text, this.limits)
      if (el.name === 'open') {
        if (el.attrs.xmlns !== NS_FRAMING) throw new StreamError('invalid-namespace', `<open/> is in ${NS_FRAMING}`)
        if (!this.expectOpen) throw new StreamError('bad-format', 'the stream is open already')
        this.expectOpen = false
        on.open(el.attrs as Record<string, string>)
        return
      }
      if (el.name === 'close' && el.attrs.xmlns === NS_FRAMING) { on.close(); return }
      if (this.expectOpen) throw new StreamError('bad-format', `open the stream first: <open xmlns='${NS_FRAMING}'/>`)
      on.element(el)
    } catch (err) {
      if (!(err instanceof StreamError)) throw err
      this.dead = true
      on.error(err)
    }
  }
}

/**
 * A top-level element as a message of its own: nothing is inherited from a stream header, so the
 * `stream:` prefix is declared on it and a stanza without a namespace is put in `jabber:client`
 * (RFC 7395 §3.3.3). The element itself is not changed: it may be on its way to other connections too.
 */
function framed (el: Element): Element {
  const ns = el.name.startsWith('stream:') ? { 'xmlns:stream': NS_STREAMS } : el.attrs.xmlns == null ? { xmlns: NS_CLIENT } : undefined
  if (ns == null) return el
  const top = new Element(el.name, { ...ns, ...el.attrs })
  top.children = el.children
  return top
}
