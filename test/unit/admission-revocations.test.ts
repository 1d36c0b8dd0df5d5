/**
 * What a revocation is worth: an attacker holding a leaked operator key floods, backdates and keeps
 * signing after its key is revoked; a node that joins late must still learn every revocation that matters.
 */

import { strict as assert } from 'node:assert'
import {
  Certificate, Revocation, RevokedCertificateError, checkRevocation, decodeRevocation, meshId,
  signCertificate, signDelegation, signRevocation, type AdmissionSigner
} from '../../protocol/admission.js'
import { ed25519Generate } from '../../protocol/ed25519.js'
import { Admission } from '../../node/membership/admission.js'
import { scaled } from '../helpers/wait.js'
import { MAX_REVOCATIONS_PER_FRAME } from '../../node/membership/constants.js'

/** a quota above a sync frame's room, so that a flood overflows both */
const QUOTA = 2 * MAX_REVOCATIONS_PER_FRAME

const DAY = 24 * 3600 * 1000
const T0 = 1_700_000_000_000
const PEER = '12D3KooWServerAlphaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const OTHER = '12D3KooWServerBravoBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface Key { pub: Uint8Array, signer: AdmissionSigner }
function newMesh (): Key & { id: string } {
  const k = ed25519Generate()
  return { pub: k.publicKey, signer: { privateKey: k.privateKey }, id: meshId(k.publicKey) }
}
function newOperator (m: Key, days = 365, now = T0): Key {
  const k = ed25519Generate()
  const delegation = signDelegation(m.signer.privateKey, k.publicKey, { name: 'ops', now, days })
  return { pub: k.publicKey, signer: { privateKey: k.privateKey, delegation } }
}
type CertOpts = Partial<{ peerId: string, now: number, days: number, seed: Uint8Array }>
const cert = (signer: AdmissionSigner, o: CertOpts = {}): Uint8Array =>
  Certificate.encode(signCertificate(signer, { peerId: PEER, capacity: 1, now: T0, days: 30, ...o }))
const revokePeer = (signer: AdmissionSigner, peerId: string, at = T0 + DAY): Uint8Array =>
  Revocation.encode(signRevocation(signer, { peerId }, at))
const revokeOperator = (m: Key, op: Key, at = T0 + DAY): Uint8Array =>
  Revocation.encode(signRevocation(m.signer, { operator: op.pub }, at))

function node (mesh: string, certificate?: Uint8Array, selfId = 'self'): { a: Admission, clock: { now: number } } {
  const clock = { now: T0 + DAY }
  return {
    a: new Admission({ selfId, now: () => clock.now }, { mesh, certificate, maxRevocationsPerSigner: QUOTA }),
    clock
  }
}

/** Everything `from` sends on view syncs over `rounds` syncs, handed to `to` as frames. */
function sync (from: Admission, to: Admission, rounds = 1): void {
  for (let i = 0; i < rounds; i++) {
    const kept = from.all(MAX_REVOCATIONS_PER_FRAME)
    to.acceptFrame(kept.map((k) => k.revocation), kept.flatMap((k) => (k.certificate != null ? [k.certificate] : [])))
  }
}

