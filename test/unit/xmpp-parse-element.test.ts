/**
 * One WebSocket message as one element (RFC 7395): `parseElement` takes exactly one complete element,
 * under the stream parser's limits and rules, and names the stream error of anything else.
 */

import { strict as assert } from 'node:assert'
import { parseElement } from '../../node/xmpp/xml-stream.js'
import { StreamError } from '../../node/xmpp/errors.js'

describe('xmpp WebSocket message parser (unit)', () => {
  it('parses one element with its children, text, entities and CDATA', () => {
    const el = parseElement("<message xmlns='jabber:client' to='bob@chorus.localhost'><body>h&amp;llo 👋 <![CDATA[<b>]]></body></message>")
    assert.equal(el.name, 'message')
    assert.equal(el.attrs.to, 'bob@chorus.localhost')
    assert.equal(el.getChildText('body'), 'h&llo 👋 <b>')
    assert.equal(parseElement("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='chorus.localhost' version='1.0'/>").attrs.version, '1.0')
    assert.equal(parseElement('  <presence/>\n').name, 'presence', 'whitespace around the element is fine')
  })

  const limits = { maxStanzaBytes: 4096, maxDepth: 8, maxAttributes: 4 }
  const cases: Array<[string, string, string]> = [
    ['no element', '', 'not-well-formed'],
    ['text only', 'not xml at all', 'not-well-formed'],
    ['two elements', '<presence/><presence/>', 'not-well-formed'],
    ['an element left open', '<message><body>x</body>', 'not-well-formed'],
    ['text beside the element', '<presence/>trailing', 'not-well-formed'],
    ['a stray end tag', '<presence/></stream:stream>', 'not-well-formed'],
    ['malformed XML', '<message><body>x</mess>', 'not-well-formed'],
    ['an undefined entity', '<message><body>&lol;</body></message>', 'not-well-formed'],
    ['a DOCTYPE', "<!DOCTYPE x [<!ENTITY lol 'lol'>]><presence/>", 'not-well-formed'],
    ['a comment', '<presence><!-- hi --></presence>', 'restricted-xml'],
    ['a processing instruction', '<?php echo 1 ?><presence/>', 'restricted-xml'],
    ['a message over the size limit', `<message><body>${'x'.repeat(5000)}</body></message>`, 'policy-violation'],
    ['nesting past the depth limit', `${'<a>'.repeat(10)}${'</a>'.repeat(10)}`, 'policy-violation'],
    ['too many attributes', "<message a='1' b='2' c='3' d='4' e='5'/>", 'policy-violation']
  ]
  for (const [what, text, condition] of cases) {
    it(`${what} → ${condition}`, () => {
      assert.throws(() => parseElement(text, limits),
        (err: unknown) => err instanceof StreamError && err.condition === condition)
    })
  }

  it('measures the limit in bytes, not characters', () => {
    const body = '👋'.repeat(1000) // 4000 bytes, 2000 UTF-16 units
    assert.equal(parseElement(`<m>${body}</m>`, limits).getText(), body)
    assert.throws(() => parseElement(`<m>${body}${'x'.repeat(100)}</m>`, limits),
      (err: unknown) => err instanceof StreamError && err.condition === 'policy-violation')
  })
})
