/**
 * Fuzzing what a Jabber client reaches before it has logged in: the streaming XML parser (generated
 * documents, structure-aware, mutated, fed in random chunks that split UTF-8 characters), the WebSocket
 * element parser, SASL (PLAIN, SCRAM client-first and client-final) and a connection's pre-login
 * dispatch (features, STARTTLS, SASL, in-band registration, stream management) over a stub transport.
 * Every input is refused with the gateway's typed errors (StreamError, SaslError, StanzaError), never
 * with a TypeError, and a connection never ends in `internal-server-error`. Runs and seed:
 * test/helpers/fuzz.ts.
 */

import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import xml, { Element } from '@xmpp/xml'
import { XmlStream, parseElement, DEFAULT_XML_LIMITS } from '../../node/xmpp/xml-stream.js'
import { StanzaError, StreamError } from '../../node/xmpp/errors.js'
import { Decoys, SaslError, ScramServer, parsePlain } from '../../node/xmpp/sasl.js'
import { Connection, type ConnectionHost } from '../../node/xmpp/connection.js'
import { NS_REGISTER, NS_SASL, NS_SM, NS_TLS } from '../../node/xmpp/ns.js'
import type { Transport, TransportEvents } from '../../node/xmpp/transport.js'
import { MeshAccounts, sealIdentity, type AccountRecord } from '../../node/xmpp/accounts.js'
import { generateIdentity } from '../../protocol/envelope.js'
import { PROTOTYPE_NAMES, decodeOrRefuse, fuzz, fuzzAsync, fuzzTimeout, type Tally } from '../helpers/fuzz.js'
import {
  DOMAIN, chunked, clientFinal, clientFirst, element, saslToken, streamText, utf8
} from '../helpers/fuzz-xmpp.js'

const LIMITS = { maxStanzaBytes: 4096, maxDepth: 8, maxAttributes: 6 }

// ---- a connection before login -----------------------------------------------------------------

const PASSWORD = 'correct horse battery staple'
const base64 = (s: string | Buffer): string => Buffer.from(s).toString('base64')

/**
 * Elements a client may send before (and instead of) logging in. A `follow` step is a SCRAM client-final
 * built from the challenge the connection last sent (its nonce and channel binding right, the proof
 * random), so that the checks behind the nonce are reached too.
 */
