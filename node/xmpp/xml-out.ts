/**
 * What the gateway writes: an element as XML 1.0 text that any strict parser takes, whatever its text and
 * attribute values hold. Bodies, subjects, names and statuses come from the mesh, where a string may hold
 * any character; XML 1.0 forbids most C0 controls, lone surrogates, U+FFFE and U+FFFF even as character
 * references, and one of them in a stanza makes a client's parser end the stream (issue 21). So each such
 * character is replaced by U+FFFD, and what XML may carry only escaped (`& < > " '`, and the CR, TAB and
 * LF a parser would normalise away) is escaped.
 */

import type { Element } from '@xmpp/xml'

/** The replacement for a character XML 1.0 cannot carry. */
export const REPLACEMENT = '\uFFFD'

/** Any code point outside XML 1.0's `Char` production (lone surrogates included: the `u` flag sees them). */
const NOT_XML_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' }
const ATTR_ESCAPES: Record<string, string> = {
  ...TEXT_ESCAPES, '"': '&quot;', "'": '&apos;', '\t': '&#x9;', '\n': '&#xA;'
}

/** `s` with every character XML 1.0 forbids replaced by U+FFFD. */
export function xmlChars (s: string): string {
  return s.replace(NOT_XML_CHAR, REPLACEMENT)
}

/** Character data. */
export function escapeText (s: string): string {
  return xmlChars(s).replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c])
}

/** An attribute value, for double quotes (whitespace escaped so that it reads back as it was). */
export function escapeAttr (s: string): string {
  return xmlChars(s).replace(/[&<>"'\r\n\t]/g, (c) => ATTR_ESCAPES[c])
}

/** `el` as XML text. Names are the gateway's own or were parsed by it, so only values are escaped. */
export function serialize (el: Element): string {
  const out: string[] = []
  write(el, out)
  return out.join('')
}

function write (el: Element, out: string[]): void {
  out.push('<', el.name)
  for (const [k, v] of Object.entries(el.attrs)) {
    if (v == null) continue
    out.push(' ', k, '="', escapeAttr(typeof v === 'string' ? v : String(v)), '"')
  }
  if (el.children.length === 0) {
    out.push('/>')
    return
  }
  out.push('>')
  for (const c of el.children) {
    if (typeof c === 'string') out.push(escapeText(c))
    else if (isElement(c)) write(c, out)
    else if (c != null) out.push(escapeText(String(c)))
  }
  out.push('</', el.name, '>')
}

function isElement (c: unknown): c is Element {
  return typeof c === 'object' && c != null && 'name' in c && 'attrs' in c && 'children' in c
}
