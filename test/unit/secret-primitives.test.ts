import { strict as assert } from 'node:assert'
import { aeadOpen, aeadSeal, hkdf, hmacSha256, x25519, x25519Generate, x25519PublicKey } from '../../protocol/secret/primitives.js'

// Ed25519 (RFC 8032) vectors live in envelope.test.ts; this file covers the rest of what secret chats use.

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'))

describe('secret-chat primitives: known answers', () => {
  it('X25519: RFC 7748 §5.2 scalar multiplication vectors', () => {
    assert.deepEqual(
      x25519(hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'), hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c')),
      hex('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'))
    assert.deepEqual(
      x25519(hex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'), hex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493')),
      hex('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'))
  })

  it('X25519: RFC 7748 §6.1 Diffie-Hellman (Alice, Bob, shared secret)', () => {
    const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const alicePub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    const bobPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    const bobPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
    assert.deepEqual(x25519PublicKey(alicePriv), alicePub)
    assert.deepEqual(x25519PublicKey(bobPriv), bobPub)
    assert.deepEqual(x25519(alicePriv, bobPub), shared)
    assert.deepEqual(x25519(bobPriv, alicePub), shared)
    // The fast import path (private key with its public half) agrees.
    assert.deepEqual(x25519({ privateKey: alicePriv, publicKey: alicePub }, bobPub), shared)
  })

  it('X25519: low-order public keys are refused with InvalidKeyError', () => {
    const ours = x25519Generate()
    for (const low of [new Uint8Array(32), hex('0100000000000000000000000000000000000000000000000000000000000000'),
      hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800')]) {
      assert.throws(() => x25519(ours, low), (err: any) => err.name === 'InvalidKeyError' && err.code === 'ERR_INVALID_KEY' && err.reason === 'invalid-key')
    }
  })

  it('ChaCha20-Poly1305: RFC 8439 §2.8.2 AEAD vector', () => {
    const plaintext = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
    const ad = hex('50515253c0c1c2c3c4c5c6c7')
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
    const nonce = hex('070000004041424344454647')
    const ciphertext = hex(`
      d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
      3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
      92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
      3ff4def08e4b7a9de576d26586cec64b6116`)
    const tag = hex('1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91')
    const sealed = aeadSeal(key, nonce, plaintext, ad)
    assert.deepEqual(sealed, new Uint8Array([...ciphertext, ...tag]))
    assert.deepEqual(aeadOpen(key, nonce, sealed, ad), plaintext)
  })

  it('ChaCha20-Poly1305: any change to ciphertext, tag, AD or nonce throws DecryptError', () => {
    const key = new Uint8Array(32).fill(7)
    const nonce = new Uint8Array(12).fill(1)
    const ad = new Uint8Array([1, 2, 3])
    const sealed = aeadSeal(key, nonce, new Uint8Array([10, 20, 30, 40]), ad)
    const isDecrypt = (err: any): boolean => err.name === 'DecryptError' && err.code === 'ERR_DECRYPT' && err.reason === 'decrypt-failed'
    for (let i = 0; i < sealed.length; i++) {
      const bad = new Uint8Array(sealed)
      bad[i] ^= 0x01
      assert.throws(() => aeadOpen(key, nonce, bad, ad), isDecrypt)
    }
    assert.throws(() => aeadOpen(key, nonce, sealed, new Uint8Array([1, 2, 4])), isDecrypt)
    assert.throws(() => aeadOpen(key, new Uint8Array(12), sealed, ad), isDecrypt)
    assert.throws(() => aeadOpen(key, nonce, sealed.subarray(0, 15), ad), isDecrypt)
  })

  it('HKDF-SHA-256: RFC 5869 test case 1', () => {
    const okm = hkdf(hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42)
    assert.deepEqual(okm, hex('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'))
  })

  it('HMAC-SHA-256: RFC 4231 test case 2', () => {
    const mac = hmacSha256(new TextEncoder().encode('Jefe'), new TextEncoder().encode('what do ya want for nothing?'))
    assert.deepEqual(mac, hex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'))
  })
})