type Step = Element | { follow: string }
const mechanism = fc.oneof(
  fc.constantFrom('PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'DIGEST-MD5'), fc.constantFrom(...PROTOTYPE_NAMES),
  fc.string({ maxLength: 10 })
)
const authPayload = fc.oneof(
  clientFirst.map(base64),
  fc.constantFrom(base64(`\0alice\0${PASSWORD}`), base64('n,,n=alice,r=abc'), base64('n,,n=bob,r=abc'), '=', '', '!!'),
  fc.string({ maxLength: 20 })
)
const iqType = fc.constantFrom('get', 'set', 'result', 'error', '', ...PROTOTYPE_NAMES)
const register = fc.tuple(iqType, fc.string({ maxLength: 10 }), fc.string({ maxLength: 70 }), fc.boolean())
  .map(([type, username, password, withQuery]) => xml('iq', { type, id: 'r1' }, withQuery
    ? xml('query', { xmlns: NS_REGISTER }, xml('username', {}, username), xml('password', {}, password))
    : xml('ping', { xmlns: 'urn:xmpp:ping' })))
const count = fc.oneof(fc.constantFrom('0', '-1', '1e9', 'NaN', '4294967296'), fc.string({ maxLength: 6 }))
const stanzaName = fc.constantFrom('message', 'presence', 'iq', 'bind', ...PROTOTYPE_NAMES)
const stanza = fc.tuple(stanzaName, fc.string({ maxLength: 8 }))
  .map(([n, to]) => xml(n, { to, type: 'chat' }, xml('body', {}, 'hi')))

const preLoginElement: fc.Arbitrary<Step> = fc.oneof(
  fc.base64String({ minLength: 4, maxLength: 44 }).map((proof) => ({ follow: proof })),
  fc.tuple(mechanism, authPayload).map(([m, payload]) => xml('auth', { xmlns: NS_SASL, mechanism: m }, payload)),
  fc.oneof(clientFinal.map(base64), fc.string({ maxLength: 20 })).map((p) => xml('response', { xmlns: NS_SASL }, p)),
  fc.constantFrom('abort', 'success', 'challenge', ...PROTOTYPE_NAMES).map((n) => xml(n, { xmlns: NS_SASL })),
  register,
  fc.tuple(fc.constantFrom('enable', 'resume', 'r', 'a', ...PROTOTYPE_NAMES), count)
    .map(([n, h]) => xml(n, { xmlns: NS_SM, h, previd: h, resume: 'true' })),
  fc.constant(xml('starttls', { xmlns: NS_TLS })),
  stanza
)

/** One account the stub host knows (alice), made once: SCRAM derivations are deliberately slow. */
const alice = MeshAccounts.create('alice', PASSWORD)
const aliceRecord: AccountRecord = { ...alice.record, identity: sealIdentity(alice.accountKey, generateIdentity()) }

/** A transport that records what the connection sends and how it ends. */
class StubTransport implements Transport {
  readonly kind = 'stub'
  readonly remote = '127.0.0.1:1'
  readonly canStartTls = false
  on?: TransportEvents
  ended?: StreamError
  closed = false
  sent: Array<Element | string> = []
  constructor (readonly secure: boolean) {}
  start (on: TransportEvents): void { this.on = on }
  header (): void {}
  restart (): void {}
  send (el: Element | string): void { this.sent.push(el) }
  end (err?: StreamError): void { this.ended = err; this.closed = true }
  destroy (): void { this.closed = true }
}

/** A gateway as far as a connection before login sees it; counts what it is told to reject. */
function stubHost (rejected: string[]): ConnectionHost {
  const decoys = new Decoys(Buffer.alloc(32, 7))
  return {
    domain: DOMAIN,
    allowPlaintext: true,
    limits: LIMITS,
    tls: () => undefined,
    account: async (handle) => handle === 'alice' ? aliceRecord : undefined,
    register: async (handle) => { if (handle === 'alice') throw new StanzaError('conflict', 'taken') },
    login: async () => {},
    bind: async () => 'r',
    stanza: async () => {},
    closed: () => {},
    resumeSeconds: 60,
    resumable: () => {},
    detached: () => {},
    resume: () => undefined,
    reject: (reason) => { rejected.push(reason) },
    admit: () => true,
    decoy: (hash, handle) => decoys.credential(hash, handle),
    maxUnacked: 5000,
    mayLogin: () => undefined,
    mayRegister: () => undefined,
    loggedIn: () => {}
  }
}

describe('fuzz: what a Jabber client reaches before login', function () {
  this.timeout(fuzzTimeout())

  it('the stream parser emits stanzas or one typed stream error, whatever the bytes and however they are cut', () => {
    fuzz('xmpp: XmlStream', chunked, 400, ({ chunks }, t) => {
      const events: string[] = []
      let errors = 0
      const s = new XmlStream({
        open: () => { events.push('open') },
        stanza: (el) => { assert.ok(el instanceof Element); events.push('stanza') },
        close: () => { events.push('close') },
        error: (err) => {
          assert.ok(err instanceof StreamError, `a StreamError, not ${String(err)}`)
          errors++
          events.push('error')
        }
      }, LIMITS)
      for (const c of chunks) s.write(c)
      assert.ok(errors <= 1, 'one error at most')
      if (errors === 1) assert.equal(events.at(-1), 'error', 'nothing after the error')
      if (errors === 1) t.refused++
      else t.accepted++
    })
  })

  it('a WebSocket message parses to one element or is refused with a StreamError', () => {
    fuzz('xmpp: parseElement', streamText, 400, (text, t) => {
      decodeOrRefuse(t, () => parseElement(text, LIMITS), [StreamError])
    })
    fuzz('xmpp: parseElement, default limits', element, 200, (text, t) => {
      decodeOrRefuse(t, () => parseElement(text, DEFAULT_XML_LIMITS), [StreamError])
    })
  })

  it('SASL messages are parsed or refused with a SaslError', () => {
    const plain = utf8(fc.tuple(saslToken, saslToken, saslToken).map((p) => p.join('\0')))
    fuzz('sasl: PLAIN message', plain, 300, (b, t) => {
      decodeOrRefuse(t, () => parsePlain(b), [SaslError])
    })
    const cred = aliceRecord.scram.sha256
    const hash = fc.constantFrom('sha1', 'sha256') as fc.Arbitrary<'sha1' | 'sha256'>
    const scram = fc.tuple(hash, utf8(clientFirst), utf8(clientFinal), fc.boolean())
    fuzz('sasl: SCRAM client-first, challenge, client-final', scram, 300,
      ([hash, first, final, known], t) => {
        const server = new ScramServer(hash, 'nonce')
        if (decodeOrRefuse(t, () => server.username(first), [SaslError]) == null) return
        server.challenge(known ? cred : new Decoys(Buffer.alloc(32, 7)).credential(hash, 'nobody'))
        decodeOrRefuse(t, () => server.final(final, known), [SaslError])
      })
  })

  it('a connection before login answers every element, or ends with a typed stream error, never internal', async () => {
    const input = fc.tuple(fc.array(preLoginElement, { minLength: 1, maxLength: 6 }), fc.boolean())
    await fuzzAsync('xmpp: connection before login', input, 300, async ([elements, secure], t) => {
      await preLogin(elements, secure, t)
    })
  })

  it('refuses SASL mechanisms named like Object properties (`__proto__` reached createHmac)', async () => {
    const tally: Tally = { refused: 0, accepted: 0 }
    for (const mechanism of PROTOTYPE_NAMES) {
      const auth = xml('auth', { xmlns: NS_SASL, mechanism }, base64('n,,n=bob,r=abc'))
      await preLogin([auth, { follow: 'AAAA' }], false, tally)
    }
    assert.equal(tally.refused, PROTOTYPE_NAMES.length)
  })
})

/** Run `elements` through a fresh connection over a stub transport; fail on an internal error. */
async function preLogin (steps: Step[], secure: boolean, t: Tally): Promise<void> {
  const rejected: string[] = []
  const transport = new StubTransport(secure)
  const conn = new Connection(transport, stubHost(rejected), 60_000)
  const on = transport.on as TransportEvents
  on.open({ to: DOMAIN, version: '1.0' })
  const elements: Element[] = []
  for (const step of steps) {
    const el = step instanceof Element ? step : followChallenge(transport.sent, step.follow)
    elements.push(el)
    on.element(el)
    // the connection handles elements one after another on a promise chain of its own: wait for it
    await conn.idle()
  }
  conn.close()
  const internal = rejected.filter((r) => r === 'stream-internal-server-error' || r.endsWith('-internal-server-error'))
  const sent = elements.map((e) => e.toString()).join(' ')
  assert.deepEqual(internal, [], `internal errors for ${sent}: ${transport.ended?.message ?? ''}`)
  if (rejected.length > 0) t.refused++
  else t.accepted++
}

/** A SCRAM client-final answering the last challenge in `sent` (gs2 header `n,,`), with `proof`. */
function followChallenge (sent: Array<Element | string>, proof: string): Element {
  const challenge = [...sent].reverse().find((e): e is Element => e instanceof Element && e.name === 'challenge')
  const nonce = /r=([^,]*)/.exec(Buffer.from(challenge?.getText() ?? '', 'base64').toString())?.[1] ?? ''
  return xml('response', { xmlns: NS_SASL }, base64(`c=${base64('n,,')},r=${nonce},p=${proof}`))
}
