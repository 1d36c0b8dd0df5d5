import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Envelope {
  id: Uint8Array<ArrayBuffer>
  timestamp: bigint
  kind: Envelope.Kind
  senderKey: Uint8Array<ArrayBuffer>
  recipient: string
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  senderHandle: string
  prev: Uint8Array<ArrayBuffer>
}

export namespace Envelope {
  export enum Kind {
    CHAT = 'CHAT',
    GROUPCHAT = 'GROUPCHAT',
    HEADLINE = 'HEADLINE',
    ERROR = 'ERROR',
    RECEIPT = 'RECEIPT',
    PRESENCE = 'PRESENCE',
    SECRET = 'SECRET',
    ROOM = 'ROOM',
    ROSTER = 'ROSTER'
  }

  enum __KindValues {
    CHAT = 0,
    GROUPCHAT = 1,
    HEADLINE = 2,
    ERROR = 3,
    RECEIPT = 4,
    PRESENCE = 5,
    SECRET = 6,
    ROOM = 7,
    ROSTER = 8
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<Envelope>

  export const codec = (): Codec<Envelope> => {
    if (_codec == null) {
      _codec = message<Envelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(16)
          w.uint64(obj.timestamp)
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(24)
          Envelope.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.senderKey != null && obj.senderKey.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.senderKey)
        }

        if ((obj.recipient != null && obj.recipient !== '')) {
          w.uint32(42)
          w.string(obj.recipient)
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.signature)
        }

        if ((obj.senderHandle != null && obj.senderHandle !== '')) {
          w.uint32(66)
          w.string(obj.senderHandle)
        }

        if ((obj.prev != null && obj.prev.byteLength > 0)) {
          w.uint32(74)
          w.bytes(obj.prev)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          timestamp: 0n,
          kind: Kind.CHAT,
          senderKey: uint8ArrayAlloc(0),
          recipient: '',
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          senderHandle: '',
          prev: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              obj.timestamp = reader.uint64()
              break
            }
            case 3: {
              obj.kind = Envelope.Kind.codec().decode(reader)
              break
            }
            case 4: {
              obj.senderKey = reader.bytes()
              break
            }
            case 5: {
              obj.recipient = reader.string()
              break
            }
            case 6: {
              obj.body = reader.bytes()
              break
            }
            case 7: {
              obj.signature = reader.bytes()
              break
            }
            case 8: {
              obj.senderHandle = reader.string()
              break
            }
            case 9: {
              obj.prev = reader.bytes()
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
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.kind`,
                value: Envelope.Kind.codec().decode(reader)
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.senderKey`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.recipient`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.senderHandle`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.prev`,
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

  export interface EnvelopeIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface EnvelopeKindFieldEvent {
    field: '$.kind'
    value: Envelope.Kind
  }

  export interface EnvelopeSenderKeyFieldEvent {
    field: '$.senderKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeRecipientFieldEvent {
    field: '$.recipient'
    value: string
  }

  export interface EnvelopeBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSenderHandleFieldEvent {
    field: '$.senderHandle'
    value: string
  }

  export interface EnvelopePrevFieldEvent {
    field: '$.prev'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Envelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Envelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope {
    return decodeMessage(buf, Envelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopeIdFieldEvent | EnvelopeTimestampFieldEvent | EnvelopeKindFieldEvent | EnvelopeSenderKeyFieldEvent | EnvelopeRecipientFieldEvent | EnvelopeBodyFieldEvent | EnvelopeSignatureFieldEvent | EnvelopeSenderHandleFieldEvent | EnvelopePrevFieldEvent> {
    return streamMessage(buf, Envelope.codec(), opts)
  }
}
