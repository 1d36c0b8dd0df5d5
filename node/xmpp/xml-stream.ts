/**
 * One direction of an XMPP stream, parsed as it arrives: the stream header, then one element per
 * top-level stanza. Built on sax in strict mode (a streaming XML parser) and ltx elements (xmpp.js's
 * element type), with the limits a server needs against a broken or hostile client:
 *
 * - a stanza (or the bytes between two stanzas) larger than `maxStanzaBytes` → `policy-violation`;
 * - nesting deeper than `maxDepth`, or more than `maxAttributes` on one element → `policy-violation`;
 * - malformed XML → `not-well-formed`; a DOCTYPE, comment, processing instruction (other than the XML
 *   declaration) or an entity beyond the five predefined ones → `restricted-xml` / `not-well-formed`
 *   (RFC 6120 §11.1: no DTDs, so no entity expansion);
 * - an element outside a stream → `bad-format`.
 *
 * After the first error the parser is dead: the caller sends the stream error and closes.
 * A stream restart (after STARTTLS and SASL) takes a new parser.
 *
 * `parseElement` reads one self-contained element (a WebSocket message, RFC 7395) with the same parser
 * and the same limits.
 */

import { StringDecoder } from 'node:string_decoder'
import sax from 'sax'
import { Element } from '@xmpp/xml'
import { StreamError } from './errors.js'
import { NS_STREAMS } from './ns.js'

export interface XmlStreamLimits {
  /** bytes of one stanza, and of what comes between two stanzas @default 262144 */
  maxStanzaBytes: number
  /** element nesting, the stream element counted @default 32 */
  maxDepth: number
  /** attributes on one element @default 64 */
  maxAttributes: number
}

export const DEFAULT_XML_LIMITS: XmlStreamLimits = { maxStanzaBytes: 256 * 1024, maxDepth: 32, maxAttributes: 64 }

export interface XmlStreamHandlers {
  /** the stream header's attributes (`<stream:stream …>`) */
  open: (attrs: Record<string, string>) => void
  /** one complete top-level element */
  stanza: (el: Element) => void
  /** `</stream:stream>` */
  close: () => void
  /** the first error; nothing is emitted after it */
  error: (err: StreamError) => void
}

export const STREAM_TAG = 'stream:stream'

export class XmlStream {
  private readonly parser = sax.parser(true, { xmlns: false, position: false, trim: false, normalize: false })
  private readonly decoder = new StringDecoder('utf8')
  private readonly stack: Element[] = []
  private bytes = 0
  private opened = false
  private dead = false

  constructor (private readonly on: XmlStreamHandlers, private readonly limits: XmlStreamLimits = DEFAULT_XML_LIMITS) {
    const p = this.parser
    p.onopentag = (tag) => { this.openTag(tag as sax.Tag) }
    p.onclosetag = (name) => { this.closeTag(name) }
    p.ontext = (text) => { this.text(text) }
    p.oncdata = (text) => { this.text(text) }
    p.ondoctype = () => { this.fail(new StreamError('restricted-xml', 'a DOCTYPE is not allowed in XMPP')) }
    p.oncomment = () => { this.fail(new StreamError('restricted-xml', 'comments are not allowed in XMPP')) }
    p.onprocessinginstruction = (pi) => {
      if (pi.name !== 'xml') this.fail(new StreamError('restricted-xml', 'processing instructions are not allowed in XMPP'))
    }
    p.onerror = (err) => { this.fail(new StreamError('not-well-formed', err.message.split('\n')[0])) }
  }

  get failed (): boolean { return this.dead }

  /** An element has begun and not yet ended. */
  get inElement (): boolean { return this.stack.length > 0 }

