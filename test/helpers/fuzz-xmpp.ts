/**
 * Generated XMPP input, structure-aware: XML elements with hostile names, attributes, entities, CDATA,
 * comments and DOCTYPEs; whole client streams, mutated and cut; SASL PLAIN and SCRAM messages. Shared by
 * the unit fuzz of the gateway's parsers and the end-to-end fuzz against a real gateway socket.
 */

import fc from 'fast-check'
import { PROTOTYPE_NAMES } from './fuzz.js'

/** The XMPP domain the generated stream headers name (test/helpers/xmpp.ts's). */
export const DOMAIN = 'chorus.localhost'

// ---- XML, structure-aware ----------------------------------------------------------------------

/** Element and attribute names: XMPP's, prototype names, and any NCName-ish string. */
export const name = fc.oneof(
  fc.constantFrom('message', 'presence', 'iq', 'body', 'query', 'auth', 'stream:stream', 'stream:features'),
  fc.constantFrom('x', 'a:b:c', 'xmlns', 'xmlns:stream', 'xml:lang'),
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.stringMatching(/^[A-Za-z_][\w.:-]{0,12}$/)
)
/** Attribute values, with entities good and bad. */
export const attrValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('&amp;', '&lt;', '&#x0;', '&#xD800;', '&#65;', '&foo;', '&', '<', '"', "'")
)
/** Character data, entities, CDATA, and what XMPP forbids (comments, PIs, DOCTYPE). */
export const textPiece = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('&amp;', '&#x1F600;', '&#0;', '&nbsp;', '&', ']]>', '\u0000', '\uFFFE', '\uD800'),
  fc.string({ maxLength: 20 }).map((s) => `<![CDATA[${s}]]>`),
  fc.constantFrom('<!-- c -->', '<?php x?>', '<!DOCTYPE x [<!ENTITY e "boom">]>', '<?xml version="1.0"?>')
)

/** An XML element as text: attributes (duplicates, prototype names), children, text, CDATA, entities. */
export const element: fc.Arbitrary<string> = fc.letrec<{ el: string }>((tie) => ({
  el: fc.tuple(name, fc.array(fc.tuple(name, attrValue, fc.constantFrom('"', "'")), { maxLength: 8 }),
    fc.array(fc.oneof({ depthSize: 'small' }, textPiece, tie('el')), { maxLength: 4 }), fc.boolean())
    .map(([n, attrs, children, selfClose]) => {
      const a = attrs.map(([k, v, q]) => ` ${k}=${q}${v}${q}`).join('')
      return selfClose && children.length === 0 ? `<${n}${a}/>` : `<${n}${a}>${children.join('')}</${n}>`
    })
})).el

/** A well-formed client stream header. */
export const HEADER = `<?xml version='1.0'?><stream:stream to='${DOMAIN}' xmlns='jabber:client' ` +
  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

const insertion = fc.oneof(
  fc.constantFrom('<', '>', '&', '/', '"', '</stream:stream>', '<stream:stream>'), fc.string({ maxLength: 4 })
)

/** A client's side of a stream: a header (or not), stanzas, maybe the close tag, then mutated. */
export const streamText: fc.Arbitrary<string> = fc.tuple(
  fc.boolean(), fc.array(fc.oneof(element, textPiece, fc.constant(' ')), { maxLength: 6 }), fc.boolean(),
  fc.array(fc.tuple(fc.nat(), insertion), { maxLength: 3 }), fc.option(fc.nat(), { nil: undefined })
).map(([header, body, close, inserts, cut]) => {
  let s = (header ? HEADER : '') + body.join('') + (close ? '</stream:stream>' : '')
  for (const [at, ins] of inserts) { const i = at % (s.length + 1); s = s.slice(0, i) + ins + s.slice(i) }
  return cut == null ? s : s.slice(0, cut % (s.length + 1))
})

/** `s` as UTF-8 cut into chunks at arbitrary byte offsets (a character may straddle two chunks). */
export const chunked = fc.tuple(streamText, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean())
  .map(([s, cuts, asString]) => {
    if (asString) return { text: s, chunks: [s] as Array<Buffer | string> }
    const b = Buffer.from(s)
    const at = [...new Set(cuts.map((c) => b.length === 0 ? 0 : c % b.length))].sort((x, y) => x - y)
    const chunks: Buffer[] = []
    let from = 0
    for (const c of at) { chunks.push(b.subarray(from, c)); from = c }
    chunks.push(b.subarray(from))
    return { text: s, chunks: chunks as Array<Buffer | string> }
  })

// ---- SASL --------------------------------------------------------------------------------------

/** Pieces of SASL messages: separators, escapes, attribute names. */
export const saslToken = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('=2C', '=3D', '=', ',', 'n=', 'r=', 'c=biws', 'p=', 'm=ext', ...PROTOTYPE_NAMES)
)
/** SCRAM client-first messages, well-formed or not. */
export const clientFirst = fc.oneof(
  fc.tuple(fc.constantFrom('n', 'y', 'p=tls-unique', 'x'), fc.option(saslToken), saslToken, saslToken,
    fc.array(saslToken, { maxLength: 2 }))
    .map(([g, a, n, r, ext]) => `${g},${a == null ? '' : `a=${a}`},n=${n},r=${r}${ext.map((e) => `,${e}`).join('')}`),
  fc.string({ maxLength: 60 })
)
/** SCRAM client-final messages, well-formed or not. */
export const clientFinal = fc.oneof(
  fc.tuple(fc.constantFrom('biws', 'eSws', ''), saslToken, fc.oneof(fc.base64String({ maxLength: 60 }), saslToken),
    fc.array(saslToken, { maxLength: 2 }))
    .map(([c, r, p, ext]) => `c=${c},r=${r}${ext.map((e) => `,${e}`).join('')},p=${p}`),
  fc.string({ maxLength: 80 })
)
/** `s` as UTF-8, or random bytes. */
export const utf8 = (s: fc.Arbitrary<string>): fc.Arbitrary<Buffer> =>
  fc.oneof(s.map((x) => Buffer.from(x)), fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)))
