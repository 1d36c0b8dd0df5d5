import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Delegation {
  mesh: Uint8Array<ArrayBuffer>
  operator: Uint8Array<ArrayBuffer>
  name: string
  issuedAt: bigint
  expiresAt: bigint
  signature: Uint8Array<ArrayBuffer>
}

export namespace Delegation {
  let _codec: Codec<Delegation>

  export const codec = (): Codec<Delegation> => {
    if (_codec == null) {
      _codec = message<Delegation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.mesh != null && obj.mesh.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.mesh)
        }

        if ((obj.operator != null && obj.operator.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.operator)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(26)
          w.string(obj.name)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(40)
          w.uint64(obj.expiresAt)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mesh: uint8ArrayAlloc(0),
          operator: uint8ArrayAlloc(0),
          name: '',
          issuedAt: 0n,
          expiresAt: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.mesh = reader.bytes()
              break
            }
            case 2: {
              obj.operator = reader.bytes()
              break
            }
            case 3: {
              obj.name = reader.string()
              break
            }
            case 4: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 5: {
              obj.expiresAt = reader.uint64()
              break
            }
            case 6: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.mesh`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.operator`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DelegationMeshFieldEvent {
    field: '$.mesh'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DelegationOperatorFieldEvent {
    field: '$.operator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DelegationNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface DelegationIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface DelegationExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface DelegationSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Delegation>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Delegation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Delegation>): Delegation {
    return decodeMessage(buf, Delegation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Delegation>): Generator<DelegationMeshFieldEvent | DelegationOperatorFieldEvent | DelegationNameFieldEvent | DelegationIssuedAtFieldEvent | DelegationExpiresAtFieldEvent | DelegationSignatureFieldEvent> {
    return streamMessage(buf, Delegation.codec(), opts)
  }
}

export interface Certificate {
  mesh: Uint8Array<ArrayBuffer>
  peerId: string
  role: string
  capacity: number
  seed: Uint8Array<ArrayBuffer>
  issuedAt: bigint
  expiresAt: bigint
  delegation?: Delegation
  signature: Uint8Array<ArrayBuffer>
}

export namespace Certificate {
  let _codec: Codec<Certificate>

  export const codec = (): Codec<Certificate> => {
    if (_codec == null) {
      _codec = message<Certificate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.mesh != null && obj.mesh.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.mesh)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.role != null && obj.role !== '')) {
          w.uint32(26)
          w.string(obj.role)
        }

        if ((obj.capacity != null && obj.capacity !== 0)) {
          w.uint32(32)
          w.uint32(obj.capacity)
        }

        if ((obj.seed != null && obj.seed.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.seed)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(48)
          w.uint64(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(56)
          w.uint64(obj.expiresAt)
        }

        if (obj.delegation != null) {
          w.uint32(66)
          Delegation.codec().encode(obj.delegation, w)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mesh: uint8ArrayAlloc(0),
          peerId: '',
          role: '',
          capacity: 0,
          seed: uint8ArrayAlloc(0),
          issuedAt: 0n,
          expiresAt: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.mesh = reader.bytes()
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.role = reader.string()
              break
            }
            case 4: {
              obj.capacity = reader.uint32()
              break
            }
            case 5: {
              obj.seed = reader.bytes()
              break
            }
            case 6: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 7: {
              obj.expiresAt = reader.uint64()
              break
            }
            case 8: {
              obj.delegation = Delegation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.delegation
              })
              break
            }
            case 9: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.mesh`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.role`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.capacity`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.seed`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield * Delegation.codec().stream(reader, reader.uint32(), `${prefix}.delegation`, {
                limits: opts.limits?.delegation
              })