describe('revocations that matter (node/membership/admission.ts)', () => {
  it('checkRevocation refuses a revocation whose operator was revoked, whenever it is dated', () => {
    const m = newMesh()
    const op = newOperator(m)
    const revoked = { operatorRevokedAt: (o: string) => (o === hex(op.pub) ? T0 + 2 * DAY : undefined) }
    for (const at of [T0 + DAY, T0 + 3 * DAY]) {
      const rev = decodeRevocation(revokePeer(op.signer, PEER, at))
      assert.equal(checkRevocation(rev, m.pub, T0 + 4 * DAY).signer, hex(op.pub))
      assert.throws(() => checkRevocation(rev, m.pub, T0 + 4 * DAY, revoked), (err: any) => {
        return err instanceof RevokedCertificateError && err.code === 'ERR_REVOKED_CERTIFICATE' && err.reason === 'revoked'
      })
    }
  })

  it('revoking an operator voids every revocation it signed, before and after', () => {
    const m = newMesh()
    const leaked = newOperator(m)
    const { a } = node(m.id)
    a.admitServer(PEER, cert(m.signer))
    assert.equal(a.acceptRevocation(revokePeer(leaked.signer, PEER)), true)
    assert.equal(a.why(PEER), 'revoked')
    assert.equal(a.acceptRevocation(revokeOperator(m, leaked)), true)
    assert.equal(a.why(PEER), undefined, 'the revoked operator\'s earlier revocation still counts')
    assert.equal(a.acceptRevocation(revokePeer(leaked.signer, PEER, T0 + DAY + 1)), false)
    assert.deepEqual([a.why(PEER), a.revocationCount, a.dropped.get('signer-revoked')], [undefined, 1, 1])
  })

  it('a revocation of a peer no live certificate names is neither kept nor sent; with one it is, beside it', () => {
    const m = newMesh()
    const { a } = node(m.id)
    const junk = revokePeer(m.signer, OTHER)
    assert.equal(a.acceptRevocation(junk), false)
    const state = [a.revocationCount, a.all(10), a.takeFresh(10, 5), a.dropped.get('no-live-certificate')]
    assert.deepEqual(state, [0, [], [], 1])
    // an expired certificate, or one issued after the revocation, is no evidence either
    assert.equal(a.acceptRevocation(junk, [cert(m.signer, { peerId: OTHER, now: T0 - 40 * DAY })]), false)
    assert.equal(a.acceptRevocation(junk, [cert(m.signer, { peerId: OTHER, now: T0 + DAY + 1 })]), false)
    const live = cert(m.signer, { peerId: OTHER })
    assert.equal(a.acceptFrame([junk], [live, cert(m.signer)]), true)
    const sent = a.all(10).map((k) => [hex(k.revocation), hex(k.certificate as Uint8Array)])
    assert.deepEqual(sent, [[hex(junk), hex(live)]])
  })

  it('a revocation goes once its certificate expires, and stays while another withdrawn certificate lives', () => {
    const m = newMesh()
    const { a, clock } = node(m.id)
    const short = cert(m.signer, { days: 5 })
    const long = cert(m.signer, { days: 60, now: T0 + 1 })
    a.acceptRevocation(revokePeer(m.signer, PEER), [short])
    assert.throws(() => a.admitServer(PEER, long), RevokedCertificateError)
    clock.now = T0 + 10 * DAY
    a.prune()
    assert.equal(a.revocationCount, 1, 'the longer certificate the server showed is now its evidence')
    assert.throws(() => a.admitServer(PEER, long), RevokedCertificateError)
    clock.now = T0 + 61 * DAY
    a.prune()
    assert.equal(a.revocationCount, 0)
  })

  it('a leaked operator\'s flood cannot push out, or crowd out of a sync, a revocation that matters', function () {
    this.timeout(scaled(30_000))
    const m = newMesh()
    const leaked = newOperator(m)
    const { a } = node(m.id)
    const real = revokePeer(m.signer, PEER)
    a.acceptRevocation(real, [cert(m.signer)])
    // the attacker certifies made-up peers and revokes them: each revocation has live evidence
    const flood = Array.from({ length: QUOTA + 8 }, (_, i) => {
      const peerId = `12D3KooWJunk${i}`
      return { rev: revokePeer(leaked.signer, peerId, T0 + DAY + 1000), cert: cert(leaked.signer, { peerId }) }
    })
    for (const f of flood) a.acceptRevocation(f.rev, [f.cert])
    assert.deepEqual([a.revocationCount, a.dropped.get('quota')], [QUOTA + 1, 8])
    // every sync carries the real one; a node that joins late learns it from its first
    for (let i = 0; i < 3; i++) assert.ok(a.all(MAX_REVOCATIONS_PER_FRAME).some((k) => hex(k.revocation) === hex(real)))
    const late = node(m.id).a
    sync(a, late)
    assert.throws(() => late.admitServer(PEER, cert(m.signer)), RevokedCertificateError)
    // the flood all goes in turn, and all of it goes once the operator is revoked
    sync(a, late, Math.ceil(QUOTA / (MAX_REVOCATIONS_PER_FRAME - 1)))
    assert.equal(late.revocationCount, QUOTA + 1)
    a.acceptRevocation(revokeOperator(m, leaked))
    sync(a, late)
    assert.deepEqual([a.revocationCount, late.revocationCount], [2, 2])
  })

  it('a revocation stored by an older version without its certificate is proved by the certificate its peer shows', async () => {
    const m = newMesh()
    const old = revokePeer(m.signer, PEER)
    const removed: string[] = []
    const store = {
      load: async () => [{ revocation: old }],
      add: async () => {},
      remove: async (id: string) => {
        removed.push(id)
      }
    }
    const { a } = node(m.id)
    await a.attach(store)
    assert.deepEqual([a.revocationCount, a.all(10)], [0, []])
    assert.throws(() => a.admitServer(PEER, cert(m.signer)), RevokedCertificateError)
    assert.deepEqual([a.revocationCount, removed], [1, []])
  })
})
