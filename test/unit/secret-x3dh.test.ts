import { strict as assert } from 'node:assert'
import { ed25519Generate, ed25519Sign } from '../../protocol/ed25519.js'
import {
  MAX_BUNDLE_BYTES, RatchetSession, checkBundleAge, createSecretIdentity, decodeBundle, decodeInitialHeader,
  encodeBundle, encodeInitialHeader,
  generateOneTimePrekeys, generateSignedPrekey, initiate, prekeyBundle, respond, verifyBundle, x25519Generate,
  type PrekeyBundle,
  type OneTimePrekey, type SecretIdentity, type SignedPrekey
} from '../../protocol/secret/index.js'

const code = (c: string) =>
  (err: any): boolean => err.reason === c && err.code === `ERR_${c === 'decrypt-failed' ? 'DECRYPT' : c.toUpperCase().replace(/-/g, '_')}`
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function device (): { identity: SecretIdentity, signedPrekey: SignedPrekey, oneTime: OneTimePrekey[] } {
  const identity = createSecretIdentity(ed25519Generate())
  const signedPrekey = generateSignedPrekey(identity, 7, 1_700_000_000_000)
  const oneTime = generateOneTimePrekeys(100, 3)
  return { identity, signedPrekey, oneTime }
}

describe('X3DH (protocol/secret/x3dh.ts)', () => {
  const alice = device()
  const bob = device()

  for (const withOneTime of [true, false]) {
    it(`both sides derive the same key and AD ${withOneTime ? 'with' : 'without'} a one-time prekey`, () => {
      const opk = withOneTime ? bob.oneTime[1] : undefined
      const bundle = decodeBundle(encodeBundle(prekeyBundle(bob.identity, bob.signedPrekey, opk)))
      const init = initiate(alice.identity, bundle)
      assert.equal(init.usedSignedPrekeyId, 7)
      assert.equal(init.usedOneTimePrekeyId, opk?.id)
      const header = decodeInitialHeader(encodeInitialHeader(init.header))
      assert.deepEqual(header, init.header)
      assert.deepEqual(header.ephemeralKey, init.ephemeralPublic)
      const resp = respond(bob.identity, bob.signedPrekey, opk, header)
      assert.equal(init.sharedKey.length, 32)
      assert.deepEqual(resp.sharedKey, init.sharedKey)
      assert.deepEqual(resp.associatedData, init.associatedData)
      assert.equal(init.associatedData.length, 128)

      const a = RatchetSession.initAlice(init.sharedKey, bundle.signedPrekey.publicKey, init.associatedData)
      const b = RatchetSession.initBob(resp.sharedKey, bob.signedPrekey.keyPair, resp.associatedData)
      const m = a.encrypt(text('hi bob'))
      assert.deepEqual(b.decrypt(m.header, m.ciphertext), text('hi bob'))
    })
  }

  it('the one-time prekey changes the key (DH4 is in)', () => {
    const bundle = prekeyBundle(bob.identity, bob.signedPrekey, bob.oneTime[0])
    const init = initiate(alice.identity, bundle)
    const withOpk = respond(bob.identity, bob.signedPrekey, bob.oneTime[0], init.header)
    assert.deepEqual(withOpk.sharedKey, init.sharedKey)
    const { oneTimePrekeyId, ...noOpk } = init.header
    assert.equal(oneTimePrekeyId, 100)
    assert.notDeepEqual(respond(bob.identity, bob.signedPrekey, undefined, noOpk).sharedKey, init.sharedKey)
  })

  it('rejects a bundle whose signed prekey or identity DH key is not signed by the identity key', () => {
    const good = prekeyBundle(bob.identity, bob.signedPrekey, bob.oneTime[0])
    verifyBundle(good)
    const mallory = device()
    const flip = (sig: Uint8Array): Uint8Array => { const s = new Uint8Array(sig); s[5] ^= 1; return s }
    const bad: PrekeyBundle[] = [
      { ...good, signedPrekey: { ...good.signedPrekey, signature: flip(good.signedPrekey.signature) } },
      { ...good, signedPrekey: { ...good.signedPrekey, publicKey: x25519Generate().publicKey } },
      { ...good, signedPrekey: { ...good.signedPrekey, id: 8 } },
      { ...good, signedPrekey: { ...good.signedPrekey, createdAt: good.signedPrekey.createdAt + 1 } },
      { ...good, signedPrekey: prekeyBundle(mallory.identity, mallory.signedPrekey).signedPrekey },
      { ...good, identityDhSignature: flip(good.identityDhSignature) },
      { ...good, identityDhKey: mallory.identity.identityDhKey.publicKey },
      {
        ...good,
        identityDhKey: mallory.identity.identityDhKey.publicKey,
        identityDhSignature: mallory.identity.identityDhSignature
      }
    ]
    for (const bundle of bad) {
      assert.throws(() => verifyBundle(bundle), (err: any) => err.name === 'BadBundleSignatureError' && err.code === 'ERR_BAD_BUNDLE_SIGNATURE')
      assert.throws(() => initiate(alice.identity, bundle), code('bad-bundle-signature'))
    }
  })

  it('rejects an initial header whose DH identity key is not bound to its identity key', () => {
    const mallory = device()
    const init = initiate(mallory.identity, prekeyBundle(bob.identity, bob.signedPrekey))
    // Mallory claims to be Alice: Alice's Ed25519 key with Mallory's own DH identity key.
    const forged = { ...init.header, identityKey: alice.identity.identityKey.publicKey }
    assert.throws(() => respond(bob.identity, bob.signedPrekey, undefined, forged), code('bad-bundle-signature'))
  })

  it('a signed prekey that is a low-order point is refused', () => {
    const mallory = device()
    const low = new Uint8Array(32)
    low[0] = 1
    const msg = new Uint8Array([...text('chorus/x3dh/signed-prekey/v1\0'), 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, ...low])
    const bundle = prekeyBundle(mallory.identity, mallory.signedPrekey)
    bundle.signedPrekey = {
      id: 9,
      createdAt: 1,
      publicKey: low,
      signature: ed25519Sign(mallory.identity.identityKey.privateKey, msg)
    }
    verifyBundle(bundle)
    assert.throws(() => initiate(alice.identity, bundle), code('invalid-key'))
  })

  it('AD binds both identities: the same key under another AD does not decrypt', () => {
    const carol = device()
    const init = initiate(alice.identity, prekeyBundle(bob.identity, bob.signedPrekey))
    const resp = respond(bob.identity, bob.signedPrekey, undefined, init.header)
    const carolAd = initiate(carol.identity, prekeyBundle(bob.identity, bob.signedPrekey)).associatedData
    assert.notDeepEqual(carolAd, resp.associatedData)
    const a = RatchetSession.initAlice(init.sharedKey, bob.signedPrekey.keyPair.publicKey, init.associatedData)
    const b = RatchetSession.initBob(resp.sharedKey, bob.signedPrekey.keyPair, carolAd)
    const m = a.encrypt(text('who is this'))
    assert.throws(() => b.decrypt(m.header, m.ciphertext), code('decrypt-failed'))
  })

  it('prekey bookkeeping errors: used one-time prekey, wrong prekeys given', () => {
    const init = initiate(alice.identity, prekeyBundle(bob.identity, bob.signedPrekey, bob.oneTime[2]))
    assert.throws(() => respond(bob.identity, bob.signedPrekey, undefined, init.header),
      (err: any) => err.name === 'PrekeyUsedError' && err.code === 'ERR_PREKEY_USED')
    assert.throws(() => respond(bob.identity, bob.signedPrekey, bob.oneTime[0], init.header), code('session-state'))
    const other = generateSignedPrekey(bob.identity, 8, 1)
    assert.throws(() => respond(bob.identity, other, bob.oneTime[2], init.header), code('session-state'))
    const noOpk = initiate(alice.identity, prekeyBundle(bob.identity, bob.signedPrekey))
    assert.throws(() => respond(bob.identity, bob.signedPrekey, bob.oneTime[0], noOpk.header), code('session-state'))
  })

  it('checkBundleAge refuses a signed prekey older than the limit (StaleBundleError), by its signed createdAt', () => {
    const bundle = prekeyBundle(bob.identity, bob.signedPrekey) // made at 1_700_000_000_000
    const day = 24 * 3600_000
    checkBundleAge(bundle, 1_700_000_000_000 + 14 * day, 14 * day)
    checkBundleAge(bundle, 1_700_000_000_000 - day, 14 * day) // the device's clock ahead of ours: nothing old about it
    assert.throws(() => checkBundleAge(bundle, 1_700_000_000_000 + 14 * day + 1, 14 * day),
      (err: any) => err.name === 'StaleBundleError' && code('stale-bundle')(err))
  })

  it('one-time prekey batches have consecutive ids and distinct keys, within bounds', () => {
    const batch = generateOneTimePrekeys(5, 20)
    assert.deepEqual(batch.map((k) => k.id), Array.from({ length: 20 }, (_, i) => 5 + i))
    assert.equal(new Set(batch.map((k) => Buffer.from(k.keyPair.publicKey).toString('hex'))).size, 20)
    assert.throws(() => generateOneTimePrekeys(0, 1001), RangeError)
    assert.throws(() => generateOneTimePrekeys(0xffffffff, 2), RangeError)
  })

  it('bundle and initial-header codecs reject malformed input with MalformedSecretMessageError', () => {
    const isMalformed = (err: any): boolean => err.name === 'MalformedSecretMessageError' && err.code === 'ERR_MALFORMED_SECRET_MESSAGE'
    const bytes = encodeBundle(prekeyBundle(bob.identity, bob.signedPrekey, bob.oneTime[0]))
    assert.equal(bytes.length, MAX_BUNDLE_BYTES)
    const short = encodeBundle(prekeyBundle(bob.identity, bob.signedPrekey))
    assert.equal(decodeBundle(short).oneTimePrekey, undefined)
    const header = encodeInitialHeader(initiate(alice.identity, decodeBundle(bytes)).header)
    for (const [decode, good] of [[decodeBundle, bytes], [decodeInitialHeader, header]] as const) {
      assert.throws(() => decode(good.subarray(0, good.length - 1)), isMalformed)
      assert.throws(() => decode(new Uint8Array([...good, 0])), isMalformed)
      assert.throws(() => decode(new Uint8Array(0)), isMalformed)
      const badVersion = new Uint8Array(good)
      badVersion[0] = 2
      assert.throws(() => decode(badVersion), isMalformed)
    }
    const badFlag = new Uint8Array(short)
    badFlag[short.length - 1] = 2
    assert.throws(() => decodeBundle(badFlag), isMalformed)
    assert.throws(() => decodeBundle(new Uint8Array(MAX_BUNDLE_BYTES + 1)), isMalformed)
    assert.throws(() => verifyBundle({ ...decodeBundle(bytes), identityKey: new Uint8Array(31) }), isMalformed)
  })
})
