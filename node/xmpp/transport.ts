/**
 * What a client connection runs over. A `Connection` (connection.ts) speaks XMPP — features, SASL,
 * binding, stanzas — and leaves framing to its transport: a TCP socket with one long `<stream:stream>`
 * document and STARTTLS (here), or a WebSocket with one element per message (RFC 7395, websocket.ts).
 * Both parse what they read with the same bounded parser (xml-stream.ts) and report the same events.
 */

import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { TLSSocket, type SecureContext } from 'node:tls'
import type { Element } from '@xmpp/xml'
import { StreamError } from './errors.js'
import { STREAM_TAG, XmlStream, type XmlStreamLimits } from './xml-stream.js'
import { serialize } from './xml-out.js'
import { NS_CLIENT, NS_STREAMS } from './ns.js'

/** What a transport reports to its connection. */
export interface TransportEvents {
  /** the client opened (or restarted) the stream; the framing's namespaces are checked, `to` and `version` are not */
  open: (attrs: Record<string, string>) => void
  /** one complete top-level element */
  element: (el: Element) => void
  /** the client closed the stream */
  close: () => void
  /** the client broke the framing or a limit: send the error and close */
  error: (err: StreamError) => void
  /** the connection is gone (closed by either side, or broken) */
  gone: () => void
}

/** One client connection's framing and socket. */
export interface Transport {
  /** `tcp` or `websocket`, for the operator's logs */
  readonly kind: string
  /** the client's `address:port` */
  readonly remote: string
  /** the connection is encrypted end to end with the gateway (TLS after STARTTLS) */
  readonly secure: boolean
  /** STARTTLS can upgrade this connection */
  readonly canStartTls: boolean
  /** Read from now on; events go to `on`. */
  start: (on: TransportEvents) => void
  /** Send the server's stream header (answering the client's). */
  header: () => void
  /** The stream restarts (after SASL success): the next thing the client sends is a new header. */
  restart: () => void
  /** Send an element (or text already serialised). */
  send: (el: Element | string) => void
  /** Send the stream error if any, close the stream, and the connection soon after. */
  end: (err?: StreamError) => void
  /** Drop the connection without a word (its stream was handed to another). */
  destroy: () => void
  /** Upgrade to TLS (STARTTLS, after `<proceed/>`); the stream restarts. */
  startTls?: (ctx: SecureContext) => void
}

/** ms a closed stream waits for the client to close its side before the socket is destroyed. */
export const CLOSE_GRACE_MS = 2000

/** XMPP over TCP (RFC 6120): one `<stream:stream>` document each way, STARTTLS, whitespace keepalives. */
export class TcpTransport implements Transport {
  readonly kind = 'tcp'
  private socket: Socket
  private stream?: XmlStream
  private on?: TransportEvents
  private headerSent = false
  private tls = false

  constructor (socket: Socket, private readonly domain: string, private readonly limits: XmlStreamLimits) {
    this.socket = socket
  }

  get remote (): string { return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? 0}` }
  get secure (): boolean { return this.tls }
  get canStartTls (): boolean { return !this.tls }

  start (on: TransportEvents): void {
    this.on = on
    this.listen(this.socket)
  }

  header (): void {
    this.headerSent = true
    const id = randomBytes(8).toString('hex')
    this.socket.write(`<?xml version='1.0'?><${STREAM_TAG} xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}' id='${id}' ` +
      `from='${this.domain}' version='1.0' xml:lang='en'>`)
  }

  restart (): void {
    this.stream = this.newStream()
  }

  send (el: Element | string): void {
    this.socket.write(typeof el === 'string' ? el : serialize(el))
  }

  end (err?: StreamError): void {
    // a stream error belongs inside a stream: one that comes before ours was sent gets a header first
    if (err != null && !this.headerSent) this.header()
    if (err != null) this.send(err.toElement())
    this.send(`</${STREAM_TAG}>`)
    this.socket.end()
    setTimeout(() => { this.socket.destroy() }, CLOSE_GRACE_MS).unref()
  }

  destroy (): void { this.socket.destroy() }

  startTls (ctx: SecureContext): void {
    // the plaintext parser ends here: nothing it still holds or is still to read reaches the TLS stream
    this.stream = undefined
    const raw = this.socket
    raw.removeAllListeners('data')
    raw.removeAllListeners('close')
    raw.removeAllListeners('error')
    const tls = new TLSSocket(raw, { isServer: true, secureContext: ctx })
    this.socket = tls
    this.tls = true
    this.headerSent = false
    this.listen(tls)
  }

  private listen (socket: Socket): void {
    this.stream = this.newStream()
    socket.on('data', (chunk: Buffer) => { this.stream?.write(chunk) })
    socket.on('error', () => { socket.destroy() })
    socket.on('close', () => { if (this.socket === socket) this.on?.gone() })
  }

  private newStream (): XmlStream {
    const on = this.on as TransportEvents
    this.headerSent = false
    return new XmlStream({
      open: (attrs) => {
        if (attrs['xmlns:stream'] !== NS_STREAMS) on.error(new StreamError('invalid-namespace', `the stream namespace must be ${NS_STREAMS}`))
        else if ((attrs.xmlns ?? NS_CLIENT) !== NS_CLIENT) on.error(new StreamError('invalid-namespace', `this is a client-to-server port: ${NS_CLIENT}`))
        else on.open(attrs)
      },
      stanza: (el) => { on.element(el) },
      close: () => { on.close() },
      error: (err) => { on.error(err) }
    }, this.limits)
  }
}