              break
            }
            case 9: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CertificateMeshFieldEvent {
    field: '$.mesh'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificatePeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface CertificateRoleFieldEvent {
    field: '$.role'
    value: string
  }

  export interface CertificateCapacityFieldEvent {
    field: '$.capacity'
    value: number
  }

  export interface CertificateSeedFieldEvent {
    field: '$.seed'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface CertificateExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface CertificateDelegationMeshFieldEvent {
    field: '$.delegation.mesh'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateDelegationOperatorFieldEvent {
    field: '$.delegation.operator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateDelegationNameFieldEvent {
    field: '$.delegation.name'
    value: string
  }

  export interface CertificateDelegationIssuedAtFieldEvent {
    field: '$.delegation.issuedAt'
    value: bigint
  }

  export interface CertificateDelegationExpiresAtFieldEvent {
    field: '$.delegation.expiresAt'
    value: bigint
  }

  export interface CertificateDelegationSignatureFieldEvent {
    field: '$.delegation.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Certificate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Certificate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Certificate>): Certificate {
    return decodeMessage(buf, Certificate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Certificate>): Generator<CertificateMeshFieldEvent | CertificatePeerIdFieldEvent | CertificateRoleFieldEvent | CertificateCapacityFieldEvent | CertificateSeedFieldEvent | CertificateIssuedAtFieldEvent | CertificateExpiresAtFieldEvent | CertificateDelegationMeshFieldEvent | CertificateDelegationOperatorFieldEvent | CertificateDelegationNameFieldEvent | CertificateDelegationIssuedAtFieldEvent | CertificateDelegationExpiresAtFieldEvent | CertificateDelegationSignatureFieldEvent | CertificateSignatureFieldEvent> {
    return streamMessage(buf, Certificate.codec(), opts)
  }
}

export interface Revocation {
  mesh: Uint8Array<ArrayBuffer>
  peerId: string
  operator: Uint8Array<ArrayBuffer>
  issuedAt: bigint
  delegation?: Delegation
  signature: Uint8Array<ArrayBuffer>
}

export namespace Revocation {
  let _codec: Codec<Revocation>

  export const codec = (): Codec<Revocation> => {
    if (_codec == null) {
      _codec = message<Revocation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.mesh != null && obj.mesh.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.mesh)
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(18)
          w.string(obj.peerId)
        }

        if ((obj.operator != null && obj.operator.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.operator)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.issuedAt)
        }

        if (obj.delegation != null) {
          w.uint32(42)
          Delegation.codec().encode(obj.delegation, w)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mesh: uint8ArrayAlloc(0),
          peerId: '',
          operator: uint8ArrayAlloc(0),
          issuedAt: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.mesh = reader.bytes()
              break
            }
            case 2: {
              obj.peerId = reader.string()
              break
            }
            case 3: {
              obj.operator = reader.bytes()
              break
            }
            case 4: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 5: {
              obj.delegation = Delegation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.delegation
              })
              break
            }
            case 6: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.mesh`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.operator`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield * Delegation.codec().stream(reader, reader.uint32(), `${prefix}.delegation`, {
                limits: opts.limits?.delegation
              })

              break
            }
            case 6: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RevocationMeshFieldEvent {
    field: '$.mesh'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface RevocationOperatorFieldEvent {
    field: '$.operator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface RevocationDelegationMeshFieldEvent {
    field: '$.delegation.mesh'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationDelegationOperatorFieldEvent {
    field: '$.delegation.operator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationDelegationNameFieldEvent {
    field: '$.delegation.name'
    value: string
  }

  export interface RevocationDelegationIssuedAtFieldEvent {
    field: '$.delegation.issuedAt'
    value: bigint
  }

  export interface RevocationDelegationExpiresAtFieldEvent {
    field: '$.delegation.expiresAt'
    value: bigint
  }

  export interface RevocationDelegationSignatureFieldEvent {
    field: '$.delegation.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Revocation>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Revocation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Revocation>): Revocation {
    return decodeMessage(buf, Revocation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Revocation>): Generator<RevocationMeshFieldEvent | RevocationPeerIdFieldEvent | RevocationOperatorFieldEvent | RevocationIssuedAtFieldEvent | RevocationDelegationMeshFieldEvent | RevocationDelegationOperatorFieldEvent | RevocationDelegationNameFieldEvent | RevocationDelegationIssuedAtFieldEvent | RevocationDelegationExpiresAtFieldEvent | RevocationDelegationSignatureFieldEvent | RevocationSignatureFieldEvent> {
    return streamMessage(buf, Revocation.codec(), opts)
  }
}
