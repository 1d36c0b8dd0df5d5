/**
 * Server admission for a federated mesh (docs/security.md, "Who may own data"). A mesh is named by an
 * Ed25519 public key, its mesh id. Only a server holding a certificate signed for that mesh, directly by
 * the mesh key or by an operator key the mesh key delegated to, takes positions on the ownership ring,
 * and those positions derive from a seed the signer chose, not from the peer id: nobody can grind a key
 * to land beside a chosen user. Revocations withdraw certificates; they gossip through membership.
 *
 * Pure: times are passed in (ms since the epoch), nothing here does I/O.
 */

import { createHash, randomBytes } from 'node:crypto'
import { Certificate, Delegation, Revocation } from './pb/admission.js'
import { sameBytes } from './bytes.js'
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.js'
import { ChorusError } from './errors.js'

export { Certificate, Delegation, Revocation }

/** Longest a certificate or delegation may be valid: ten years. */
export const MAX_VALIDITY_MS = 3650 * 24 * 3600 * 1000

/** A certificate issued this far "in the future" by the signer's clock is still accepted (clock skew). */
export const MAX_ISSUE_SKEW_MS = 5 * 60 * 1000

/** Largest encoded certificate or revocation accepted, in bytes (a real one is ~300). */
export const MAX_ADMISSION_BYTES = 2048

/** Bounds of a certificate's capacity (the same as a server's declared capacity). */
export const MAX_CERT_CAPACITY = 1000

/** Bytes of the ring seed a signer picks. */
export const SEED_BYTES = 32

/** Longest operator name. */
export const MAX_OPERATOR_NAME = 64

const PEER_ID_MAX = 128
/** The last instant a JavaScript Date can show: times beyond it are malformed, not "far in the future". */
const MAX_TIME_MS = 8.64e15
const CERT_DOMAIN = 'chorus/admission/certificate/v1\0'
const DELEGATION_DOMAIN = 'chorus/admission/delegation/v1\0'
const REVOCATION_DOMAIN = 'chorus/admission/revocation/v1\0'

/** Why a certificate or revocation is refused; the label of `chorus_admission_refusals_total`. */
export type AdmissionReason =
  | 'malformed' | 'wrong-mesh' | 'forged' | 'expired' | 'not-yet-valid' | 'wrong-peer' | 'revoked' | 'no-certificate'
  | 'repeated-seed'

/** Base class: a certificate, delegation or revocation that does not admit. `reason` is stable. */
export class AdmissionError extends ChorusError {
  static readonly code: string = 'ERR_ADMISSION'
  override readonly name: string = 'AdmissionError'
  declare readonly reason: AdmissionReason
  constructor (message: string, reason: AdmissionReason, code = AdmissionError.code) {
    super(message, code, { reason })
  }
}

/** Does not decode, or a field is out of bounds. */
export class MalformedCertificateError extends AdmissionError {
  static override readonly code = 'ERR_MALFORMED_CERTIFICATE'
  override readonly name = 'MalformedCertificateError'
  constructor (message: string) { super(message, 'malformed', MalformedCertificateError.code) }
}

/** Signed for another mesh (or presented in an open mesh's place). */
export class ForeignCertificateError extends AdmissionError {
  static override readonly code = 'ERR_FOREIGN_CERTIFICATE'
  override readonly name = 'ForeignCertificateError'
  constructor (message: string) { super(message, 'wrong-mesh', ForeignCertificateError.code) }
}

/** A signature that does not verify: forged, altered, or signed by a key the mesh never delegated to. */
export class ForgedCertificateError extends AdmissionError {
  static override readonly code = 'ERR_FORGED_CERTIFICATE'
  override readonly name = 'ForgedCertificateError'
  constructor (message: string) { super(message, 'forged', ForgedCertificateError.code) }
}

/** Past its expiry (or its delegation's), or not valid yet. */
export class ExpiredCertificateError extends AdmissionError {
  static override readonly code = 'ERR_EXPIRED_CERTIFICATE'
  override readonly name = 'ExpiredCertificateError'
  constructor (message: string, notYet = false) { super(message, notYet ? 'not-yet-valid' : 'expired', ExpiredCertificateError.code) }
}

/** Valid, but for another peer. */
export class CertificateMismatchError extends AdmissionError {
  static override readonly code = 'ERR_CERTIFICATE_MISMATCH'
  override readonly name = 'CertificateMismatchError'
  constructor (message: string) { super(message, 'wrong-peer', CertificateMismatchError.code) }
}

