/**
 * The gateway's SASL, against the RFCs' own exchanges: SCRAM-SHA-1 (RFC 5802 §5) and SCRAM-SHA-256
 * (RFC 7677 §3), user "user", password "pencil". A stored credential derived from the password verifies
 * the RFC's client proof and yields its server signature; a wrong proof, a replayed nonce and a changed
 * channel-binding header are refused; PLAIN's message is parsed and bounded.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import {
  Decoys, ScramServer, SaslError, deriveCredential, clientKeyFor, parsePlain, type ScramHash
} from '../../node/xmpp/sasl.js'

interface Vector {
  hash: ScramHash
  salt: string
  clientFirst: string
  serverNonce: string
  clientFinal: string
  serverFinal: string
}

const SHA1: Vector = {
  hash: 'sha1',
  salt: 'QSXCR+Q6sek8bf92',
  clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  serverNonce: '3rfcNHYJY1ZVvWVs7j',
  clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ='
}
const SHA256: Vector = {
  hash: 'sha256',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='
}

describe('xmpp SASL (unit)', () => {
  for (const v of [SHA1, SHA256]) {
    it(`SCRAM-${v.hash.toUpperCase()}: the RFC's exchange logs in and gets the RFC's server signature`, () => {
      const cred = deriveCredential(v.hash, 'pencil', Buffer.from(v.salt, 'base64'), 4096)
      const server = new ScramServer(v.hash, v.serverNonce)
      assert.equal(server.username(Buffer.from(v.clientFirst)), 'user')
      assert.equal(server.challenge(cred).toString(), `r=${v.clientFirst.split('r=')[1]}${v.serverNonce},s=${v.salt},i=4096`)
      assert.equal(server.final(Buffer.from(v.clientFinal), true).toString(), v.serverFinal)
      // the ClientKey it recovered is the password's (it unwraps the account key)
      assert.deepEqual(server.clientKey, clientKeyFor(cred, v.hash, 'pencil'))
    })

    it(`SCRAM-${v.hash.toUpperCase()}: a wrong password, another nonce or another gs2 header is refused`, () => {
      const wrong = deriveCredential(v.hash, 'pen', Buffer.from(v.salt, 'base64'), 4096)
      const s1 = new ScramServer(v.hash, v.serverNonce)
      s1.username(Buffer.from(v.clientFirst)); s1.challenge(wrong)
      assert.throws(() => s1.final(Buffer.from(v.clientFinal), true),
        (e: any) => e instanceof SaslError && e.condition === 'not-authorized')

      const cred = deriveCredential(v.hash, 'pencil', Buffer.from(v.salt, 'base64'), 4096)
      const s2 = new ScramServer(v.hash) // a fresh random nonce: the recorded final replays an old one
      s2.username(Buffer.from(v.clientFirst)); s2.challenge(cred)
      assert.throws(() => s2.final(Buffer.from(v.clientFinal), true),
        (e: any) => e instanceof SaslError && e.condition === 'malformed-request')

      const s3 = new ScramServer(v.hash, v.serverNonce)
      s3.username(Buffer.from(v.clientFirst.replace(/^n,,/, 'y,,'))); s3.challenge(cred)
      assert.throws(() => s3.final(Buffer.from(v.clientFinal), true), /channel binding/)

      // the right proof for an account that does not exist (a decoy credential) is still refused
      const s4 = new ScramServer(v.hash, v.serverNonce)
      s4.username(Buffer.from(v.clientFirst)); s4.challenge(cred)
      assert.throws(() => s4.final(Buffer.from(v.clientFinal), false), (e: any) => e.condition === 'not-authorized')
    })
  }

  it('refuses malformed SCRAM messages: channel binding asked, extensions, bad escapes, oversized', () => {
    for (const bad of ['p=tls-unique,,n=user,r=abc', 'n,,n=user,r=abc,m=ext', 'n,,n=us=er,r=abc', 'garbage', `n,,n=${'u'.repeat(5000)},r=abc`]) {
      assert.throws(() => new ScramServer('sha256').username(Buffer.from(bad)),
        (e: any) => e instanceof SaslError && e.condition === 'malformed-request', bad.slice(0, 30))
    }
  })

  it('unknown users get a stable decoy keyed by a secret: random-looking, the same where the secret is', () => {
    const secret = randomBytes(32)
    const decoys = new Decoys(secret)
    const a = decoys.credential('sha256', 'nobody')
    const other = (s: Buffer): string => new Decoys(s).credential('sha256', 'nobody').salt
    assert.equal(a.salt, other(Buffer.from(secret)), 'stable for a name and a secret')
    assert.notEqual(a.salt, other(randomBytes(32)), 'another secret, another salt')
    assert.notEqual(a.salt, decoys.credential('sha1', 'nobody').salt, 'one salt per hash, as a real account has')
    const bytes = (b64: string): number => Buffer.from(b64, 'base64').length
    assert.equal(bytes(a.salt), bytes(deriveCredential('sha256', 'x').salt))
    // no password matches a decoy, and checking one takes PBKDF2 as a real account does
    assert.equal(clientKeyFor(a, 'sha256', 'any password'), undefined)
  })

  it('parses PLAIN and checks its password against the stored credential', () => {
    assert.deepEqual(parsePlain(Buffer.from('\u0000alice\u0000secret pass')), { authzid: '', username: 'alice', password: 'secret pass' })
    assert.throws(() => parsePlain(Buffer.from('alice\u0000secret')), /PLAIN wants/)
    const cred = deriveCredential('sha256', 'secret pass')
    assert.ok(clientKeyFor(cred, 'sha256', 'secret pass') != null)
    assert.equal(clientKeyFor(cred, 'sha256', 'secret pas'), undefined)
  })
})
