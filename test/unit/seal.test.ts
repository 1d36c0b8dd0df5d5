/**
 * Sealed bodies of plain direct messages: the Ed25519 → X25519 conversion against libsodium's vector,
 * both sides reading, nobody else reading, and every kind of tampering refused with a typed reason.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { ed25519PublicKey } from '../../protocol/ed25519.js'
import { SEAL_OVERHEAD, Sealer, SealError, ed25519PublicToX25519, ed25519SeedToX25519 } from '../../protocol/seal.js'
import { x25519PublicKey } from '../../protocol/secret/primitives.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('sealed plain chat bodies (protocol/seal.ts)', () => {
  it('converts keys as libsodium does (test/default/ed25519_convert.c)', () => {
    const seed = Buffer.from('421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee', 'hex')
    const pk = ed25519PublicKey(seed)
    assert.equal(hex(ed25519PublicToX25519(pk)), 'f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50')
    assert.equal(hex(ed25519SeedToX25519(seed)), '8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166')
  })

  it('maps a key pair to a key pair: X25519(converted seed) is the converted public key', () => {
    for (let i = 0; i < 50; i++) {
      const id = generateIdentity()
      assert.equal(hex(x25519PublicKey(ed25519SeedToX25519(id.privateKey))), hex(ed25519PublicToX25519(id.publicKey)))
    }
  })

  it('refuses public keys with no Montgomery form', () => {
    const identityPoint = new Uint8Array(32); identityPoint[0] = 1 // y = 1
    assert.throws(() => ed25519PublicToX25519(identityPoint), (e: any) => e instanceof SealError && e.reason === 'bad-key')
    const nonCanonical = new Uint8Array(32).fill(0xff); nonCanonical[31] = 0x7f // y = 2^255 − 1 ≥ p
    assert.throws(() => ed25519PublicToX25519(nonCanonical), (e: any) => e instanceof SealError && e.reason === 'bad-key')
    assert.throws(() => ed25519PublicToX25519(new Uint8Array(31)), (e: any) => e instanceof SealError && e.reason === 'bad-key')
  })

  describe('between alice and bob', () => {
    const alice = generateIdentity()
    const bob = generateIdentity()
    const eve = generateIdentity()
    const A = new Sealer(alice)
    const B = new Sealer(bob)
    const E = new Sealer(eve)
    const envelope = (body: Uint8Array, from = alice, to = userIdOf(bob.publicKey)): {
      senderKey: Uint8Array
      recipient: string
      body: Uint8Array
    } => ({ senderKey: from.publicKey, recipient: to, body })

    it('bob reads it, and so does alice (her own copy); the body hides the text', () => {
      const body = A.seal(bob.publicKey, text('meet at noon'))
      assert.equal(body.byteLength, 'meet at noon'.length + SEAL_OVERHEAD)
      assert.ok(!Buffer.from(body).includes(Buffer.from('meet at noon')))
      assert.equal(new TextDecoder().decode(B.open(envelope(body))), 'meet at noon')
      assert.equal(new TextDecoder().decode(A.open(envelope(body))), 'meet at noon')
      // two seals of one text differ (fresh nonce)
      assert.notEqual(hex(A.seal(bob.publicKey, text('meet at noon'))), hex(body))
    })

    it('a third user cannot read it', () => {
      const body = A.seal(bob.publicKey, text('not for eve'))
      assert.throws(() => E.open(envelope(body)), (e: any) => e instanceof SealError && e.reason === 'not-ours')
    })

    it('refuses tampering with the text, the recipient key, the sender, or the format', () => {
      const body = A.seal(bob.publicKey, text('hello'))
      const flip = (i: number): Uint8Array => { const b = Uint8Array.from(body); b[i] ^= 1; return b }
      assert.throws(() => B.open(envelope(flip(body.byteLength - 1))), (e: any) => e.reason === 'decrypt')
      assert.throws(() => B.open(envelope(flip(1 + 32))), (e: any) => e.reason === 'decrypt', 'nonce')
      assert.throws(() => B.open(envelope(flip(5))), (e: any) => e.reason === 'bad-key', 'recipient key')
      // eve re-signs bob's body as her own: the key (and the ad) are not hers
      assert.throws(() => B.open(envelope(body, eve)), (e: any) => e.reason === 'decrypt')
      assert.throws(() => B.open(envelope(flip(0))), (e: any) => e.reason === 'malformed')
      assert.throws(() => B.open(envelope(body.subarray(0, SEAL_OVERHEAD - 1))), (e: any) => e.reason === 'malformed')
      // the body addressed to bob, in an envelope to eve
      assert.throws(() => E.open(envelope(body, alice, userIdOf(eve.publicKey))), (e: any) => e.reason === 'bad-key')
    })

    it('a user may write to itself', () => {
      const body = A.seal(alice.publicKey, text('note to self'))
      assert.equal(new TextDecoder().decode(A.open(envelope(body, alice, userIdOf(alice.publicKey)))), 'note to self')
    })
  })
})