/** Withdrawn by a revocation. */
export class RevokedCertificateError extends AdmissionError {
  static override readonly code = 'ERR_REVOKED_CERTIFICATE'
  override readonly name = 'RevokedCertificateError'
  constructor (message: string) { super(message, 'revoked', RevokedCertificateError.code) }
}

/**
 * A certificate whose ring seed another server's certificate, issued earlier, already holds: both would
 * take the same ring positions, and so own the same keys.
 */
export class RepeatedSeedError extends AdmissionError {
  static override readonly code = 'ERR_REPEATED_SEED'
  override readonly name = 'RepeatedSeedError'
  constructor (message: string) { super(message, 'repeated-seed', RepeatedSeedError.code) }
}

/** A server of a closed mesh that presents no certificate at all. */
export class MissingCertificateError extends AdmissionError {
  static override readonly code = 'ERR_MISSING_CERTIFICATE'
  override readonly name = 'MissingCertificateError'
  constructor (message: string) { super(message, 'no-certificate', MissingCertificateError.code) }
}

// ---- mesh ids ----------------------------------------------------------------------------------------

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** The printable mesh id of a mesh public key: multibase base32 (`b` + RFC 4648 lower case, no padding). */
export function meshId (publicKey: Uint8Array): string {
  if (publicKey.byteLength !== 32) throw new RangeError('a mesh key is 32 bytes')
  let out = 'b'
  let bits = 0
  let value = 0
  for (const byte of publicKey) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) { out += BASE32[(value >>> (bits - 5)) & 31]; bits -= 5 }
    value &= 0xff
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/** The public key a mesh id names; throws `MalformedCertificateError` for anything else. */
export function parseMeshId (id: string): Uint8Array {
  if (typeof id !== 'string' || !/^b[a-z2-7]{52}$/.test(id)) throw new MalformedCertificateError('a mesh id is "b" and 52 base32 characters (chorus mesh init prints one)')
  const out = new Uint8Array(32)
  let bits = 0
  let value = 0
  let i = 0
  for (const ch of id.slice(1)) {
    value = (value << 5) | BASE32.indexOf(ch)
    bits += 5
    if (bits >= 8) { out[i++] = (value >>> (bits - 8)) & 0xff; bits -= 8 }
    value &= 0xff
  }
  if (meshId(out) !== id) throw new MalformedCertificateError('mesh id is not canonical')
  return out
}

/** A short, stable fingerprint of a key for logs: 16 hex digits of its SHA-256. */
export function keyFingerprint (publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16)
}

// ---- signing -------------------------------------------------------------------------------------------

/** A signing key: the mesh key itself, or an operator key with the mesh key's delegation. */
export interface AdmissionSigner {
  privateKey: Uint8Array
  /** present for an operator key */
  delegation?: Delegation
}

/** Delegate signing to an operator key for `days`. Only the mesh key may do this. */
export function signDelegation (
  meshKey: Uint8Array,
  operator: Uint8Array,
  o: { name: string, now: number, days: number }
): Delegation {
  if (o.name.length > MAX_OPERATOR_NAME) throw new RangeError(`an operator name is at most ${MAX_OPERATOR_NAME} characters`)
  const body: Delegation = {
    mesh: ab(ed25519PublicKey(meshKey)),
    operator: ab(operator),
    name: o.name,
    issuedAt: BigInt(o.now),
    expiresAt: BigInt(o.now + validity(o.days)),
    signature: new Uint8Array(0)
  }
  return { ...body, signature: ed25519Sign(meshKey, signed(DELEGATION_DOMAIN, Delegation.encode(body))) }
}

/** Admit `peerId` as a server of the signer's mesh for `days`, at `capacity`, with fresh random ring positions. */
export function signCertificate (
  signer: AdmissionSigner,
  o: { peerId: string, capacity: number, now: number, days: number, seed?: Uint8Array }
): Certificate {
  if (!Number.isInteger(o.capacity) || o.capacity < 1 || o.capacity > MAX_CERT_CAPACITY) {
    throw new RangeError(`capacity must be a whole number 1-${MAX_CERT_CAPACITY}`)
  }
  const body: Certificate = {
    mesh: ab(signerMesh(signer)),
    peerId: o.peerId,
    role: 'server',
    capacity: o.capacity,
    seed: ab(o.seed ?? randomBytes(SEED_BYTES)),
    issuedAt: BigInt(o.now),
    expiresAt: BigInt(o.now + validity(o.days)),
    delegation: signer.delegation,
    signature: new Uint8Array(0)
  }
  return { ...body, signature: ed25519Sign(signer.privateKey, signed(CERT_DOMAIN, Certificate.encode(body))) }
}

