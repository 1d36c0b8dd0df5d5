import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import {
  AdmissionError, Certificate, CertificateMismatchError, Delegation, ExpiredCertificateError, ForeignCertificateError,
  ForgedCertificateError, MAX_ADMISSION_BYTES, MAX_ISSUE_SKEW_MS, MAX_VALIDITY_MS, MalformedCertificateError,
  MissingCertificateError,
  Revocation, RevokedCertificateError, checkCertificate, checkRevocation, decodeCertificate, decodeRevocation, meshId,
  parseMeshId,
  signCertificate, signDelegation, signRevocation, type AdmissionReason, type AdmissionSigner, type RevocationList
} from '../../protocol/admission.js'
import { ed25519Generate, ed25519Sign } from '../../protocol/ed25519.js'
import { Admission, MeshMismatchError, type RevocationStore } from '../../node/membership/admission.js'
import { Ring, keyPoint, positionSource, type RingMember } from '../../protocol/ring.js'

const DAY = 24 * 3600 * 1000
const T0 = 1_700_000_000_000
/** checkCertificate never parses peer ids: valid-looking strings do */
const PEER = '12D3KooWServerAlphaAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const OTHER = '12D3KooWServerBravoBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const NONE: RevocationList = { peerRevokedAt: () => undefined, operatorRevokedAt: () => undefined }
/** the signature domains of protocol/admission.ts, to sign what the signing helpers refuse to produce */
const DOMAIN = {
  cert: 'chorus/admission/certificate/v1\0', delegation: 'chorus/admission/delegation/v1\0', revocation: 'chorus/admission/revocation/v1\0'
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface Key { key: Uint8Array, pub: Uint8Array, hex: string, signer: AdmissionSigner }
type Mesh = Key & { id: string }
function newMesh (): Mesh {
  const k = ed25519Generate()
  return {
    key: k.privateKey,
    pub: k.publicKey,
    hex: hex(k.publicKey),
    id: meshId(k.publicKey),
    signer: { privateKey: k.privateKey }
  }
}
/** an operator key with a delegation of `m` from `now` for `days` */
function newOperator (m: Mesh, now = T0, days = 365): Key {
  const k = ed25519Generate()
  const delegation = signDelegation(m.key, k.publicKey, { name: 'ops-eu', now, days })
  return {
    key: k.privateKey,
    pub: k.publicKey,
    hex: hex(k.publicKey),
    signer: { privateKey: k.privateKey, delegation }
  }
}

type CertOpts = Partial<{ peerId: string, capacity: number, now: number, days: number, seed: Uint8Array }>
const cert = (signer: AdmissionSigner, o: CertOpts = {}): Uint8Array =>
  Certificate.encode(signCertificate(signer, { peerId: PEER, capacity: 3, now: T0, days: 30, ...o }))

/** Re-sign a message after changing fields, the way a signer would. */
interface Codec<T> { encode: (m: T) => Uint8Array }
function resign<T extends { signature: Uint8Array }> (
  codec: Codec<T>,
  domain: string,
  m: T,
  key: Uint8Array,
  over: Partial<T>
): T {
  const body = { ...m, ...over, signature: new Uint8Array(0) }
  return { ...body, signature: ed25519Sign(key, Buffer.concat([Buffer.from(domain), codec.encode(body)])) }
}
const reCert = (c: Certificate, key: Uint8Array, over: Partial<Certificate>): Uint8Array =>
  Certificate.encode(resign(Certificate, DOMAIN.cert, c, key, over))
const reRev = (r: Revocation, key: Uint8Array, over: Partial<Revocation>): Uint8Array =>
  Revocation.encode(resign(Revocation, DOMAIN.revocation, r, key, over))

const revs = (peers: Record<string, number> = {}, ops: Record<string, number> = {}): RevocationList =>
  ({ peerRevokedAt: (p) => peers[p], operatorRevokedAt: (o) => ops[o] })
interface CheckOpts { peer?: string, now?: number, list?: RevocationList }
const check = (bytes: Uint8Array, m: Mesh, o: CheckOpts = {}): ReturnType<typeof checkCertificate> =>
  checkCertificate(decodeCertificate(bytes), m.pub, o.peer ?? PEER, o.now ?? T0 + DAY, o.list ?? NONE)

type ErrorClass = abstract new (...a: any[]) => AdmissionError
/** fn throws an instance of `cls`: its name, code and reason are checked, never its message. */
function refuses (fn: () => unknown, cls: ErrorClass, reason: AdmissionReason): void {
  assert.throws(fn, (err: any) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.name}`)
    assert.deepEqual([err.name, err.reason, /^ERR_/.test(err.code)], [cls.name, reason, true])
    return true
  })
}
/** What `fn` throws: undefined when it returns. */
function thrown (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
}

describe('server admission (protocol/admission.ts)', () => {
  describe('mesh ids', () => {
    it('round-trips random keys through meshId and parseMeshId', () => {
      for (let i = 0; i < 64; i++) {
        const key = randomBytes(32)
        const id = meshId(key)
        assert.match(id, /^b[a-z2-7]{52}$/)
        assert.deepEqual(Buffer.from(parseMeshId(id)), key)
      }
      assert.throws(() => meshId(new Uint8Array(31)), RangeError)
    })

    it('refuses ids of the wrong length, case, alphabet or padding, and non-strings', () => {
      const id = meshId(randomBytes(32))
      const last = id[52]
      // 256 bits in 52 characters: the last one carries 1 bit and 4 zero bits, so only 'a' and 'q' are canonical there
      const nonCanonical = last === 'a' ? 'b' : 'r'
      const bad: unknown[] = [
        '', 'b', id.slice(0, 52), id + 'a', id.toUpperCase(), 'B' + id.slice(1), id.slice(0, 10) + 'C' + id.slice(11),
        id.slice(0, 20) + '1' + id.slice(21), id.slice(0, 20) + '8' + id.slice(21), id.slice(0, 52) + '=', 'c' + id.slice(1),
        id + ' ', ' ' + id.slice(1), id.slice(0, 52) + nonCanonical, 42, null, undefined, randomBytes(32), {
          toString: () => id
        }
      ]
      for (const b of bad) refuses(() => parseMeshId(b as string), MalformedCertificateError, 'malformed')
    })
  })

  describe('certificates', () => {
    it('one signed by the mesh key, or by a delegated operator key, grants its capacity, seed, expiry and operator', () => {
      const m = newMesh()
      const op = newOperator(m)
      const seed = randomBytes(32)
      const common = { peerId: PEER, seed: hex(seed), issuedAt: T0 }
      const byMesh = check(cert(m.signer, { capacity: 7, seed }), m)
      const byMeshWants = {
        ...common,
        capacity: 7,
        expiresAt: T0 + 30 * DAY,
        validUntil: T0 + 30 * DAY,
        operator: undefined
      }
      assert.deepEqual(byMesh, byMeshWants)
      // valid until the first link of its chain expires: here the operator's delegation, after 365 days
      const byOperator = check(cert(op.signer, { capacity: 1000, days: 3650, seed }), m)
      const byOperatorWants = { ...common, capacity: 1000, expiresAt: T0 + MAX_VALIDITY_MS, validUntil: T0 + 365 * DAY }
      assert.deepEqual(byOperator, { ...byOperatorWants, operator: op.hex })
    })

    it('refuses empty, garbage and oversized input', () => {
      const m = newMesh()
      refuses(() => check(new Uint8Array(0), m), MissingCertificateError, 'no-certificate')
      refuses(() => check(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]), m), MalformedCertificateError, 'malformed')
      refuses(() => check(Uint8Array.from([0x0a, 0x40, 1, 2]), m), MalformedCertificateError, 'malformed')
      const big = new Uint8Array(MAX_ADMISSION_BYTES + 1)
      big.set(cert(m.signer))
      for (const b of [big, cert(m.signer, { peerId: 'p'.repeat(3000) })]) {
        refuses(() => check(b, m), MalformedCertificateError, 'malformed')
      }
    })

    it('refuses every truncation of a delegated certificate with an AdmissionError, never accepts one', () => {
      const m = newMesh()
      const bytes = cert(newOperator(m).signer)
      for (let n = 0; n < bytes.byteLength; n++) {
        assert.ok(thrown(() => check(bytes.subarray(0, n), m)) instanceof AdmissionError, `prefix of ${n} bytes`)
      }
    })

    /** every one-bit flip of a mesh-signed and of a delegated certificate */
    function * flips (m: Mesh): Generator<{ bytes: Uint8Array, b: Uint8Array, bit: number }> {
      for (const bytes of [cert(m.signer), cert(newOperator(m).signer)]) {
        for (let bit = 0; bit < bytes.byteLength * 8; bit++) {
          const b = Uint8Array.from(bytes)
          b[bit >> 3] ^= 1 << (bit & 7)
          yield { bytes, b, bit }
        }
      }
    }

    it('never accepts a certificate with a bit flipped into something other than what was signed', () => {
      const m = newMesh()
      for (const { bytes, b, bit } of flips(m)) {
        const err = thrown(() => check(b, m))
        // accepted: only a re-encoding of the very certificate signed (see the skipped test below)
        if (err == null) { assert.deepEqual(Certificate.encode(decodeCertificate(b)), bytes, `bit ${bit}`); continue }
        assert.ok(err instanceof AdmissionError, `bit ${bit}: ${String(err)}`)
        if ((bit >> 3) >= bytes.byteLength - 64) assert.equal(err.reason, 'forged', `bit ${bit}`)
        else assert.ok(['forged', 'malformed', 'wrong-mesh'].includes(err.reason), `bit ${bit}: ${err.reason}`)
      }
    })

    // the decoder ignores a tag's wire type and skips unknown fields, so some flips decode to the signed certificate:
    // only the canonical encoding is accepted
    it('refuses every one-bit flip of a certificate (bytes other than those signed)', () => {
      const m = newMesh()
      for (const { b, bit } of flips(m)) assert.ok(thrown(() => check(b, m)) instanceof AdmissionError, `bit ${bit}`)
    })

    it('refuses one of another mesh, or presented by another peer', () => {
      const m = newMesh()
      const other = newMesh()
      refuses(() => check(cert(other.signer), m), ForeignCertificateError, 'wrong-mesh')
      refuses(() => check(cert(newOperator(other).signer), m), ForeignCertificateError, 'wrong-mesh')
      refuses(() => check(cert(m.signer), m, { peer: OTHER }), CertificateMismatchError, 'wrong-peer')
    })

    it('is valid from issue (within the clock skew) until just before expiry', () => {
      const m = newMesh()
      const bytes = cert(m.signer, { days: 1 })
      assert.equal(check(bytes, m, { now: T0 + DAY - 1 }).peerId, PEER)
      refuses(() => check(bytes, m, { now: T0 + DAY }), ExpiredCertificateError, 'expired')
      assert.equal(check(bytes, m, { now: T0 - MAX_ISSUE_SKEW_MS }).peerId, PEER)
      refuses(() => check(bytes, m, { now: T0 - MAX_ISSUE_SKEW_MS - 1 }), ExpiredCertificateError, 'not-yet-valid')
      refuses(() => check(cert(m.signer, { now: T0 + 2 * DAY }), m, { now: T0 }), ExpiredCertificateError, 'not-yet-valid')
    })

    // a time a Date cannot show is malformed, with a typed error (not a RangeError from formatting it)
    it('refuses a signed certificate issued beyond the Date range as malformed, with a typed error', () => {
      const m = newMesh()
      refuses(() => check(cert(m.signer, { now: 9e15 }), m, { now: T0 }), MalformedCertificateError, 'malformed')
    })

    it('refuses a signed certificate whose role, capacity or validity window is out of bounds', () => {
      const m = newMesh()
      const c = decodeCertificate(cert(m.signer))
      const bad: Array<Partial<Certificate>> = [
        { role: 'client' }, { role: '' }, { capacity: 0 }, { capacity: 1001 }, { peerId: '' }, { seed: new Uint8Array(8) },
        { expiresAt: c.issuedAt + BigInt(MAX_VALIDITY_MS) + 1n }, { expiresAt: c.issuedAt }, {
          expiresAt: c.issuedAt - 1n
        }
      ]
      for (const over of bad) refuses(() => check(reCert(c, m.key, over), m), MalformedCertificateError, 'malformed')
      assert.equal(
        check(reCert(c, m.key, { capacity: 1000, expiresAt: c.issuedAt + BigInt(MAX_VALIDITY_MS) }), m).capacity, 1000
      )
    })

    it('refuses one signed by a key the mesh never delegated to', () => {
      const m = newMesh()
      const rogue = ed25519Generate()
      // a delegation naming this mesh, signed by another key
      const op = newOperator(m)
      const fake = resign(Delegation, DOMAIN.delegation, op.signer.delegation as Delegation, rogue.privateKey, {})
      refuses(() => check(cert({ privateKey: op.key, delegation: fake }), m), ForgedCertificateError, 'forged')
      // a real delegation of one operator, carried by a certificate another key signed
      refuses(() => check(cert({ privateKey: rogue.privateKey, delegation: op.signer.delegation }), m),
        ForgedCertificateError, 'forged')
      // a "mesh-key" certificate naming this mesh, signed by another key
      const c = decodeCertificate(cert(m.signer))
      refuses(() => check(reCert(c, rogue.privateKey, {}), m), ForgedCertificateError, 'forged')
    })

    it('refuses one whose delegation expired, or issued outside its delegation', () => {
      const m = newMesh()
      const op = newOperator(m, T0, 10)
      const bytes = cert(op.signer, { now: T0 + DAY, days: 30 })
      assert.equal(check(bytes, m, { now: T0 + 10 * DAY - 1 }).operator, op.hex)
      refuses(() => check(bytes, m, { now: T0 + 10 * DAY }), ExpiredCertificateError, 'expired')
      const later = newOperator(m, T0 + 5 * DAY, 10)
      refuses(() => check(cert(later.signer, { now: T0 }), m, { now: T0 + 6 * DAY }), ForgedCertificateError, 'forged')
    })

    it('refuses one whose operator was revoked, whenever the operator revocation was issued', () => {
      const m = newMesh()
      const op = newOperator(m)
      const bytes = cert(op.signer, { now: T0 + DAY })
      refuses(() => check(bytes, m, { now: T0 + 2 * DAY, list: revs({}, { [op.hex]: T0 }) }), RevokedCertificateError, 'revoked')
      assert.equal(check(cert(m.signer), m, { list: revs({}, { [op.hex]: T0 }) }).operator, undefined)
    })

    it('refuses one whose peer was revoked at or after its issue; a newer certificate admits again', () => {
      const m = newMesh()
      const old = cert(m.signer, { now: T0 })
      for (const at of [T0, T0 + DAY]) {
        refuses(() => check(old, m, { now: T0 + 2 * DAY, list: revs({ [PEER]: at }) }), RevokedCertificateError, 'revoked')
      }
      const renewed = cert(m.signer, { now: T0 + DAY + 1 })
      assert.equal(check(renewed, m, { now: T0 + 2 * DAY, list: revs({ [PEER]: T0 + DAY }) }).issuedAt, T0 + DAY + 1)
      assert.equal(check(old, m, { now: T0 + 2 * DAY, list: revs({ [OTHER]: T0 + DAY }) }).peerId, PEER)
    })
  })

  describe('revocations', () => {
    const enc = (r: Revocation): Uint8Array => Revocation.encode(r)
    const checkRev = (bytes: Uint8Array, m: Mesh, now = T0 + DAY): ReturnType<typeof checkRevocation> =>
      checkRevocation(decodeRevocation(bytes), m.pub, now)

    it('the mesh key revokes a peer or an operator', () => {
      const m = newMesh()
      const op = newOperator(m)
      assert.deepEqual(checkRev(enc(signRevocation(m.signer, { peerId: PEER }, T0)), m), { peerId: PEER, issuedAt: T0 })
      assert.deepEqual(checkRev(enc(signRevocation(m.signer, { operator: op.pub }, T0)), m), {
        operator: op.hex,
        issuedAt: T0
      })
    })

    it('an operator revokes a peer, even after its delegation ended, but never an operator', () => {
      const m = newMesh()
      const op = newOperator(m, T0, 10)
      const bytes = enc(signRevocation(op.signer, { peerId: PEER }, T0 + DAY))
      assert.deepEqual(checkRev(bytes, m), { peerId: PEER, issuedAt: T0 + DAY, signer: op.hex })
      assert.deepEqual(checkRev(bytes, m, T0 + 100 * DAY), { peerId: PEER, issuedAt: T0 + DAY, signer: op.hex })
      const outside = enc(signRevocation(op.signer, { peerId: PEER }, T0 + 11 * DAY))
      refuses(() => checkRev(outside, m, T0 + 11 * DAY), ForgedCertificateError, 'forged')
      assert.throws(() => signRevocation(op.signer, { operator: newOperator(m).pub }, T0 + DAY), RangeError)
      const byMesh = signRevocation(m.signer, { operator: newOperator(m).pub }, T0 + DAY)
      refuses(() => checkRev(reRev(byMesh, op.key, { delegation: op.signer.delegation }), m), ForgedCertificateError, 'forged')
    })

    it('refuses a forged signature, a foreign mesh and a future issue time', () => {
      const m = newMesh()
      const r = signRevocation(m.signer, { peerId: PEER }, T0)
      const sig = Uint8Array.from(r.signature)
      sig[10] ^= 4
      refuses(() => checkRev(enc({ ...r, signature: sig }), m), ForgedCertificateError, 'forged')
      refuses(() => checkRev(enc({ ...r, peerId: OTHER }), m), ForgedCertificateError, 'forged')
      refuses(() => checkRev(reRev(r, ed25519Generate().privateKey, {}), m), ForgedCertificateError, 'forged')
      refuses(() => checkRev(enc(signRevocation(newMesh().signer, { peerId: PEER }, T0)), m), ForeignCertificateError, 'wrong-mesh')
      const future = enc(signRevocation(m.signer, { peerId: PEER }, T0 + 365 * DAY))
      refuses(() => checkRev(future, m, T0), ExpiredCertificateError, 'not-yet-valid')
      const skewed = enc(signRevocation(m.signer, { peerId: PEER }, T0 + MAX_ISSUE_SKEW_MS))
      assert.equal(checkRev(skewed, m, T0).issuedAt, T0 + MAX_ISSUE_SKEW_MS)
    })

    it('refuses malformed revocations: both targets, neither, a short operator key, bad bytes', () => {
      const m = newMesh()
      const r = signRevocation(m.signer, { peerId: PEER }, T0)
      assert.throws(() => signRevocation(m.signer, {}, T0), RangeError)
      assert.throws(() => signRevocation(m.signer, { peerId: PEER, operator: randomBytes(32) }, T0), RangeError)
      const bad: Array<Partial<Revocation>> = [
        { operator: randomBytes(32) }, { peerId: '' }, { peerId: '', operator: randomBytes(31) }, { peerId: 'p'.repeat(200) }
      ]
      for (const over of bad) refuses(() => checkRev(reRev(r, m.key, over), m), MalformedCertificateError, 'malformed')
      for (const bytes of [new Uint8Array(0), new Uint8Array(MAX_ADMISSION_BYTES + 1),
        Uint8Array.from([0xff, 0xff, 0xff])]) {
        refuses(() => decodeRevocation(bytes), MalformedCertificateError, 'malformed')
      }
    })
  })

  describe('the Admission component (node/membership/admission.ts)', () => {
    function node (
      init: { mesh?: string, certificate?: Uint8Array } = {},
      selfId = 'self'
    ): { a: Admission, clock: { now: number } } {
      const clock = { now: T0 + DAY }
      return { a: new Admission({ selfId, now: () => clock.now }, init), clock }
    }
    const revoke = (
      signer: AdmissionSigner,
      target: { peerId?: string, operator?: Uint8Array },
      at: number
    ): Uint8Array => Revocation.encode(signRevocation(signer, target, at))

    it('an open mesh admits every server and refuses frames that carry a mesh', () => {
      const m = newMesh()
      const { a } = node()
      assert.deepEqual([a.open, a.meshBytes().byteLength], [true, 0])
      a.checkMesh(PEER, new Uint8Array(0))
      refuses(() => a.checkMesh(PEER, m.pub), MeshMismatchError, 'wrong-mesh')
      a.admitServer(PEER, new Uint8Array(0))
      a.admitServer(OTHER, Uint8Array.from([1, 2, 3]))
      assert.deepEqual([a.admitted(PEER), a.why('anyone')], [true, undefined])
      assert.deepEqual(a.selfMember(4), { peerId: 'self', capacity: 4 })
      assert.equal(a.selfCheck(), undefined)
      refuses(() => a.acceptRevocation(revoke(m.signer, { peerId: PEER }, T0)), MeshMismatchError, 'wrong-mesh')
    })

    it('a closed mesh refuses frames of an open mesh or of another, and a bad mesh id', () => {
      const m = newMesh()
      const { a } = node({ mesh: m.id })
      assert.deepEqual([a.open, a.meshId], [false, m.id])
      a.checkMesh(PEER, m.pub)
      for (const mesh of [new Uint8Array(0), newMesh().pub, m.pub.subarray(0, 5)]) {
        refuses(() => a.checkMesh(PEER, mesh), MeshMismatchError, 'wrong-mesh')
      }
      refuses(() => node({ mesh: m.id.toUpperCase() }), MalformedCertificateError, 'malformed')
      // a server with no certificate
      refuses(() => a.admitServer(PEER, new Uint8Array(0)), MissingCertificateError, 'no-certificate')
      assert.deepEqual([a.admitted(PEER), a.why(PEER)], [false, 'no-certificate'])
    })

    it('a granted server stops being admitted at expiry; its cached certificate is still checked', () => {
      const m = newMesh()
      const { a, clock } = node({ mesh: m.id })
      const bytes = cert(m.signer, { days: 3 })
      a.admitServer(PEER, bytes)
      assert.equal(a.admitted(PEER), true)
      assert.equal(a.grantOf(PEER)?.capacity, 3)
      refuses(() => a.admitServer(OTHER, bytes), CertificateMismatchError, 'wrong-peer')
      clock.now = T0 + 3 * DAY
      assert.deepEqual([a.why(PEER), a.admitted(PEER)], ['expired', false])
      refuses(() => a.admitServer(PEER, bytes), ExpiredCertificateError, 'expired')
      a.forget(PEER)
      assert.equal(a.why(PEER), 'no-certificate')
      // an older certificate never replaces a newer grant
      a.admitServer(OTHER, cert(m.signer, { peerId: OTHER, now: T0 + 1000, capacity: 7 }))
      a.admitServer(OTHER, cert(m.signer, { peerId: OTHER, now: T0, capacity: 2, days: 30 }))
      assert.equal(a.grantOf(OTHER)?.capacity, 7)
    })

    it('a revocation is accepted once, revokes the peer, and a newer certificate re-admits it', () => {
      const m = newMesh()
      const { a, clock } = node({ mesh: m.id })
      a.admitServer(PEER, cert(m.signer))
      a.admitServer(OTHER, cert(m.signer, { peerId: OTHER }))
      const r = revoke(m.signer, { peerId: PEER }, T0 + DAY)
      assert.equal(a.acceptRevocation(r), true)
      assert.equal(a.acceptRevocation(Uint8Array.from(r)), false)
      assert.deepEqual([a.revocationCount, a.why(PEER), a.admitted(OTHER)], [1, 'revoked', true])
      refuses(() => a.admitServer(PEER, cert(m.signer)), RevokedCertificateError, 'revoked')
      clock.now += 1000
      a.admitServer(PEER, cert(m.signer, { now: clock.now }))
      assert.equal(a.admitted(PEER), true)
      refuses(() => a.acceptRevocation(revoke(newMesh().signer, { peerId: PEER }, T0)), ForeignCertificateError, 'wrong-mesh')
    })

    it('revoking an operator un-admits the servers it certified, not the others', () => {
      const m = newMesh()
      const op = newOperator(m)
      const { a } = node({ mesh: m.id })
      a.admitServer(PEER, cert(op.signer))
      a.admitServer(OTHER, cert(m.signer, { peerId: OTHER }))
      assert.equal(a.acceptRevocation(revoke(m.signer, { operator: op.pub }, T0 + DAY)), true)
      assert.deepEqual([a.why(PEER), a.why(OTHER)], ['revoked', undefined])
    })

    // revocations are known by their bytes, so only the canonical encoding is accepted: otherwise anyone could replay a
    // real revocation as endless "new" ones (persisted, gossiped) and push older ones out of a view sync's newest 512
    it('a re-encoding of a known revocation is not new, and cannot push others out of all()', () => {
      const m = newMesh()
      const { a } = node({ mesh: m.id })
      a.admitServer(PEER, cert(m.signer))
      a.admitServer(OTHER, cert(m.signer, { peerId: OTHER }))
      const older = revoke(m.signer, { peerId: PEER }, T0)
      const newest = revoke(m.signer, { peerId: OTHER }, T0 + 1)
      a.acceptRevocation(older)
      a.acceptRevocation(newest)
      const wireType = Uint8Array.from(newest)
      wireType[0] ^= 1
      assert.throws(() => a.acceptRevocation(wireType), MalformedCertificateError)
      for (let i = 1; i < 600; i++) {
        assert.throws(() => a.acceptRevocation(Uint8Array.from([...newest, 0x78, 0x80 | (i & 127), i >> 7])),
          MalformedCertificateError)
      }
      assert.equal(a.revocationCount, 2)
      assert.ok(a.all(512).some((b) => hex(b.revocation) === hex(older)))
    })

    it('takeFresh hands each fresh revocation out at most `limit` times, least sent first, each with its certificate', () => {
      const m = newMesh()
      const { a } = node({ mesh: m.id })
      const certs = ['p1', 'p2', 'p3'].map((peerId) => cert(m.signer, { peerId }))
      certs.forEach((c, i) => { a.admitServer(`p${i + 1}`, c) })
      const rs = ['p1', 'p2', 'p3'].map((p, i) => revoke(m.signer, { peerId: p }, T0 + i))
      for (const r of rs) a.acceptRevocation(r)
      const sent = new Map<string, number>()
      for (let round = 0; round < 10; round++) {
        const batch = a.takeFresh(2, 3)
        assert.ok(batch.length <= 2)
        for (const b of batch) sent.set(hex(b.revocation), (sent.get(hex(b.revocation)) ?? 0) + 1)
      }
      assert.deepEqual(rs.map((r) => sent.get(hex(r))), [3, 3, 3])
      assert.deepEqual(a.takeFresh(10, 3), [])
      assert.deepEqual(a.all(3).map((k) => [hex(k.revocation), hex(k.certificate as Uint8Array)]).sort(),
        rs.map((r, i) => [hex(r), hex(certs[i])]).sort())
    })

    it('revocations loaded through attach() apply with their certificate but are not gossiped as fresh; new ones are persisted', async () => {
      const m = newMesh()
      const old = revoke(m.signer, { peerId: PEER }, T0 + DAY)
      const added: Array<{ id: string, bytes: Uint8Array, certificate?: Uint8Array }> = []
      let loads = 0
      const store: RevocationStore = {
        load: async () => {
          loads++
          return [{ revocation: old, certificate: cert(m.signer) }, { revocation: Uint8Array.from([0xff, 0xff]) },
            { revocation: revoke(newMesh().signer, { peerId: OTHER }, T0) }]
        },
        add: async (id, kept) => { added.push({ id, bytes: kept.revocation, certificate: kept.certificate }) },
        remove: async () => {}
      }
      const { a } = node({ mesh: m.id })
      await a.attach(store)
      assert.deepEqual([loads, a.revocationCount, added.length], [1, 1, 0])
      refuses(() => a.admitServer(PEER, cert(m.signer)), RevokedCertificateError, 'revoked')
      assert.deepEqual(a.takeFresh(10, 5), [])
      assert.deepEqual(a.all(10).map((k) => hex(k.revocation)), [hex(old)])
      assert.equal(a.acceptRevocation(old), false)
      const fresh = revoke(m.signer, { peerId: OTHER }, T0 + DAY)
      const otherCert = cert(m.signer, { peerId: OTHER })
      assert.equal(a.acceptRevocation(fresh, [otherCert]), true)
      assert.deepEqual(added.map((x) => [hex(x.bytes), hex(x.certificate as Uint8Array)]),
        [[hex(fresh), hex(otherCert)]])
      assert.match(added[0].id, /^[0-9a-f]{64}$/)
      assert.deepEqual(a.takeFresh(10, 5).map((k) => hex(k.revocation)), [hex(fresh)])
      await node().a.attach(store)
      assert.equal(loads, 1, 'an open mesh loads no revocations')
    })

    it('selfMember gives a valid own certificate\'s capacity and seed, and nothing for a bad or missing one', () => {
      const m = newMesh()
      const seed = randomBytes(32)
      const own = cert(m.signer, { peerId: 'self', capacity: 9, seed, days: 2 })
      const { a, clock } = node({ mesh: m.id, certificate: own })
      assert.deepEqual(a.selfMember(1), { peerId: 'self', capacity: 9, seed: hex(seed) })
      assert.equal((a.selfCheck() as { capacity: number }).capacity, 9)
      assert.equal(a.admitted('self'), true)
      clock.now = T0 + 2 * DAY
      assert.deepEqual([a.selfMember(1), a.admitted('self'), (a.selfCheck() as AdmissionError).reason], [undefined, false, 'expired'])
      const forged = Uint8Array.from(own)
      forged[forged.byteLength - 1] ^= 1
      const cases: Array<[Uint8Array | undefined, ErrorClass]> = [
        [cert(newMesh().signer, { peerId: 'self' }), ForeignCertificateError], [forged, ForgedCertificateError],
        [undefined, MissingCertificateError], [cert(m.signer, { peerId: OTHER }), CertificateMismatchError]
      ]
      for (const [certificate, cls] of cases) {
        const n = node({ mesh: m.id, certificate }).a
        assert.deepEqual([n.selfMember(1), n.admitted('self')], [undefined, false])
        assert.ok(n.selfCheck() instanceof cls && n.selfCheck() instanceof cls, `${cls.name}, twice`)
      }
      // revoked
      const r = node({ mesh: m.id, certificate: cert(m.signer, { peerId: 'self' }) }).a
      assert.ok(r.selfMember(1) != null)
      r.acceptRevocation(revoke(m.signer, { peerId: 'self' }, T0 + DAY))
      assert.deepEqual([r.why('self'), r.selfMember(1)], ['revoked', undefined])
    })

    it('why() of this node with an expired own certificate is "expired"', () => {
      const m = newMesh()
      const { a, clock } = node({ mesh: m.id, certificate: cert(m.signer, { peerId: 'self', days: 2 }) })
      clock.now = T0 + 2 * DAY
      assert.equal(a.why('self'), 'expired')
    })

    it('counts refusals by reason', () => {
      const { a } = node({ mesh: newMesh().id })
      for (const reason of ['forged', 'expired', 'forged'] as const) a.refused(reason)
      assert.deepEqual([...a.refusals.entries()].sort(), [['expired', 1], ['forged', 2]])
    })
  })

  describe('ring positions from the certificate seed (protocol/ring.ts)', () => {
    const others: RingMember[] = ['b', 'c', 'd', 'e'].map((peerId) => ({ peerId, seed: hex(randomBytes(32)) }))
    const keys = Array.from({ length: 500 }, (_, i) => keyPoint('user', `u${i}`))

    it('the same peer id with another seed takes other positions', () => {
      const [s1, s2] = [hex(randomBytes(32)), hex(randomBytes(32))]
      assert.notEqual(positionSource({ peerId: 'a', seed: s1 }), positionSource({ peerId: 'a', seed: s2 }))
      assert.equal(positionSource({ peerId: 'a' }), 'a')
      const r1 = new Ring([{ peerId: 'a', seed: s1 }, ...others])
      const r2 = new Ring([{ peerId: 'a', seed: s2 }, ...others])
      const differ = keys.filter((k) => r1.owners(k, 1)[0] !== r2.owners(k, 1)[0]).length
      assert.ok(differ > 50, `only ${differ} of ${keys.length} keys moved`)
    })

    it('another peer id with the same seed takes the same positions', () => {
      const seed = hex(randomBytes(32))
      assert.equal(positionSource({ peerId: 'a', seed }), positionSource({ peerId: 'z', seed }))
      const r1 = new Ring([{ peerId: 'a', seed, capacity: 2 }, ...others])
      const r2 = new Ring([{ peerId: 'z', seed, capacity: 2 }, ...others])
      for (const k of keys) assert.deepEqual(r1.owners(k, 3).map((p) => (p === 'a' ? 'z' : p)), r2.owners(k, 3))
    })
  })
})