  /** Feed bytes as they arrive. */
  write (chunk: Buffer | string): void {
    if (this.dead) return
    this.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
    if (this.bytes > this.limits.maxStanzaBytes) {
      this.fail(new StreamError('policy-violation', `a stanza may be at most ${this.limits.maxStanzaBytes} bytes`))
      return
    }
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk)
    try {
      this.parser.write(text)
    } catch (err: any) {
      this.fail(err instanceof StreamError ? err : new StreamError('not-well-formed', String(err?.message ?? err)))
    }
  }

  private openTag (tag: sax.Tag): void {
    if (this.dead) return
    const attrs = tag.attributes as Record<string, string>
    if (Object.keys(attrs).length > this.limits.maxAttributes) {
      this.fail(new StreamError('policy-violation', `an element may carry at most ${this.limits.maxAttributes} attributes`))
      return
    }
    if (!this.opened) {
      if (tag.name !== STREAM_TAG) {
        this.fail(new StreamError('bad-format', `expected <${STREAM_TAG}>, got <${tag.name}>`))
        return
      }
      this.opened = true
      this.bytes = 0
      this.on.open(attrs)
      return
    }
    if (this.stack.length + 2 > this.limits.maxDepth) {
      this.fail(new StreamError('policy-violation', `elements may nest at most ${this.limits.maxDepth} deep`))
      return
    }
    const el = new Element(tag.name, { ...attrs })
    this.stack.at(-1)?.append(el)
    this.stack.push(el)
  }

  private closeTag (name: string): void {
    if (this.dead) return
    if (this.stack.length === 0) {
      if (name === STREAM_TAG) this.on.close()
      return
    }
    const el = this.stack.pop() as Element
    if (this.stack.length === 0) {
      this.bytes = 0
      this.on.stanza(el)
    }
  }

  private text (text: string): void {
    if (this.dead) return
    const top = this.stack.at(-1)
    if (top != null) { top.t(text); return }
    // between stanzas only whitespace (keepalives) may appear
    if (text.trim() !== '') this.fail(new StreamError('bad-format', 'text outside a stanza'))
  }

  private fail (err: StreamError): void {
    if (this.dead) return
    this.dead = true
    this.on.error(err)
  }
}

/** The stream header `parseElement` puts before a message, so that the message parses as a stanza of a stream. */
const FRAME_OPEN = `<${STREAM_TAG} xmlns:stream='${NS_STREAMS}'>`
const FRAME_CLOSE = `</${STREAM_TAG}>`

/**
 * Parse `text` as one XML document of exactly one element, under the limits and rules of `XmlStream` (it
 * is parsed as the only stanza of a stream). Throws `StreamError`: `policy-violation` for a text over
 * `maxStanzaBytes` (before parsing) or past a depth or attribute limit, `restricted-xml` for what XMPP
 * forbids, and `not-well-formed` for broken XML and for anything but one element: none, two, one left
 * open, or text beside it.
 */
export function parseElement (text: string, limits: XmlStreamLimits = DEFAULT_XML_LIMITS): Element {
  if (Buffer.byteLength(text) > limits.maxStanzaBytes) throw new StreamError('policy-violation', `a message may be at most ${limits.maxStanzaBytes} bytes`)
  const notOne = (why: string): StreamError => new StreamError('not-well-formed', `a message is one XML element: ${why}`)
  const found: Element[] = []
  let failure: StreamError | undefined
  let framed = false
  let ended = false
  const stream = new XmlStream({
    open: () => {},
    stanza: (el) => { found.push(el) },
    close: () => {
      // only the closing tag added below ends the frame; one inside the message is a stray end tag
      if (!framed) failure ??= notOne('a stray end tag')
      ended = true
    },
    // outside the frame's one element only text can be bad-format: text beside the element
    error: (err) => { failure ??= err.condition === 'bad-format' ? notOne('text beside the element') : err }
  }, limits)
  stream.write(FRAME_OPEN)
  stream.write(text)
  if (failure == null && stream.inElement) failure = notOne('the element is not closed')
  framed = true
  if (failure == null && !ended) stream.write(FRAME_CLOSE)
  if (failure != null) throw failure
  if (found.length !== 1) throw notOne(`got ${found.length}`)
  return found[0]
}
