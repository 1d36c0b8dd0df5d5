/**
 * Issue 21: what the gateway writes parses with a strict XML 1.0 parser, whatever the strings in it. A
 * body from the mesh may hold any character (a room event's protobuf did: 0x10, 0x16 …); one that XML 1.0
 * forbids, written raw or as a character reference, ends a client's stream. Checked on the bytes the TCP
 * and WebSocket transports hand to their sockets, with sax in strict mode plus XML 1.0's `Char`
 * production (sax lets raw control characters through), over arbitrary strings (fast-check).
 */

import { strict as assert } from 'node:assert'
import { Socket } from 'node:net'
import fc from 'fast-check'
import sax from 'sax'
import xml from '@xmpp/xml'
import { WebSocket } from 'ws'
import { TcpTransport } from '../../node/xmpp/transport.js'
import { WebSocketTransport, type ClientWebSocket } from '../../node/xmpp/websocket.js'
import { fuzz } from '../helpers/fuzz.js'

const LIMITS = { maxStanzaBytes: 262_144, maxDepth: 32, maxAttributes: 64 }
/** XML 1.0 §2.2 `Char`, by code point (lone surrogates are not characters). */
const isXmlChar = (cp: number): boolean => cp === 0x9 || cp === 0xA || cp === 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
  (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF)

/** What a writer may keep of `s`: its XML characters, each other one replaced by U+FFFD. */
const kept = (s: string): string =>
  Array.from(s).map((c) => isXmlChar(c.codePointAt(0) as number) ? c : '\uFFFD').join('')

interface Parsed { body: string, attrs: Record<string, string> }

/** Parse one written element strictly; throws on anything XML 1.0 does not allow. */
function strictParse (text: string): Parsed {
  for (const c of text) {
    const cp = c.codePointAt(0) as number
    if (!isXmlChar(cp)) throw new Error(`U+${cp.toString(16).padStart(4, '0')} is not an XML 1.0 character`)
  }
  for (const ref of text.matchAll(/&#(x[0-9a-fA-F]+|[0-9]+);/g)) {
    const cp = ref[1].startsWith('x') ? parseInt(ref[1].slice(1), 16) : parseInt(ref[1], 10)
    if (!isXmlChar(cp)) throw new Error(`${ref[0]} refers to no XML 1.0 character`)
  }
  const parser = sax.parser(true, { xmlns: false })
  const out: Parsed = { body: '', attrs: {} }
  let inBody = false
  parser.onerror = (err) => { throw err }
  parser.onopentag = (tag) => {
    if (tag.name === 'body') inBody = true
    if (tag.name === 'message') out.attrs = tag.attributes as Record<string, string>
  }
  parser.onclosetag = (name) => { if (name === 'body') inBody = false }
  parser.ontext = (t) => { if (inBody) out.body += t }
  parser.write(text).close()
  return out
}

/** A TCP socket, never connected, that keeps what the transport writes to it. */
class RecordingSocket extends Socket {
  constructor (private readonly record: (s: string) => void) { super() }

  override write (chunk: string | Uint8Array): boolean {
    this.record(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return true
  }
}

/** Each transport's writer, as a function of one element to the text it writes. */
function writers (): Array<[string, (el: ReturnType<typeof xml>) => string]> {
  let written = ''
  const tcp = new TcpTransport(new RecordingSocket((s) => { written += s }), 'chorus.localhost', LIMITS)
  // an open WebSocket that keeps what is sent on it (the transport is never started: no events)
  const ws: ClientWebSocket = {
    readyState: WebSocket.OPEN,
    send: (s) => { written += s },
    close: () => {},
    terminate: () => {},
    on: () => undefined
  }
  const websocket = new WebSocketTransport(ws, '127.0.0.1:1', 'chorus.localhost', LIMITS)
  const take = (send: (el: ReturnType<typeof xml>) => void) => (el: ReturnType<typeof xml>): string => {
    written = ''
    send(el)
    return written
  }
  return [['TCP', take((el) => { tcp.send(el) })], ['WebSocket', take((el) => { websocket.send(el) })]]
}

/** Any string: any code point, and lone surrogates and C0 controls more often than chance gives them. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xFFFF }).map((n) => String.fromCharCode(n)), maxLength: 64 }),
  fc.string({
    unit: fc.constantFrom('\u0000', '\u0010', '\u0016', '\u000c', '\u001d', '\r', '\t', '\n', '&', '<', '"', "'",
      '\uFFFE', '\uD800', 'a'),
    maxLength: 32
  })
)

describe('xmpp gateway output: always well-formed XML 1.0 (unit, fast-check)', () => {
  it('writes the room-state protobuf of issue 21 as XML a strict parser takes', () => {
    const body = '\u0010\u0016\u000croom.avwm7hgw3rrlcim3.state\u001d\u0008\u0001\u0012 ann & ben\'s <room>\u0000'
    for (const [name, write] of writers()) {
      const text = write(xml('message', { type: 'chat', from: 'ann@chorus.localhost' }, xml('body', {}, body)))
      assert.equal(strictParse(text).body, kept(body), name)
    }
  })

  it('every string, in a body and in an attribute, comes out well-formed and otherwise as it was', () => {
    const [[, tcp], [, websocket]] = writers()
    fuzz('xmpp output is XML 1.0', fc.record({ body: anyString, attr: anyString }), 500, ({ body, attr }) => {
      for (const write of [tcp, websocket]) {
        const parsed = strictParse(write(xml('message', { type: 'chat', id: attr }, xml('body', {}, body))))
        assert.equal(parsed.body, kept(body))
        assert.equal(parsed.attrs.id, kept(attr))
      }
    })
  })
})
