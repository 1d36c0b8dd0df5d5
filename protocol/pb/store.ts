import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface StoreRequest {
  kind: StoreRequest.Kind
  puts: Put[]
  mailbox: string
  after: Uint8Array<ArrayBuffer>
  before: Uint8Array<ArrayBuffer>
  limit: number
  peer: string
  newestFirst: boolean
  bucketMs: bigint
  buckets: Bucket[]
  cursors: Uint8Array<ArrayBuffer>[]
  claim?: HandleClaim
  handle: string
  coordinate: boolean
  requestId: number
  auth?: ReadAuth
  prekeys: Uint8Array<ArrayBuffer>
  user: string
  prekeyId: number
  claimOneTime: boolean
  cursorsOnly: boolean
  probes: StoreRequest.Probe[]
  account?: GatewayAccount
}

export namespace StoreRequest {
  export interface Probe {
    mailbox: string
    auth?: ReadAuth
  }

  export namespace Probe {
    let _codec: Codec<Probe>

    export const codec = (): Codec<Probe> => {
      if (_codec == null) {
        _codec = message<Probe>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.mailbox != null && obj.mailbox !== '')) {
            w.uint32(10)
            w.string(obj.mailbox)
          }

          if (obj.auth != null) {
            w.uint32(18)
            ReadAuth.codec().encode(obj.auth, w)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            mailbox: ''
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.mailbox = reader.string()
                break
              }
              case 2: {
                obj.auth = ReadAuth.codec().decode(reader, reader.uint32(), {
                  limits: opts.limits?.auth
                })
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
                  field: `${prefix}.mailbox`,
                  value: reader.string()
                }
                break
              }
              case 2: {
                yield * ReadAuth.codec().stream(reader, reader.uint32(), `${prefix}.auth`, {
                  limits: opts.limits?.auth
                })

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

    export interface ProbeMailboxFieldEvent {
      field: '$.mailbox'
      value: string
    }

    export interface ProbeAuthPublicKeyFieldEvent {
      field: '$.auth.publicKey'
      value: Uint8Array<ArrayBuffer>
    }

    export interface ProbeAuthTimestampFieldEvent {
      field: '$.auth.timestamp'
      value: bigint
    }

    export interface ProbeAuthSignatureFieldEvent {
      field: '$.auth.signature'
      value: Uint8Array<ArrayBuffer>
    }

    export function encode (obj: Partial<Probe>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, Probe.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Probe>): Probe {
      return decodeMessage(buf, Probe.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Probe>): Generator<ProbeMailboxFieldEvent | ProbeAuthPublicKeyFieldEvent | ProbeAuthTimestampFieldEvent | ProbeAuthSignatureFieldEvent> {
      return streamMessage(buf, Probe.codec(), opts)
    }
  }

  export enum Kind {
    STORE = 'STORE',
    FETCH = 'FETCH',
    DIGEST = 'DIGEST',
    IDS = 'IDS',
    GET = 'GET',
    CLAIM = 'CLAIM',
    RESOLVE = 'RESOLVE',
    DELETE = 'DELETE',
    PREKEYS_PUT = 'PREKEYS_PUT',
    PREKEYS_GET = 'PREKEYS_GET',
    PREKEY_USED = 'PREKEY_USED',
    TOMBSTONES = 'TOMBSTONES',
    PROBE = 'PROBE',
    ACCOUNT_PUT = 'ACCOUNT_PUT',
    ACCOUNT_GET = 'ACCOUNT_GET',
    ADDRESSES = 'ADDRESSES',
    WATCH = 'WATCH'
  }

  enum __KindValues {
    STORE = 0,
    FETCH = 1,
    DIGEST = 2,
    IDS = 3,
    GET = 4,
    CLAIM = 5,
    RESOLVE = 6,
    DELETE = 7,
    PREKEYS_PUT = 8,
    PREKEYS_GET = 9,
    PREKEY_USED = 10,
    TOMBSTONES = 11,
    PROBE = 12,
    ACCOUNT_PUT = 13,
    ACCOUNT_GET = 14,
    ADDRESSES = 15,
    WATCH = 16
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<StoreRequest>

  export const codec = (): Codec<StoreRequest> => {
    if (_codec == null) {
      _codec = message<StoreRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          StoreRequest.Kind.codec().encode(obj.kind, w)
        }

        if (obj.puts != null && obj.puts.length > 0) {
          for (const value of obj.puts) {
            w.uint32(18)
            Put.codec().encode(value, w)
          }
        }

        if ((obj.mailbox != null && obj.mailbox !== '')) {
          w.uint32(26)
          w.string(obj.mailbox)
        }

        if ((obj.after != null && obj.after.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.after)
        }

        if ((obj.before != null && obj.before.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.before)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(48)
          w.uint32(obj.limit)
        }

        if ((obj.peer != null && obj.peer !== '')) {
          w.uint32(58)
          w.string(obj.peer)
        }

        if ((obj.newestFirst != null && obj.newestFirst !== false)) {
          w.uint32(64)
          w.bool(obj.newestFirst)
        }

        if ((obj.bucketMs != null && obj.bucketMs !== 0n)) {
          w.uint32(72)
          w.uint64(obj.bucketMs)
        }

        if (obj.buckets != null && obj.buckets.length > 0) {
          for (const value of obj.buckets) {
            w.uint32(82)
            Bucket.codec().encode(value, w)
          }
        }

        if (obj.cursors != null && obj.cursors.length > 0) {
          for (const value of obj.cursors) {
            w.uint32(90)
            w.bytes(value)
          }
        }

        if (obj.claim != null) {
          w.uint32(98)
          HandleClaim.codec().encode(obj.claim, w)
        }

        if ((obj.handle != null && obj.handle !== '')) {
          w.uint32(106)
          w.string(obj.handle)
        }

        if ((obj.coordinate != null && obj.coordinate !== false)) {
          w.uint32(112)
          w.bool(obj.coordinate)
        }

        if ((obj.requestId != null && obj.requestId !== 0)) {
          w.uint32(120)
          w.uint32(obj.requestId)
        }

        if (obj.auth != null) {
          w.uint32(130)
          ReadAuth.codec().encode(obj.auth, w)
        }

        if ((obj.prekeys != null && obj.prekeys.byteLength > 0)) {
          w.uint32(138)
          w.bytes(obj.prekeys)
        }

        if ((obj.user != null && obj.user !== '')) {
          w.uint32(146)
          w.string(obj.user)
        }

        if ((obj.prekeyId != null && obj.prekeyId !== 0)) {
          w.uint32(152)
          w.uint32(obj.prekeyId)
        }

        if ((obj.claimOneTime != null && obj.claimOneTime !== false)) {
          w.uint32(160)
          w.bool(obj.claimOneTime)
        }

        if ((obj.cursorsOnly != null && obj.cursorsOnly !== false)) {
          w.uint32(168)
          w.bool(obj.cursorsOnly)
        }

        if (obj.probes != null && obj.probes.length > 0) {
          for (const value of obj.probes) {
            w.uint32(178)
            StoreRequest.Probe.codec().encode(value, w)
          }
        }

        if (obj.account != null) {
          w.uint32(186)
          GatewayAccount.codec().encode(obj.account, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.STORE,
          puts: [],
          mailbox: '',
          after: uint8ArrayAlloc(0),
          before: uint8ArrayAlloc(0),
          limit: 0,
          peer: '',
          newestFirst: false,
          bucketMs: 0n,
          buckets: [],
          cursors: [],
          handle: '',
          coordinate: false,
          requestId: 0,
          prekeys: uint8ArrayAlloc(0),
          user: '',
          prekeyId: 0,
          claimOneTime: false,
          cursorsOnly: false,
          probes: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = StoreRequest.Kind.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.puts != null && obj.puts.length === opts.limits.puts) {
                throw new MaxLengthError('Decode error - repeated field "puts" had too many elements')
              }

              obj.puts.push(Put.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.puts$
              }))
              break
            }
            case 3: {
              obj.mailbox = reader.string()
              break
            }
            case 4: {
              obj.after = reader.bytes()
              break
            }
            case 5: {
              obj.before = reader.bytes()
              break
            }
            case 6: {
              obj.limit = reader.uint32()
              break
            }
            case 7: {
              obj.peer = reader.string()
              break
            }
            case 8: {
              obj.newestFirst = reader.bool()
              break
            }
            case 9: {
              obj.bucketMs = reader.uint64()
              break
            }
            case 10: {
              if (opts.limits?.buckets != null && obj.buckets.length === opts.limits.buckets) {
                throw new MaxLengthError('Decode error - repeated field "buckets" had too many elements')
              }

              obj.buckets.push(Bucket.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.buckets$
              }))
              break
            }
            case 11: {
              if (opts.limits?.cursors != null && obj.cursors.length === opts.limits.cursors) {
                throw new MaxLengthError('Decode error - repeated field "cursors" had too many elements')
              }

              obj.cursors.push(reader.bytes())
              break
            }
            case 12: {
              obj.claim = HandleClaim.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.claim
              })
              break
            }
            case 13: {
              obj.handle = reader.string()
              break
            }
            case 14: {
              obj.coordinate = reader.bool()
              break
            }
            case 15: {
              obj.requestId = reader.uint32()
              break
            }
            case 16: {
              obj.auth = ReadAuth.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.auth
              })
              break
            }
            case 17: {
              obj.prekeys = reader.bytes()
              break
            }
            case 18: {
              obj.user = reader.string()
              break
            }
            case 19: {
              obj.prekeyId = reader.uint32()
              break
            }
            case 20: {
              obj.claimOneTime = reader.bool()
              break
            }
            case 21: {
              obj.cursorsOnly = reader.bool()
              break
            }
            case 22: {
              if (opts.limits?.probes != null && obj.probes.length === opts.limits.probes) {
                throw new MaxLengthError('Decode error - repeated field "probes" had too many elements')
              }

              obj.probes.push(StoreRequest.Probe.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.probes$
              }))
              break
            }
            case 23: {
              obj.account = GatewayAccount.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.account
              })
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
          puts: 0,
          buckets: 0,
          cursors: 0,
          probes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: StoreRequest.Kind.codec().decode(reader)
              }
              break
            }
            case 2: {
              if (opts.limits?.puts != null && obj.puts === opts.limits.puts) {
                throw new MaxLengthError('Streaming decode error - repeated field "puts" had too many elements')
              }

              for (const evt of Put.codec().stream(reader, reader.uint32(), `${prefix}.puts[]`, {
                limits: opts.limits?.puts$
              })) {
                yield {
                  ...evt,
                  index: obj.puts
                }
              }

              obj.puts++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.mailbox`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.after`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.before`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.peer`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.newestFirst`,
                value: reader.bool()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.bucketMs`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              if (opts.limits?.buckets != null && obj.buckets === opts.limits.buckets) {
                throw new MaxLengthError('Streaming decode error - repeated field "buckets" had too many elements')
              }

              for (const evt of Bucket.codec().stream(reader, reader.uint32(), `${prefix}.buckets[]`, {
                limits: opts.limits?.buckets$
              })) {
                yield {
                  ...evt,
                  index: obj.buckets
                }
              }

              obj.buckets++

              break
            }
            case 11: {
              if (opts.limits?.cursors != null && obj.cursors === opts.limits.cursors) {
                throw new MaxLengthError('Streaming decode error - repeated field "cursors" had too many elements')
              }

              yield {
                field: `${prefix}.cursors[]`,
                index: obj.cursors,
                value: reader.bytes()
              }

              obj.cursors++

              break
            }
            case 12: {
              yield * HandleClaim.codec().stream(reader, reader.uint32(), `${prefix}.claim`, {
                limits: opts.limits?.claim
              })

              break
            }
            case 13: {
              yield {
                field: `${prefix}.handle`,
                value: reader.string()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.coordinate`,
                value: reader.bool()
              }
              break
            }
            case 15: {
              yield {
                field: `${prefix}.requestId`,
                value: reader.uint32()
              }
              break
            }
            case 16: {
              yield * ReadAuth.codec().stream(reader, reader.uint32(), `${prefix}.auth`, {
                limits: opts.limits?.auth
              })

              break
            }
            case 17: {
              yield {
                field: `${prefix}.prekeys`,
                value: reader.bytes()
              }
              break
            }
            case 18: {
              yield {
                field: `${prefix}.user`,
                value: reader.string()
              }
              break
            }
            case 19: {
              yield {
                field: `${prefix}.prekeyId`,
                value: reader.uint32()
              }
              break
            }
            case 20: {
              yield {
                field: `${prefix}.claimOneTime`,
                value: reader.bool()
              }
              break
            }
            case 21: {
              yield {
                field: `${prefix}.cursorsOnly`,
                value: reader.bool()
              }
              break
            }
            case 22: {
              if (opts.limits?.probes != null && obj.probes === opts.limits.probes) {
                throw new MaxLengthError('Streaming decode error - repeated field "probes" had too many elements')
              }

              for (const evt of StoreRequest.Probe.codec().stream(reader, reader.uint32(), `${prefix}.probes[]`, {
                limits: opts.limits?.probes$
              })) {
                yield {
                  ...evt,
                  index: obj.probes
                }
              }

              obj.probes++

              break
            }
            case 23: {
              yield * GatewayAccount.codec().stream(reader, reader.uint32(), `${prefix}.account`, {
                limits: opts.limits?.account
              })

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

  export interface StoreRequestKindFieldEvent {
    field: '$.kind'
    value: StoreRequest.Kind
  }

  export interface StoreRequestPutsMailboxFieldEvent {
    field: '$.puts[].mailbox'
    value: string
    index: number
  }

  export interface StoreRequestPutsEnvelopeFieldEvent {
    field: '$.puts[].envelope'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreRequestPutsHintForFieldEvent {
    field: '$.puts[].hintFor[]'
    index: number
    value: string
  }

  export interface StoreRequestMailboxFieldEvent {
    field: '$.mailbox'
    value: string
  }

  export interface StoreRequestAfterFieldEvent {
    field: '$.after'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestBeforeFieldEvent {
    field: '$.before'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export interface StoreRequestPeerFieldEvent {
    field: '$.peer'
    value: string
  }

  export interface StoreRequestNewestFirstFieldEvent {
    field: '$.newestFirst'
    value: boolean
  }

  export interface StoreRequestBucketMsFieldEvent {
    field: '$.bucketMs'
    value: bigint
  }

  export interface StoreRequestBucketsStartFieldEvent {
    field: '$.buckets[].start'
    value: bigint
    index: number
  }

  export interface StoreRequestBucketsCountFieldEvent {
    field: '$.buckets[].count'
    value: number
    index: number
  }

  export interface StoreRequestBucketsHashFieldEvent {
    field: '$.buckets[].hash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreRequestCursorsFieldEvent {
    field: '$.cursors[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestClaimHandleFieldEvent {
    field: '$.claim.handle'
    value: string
  }

  export interface StoreRequestClaimPublicKeyFieldEvent {
    field: '$.claim.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestClaimTimestampFieldEvent {
    field: '$.claim.timestamp'
    value: bigint
  }

  export interface StoreRequestClaimSignatureFieldEvent {
    field: '$.claim.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestClaimRoomNonceFieldEvent {
    field: '$.claim.roomNonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestHandleFieldEvent {
    field: '$.handle'
    value: string
  }

  export interface StoreRequestCoordinateFieldEvent {
    field: '$.coordinate'
    value: boolean
  }

  export interface StoreRequestRequestIdFieldEvent {
    field: '$.requestId'
    value: number
  }

  export interface StoreRequestAuthPublicKeyFieldEvent {
    field: '$.auth.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestAuthTimestampFieldEvent {
    field: '$.auth.timestamp'
    value: bigint
  }

  export interface StoreRequestAuthSignatureFieldEvent {
    field: '$.auth.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestPrekeysFieldEvent {
    field: '$.prekeys'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestUserFieldEvent {
    field: '$.user'
    value: string
  }

  export interface StoreRequestPrekeyIdFieldEvent {
    field: '$.prekeyId'
    value: number
  }

  export interface StoreRequestClaimOneTimeFieldEvent {
    field: '$.claimOneTime'
    value: boolean
  }

  export interface StoreRequestCursorsOnlyFieldEvent {
    field: '$.cursorsOnly'
    value: boolean
  }

  export interface StoreRequestProbesMailboxFieldEvent {
    field: '$.probes[].mailbox'
    value: string
    index: number
  }

  export interface StoreRequestProbesAuthPublicKeyFieldEvent {
    field: '$.probes[].auth.publicKey'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreRequestProbesAuthTimestampFieldEvent {
    field: '$.probes[].auth.timestamp'
    value: bigint
    index: number
  }

  export interface StoreRequestProbesAuthSignatureFieldEvent {
    field: '$.probes[].auth.signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreRequestAccountHandleFieldEvent {
    field: '$.account.handle'
    value: string
  }

  export interface StoreRequestAccountPublicKeyFieldEvent {
    field: '$.account.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestAccountVersionFieldEvent {
    field: '$.account.version'
    value: bigint
  }

  export interface StoreRequestAccountRecordFieldEvent {
    field: '$.account.record'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreRequestAccountSignatureFieldEvent {
    field: '$.account.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<StoreRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StoreRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoreRequest>): StoreRequest {
    return decodeMessage(buf, StoreRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoreRequest>): Generator<StoreRequestKindFieldEvent | StoreRequestPutsMailboxFieldEvent | StoreRequestPutsEnvelopeFieldEvent | StoreRequestPutsHintForFieldEvent | StoreRequestMailboxFieldEvent | StoreRequestAfterFieldEvent | StoreRequestBeforeFieldEvent | StoreRequestLimitFieldEvent | StoreRequestPeerFieldEvent | StoreRequestNewestFirstFieldEvent | StoreRequestBucketMsFieldEvent | StoreRequestBucketsStartFieldEvent | StoreRequestBucketsCountFieldEvent | StoreRequestBucketsHashFieldEvent | StoreRequestCursorsFieldEvent | StoreRequestClaimHandleFieldEvent | StoreRequestClaimPublicKeyFieldEvent | StoreRequestClaimTimestampFieldEvent | StoreRequestClaimSignatureFieldEvent | StoreRequestClaimRoomNonceFieldEvent | StoreRequestHandleFieldEvent | StoreRequestCoordinateFieldEvent | StoreRequestRequestIdFieldEvent | StoreRequestAuthPublicKeyFieldEvent | StoreRequestAuthTimestampFieldEvent | StoreRequestAuthSignatureFieldEvent | StoreRequestPrekeysFieldEvent | StoreRequestUserFieldEvent | StoreRequestPrekeyIdFieldEvent | StoreRequestClaimOneTimeFieldEvent | StoreRequestCursorsOnlyFieldEvent | StoreRequestProbesMailboxFieldEvent | StoreRequestProbesAuthPublicKeyFieldEvent | StoreRequestProbesAuthTimestampFieldEvent | StoreRequestProbesAuthSignatureFieldEvent | StoreRequestAccountHandleFieldEvent | StoreRequestAccountPublicKeyFieldEvent | StoreRequestAccountVersionFieldEvent | StoreRequestAccountRecordFieldEvent | StoreRequestAccountSignatureFieldEvent> {
    return streamMessage(buf, StoreRequest.codec(), opts)
  }
}

export interface Put {
  mailbox: string
  envelope: Uint8Array<ArrayBuffer>
  hintFor: string[]
}

export namespace Put {
  let _codec: Codec<Put>

  export const codec = (): Codec<Put> => {
    if (_codec == null) {
      _codec = message<Put>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.mailbox != null && obj.mailbox !== '')) {
          w.uint32(10)
          w.string(obj.mailbox)
        }

        if ((obj.envelope != null && obj.envelope.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.envelope)
        }

        if (obj.hintFor != null && obj.hintFor.length > 0) {
          for (const value of obj.hintFor) {
            w.uint32(26)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mailbox: '',
          envelope: uint8ArrayAlloc(0),
          hintFor: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.mailbox = reader.string()
              break
            }
            case 2: {
              obj.envelope = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.hintFor != null && obj.hintFor.length === opts.limits.hintFor) {
                throw new MaxLengthError('Decode error - repeated field "hintFor" had too many elements')
              }

              obj.hintFor.push(reader.string())
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
          hintFor: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.mailbox`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.envelope`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.hintFor != null && obj.hintFor === opts.limits.hintFor) {
                throw new MaxLengthError('Streaming decode error - repeated field "hintFor" had too many elements')
              }

              yield {
                field: `${prefix}.hintFor[]`,
                index: obj.hintFor,
                value: reader.string()
              }

              obj.hintFor++

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

  export interface PutMailboxFieldEvent {
    field: '$.mailbox'
    value: string
  }

  export interface PutEnvelopeFieldEvent {
    field: '$.envelope'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PutHintForFieldEvent {
    field: '$.hintFor[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<Put>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Put.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Put>): Put {
    return decodeMessage(buf, Put.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Put>): Generator<PutMailboxFieldEvent | PutEnvelopeFieldEvent | PutHintForFieldEvent> {
    return streamMessage(buf, Put.codec(), opts)
  }
}

export interface StoreResponse {
  status: StoreResponse.Status
  error: string
  stored: number
  envelopes: Uint8Array<ArrayBuffer>[]
  more: boolean
  buckets: Bucket[]
  cursors: Uint8Array<ArrayBuffer>[]
  claim?: HandleClaim
  requestId: number
  tombstones: Uint8Array<ArrayBuffer>[]
  bundle: Uint8Array<ArrayBuffer>
  remaining: number
  refused: StoreResponse.Refusal[]
  epoch: bigint
  versions: bigint[]
  account?: GatewayAccount
  claims: HandleClaim[]
}

export namespace StoreResponse {
  export interface Refusal {
    index: number
    status: StoreResponse.Status
    error: string
  }

  export namespace Refusal {
    let _codec: Codec<Refusal>

    export const codec = (): Codec<Refusal> => {
      if (_codec == null) {
        _codec = message<Refusal>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.index != null && obj.index !== 0)) {
            w.uint32(8)
            w.uint32(obj.index)
          }

          if (obj.status != null && __StatusValues[obj.status] !== 0) {
            w.uint32(16)
            StoreResponse.Status.codec().encode(obj.status, w)
          }

          if ((obj.error != null && obj.error !== '')) {
            w.uint32(26)
            w.string(obj.error)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            index: 0,
            status: Status.OK,
            error: ''
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.index = reader.uint32()
                break
              }
              case 2: {
                obj.status = StoreResponse.Status.codec().decode(reader)
                break
              }
              case 3: {
                obj.error = reader.string()
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
                  field: `${prefix}.index`,
                  value: reader.uint32()
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.status`,
                  value: StoreResponse.Status.codec().decode(reader)
                }
                break
              }
              case 3: {
                yield {
                  field: `${prefix}.error`,
                  value: reader.string()
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

    export interface RefusalIndexFieldEvent {
      field: '$.index'
      value: number
    }

    export interface RefusalStatusFieldEvent {
      field: '$.status'
      value: StoreResponse.Status
    }

    export interface RefusalErrorFieldEvent {
      field: '$.error'
      value: string
    }

    export function encode (obj: Partial<Refusal>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, Refusal.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Refusal {
      return decodeMessage(buf, Refusal.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Generator<RefusalIndexFieldEvent | RefusalStatusFieldEvent | RefusalErrorFieldEvent> {
      return streamMessage(buf, Refusal.codec(), opts)
    }
  }

  export enum Status {
    OK = 'OK',
    ERROR = 'ERROR',
    CONFLICT = 'CONFLICT',
    NOT_FOUND = 'NOT_FOUND',
    REJECTED = 'REJECTED',
    BUSY = 'BUSY',
    FORBIDDEN = 'FORBIDDEN'
  }

  enum __StatusValues {
    OK = 0,
    ERROR = 1,
    CONFLICT = 2,
    NOT_FOUND = 3,
    REJECTED = 4,
    BUSY = 5,
    FORBIDDEN = 6
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<StoreResponse>

  export const codec = (): Codec<StoreResponse> => {
    if (_codec == null) {
      _codec = message<StoreResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          StoreResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(18)
          w.string(obj.error)
        }

        if ((obj.stored != null && obj.stored !== 0)) {
          w.uint32(24)
          w.uint32(obj.stored)
        }

        if (obj.envelopes != null && obj.envelopes.length > 0) {
          for (const value of obj.envelopes) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(40)
          w.bool(obj.more)
        }

        if (obj.buckets != null && obj.buckets.length > 0) {
          for (const value of obj.buckets) {
            w.uint32(50)
            Bucket.codec().encode(value, w)
          }
        }

        if (obj.cursors != null && obj.cursors.length > 0) {
          for (const value of obj.cursors) {
            w.uint32(58)
            w.bytes(value)
          }
        }

        if (obj.claim != null) {
          w.uint32(66)
          HandleClaim.codec().encode(obj.claim, w)
        }

        if ((obj.requestId != null && obj.requestId !== 0)) {
          w.uint32(72)
          w.uint32(obj.requestId)
        }

        if (obj.tombstones != null && obj.tombstones.length > 0) {
          for (const value of obj.tombstones) {
            w.uint32(82)
            w.bytes(value)
          }
        }

        if ((obj.bundle != null && obj.bundle.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.bundle)
        }

        if ((obj.remaining != null && obj.remaining !== 0)) {
          w.uint32(96)
          w.uint32(obj.remaining)
        }

        if (obj.refused != null && obj.refused.length > 0) {
          for (const value of obj.refused) {
            w.uint32(106)
            StoreResponse.Refusal.codec().encode(value, w)
          }
        }

        if ((obj.epoch != null && obj.epoch !== 0n)) {
          w.uint32(112)
          w.uint64(obj.epoch)
        }

        if (obj.versions != null && obj.versions.length > 0) {
          for (const value of obj.versions) {
            w.uint32(120)
            w.uint64(value)
          }
        }

        if (obj.account != null) {
          w.uint32(130)
          GatewayAccount.codec().encode(obj.account, w)
        }

        if (obj.claims != null && obj.claims.length > 0) {
          for (const value of obj.claims) {
            w.uint32(138)
            HandleClaim.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          error: '',
          stored: 0,
          envelopes: [],
          more: false,
          buckets: [],
          cursors: [],
          requestId: 0,
          tombstones: [],
          bundle: uint8ArrayAlloc(0),
          remaining: 0,
          refused: [],
          epoch: 0n,
          versions: [],
          claims: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = StoreResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.error = reader.string()
              break
            }
            case 3: {
              obj.stored = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.envelopes != null && obj.envelopes.length === opts.limits.envelopes) {
                throw new MaxLengthError('Decode error - repeated field "envelopes" had too many elements')
              }

              obj.envelopes.push(reader.bytes())
              break
            }
            case 5: {
              obj.more = reader.bool()
              break
            }
            case 6: {
              if (opts.limits?.buckets != null && obj.buckets.length === opts.limits.buckets) {
                throw new MaxLengthError('Decode error - repeated field "buckets" had too many elements')
              }

              obj.buckets.push(Bucket.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.buckets$
              }))
              break
            }
            case 7: {
              if (opts.limits?.cursors != null && obj.cursors.length === opts.limits.cursors) {
                throw new MaxLengthError('Decode error - repeated field "cursors" had too many elements')
              }

              obj.cursors.push(reader.bytes())
              break
            }
            case 8: {
              obj.claim = HandleClaim.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.claim
              })
              break
            }
            case 9: {
              obj.requestId = reader.uint32()
              break
            }
            case 10: {
              if (opts.limits?.tombstones != null && obj.tombstones.length === opts.limits.tombstones) {
                throw new MaxLengthError('Decode error - repeated field "tombstones" had too many elements')
              }

              obj.tombstones.push(reader.bytes())
              break
            }
            case 11: {
              obj.bundle = reader.bytes()
              break
            }
            case 12: {
              obj.remaining = reader.uint32()
              break
            }
            case 13: {
              if (opts.limits?.refused != null && obj.refused.length === opts.limits.refused) {
                throw new MaxLengthError('Decode error - repeated field "refused" had too many elements')
              }

              obj.refused.push(StoreResponse.Refusal.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.refused$
              }))
              break
            }
            case 14: {
              obj.epoch = reader.uint64()
              break
            }
            case 15: {
              if (opts.limits?.versions != null && obj.versions.length === opts.limits.versions) {
                throw new MaxLengthError('Decode error - repeated field "versions" had too many elements')
              }

              obj.versions.push(reader.uint64())
              break
            }
            case 16: {
              obj.account = GatewayAccount.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.account
              })
              break
            }
            case 17: {
              if (opts.limits?.claims != null && obj.claims.length === opts.limits.claims) {
                throw new MaxLengthError('Decode error - repeated field "claims" had too many elements')
              }

              obj.claims.push(HandleClaim.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.claims$
              }))
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
          envelopes: 0,
          buckets: 0,
          cursors: 0,
          tombstones: 0,
          refused: 0,
          versions: 0,
          claims: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: StoreResponse.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.stored`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.envelopes != null && obj.envelopes === opts.limits.envelopes) {
                throw new MaxLengthError('Streaming decode error - repeated field "envelopes" had too many elements')
              }

              yield {
                field: `${prefix}.envelopes[]`,
                index: obj.envelopes,
                value: reader.bytes()
              }

              obj.envelopes++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.more`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              if (opts.limits?.buckets != null && obj.buckets === opts.limits.buckets) {
                throw new MaxLengthError('Streaming decode error - repeated field "buckets" had too many elements')
              }

              for (const evt of Bucket.codec().stream(reader, reader.uint32(), `${prefix}.buckets[]`, {
                limits: opts.limits?.buckets$
              })) {
                yield {
                  ...evt,
                  index: obj.buckets
                }
              }

              obj.buckets++

              break
            }
            case 7: {
              if (opts.limits?.cursors != null && obj.cursors === opts.limits.cursors) {
                throw new MaxLengthError('Streaming decode error - repeated field "cursors" had too many elements')
              }

              yield {
                field: `${prefix}.cursors[]`,
                index: obj.cursors,
                value: reader.bytes()
              }

              obj.cursors++

              break
            }
            case 8: {
              yield * HandleClaim.codec().stream(reader, reader.uint32(), `${prefix}.claim`, {
                limits: opts.limits?.claim
              })

              break
            }
            case 9: {
              yield {
                field: `${prefix}.requestId`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              if (opts.limits?.tombstones != null && obj.tombstones === opts.limits.tombstones) {
                throw new MaxLengthError('Streaming decode error - repeated field "tombstones" had too many elements')
              }

              yield {
                field: `${prefix}.tombstones[]`,
                index: obj.tombstones,
                value: reader.bytes()
              }

              obj.tombstones++

              break
            }
            case 11: {
              yield {
                field: `${prefix}.bundle`,
                value: reader.bytes()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.remaining`,
                value: reader.uint32()
              }
              break
            }
            case 13: {
              if (opts.limits?.refused != null && obj.refused === opts.limits.refused) {
                throw new MaxLengthError('Streaming decode error - repeated field "refused" had too many elements')
              }

              for (const evt of StoreResponse.Refusal.codec().stream(reader, reader.uint32(), `${prefix}.refused[]`, {
                limits: opts.limits?.refused$
              })) {
                yield {
                  ...evt,
                  index: obj.refused
                }
              }

              obj.refused++

              break
            }
            case 14: {
              yield {
                field: `${prefix}.epoch`,
                value: reader.uint64()
              }
              break
            }
            case 15: {
              if (opts.limits?.versions != null && obj.versions === opts.limits.versions) {
                throw new MaxLengthError('Streaming decode error - repeated field "versions" had too many elements')
              }

              yield {
                field: `${prefix}.versions[]`,
                index: obj.versions,
                value: reader.uint64()
              }

              obj.versions++

              break
            }
            case 16: {
              yield * GatewayAccount.codec().stream(reader, reader.uint32(), `${prefix}.account`, {
                limits: opts.limits?.account
              })

              break
            }
            case 17: {
              if (opts.limits?.claims != null && obj.claims === opts.limits.claims) {
                throw new MaxLengthError('Streaming decode error - repeated field "claims" had too many elements')
              }

              for (const evt of HandleClaim.codec().stream(reader, reader.uint32(), `${prefix}.claims[]`, {
                limits: opts.limits?.claims$
              })) {
                yield {
                  ...evt,
                  index: obj.claims
                }
              }

              obj.claims++

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

  export interface StoreResponseStatusFieldEvent {
    field: '$.status'
    value: StoreResponse.Status
  }

  export interface StoreResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface StoreResponseStoredFieldEvent {
    field: '$.stored'
    value: number
  }

  export interface StoreResponseEnvelopesFieldEvent {
    field: '$.envelopes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export interface StoreResponseBucketsStartFieldEvent {
    field: '$.buckets[].start'
    value: bigint
    index: number
  }

  export interface StoreResponseBucketsCountFieldEvent {
    field: '$.buckets[].count'
    value: number
    index: number
  }

  export interface StoreResponseBucketsHashFieldEvent {
    field: '$.buckets[].hash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreResponseCursorsFieldEvent {
    field: '$.cursors[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseClaimHandleFieldEvent {
    field: '$.claim.handle'
    value: string
  }

  export interface StoreResponseClaimPublicKeyFieldEvent {
    field: '$.claim.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseClaimTimestampFieldEvent {
    field: '$.claim.timestamp'
    value: bigint
  }

  export interface StoreResponseClaimSignatureFieldEvent {
    field: '$.claim.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseClaimRoomNonceFieldEvent {
    field: '$.claim.roomNonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseRequestIdFieldEvent {
    field: '$.requestId'
    value: number
  }

  export interface StoreResponseTombstonesFieldEvent {
    field: '$.tombstones[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseBundleFieldEvent {
    field: '$.bundle'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseRemainingFieldEvent {
    field: '$.remaining'
    value: number
  }

  export interface StoreResponseRefusedIndexFieldEvent {
    field: '$.refused[].index'
    value: number
    index: number
  }

  export interface StoreResponseRefusedStatusFieldEvent {
    field: '$.refused[].status'
    value: StoreResponse.Status
    index: number
  }

  export interface StoreResponseRefusedErrorFieldEvent {
    field: '$.refused[].error'
    value: string
    index: number
  }

  export interface StoreResponseEpochFieldEvent {
    field: '$.epoch'
    value: bigint
  }

  export interface StoreResponseVersionsFieldEvent {
    field: '$.versions[]'
    index: number
    value: bigint
  }

  export interface StoreResponseAccountHandleFieldEvent {
    field: '$.account.handle'
    value: string
  }

  export interface StoreResponseAccountPublicKeyFieldEvent {
    field: '$.account.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseAccountVersionFieldEvent {
    field: '$.account.version'
    value: bigint
  }

  export interface StoreResponseAccountRecordFieldEvent {
    field: '$.account.record'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseAccountSignatureFieldEvent {
    field: '$.account.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StoreResponseClaimsHandleFieldEvent {
    field: '$.claims[].handle'
    value: string
    index: number
  }

  export interface StoreResponseClaimsPublicKeyFieldEvent {
    field: '$.claims[].publicKey'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreResponseClaimsTimestampFieldEvent {
    field: '$.claims[].timestamp'
    value: bigint
    index: number
  }

  export interface StoreResponseClaimsSignatureFieldEvent {
    field: '$.claims[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface StoreResponseClaimsRoomNonceFieldEvent {
    field: '$.claims[].roomNonce'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<StoreResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StoreResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoreResponse>): StoreResponse {
    return decodeMessage(buf, StoreResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StoreResponse>): Generator<StoreResponseStatusFieldEvent | StoreResponseErrorFieldEvent | StoreResponseStoredFieldEvent | StoreResponseEnvelopesFieldEvent | StoreResponseMoreFieldEvent | StoreResponseBucketsStartFieldEvent | StoreResponseBucketsCountFieldEvent | StoreResponseBucketsHashFieldEvent | StoreResponseCursorsFieldEvent | StoreResponseClaimHandleFieldEvent | StoreResponseClaimPublicKeyFieldEvent | StoreResponseClaimTimestampFieldEvent | StoreResponseClaimSignatureFieldEvent | StoreResponseClaimRoomNonceFieldEvent | StoreResponseRequestIdFieldEvent | StoreResponseTombstonesFieldEvent | StoreResponseBundleFieldEvent | StoreResponseRemainingFieldEvent | StoreResponseRefusedIndexFieldEvent | StoreResponseRefusedStatusFieldEvent | StoreResponseRefusedErrorFieldEvent | StoreResponseEpochFieldEvent | StoreResponseVersionsFieldEvent | StoreResponseAccountHandleFieldEvent | StoreResponseAccountPublicKeyFieldEvent | StoreResponseAccountVersionFieldEvent | StoreResponseAccountRecordFieldEvent | StoreResponseAccountSignatureFieldEvent | StoreResponseClaimsHandleFieldEvent | StoreResponseClaimsPublicKeyFieldEvent | StoreResponseClaimsTimestampFieldEvent | StoreResponseClaimsSignatureFieldEvent | StoreResponseClaimsRoomNonceFieldEvent> {
    return streamMessage(buf, StoreResponse.codec(), opts)
  }
}

export interface Bucket {
  start: bigint
  count: number
  hash: Uint8Array<ArrayBuffer>
}

export namespace Bucket {
  let _codec: Codec<Bucket>

  export const codec = (): Codec<Bucket> => {
    if (_codec == null) {
      _codec = message<Bucket>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.start != null && obj.start !== 0n)) {
          w.uint32(8)
          w.uint64(obj.start)
        }

        if ((obj.count != null && obj.count !== 0)) {
          w.uint32(16)
          w.uint32(obj.count)
        }

        if ((obj.hash != null && obj.hash.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.hash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          start: 0n,
          count: 0,
          hash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.start = reader.uint64()
              break
            }
            case 2: {
              obj.count = reader.uint32()
              break
            }
            case 3: {
              obj.hash = reader.bytes()
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
                field: `${prefix}.start`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.count`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.hash`,
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

  export interface BucketStartFieldEvent {
    field: '$.start'
    value: bigint
  }

  export interface BucketCountFieldEvent {
    field: '$.count'
    value: number
  }

  export interface BucketHashFieldEvent {
    field: '$.hash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Bucket>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Bucket.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bucket>): Bucket {
    return decodeMessage(buf, Bucket.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bucket>): Generator<BucketStartFieldEvent | BucketCountFieldEvent | BucketHashFieldEvent> {
    return streamMessage(buf, Bucket.codec(), opts)
  }
}

export interface GatewayAccount {
  handle: string
  publicKey: Uint8Array<ArrayBuffer>
  version: bigint
  record: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace GatewayAccount {
  let _codec: Codec<GatewayAccount>

  export const codec = (): Codec<GatewayAccount> => {
    if (_codec == null) {
      _codec = message<GatewayAccount>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.handle != null && obj.handle !== '')) {
          w.uint32(10)
          w.string(obj.handle)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.version != null && obj.version !== 0n)) {
          w.uint32(24)
          w.uint64(obj.version)
        }

        if ((obj.record != null && obj.record.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.record)
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
          handle: '',
          publicKey: uint8ArrayAlloc(0),
          version: 0n,
          record: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.handle = reader.string()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.version = reader.uint64()
              break
            }
            case 4: {
              obj.record = reader.bytes()
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.handle`,
                value: reader.string()
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
            case 3: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.record`,
                value: reader.bytes()
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

  export interface GatewayAccountHandleFieldEvent {
    field: '$.handle'
    value: string
  }

  export interface GatewayAccountPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface GatewayAccountVersionFieldEvent {
    field: '$.version'
    value: bigint
  }

  export interface GatewayAccountRecordFieldEvent {
    field: '$.record'
    value: Uint8Array<ArrayBuffer>
  }

  export interface GatewayAccountSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<GatewayAccount>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GatewayAccount.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GatewayAccount>): GatewayAccount {
    return decodeMessage(buf, GatewayAccount.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GatewayAccount>): Generator<GatewayAccountHandleFieldEvent | GatewayAccountPublicKeyFieldEvent | GatewayAccountVersionFieldEvent | GatewayAccountRecordFieldEvent | GatewayAccountSignatureFieldEvent> {
    return streamMessage(buf, GatewayAccount.codec(), opts)
  }
}

export interface HandleClaim {
  handle: string
  publicKey: Uint8Array<ArrayBuffer>
  timestamp: bigint
  signature: Uint8Array<ArrayBuffer>
  roomNonce: Uint8Array<ArrayBuffer>
}

export namespace HandleClaim {
  let _codec: Codec<HandleClaim>

  export const codec = (): Codec<HandleClaim> => {
    if (_codec == null) {
      _codec = message<HandleClaim>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.handle != null && obj.handle !== '')) {
          w.uint32(10)
          w.string(obj.handle)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(24)
          w.uint64(obj.timestamp)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if ((obj.roomNonce != null && obj.roomNonce.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.roomNonce)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          handle: '',
          publicKey: uint8ArrayAlloc(0),
          timestamp: 0n,
          signature: uint8ArrayAlloc(0),
          roomNonce: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.handle = reader.string()
              break
            }
            case 2: {
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.timestamp = reader.uint64()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.roomNonce = reader.bytes()
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
                field: `${prefix}.handle`,
                value: reader.string()
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
            case 3: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.roomNonce`,
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

  export interface HandleClaimHandleFieldEvent {
    field: '$.handle'
    value: string
  }

  export interface HandleClaimPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HandleClaimTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface HandleClaimSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HandleClaimRoomNonceFieldEvent {
    field: '$.roomNonce'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<HandleClaim>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HandleClaim.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HandleClaim>): HandleClaim {
    return decodeMessage(buf, HandleClaim.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HandleClaim>): Generator<HandleClaimHandleFieldEvent | HandleClaimPublicKeyFieldEvent | HandleClaimTimestampFieldEvent | HandleClaimSignatureFieldEvent | HandleClaimRoomNonceFieldEvent> {
    return streamMessage(buf, HandleClaim.codec(), opts)
  }
}

export interface ReadAuth {
  publicKey: Uint8Array<ArrayBuffer>
  timestamp: bigint
  signature: Uint8Array<ArrayBuffer>
}

export namespace ReadAuth {
  let _codec: Codec<ReadAuth>

  export const codec = (): Codec<ReadAuth> => {
    if (_codec == null) {
      _codec = message<ReadAuth>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.publicKey)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(16)
          w.uint64(obj.timestamp)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          publicKey: uint8ArrayAlloc(0),
          timestamp: 0n,
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.publicKey = reader.bytes()
              break
            }
            case 2: {
              obj.timestamp = reader.uint64()
              break
            }
            case 3: {
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
                field: `${prefix}.publicKey`,
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

  export interface ReadAuthPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReadAuthTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface ReadAuthSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ReadAuth>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReadAuth.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReadAuth>): ReadAuth {
    return decodeMessage(buf, ReadAuth.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReadAuth>): Generator<ReadAuthPublicKeyFieldEvent | ReadAuthTimestampFieldEvent | ReadAuthSignatureFieldEvent> {
    return streamMessage(buf, ReadAuth.codec(), opts)
  }
}
