/**
 * The files of server admission, as operators handle them: small JSON documents with a `type`, a
 * readable summary and the signed bytes in base64. Only the signed bytes are trusted; the summary is
 * for people. Keys are written with mode 0600 and never overwritten.
 */

import { readFileSync, writeFileSync } from 'node:fs'
import {
  Certificate, Delegation, Revocation, decodeCertificate, decodeRevocation, keyFingerprint, meshId,
  type AdmissionSigner
} from '../protocol/admission.js'
import { ed25519PublicKey } from '../protocol/ed25519.js'
import { InvalidOptionError } from '../node/errors.js'

/** Largest admission file read, in bytes. */
const MAX_FILE_BYTES = 64 * 1024

/** A mesh key or an operator key, loaded. */
export interface SigningKey extends AdmissionSigner {
  mesh: string
  /** `mesh key` or `operator NAME` */
  describe: string
}

/** Read and parse one of our JSON files, checking its type. `flag` names the option in errors. */
function readDoc (flag: string, path: string, types: string[]): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    throw new InvalidOptionError(flag, `cannot read ${path}: ${err.code ?? err.message}`)
  }
  if (text.length > MAX_FILE_BYTES) throw new InvalidOptionError(flag, `${path} is larger than ${MAX_FILE_BYTES} bytes`)
  let doc: unknown
  try { doc = JSON.parse(text) } catch { throw new InvalidOptionError(flag, `${path} is not a chorus admission file (not JSON)`) }
  if (doc == null || typeof doc !== 'object' || Array.isArray(doc)) throw new InvalidOptionError(flag, `${path} is not a chorus admission file`)
  const type = (doc as Record<string, unknown>).type
  if (typeof type !== 'string' || !types.includes(type)) {
    throw new InvalidOptionError(flag, `${path} is ${typeof type === 'string' ? `a ${type.slice(0, 40)}` : 'not a chorus admission file'}, expected a ${types.join(' or ')}`)
  }
  return doc as Record<string, unknown>
}

function base64Field (flag: string, path: string, doc: Record<string, unknown>, field: string): Uint8Array {
  const v = doc[field]
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new InvalidOptionError(flag, `${path}: ${field} is not base64`)
  return new Uint8Array(Buffer.from(v, 'base64'))
}

/** Write a file that must not exist yet (keys are never overwritten by accident). */
export function writeNew (flag: string, path: string, doc: object, secret: boolean): void {
  try {
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: secret ? 0o600 : 0o644, flag: 'wx' })
  } catch (err: any) {
    throw new InvalidOptionError(flag, err.code === 'EEXIST' ? `${path} exists already; choose another name or move it away` : `cannot write ${path}: ${err.code ?? err.message}`)
  }
}

/** A new mesh key's file. */
export function meshKeyDoc (privateKey: Uint8Array): object {
  return { type: 'chorus-mesh-key', mesh: meshId(ed25519PublicKey(privateKey)), privateKey: Buffer.from(privateKey).toString('base64') }
}

/** An operator key's file: the key and the mesh key's delegation to it. */
export function operatorKeyDoc (privateKey: Uint8Array, d: Delegation): object {
  return {
    type: 'chorus-operator-key',
    mesh: meshId(d.mesh),
    name: d.name,
    operator: Buffer.from(d.operator).toString('hex'),
    expiresAt: new Date(Number(d.expiresAt)).toISOString(),
    privateKey: Buffer.from(privateKey).toString('base64'),
    delegation: Buffer.from(Delegation.encode(d)).toString('base64')
  }
}

/** Load a mesh key or an operator key file (`--mesh-key`). */
export function readSigningKey (flag: string, path: string): SigningKey {
  const doc = readDoc(flag, path, ['chorus-mesh-key', 'chorus-operator-key'])
  const privateKey = base64Field(flag, path, doc, 'privateKey')
  if (privateKey.byteLength !== 32) throw new InvalidOptionError(flag, `${path}: privateKey must be 32 bytes`)
  if (doc.type === 'chorus-mesh-key') return { privateKey, mesh: meshId(ed25519PublicKey(privateKey)), describe: 'mesh key' }
  let delegation: Delegation
  try {
    delegation = Delegation.decode(base64Field(flag, path, doc, 'delegation'))
  } catch (err: any) {
    throw new InvalidOptionError(flag, `${path}: delegation does not decode: ${err.message}`)
  }
  if (delegation.mesh.byteLength !== 32 || !Buffer.from(delegation.operator).equals(ed25519PublicKey(privateKey))) {
    throw new InvalidOptionError(flag, `${path}: the delegation is not for this operator key`)
  }
  return {
    privateKey,
    delegation,
    mesh: meshId(delegation.mesh),
    describe: `operator ${delegation.name} (${keyFingerprint(delegation.operator)})`
  }
}

/** A certificate's file. */
export function certificateDoc (c: Certificate, signedBy: string): object {
  return {
    type: 'chorus-certificate',
    mesh: meshId(c.mesh),
    peerId: c.peerId,
    role: c.role,
    capacity: c.capacity,
    issuedAt: new Date(Number(c.issuedAt)).toISOString(),
    expiresAt: new Date(Number(c.expiresAt)).toISOString(),
    signedBy,
    certificate: Buffer.from(Certificate.encode(c)).toString('base64')
  }
}

/** Load a certificate file (`--cert`): the signed bytes, checked to decode. */
export function readCertificateFile (flag: string, path: string): Uint8Array {
  const bytes = base64Field(flag, path, readDoc(flag, path, ['chorus-certificate']), 'certificate')
  try { decodeCertificate(bytes) } catch (err: any) { throw new InvalidOptionError(flag, `${path}: ${err.message}`) }
  return bytes
}

/** A revocation's file. */
export function revocationDoc (r: Revocation): object {
  return {
    type: 'chorus-revocation',
    mesh: meshId(r.mesh),
    ...(r.peerId !== '' ? { peerId: r.peerId } : { operator: Buffer.from(r.operator).toString('hex') }),
    issuedAt: new Date(Number(r.issuedAt)).toISOString(),
    revocation: Buffer.from(Revocation.encode(r)).toString('base64')
  }
}

/** Load a revocation file: the signed bytes, checked to decode. */
export function readRevocationFile (flag: string, path: string): Uint8Array {
  const bytes = base64Field(flag, path, readDoc(flag, path, ['chorus-revocation']), 'revocation')
  try { decodeRevocation(bytes) } catch (err: any) { throw new InvalidOptionError(flag, `${path}: ${err.message}`) }
  return bytes
}

/** Load an operator key file's public key (for `mesh revoke --operator FILE`). */
export function readOperatorPublicKey (flag: string, path: string): Uint8Array {
  const doc = readDoc(flag, path, ['chorus-operator-key'])
  const hex = doc.operator
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new InvalidOptionError(flag, `${path}: operator is not a 32-byte hex key`)
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** What `chorus mesh inspect` prints about any admission file. */
export function inspectFile (path: string): Record<string, unknown> {
  const doc = readDoc('inspect', path, ['chorus-mesh-key', 'chorus-operator-key', 'chorus-certificate', 'chorus-revocation'])
  const { privateKey, certificate, revocation, delegation, ...rest } = doc
  void privateKey; void certificate; void revocation; void delegation
  return rest
}