/**
 * Revoke every certificate of `peerId` issued until now, or (mesh key only) every certificate an operator key signed.
 */
export function signRevocation (
  signer: AdmissionSigner,
  target: { peerId?: string, operator?: Uint8Array },
  now: number
): Revocation {
  if ((target.peerId == null) === (target.operator == null)) throw new RangeError('revoke either a peer id or an operator key')
  if (target.operator != null && signer.delegation != null) throw new RangeError('only the mesh key may revoke an operator key')
  const body: Revocation = {
    mesh: ab(signerMesh(signer)),
    peerId: target.peerId ?? '',
    operator: ab(target.operator ?? new Uint8Array(0)),
    issuedAt: BigInt(now),
    delegation: signer.delegation,
    signature: new Uint8Array(0)
  }
  return { ...body, signature: ed25519Sign(signer.privateKey, signed(REVOCATION_DOMAIN, Revocation.encode(body))) }
}

// ---- checking --------------------------------------------------------------------------------------------

/** What a checked certificate grants. */
export interface Admitted {
  peerId: string
  capacity: number
  /** hex of the ring seed: the server's positions are hashed from it */
  seed: string
  issuedAt: number
  expiresAt: number
  /** the first instant a link of its chain (the certificate, or its operator's delegation) has expired */
  validUntil: number
  /** the operator key that signed it (hex), or undefined when the mesh key did */
  operator?: string
}

/** What a checked revocation withdraws, and who signed it. */
export interface Revoked {
  /** the peer whose certificates issued at or before `issuedAt` it withdraws */
  peerId?: string
  /** the operator key (hex) whose certificates and revocations it voids */
  operator?: string
  issuedAt: number
  /** the operator key (hex) that signed it, or undefined when the mesh key did */
  signer?: string
}

/** The revocations a check consults. */
export interface RevocationList {
  /** the latest `issued_at` of a revocation of this peer, if any */
  peerRevokedAt: (peerId: string) => number | undefined
  /** the latest `issued_at` of a revocation of this operator key (hex), if any */
  operatorRevokedAt: (operatorHex: string) => number | undefined
}

/** Decode a certificate, bounded. Throws `MalformedCertificateError`. */
export function decodeCertificate (bytes: Uint8Array): Certificate {
  if (bytes.byteLength === 0) throw new MissingCertificateError('no certificate')
  if (bytes.byteLength > MAX_ADMISSION_BYTES) throw new MalformedCertificateError(`certificate larger than ${MAX_ADMISSION_BYTES} bytes`)
  let cert: Certificate
  try {
    cert = Certificate.decode(bytes)
  } catch (err: any) {
    throw new MalformedCertificateError(`certificate does not decode: ${err.message}`)
  }
  // one certificate, one encoding: no re-encoded copy (unknown fields, other wire types) passes as another
  if (!sameBytes(Certificate.encode(cert), bytes)) throw new MalformedCertificateError('certificate is not in canonical encoding')
  return cert
}

/** Decode a revocation, bounded. Throws `MalformedCertificateError`. */
export function decodeRevocation (bytes: Uint8Array): Revocation {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_ADMISSION_BYTES) {
    throw new MalformedCertificateError(`a revocation is 1-${MAX_ADMISSION_BYTES} bytes`)
  }
  let rev: Revocation
  try {
    rev = Revocation.decode(bytes)
  } catch (err: any) {
    throw new MalformedCertificateError(`revocation does not decode: ${err.message}`)
  }
  // revocations are known by their bytes: a re-encoded copy must not count as a new one
  if (!sameBytes(Revocation.encode(rev), bytes)) throw new MalformedCertificateError('revocation is not in canonical encoding')
  return rev
}

/**
 * Check a certificate for `mesh` as presented by `peerId` at time `now`: shape, mesh, signature chain,
 * validity window and revocations. Returns what it grants; throws a typed `AdmissionError` otherwise.
 * `verified` lets a caller skip the signature checks of a certificate it has already verified.
 */
