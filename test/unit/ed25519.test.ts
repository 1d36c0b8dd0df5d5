import { strict as assert } from 'node:assert'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  ed25519BackendName, ed25519Generate, ed25519PublicKey, ed25519PublicKeyObject, ed25519Sign, ed25519Verify,
  nodeEd25519, sodiumEd25519, type Ed25519Backend
} from '../../protocol/ed25519.js'

const sodium = sodiumEd25519()

describe('Ed25519 backends (libsodium and node:crypto)', () => {
  it('libsodium loads here (a dependency with prebuilds), and is the one in use', () => {
    assert.ok(sodium != null, 'sodium-native did not load')
    assert.equal(ed25519BackendName(), 'sodium')
  })

  it('each verifies what the other signed, and refuses a changed message, signature or key', () => {
    const backends = [nodeEd25519, sodium as Ed25519Backend]
    for (let i = 0; i < 20; i++) {
      const keys = ed25519Generate()
      const other = ed25519Generate()
      const message = randomBytes(i * 37)
      for (const signer of backends) {
        const sig = signer.sign(keys.privateKey, message)
        assert.equal(sig.byteLength, 64)
        for (const verifier of backends) {
          const key = verifier.publicKey(keys.publicKey)
          assert.equal(verifier.verify(key, message, sig), true, `${signer.name} → ${verifier.name}`)
          const flipped = new Uint8Array(sig)
          flipped[i % 64] ^= 1
          assert.equal(verifier.verify(key, message, flipped), false)
          if (message.byteLength > 0) {
            const changed = new Uint8Array(message)
            changed[0] ^= 0x80
            assert.equal(verifier.verify(key, changed, sig), false)
          }
          assert.equal(verifier.verify(verifier.publicKey(other.publicKey), message, sig), false)
        }
      }
      // Ed25519 is deterministic: both make the very same signature
      assert.deepEqual(nodeEd25519.sign(keys.privateKey, message), sodium?.sign(keys.privateKey, message))
    }
  })

  it('the public API never throws on malformed input: wrong sizes are false, not errors', () => {
    const keys = ed25519Generate()
    const sig = ed25519Sign(keys.privateKey, new Uint8Array(3))
    assert.equal(ed25519Verify(keys.publicKey, new Uint8Array(3), sig), true)
    assert.equal(ed25519Verify(ed25519PublicKeyObject(keys.publicKey), new Uint8Array(3), sig), true)
    assert.equal(ed25519Verify(keys.publicKey, new Uint8Array(3), sig.subarray(0, 63)), false)
    assert.equal(ed25519Verify(keys.publicKey, new Uint8Array(3), new Uint8Array(65)), false)
    assert.equal(ed25519Verify(keys.publicKey.subarray(0, 31), new Uint8Array(3), sig), false)
    assert.equal(ed25519Verify(new Uint8Array(32), new Uint8Array(3), sig), false, 'the identity point')
    assert.throws(() => ed25519Sign(new Uint8Array(31), new Uint8Array(1)), RangeError)
    assert.deepEqual(ed25519PublicKey(keys.privateKey), keys.publicKey)
  })

  it('CHORUS_ED25519=node selects node:crypto', () => {
    const code = "import('./protocol/ed25519.ts').then((m) => process.stdout.write(m.ed25519BackendName()))"
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
      env: { ...process.env, CHORUS_ED25519: 'node' },
      encoding: 'utf8'
    })
    assert.equal(run.stdout, 'node', run.stderr)
  })
})
