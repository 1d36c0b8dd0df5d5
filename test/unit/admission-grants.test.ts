/**
 * What a cached grant still grants: a server certified by an operator whose delegation lapses, and a
 * second certificate that repeats another server's ring seed.
 */

import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import {
  Certificate, RepeatedSeedError, meshId, signCertificate, signDelegation, type AdmissionSigner
} from '../../protocol/admission.js'
import { ed25519Generate } from '../../protocol/ed25519.js'
import { Admission } from '../../node/membership/admission.js'

const DAY = 24 * 3600 * 1000
const T0 = 1_700_000_000_000
const PEER = '12D3KooWServerAlphaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const OTHER = '12D3KooWServerBravoBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'

interface Key { signer: AdmissionSigner }
function newMesh (): Key & { id: string } {
  const k = ed25519Generate()
  return { signer: { privateKey: k.privateKey }, id: meshId(k.publicKey) }
}
function newOperator (m: Key, days = 365): Key {
  const k = ed25519Generate()
  const delegation = signDelegation(m.signer.privateKey, k.publicKey, { name: 'ops', now: T0, days })
  return { signer: { privateKey: k.privateKey, delegation } }
}
type CertOpts = Partial<{ peerId: string, now: number, days: number, seed: Uint8Array }>
const cert = (signer: AdmissionSigner, o: CertOpts = {}): Uint8Array =>
  Certificate.encode(signCertificate(signer, { peerId: PEER, capacity: 1, now: T0, days: 30, ...o }))

function node (mesh: string, certificate?: Uint8Array): { a: Admission, clock: { now: number } } {
  const clock = { now: T0 + DAY }
  return { a: new Admission({ selfId: 'self', now: () => clock.now }, { mesh, certificate }), clock }
}

describe('cached grants (node/membership/admission.ts)', () => {
  it('a cached grant lapses when its operator\'s delegation expires, before its own expiry', () => {
    const m = newMesh()
    const op = newOperator(m, 2)
    const { a, clock } = node(m.id)
    a.admitServer(PEER, cert(op.signer, { days: 30 }))
    assert.equal(a.admitted(PEER), true)
    clock.now = T0 + 2 * DAY
    assert.deepEqual([a.why(PEER), a.admitted(PEER)], ['expired', false])
  })

  it('refuses a repeated ring seed: the certificate issued first keeps it, on every node whatever the order', () => {
    const m = newMesh()
    const seed = randomBytes(32)
    const first = cert(m.signer, { seed })
    const copy = cert(newOperator(m).signer, { peerId: OTHER, seed, now: T0 + 1000 })
    const { a } = node(m.id)
    a.admitServer(PEER, first)
    assert.throws(() => a.admitServer(OTHER, copy), (err: any) => {
      return err instanceof RepeatedSeedError && err.code === 'ERR_REPEATED_SEED' && err.reason === 'repeated-seed'
    })
    assert.deepEqual([a.why(PEER), a.why(OTHER)], [undefined, 'no-certificate'])
    const b = node(m.id).a
    b.admitServer(OTHER, copy)
    b.admitServer(PEER, first)
    assert.deepEqual([b.why(PEER), b.why(OTHER)], [undefined, 'repeated-seed'])
    // a renewal of the same server may keep its seed; a copy of this node's own seed is refused
    a.admitServer(PEER, cert(m.signer, { seed, now: T0 + 2000 }))
    const self = node(m.id, cert(m.signer, { peerId: 'self', seed })).a
    assert.throws(() => self.admitServer(OTHER, copy), RepeatedSeedError)
  })
})
