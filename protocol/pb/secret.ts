import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface SecretBody {
  initial: Uint8Array<ArrayBuffer>
  header: Uint8Array<ArrayBuffer>
  ciphertext: Uint8Array<ArrayBuffer>
  expiresAt: bigint
}

export namespace SecretBody {
  let _codec: Codec<SecretBody>

  export const codec = (): Codec<SecretBody> => {
    if (_codec == null) {
      _codec = message<SecretBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.initial != null && obj.initial.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.initial)
        }

        if ((obj.header != null && obj.header.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.header)
        }

        if ((obj.ciphertext != null && obj.ciphertext.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.ciphertext)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.expiresAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          initial: uint8ArrayAlloc(0),
          header: uint8ArrayAlloc(0),
          ciphertext: uint8ArrayAlloc(0),
          expiresAt: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.initial = reader.bytes()
              break
            }
            case 2: {
              obj.header = reader.bytes()
              break
            }
            case 3: {
              obj.ciphertext = reader.bytes()
              break
            }
            case 4: {
              obj.expiresAt = reader.uint64()
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
                field: `${prefix}.initial`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.header`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.ciphertext`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
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

  export interface SecretBodyInitialFieldEvent {
    field: '$.initial'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SecretBodyHeaderFieldEvent {
    field: '$.header'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SecretBodyCiphertextFieldEvent {
    field: '$.ciphertext'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SecretBodyExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export function encode (obj: Partial<SecretBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SecretBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SecretBody>): SecretBody {
    return decodeMessage(buf, SecretBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SecretBody>): Generator<SecretBodyInitialFieldEvent | SecretBodyHeaderFieldEvent | SecretBodyCiphertextFieldEvent | SecretBodyExpiresAtFieldEvent> {
    return streamMessage(buf, SecretBody.codec(), opts)
  }
}

export interface SecretPlaintext {
  text: string
  ttlMs: number
}

export namespace SecretPlaintext {
  let _codec: Codec<SecretPlaintext>

  export const codec = (): Codec<SecretPlaintext> => {
    if (_codec == null) {
      _codec = message<SecretPlaintext>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.text != null && obj.text !== '')) {
          w.uint32(10)
          w.string(obj.text)
        }

        if ((obj.ttlMs != null && obj.ttlMs !== 0)) {
          w.uint32(16)
          w.uint32(obj.ttlMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          text: '',
          ttlMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.text = reader.string()
              break
            }
            case 2: {
              obj.ttlMs = reader.uint32()
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
                field: `${prefix}.text`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.ttlMs`,
                value: reader.uint32()
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

  export interface SecretPlaintextTextFieldEvent {
    field: '$.text'
    value: string
  }

  export interface SecretPlaintextTtlMsFieldEvent {
    field: '$.ttlMs'
    value: number
  }

  export function encode (obj: Partial<SecretPlaintext>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SecretPlaintext.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SecretPlaintext>): SecretPlaintext {
    return decodeMessage(buf, SecretPlaintext.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SecretPlaintext>): Generator<SecretPlaintextTextFieldEvent | SecretPlaintextTtlMsFieldEvent> {
    return streamMessage(buf, SecretPlaintext.codec(), opts)
  }
}

export interface PrekeyUpload {
  identityKey: Uint8Array<ArrayBuffer>
  bundle: Uint8Array<ArrayBuffer>
  oneTime: OneTimePrekey[]
  timestamp: bigint
  signature: Uint8Array<ArrayBuffer>
}

export namespace PrekeyUpload {
  let _codec: Codec<PrekeyUpload>

  export const codec = (): Codec<PrekeyUpload> => {
    if (_codec == null) {
      _codec = message<PrekeyUpload>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.identityKey != null && obj.identityKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.identityKey)
        }

        if ((obj.bundle != null && obj.bundle.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.bundle)
        }

        if (obj.oneTime != null && obj.oneTime.length > 0) {
          for (const value of obj.oneTime) {
            w.uint32(26)
            OneTimePrekey.codec().encode(value, w)
          }
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(32)
          w.uint64(obj.timestamp)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          identityKey: uint8ArrayAlloc(0),
          bundle: uint8ArrayAlloc(0),
          oneTime: [],
          timestamp: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.identityKey = reader.bytes()
              break
            }
            case 2: {
              obj.bundle = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.oneTime != null && obj.oneTime.length === opts.limits.oneTime) {
                throw new MaxLengthError('Decode error - repeated field "oneTime" had too many elements')
              }

              obj.oneTime.push(OneTimePrekey.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.oneTime$
              }))
              break
            }
            case 4: {
              obj.timestamp = reader.uint64()
              break
            }
            case 5: {
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
        const obj = {
          oneTime: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.identityKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.bundle`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.oneTime != null && obj.oneTime === opts.limits.oneTime) {
                throw new MaxLengthError('Streaming decode error - repeated field "oneTime" had too many elements')
              }

              for (const evt of OneTimePrekey.codec().stream(reader, reader.uint32(), `${prefix}.oneTime[]`, {
                limits: opts.limits?.oneTime$
              })) {
                yield {
                  ...evt,
                  index: obj.oneTime
                }
              }

              obj.oneTime++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
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

  export interface PrekeyUploadIdentityKeyFieldEvent {
    field: '$.identityKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PrekeyUploadBundleFieldEvent {
    field: '$.bundle'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PrekeyUploadOneTimeIdFieldEvent {
    field: '$.oneTime[].id'
    value: number
    index: number
  }

  export interface PrekeyUploadOneTimePublicKeyFieldEvent {
    field: '$.oneTime[].publicKey'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PrekeyUploadTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface PrekeyUploadSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PrekeyUpload>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PrekeyUpload.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PrekeyUpload>): PrekeyUpload {
    return decodeMessage(buf, PrekeyUpload.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PrekeyUpload>): Generator<PrekeyUploadIdentityKeyFieldEvent | PrekeyUploadBundleFieldEvent | PrekeyUploadOneTimeIdFieldEvent | PrekeyUploadOneTimePublicKeyFieldEvent | PrekeyUploadTimestampFieldEvent | PrekeyUploadSignatureFieldEvent> {
    return streamMessage(buf, PrekeyUpload.codec(), opts)
  }
}

export interface OneTimePrekey {
  id: number
  publicKey: Uint8Array<ArrayBuffer>
}

export namespace OneTimePrekey {
  let _codec: Codec<OneTimePrekey>

  export const codec = (): Codec<OneTimePrekey> => {
    if (_codec == null) {
      _codec = message<OneTimePrekey>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== 0)) {
          w.uint32(8)
          w.uint32(obj.id)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: 0,
          publicKey: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.uint32()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
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
                field: `${prefix}.id`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
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

  export interface OneTimePrekeyIdFieldEvent {
    field: '$.id'
    value: number
  }

  export interface OneTimePrekeyPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<OneTimePrekey>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, OneTimePrekey.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OneTimePrekey>): OneTimePrekey {
    return decodeMessage(buf, OneTimePrekey.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OneTimePrekey>): Generator<OneTimePrekeyIdFieldEvent | OneTimePrekeyPublicKeyFieldEvent> {
    return streamMessage(buf, OneTimePrekey.codec(), opts)
  }
}