export function checkCertificate (
  cert: Certificate,
  mesh: Uint8Array,
  peerId: string,
  now: number,
  revocations: RevocationList,
  verified = false
): Admitted {
  if (cert.role !== 'server') throw new MalformedCertificateError(`certificate for role ${JSON.stringify(cert.role.slice(0, 16))}, not server`)
  if (cert.peerId.length === 0 || cert.peerId.length > PEER_ID_MAX) throw new MalformedCertificateError('certificate peer id missing or too long')
  if (cert.seed.byteLength < 16 || cert.seed.byteLength > 64) throw new MalformedCertificateError('certificate seed must be 16-64 bytes')
  if (cert.capacity < 1 || cert.capacity > MAX_CERT_CAPACITY) throw new MalformedCertificateError(`certificate capacity must be 1-${MAX_CERT_CAPACITY}`)
  const issuedAt = time(cert.issuedAt, 'certificate')
  const expiresAt = time(cert.expiresAt, 'certificate')
  if (expiresAt <= issuedAt || expiresAt - issuedAt > MAX_VALIDITY_MS) throw new MalformedCertificateError('certificate validity window is empty or longer than ten years')
  if (!sameBytes(cert.mesh, mesh)) throw new ForeignCertificateError(`certificate is for mesh ${safeMeshId(cert.mesh)}, not this one`)
  let operator: string | undefined
  if (cert.delegation != null) {
    operator = checkDelegation(cert.delegation, mesh, now, verified)
    if (issuedAt < Number(cert.delegation.issuedAt) || issuedAt > Number(cert.delegation.expiresAt)) {
      throw new ForgedCertificateError('certificate issued outside its operator\'s delegation')
    }
  }
  if (!verified) {
    const signer = cert.delegation?.operator ?? mesh
    if (!ed25519Verify(signer, signed(CERT_DOMAIN, Certificate.encode({ ...cert, signature: new Uint8Array(0) })),
      cert.signature)) {
      throw new ForgedCertificateError(cert.delegation != null ? 'certificate signature does not verify against its operator key' : 'certificate signature does not verify against the mesh key')
    }
  }
  if (cert.peerId !== peerId) throw new CertificateMismatchError(`certificate is for ${cert.peerId}, presented by ${peerId}`)
  if (now >= expiresAt) throw new ExpiredCertificateError(`certificate expired ${new Date(expiresAt).toISOString()}`)
  if (issuedAt > now + MAX_ISSUE_SKEW_MS) throw new ExpiredCertificateError(`certificate is valid only from ${new Date(issuedAt).toISOString()}`, true)
  const peerRevoked = revocations.peerRevokedAt(cert.peerId)
  if (peerRevoked != null && peerRevoked >= issuedAt) {
    throw new RevokedCertificateError(`certificate of ${cert.peerId} revoked ${new Date(peerRevoked).toISOString()}`)
  }
  if (operator != null) {
    const opRevoked = revocations.operatorRevokedAt(operator)
    if (opRevoked != null) throw new RevokedCertificateError(`operator key ${operator.slice(0, 16)} that signed this certificate was revoked ${new Date(opRevoked).toISOString()}`)
  }
  const validUntil = Math.min(expiresAt, cert.delegation != null ? Number(cert.delegation.expiresAt) : expiresAt)
  const seed = hex(cert.seed)
  return { peerId: cert.peerId, capacity: cert.capacity, seed, issuedAt, expiresAt, validUntil, operator }
}

/**
 * Check a revocation for `mesh`: shape and signature chain (a delegated signer may revoke servers only).
 * A revocation signed by an operator key the mesh revoked counts for nothing, whenever it was issued:
 * whoever leaked the key can date it as it likes. Throws `RevokedCertificateError` for one.
 */
