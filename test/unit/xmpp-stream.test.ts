/**
 * The gateway's stream parser: stanzas however the bytes are cut, whitespace keepalives between them,
 * and every limit and restriction a hostile client meets, each with its stream error condition. After
 * the first error nothing more is emitted.
 */

import { strict as assert } from 'node:assert'
import type { Element } from '@xmpp/xml'
import { XmlStream, type XmlStreamLimits, DEFAULT_XML_LIMITS } from '../../node/xmpp/xml-stream.js'
import type { StreamError } from '../../node/xmpp/errors.js'

const HEADER = "<?xml version='1.0'?><stream:stream to='chorus.localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

function parse (
  chunks: Array<string | Buffer>,
  limits: Partial<XmlStreamLimits> = {}
): {
  opened: Array<Record<string, string>>
  stanzas: Element[]
  errors: StreamError[]
  closed: number
  order: string[]
} {
  const out = {
    opened: [] as Array<Record<string, string>>,
    stanzas: [] as Element[],
    errors: [] as StreamError[],
    closed: 0,
    order: [] as string[]
  }
  const s = new XmlStream({
    open: (a) => { out.opened.push(a); out.order.push('open') },
    stanza: (el) => { out.stanzas.push(el); out.order.push(el.name) },
    close: () => { out.closed++; out.order.push('close') },
    error: (e) => { out.errors.push(e); out.order.push('error') }
  }, { ...DEFAULT_XML_LIMITS, ...limits })
  for (const c of chunks) s.write(c)
  return out
}

describe('xmpp stream parser (unit)', () => {
  it('emits the header, each stanza whole however the bytes are cut (UTF-8 split too), and the close', () => {
    const text = `${HEADER} <message to='bob@chorus.localhost' type='chat'><body>héllo &amp; 👋</body></message>\n<presence/></stream:stream>`
    const bytes = Buffer.from(text)
    for (const cut of [1, 3, 7, 64, bytes.length]) {
      const chunks: Buffer[] = []
      for (let i = 0; i < bytes.length; i += cut) chunks.push(bytes.subarray(i, i + cut))
      const r = parse(chunks)
      assert.deepEqual(r.errors, [], `cut ${cut}`)
      assert.equal(r.opened[0].to, 'chorus.localhost')
      assert.deepEqual(r.stanzas.map((s) => s.name), ['message', 'presence'])
      assert.equal(r.stanzas[0].getChildText('body'), 'héllo & 👋')
      assert.equal(r.closed, 1)
    }
  })

  const cases: Array<[string, string, string, Partial<XmlStreamLimits>?]> = [
    ['malformed XML', '<message><body>x</mess>', 'not-well-formed'],
    ['an undefined entity (no DTD, no expansion)', '<message><body>&lol9;</body></message>', 'not-well-formed'],
    ['a comment', '<!-- hi --><presence/>', 'restricted-xml'],
    ['a processing instruction', '<?php echo 1 ?>', 'restricted-xml'],
    ['text between stanzas', 'hello<presence/>', 'bad-format'],
    ['a stanza over the size limit', `<message><body>${'x'.repeat(5000)}</body></message>`, 'policy-violation', { maxStanzaBytes: 4096 }],
    ['nesting past the depth limit', `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, 'policy-violation'],
    ['too many attributes', `<message ${Array.from({ length: 70 }, (_, i) => `a${i}='1'`).join(' ')}/>`, 'policy-violation']
  ]
  for (const [what, body, condition, limits] of cases) {
    it(`${what} → ${condition}, and nothing after it`, () => {
      const r = parse([HEADER, body, '<iq/>', '</stream:stream>'], limits)
      assert.equal(r.errors.length, 1)
      assert.equal(r.errors[0].condition, condition)
      assert.equal(r.order.at(-1), 'error', `emitted after the error: ${r.order.join(' ')}`)
    })
  }

  it('refuses a DOCTYPE before the stream, and a first element that is not a stream', () => {
    assert.equal(parse(["<!DOCTYPE x [<!ENTITY a 'b'>]>", HEADER]).errors[0].condition, 'restricted-xml')
    assert.equal(parse(['<message/>']).errors[0].condition, 'bad-format')
  })

  it('whitespace keepalives between stanzas are fine and do not add up to a stanza', () => {
    const r = parse([HEADER, ...Array.from({ length: 100 }, () => ' \n'), '<presence/>'], { maxStanzaBytes: 1024 })
    assert.deepEqual(r.errors, [])
    assert.equal(r.stanzas.length, 1)
  })
})
