import { strict as assert } from 'node:assert'
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../protocol/ed25519.js'
import { Envelope, MAX_BODY_BYTES, SenderKeyCache, generateIdentity, openEnvelope, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { ClockDriftError, HybridClock, hlcMillis, hlcPack } from '../../protocol/hlc.js'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

describe('Ed25519 (RFC 8032 §7.1 test vectors)', () => {
  it('TEST 1: empty message', () => {
    const sk = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
    const pk = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
    const sig = hex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
    assert.deepEqual(ed25519PublicKey(sk), pk)
    assert.deepEqual(ed25519Sign(sk, new Uint8Array(0)), sig)
    assert.ok(ed25519Verify(pk, new Uint8Array(0), sig))
  })

  it('TEST 2: one byte', () => {
    const sk = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb')
    const pk = hex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c')
    const sig = hex('92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00')
    assert.deepEqual(ed25519PublicKey(sk), pk)
    assert.deepEqual(ed25519Sign(sk, hex('72')), sig)
    assert.ok(ed25519Verify(pk, hex('72'), sig))
    assert.ok(!ed25519Verify(pk, hex('73'), sig))
  })

  it('verify never throws on malformed input', () => {
    assert.equal(ed25519Verify(new Uint8Array(5), new Uint8Array(1), new Uint8Array(64)), false)
    assert.equal(ed25519Verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(3)), false)
  })
})

describe('envelopes (protocol/envelope.ts)', () => {
  const alice = generateIdentity()
  const draft = {
    kind: Envelope.Kind.CHAT,
    recipient: 'bob',
    body: new TextEncoder().encode('hello'),
    timestamp: hlcPack(Date.now(), 0)
  }

  it('sign → encode → open round-trips', () => {
    const env = signEnvelope(draft, alice)
    const opened = openEnvelope(Envelope.encode(env), new SenderKeyCache())
    assert.deepEqual(opened, env)
    assert.equal(userIdOf(opened.senderKey), userIdOf(alice.publicKey))
    assert.match(userIdOf(alice.publicKey), /^[a-z2-7]{32}$/)
  })

  it('verifies an envelope once per cache, and a changed copy is still checked', () => {
    const cache = new SenderKeyCache()
    const env = signEnvelope(draft, alice)
    const bytes = Envelope.encode(env)
    openEnvelope(bytes, cache)
    openEnvelope(bytes, cache)
    // same signature, other bytes: not taken from the cache
    const forged = Envelope.encode({ ...env, body: new TextEncoder().encode('hellO') })
    assert.throws(() => openEnvelope(forged, cache), (err: any) => err.code === 'ERR_BAD_SIGNATURE')
    assert.throws(() => openEnvelope(forged, cache), (err: any) => err.code === 'ERR_BAD_SIGNATURE')
  })

  it('rejects a forged signature and any changed field with BadSignatureError', () => {
    const env = signEnvelope(draft, alice)
    const mallory = generateIdentity()
    const cases: Envelope[] = [
      { ...env, body: new TextEncoder().encode('hellO') },
      { ...env, recipient: 'carol' },
      { ...env, timestamp: env.timestamp + 1n },
      { ...env, kind: Envelope.Kind.HEADLINE },
      { ...env, senderKey: mallory.publicKey as Uint8Array<ArrayBuffer> }
    ]
    for (const forged of cases) {
      assert.throws(() => openEnvelope(Envelope.encode(forged)), (err: any) => err.code === 'ERR_BAD_SIGNATURE')
    }
  })

  it('rejects oversized bodies on both sides', () => {
    const big = { ...draft, body: new Uint8Array(MAX_BODY_BYTES + 1) }
    assert.throws(() => signEnvelope(big, alice), (err: any) => err.name === 'EnvelopeTooLargeError')
    assert.throws(() => openEnvelope(new Uint8Array(MAX_BODY_BYTES + 4096)), (err: any) => err.name === 'EnvelopeTooLargeError')
  })

  it('rejects malformed frames with MalformedEnvelopeError', () => {
    assert.throws(() => openEnvelope(new Uint8Array([0xff, 0xff, 0xff])), (err: any) => err.code === 'ERR_MALFORMED_ENVELOPE')
    const env = signEnvelope(draft, alice)
    assert.throws(() => openEnvelope(Envelope.encode({ ...env, id: new Uint8Array(3) })), (err: any) => err.code === 'ERR_MALFORMED_ENVELOPE')
  })
})

describe('hybrid logical clock (protocol/hlc.ts)', () => {
  it('is monotonic when the wall clock stalls or goes back', () => {
    let wall = 1_000_000
    const clock = new HybridClock(() => wall)
    const a = clock.now()
    wall -= 500
    const b = clock.now()
    const c = clock.now()
    assert.ok(a < b && b < c)
    assert.equal(hlcMillis(c), 1_000_000)
  })

  it('orders after an observed remote timestamp', () => {
    const clock = new HybridClock(() => 1_000_000)
    clock.observe(hlcPack(1_000_050, 7))
    assert.ok(clock.now() > hlcPack(1_000_050, 7))
  })

  it('rejects a timestamp too far ahead', () => {
    const clock = new HybridClock(() => 1_000_000, 60_000)
    assert.throws(() => { clock.observe(hlcPack(1_000_000 + 61_000, 0)) }, ClockDriftError)
  })
})