export function checkRevocation (
  rev: Revocation, mesh: Uint8Array, now: number, revocations: Pick<RevocationList, 'operatorRevokedAt'> = NONE
): Revoked {
  const byPeer = rev.peerId.length > 0
  const byOperator = rev.operator.byteLength > 0
  if (byPeer === byOperator) throw new MalformedCertificateError('a revocation names either a peer id or an operator key')
  if (rev.peerId.length > PEER_ID_MAX) throw new MalformedCertificateError('revocation peer id too long')
  if (byOperator && rev.operator.byteLength !== 32) throw new MalformedCertificateError('revocation operator key must be 32 bytes')
  if (!sameBytes(rev.mesh, mesh)) throw new ForeignCertificateError(`revocation is for mesh ${safeMeshId(rev.mesh)}, not this one`)
  const issuedAt = time(rev.issuedAt, 'revocation')
  if (issuedAt > now + MAX_ISSUE_SKEW_MS) throw new ExpiredCertificateError('revocation issued in the future', true)
  let signer: Uint8Array = mesh
  if (rev.delegation != null) {
    if (byOperator) throw new ForgedCertificateError('only the mesh key may revoke an operator key')
    // a revocation stays good after its signer's delegation ended: withdrawing trust never needs renewing
    checkDelegation(rev.delegation, mesh, Number(rev.delegation.issuedAt), false)
    if (issuedAt < Number(rev.delegation.issuedAt) || issuedAt > Number(rev.delegation.expiresAt)) {
      throw new ForgedCertificateError('revocation issued outside its operator\'s delegation')
    }
    signer = rev.delegation.operator
  }
  if (!ed25519Verify(signer, signed(REVOCATION_DOMAIN, Revocation.encode({ ...rev, signature: new Uint8Array(0) })),
    rev.signature)) {
    throw new ForgedCertificateError('revocation signature does not verify')
  }
  const by = rev.delegation != null ? hex(rev.delegation.operator) : undefined
  const signerRevoked = by != null ? revocations.operatorRevokedAt(by) : undefined
  if (signerRevoked != null) {
    const when = new Date(signerRevoked).toISOString()
    throw new RevokedCertificateError(`operator key ${by?.slice(0, 16)} that signed this revocation was revoked ${when}`)
  }
  const target = byPeer ? { peerId: rev.peerId, issuedAt } : { operator: hex(rev.operator), issuedAt }
  return by != null ? { ...target, signer: by } : target
}

const NONE: RevocationList = { peerRevokedAt: () => undefined, operatorRevokedAt: () => undefined }

/** Check a delegation; returns the operator key as hex. */
function checkDelegation (d: Delegation, mesh: Uint8Array, now: number, verified: boolean): string {
  if (d.operator.byteLength !== 32) throw new MalformedCertificateError('delegation operator key must be 32 bytes')
  if (d.name.length > MAX_OPERATOR_NAME) throw new MalformedCertificateError('delegation name too long')
  if (!sameBytes(d.mesh, mesh)) throw new ForeignCertificateError(`delegation is for mesh ${safeMeshId(d.mesh)}, not this one`)
  const issuedAt = time(d.issuedAt, 'delegation')
  const expiresAt = time(d.expiresAt, 'delegation')
  if (expiresAt <= issuedAt || expiresAt - issuedAt > MAX_VALIDITY_MS) throw new MalformedCertificateError('delegation validity window is empty or longer than ten years')
  if (!verified &&
      !ed25519Verify(mesh, signed(DELEGATION_DOMAIN, Delegation.encode({ ...d, signature: new Uint8Array(0) })),
        d.signature)) {
    throw new ForgedCertificateError('delegation signature does not verify against the mesh key')
  }
  if (now >= expiresAt) throw new ExpiredCertificateError(`operator delegation expired ${new Date(expiresAt).toISOString()}`)
  return hex(d.operator)
}

/** The mesh public key a signer signs for. */
function signerMesh (signer: AdmissionSigner): Uint8Array {
  return signer.delegation != null ? signer.delegation.mesh : ed25519PublicKey(signer.privateKey)
}

function validity (days: number): number {
  if (!(days > 0) || days * 24 * 3600 * 1000 > MAX_VALIDITY_MS) throw new RangeError('validity must be more than 0 and at most 3650 days')
  return Math.round(days * 24 * 3600 * 1000)
}

/** A time field as ms since the epoch, within what a Date can show. */
function time (v: bigint, what: string): number {
  if (v > BigInt(MAX_TIME_MS)) throw new MalformedCertificateError(`${what} time is beyond the year 275760`)
  return Number(v)
}

function signed (domain: string, body: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(domain), body])
}

function safeMeshId (key: Uint8Array): string {
  return key.byteLength === 32 ? meshId(key) : '(malformed)'
}

function hex (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

function ab (b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b)
}
