import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface LiveFrame {
  envelope: Uint8Array<ArrayBuffer>
  relay: boolean
  changes?: Changes
}

export namespace LiveFrame {
  let _codec: Codec<LiveFrame>

  export const codec = (): Codec<LiveFrame> => {
    if (_codec == null) {
      _codec = message<LiveFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.envelope != null && obj.envelope.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.envelope)
        }

        if ((obj.relay != null && obj.relay !== false)) {
          w.uint32(16)
          w.bool(obj.relay)
        }

        if (obj.changes != null) {
          w.uint32(26)
          Changes.codec().encode(obj.changes, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          envelope: uint8ArrayAlloc(0),
          relay: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.envelope = reader.bytes()
              break
            }
            case 2: {
              obj.relay = reader.bool()
              break
            }
            case 3: {
              obj.changes = Changes.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.changes
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
                field: `${prefix}.envelope`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.relay`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield * Changes.codec().stream(reader, reader.uint32(), `${prefix}.changes`, {
                limits: opts.limits?.changes
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

  export interface LiveFrameEnvelopeFieldEvent {
    field: '$.envelope'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LiveFrameRelayFieldEvent {
    field: '$.relay'
    value: boolean
  }

  export interface LiveFrameChangesEpochFieldEvent {
    field: '$.changes.epoch'
    value: bigint
  }

  export interface LiveFrameChangesSeqFieldEvent {
    field: '$.changes.seq'
    value: bigint
  }

  export interface LiveFrameChangesItemsMailboxFieldEvent {
    field: '$.changes.items[].mailbox'
    value: string
    index: number
  }

  export interface LiveFrameChangesItemsBeforeFieldEvent {
    field: '$.changes.items[].before'
    value: bigint
    index: number
  }

  export interface LiveFrameChangesItemsAfterFieldEvent {
    field: '$.changes.items[].after'
    value: bigint
    index: number
  }

  export interface LiveFrameChangesItemsCursorsFieldEvent {
    field: '$.changes.items[].cursors[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface LiveFrameChangesItemsEnvelopesFieldEvent {
    field: '$.changes.items[].envelopes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<LiveFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LiveFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LiveFrame>): LiveFrame {
    return decodeMessage(buf, LiveFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LiveFrame>): Generator<LiveFrameEnvelopeFieldEvent | LiveFrameRelayFieldEvent | LiveFrameChangesEpochFieldEvent | LiveFrameChangesSeqFieldEvent | LiveFrameChangesItemsMailboxFieldEvent | LiveFrameChangesItemsBeforeFieldEvent | LiveFrameChangesItemsAfterFieldEvent | LiveFrameChangesItemsCursorsFieldEvent | LiveFrameChangesItemsEnvelopesFieldEvent> {
    return streamMessage(buf, LiveFrame.codec(), opts)
  }
}

export interface Changes {
  epoch: bigint
  seq: bigint
  items: Change[]
}

export namespace Changes {
  let _codec: Codec<Changes>

  export const codec = (): Codec<Changes> => {
    if (_codec == null) {
      _codec = message<Changes>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.epoch != null && obj.epoch !== 0n)) {
          w.uint32(8)
          w.uint64(obj.epoch)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(16)
          w.uint64(obj.seq)
        }

        if (obj.items != null && obj.items.length > 0) {
          for (const value of obj.items) {
            w.uint32(26)
            Change.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          epoch: 0n,
          seq: 0n,
          items: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.epoch = reader.uint64()
              break
            }
            case 2: {
              obj.seq = reader.uint64()
              break
            }
            case 3: {
              if (opts.limits?.items != null && obj.items.length === opts.limits.items) {
                throw new MaxLengthError('Decode error - repeated field "items" had too many elements')
              }

              obj.items.push(Change.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.items$
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
          items: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.epoch`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              if (opts.limits?.items != null && obj.items === opts.limits.items) {
                throw new MaxLengthError('Streaming decode error - repeated field "items" had too many elements')
              }

              for (const evt of Change.codec().stream(reader, reader.uint32(), `${prefix}.items[]`, {
                limits: opts.limits?.items$
              })) {
                yield {
                  ...evt,
                  index: obj.items
                }
              }

              obj.items++

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

  export interface ChangesEpochFieldEvent {
    field: '$.epoch'
    value: bigint
  }

  export interface ChangesSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface ChangesItemsMailboxFieldEvent {
    field: '$.items[].mailbox'
    value: string
    index: number
  }

  export interface ChangesItemsBeforeFieldEvent {
    field: '$.items[].before'
    value: bigint
    index: number
  }

  export interface ChangesItemsAfterFieldEvent {
    field: '$.items[].after'
    value: bigint
    index: number
  }

  export interface ChangesItemsCursorsFieldEvent {
    field: '$.items[].cursors[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChangesItemsEnvelopesFieldEvent {
    field: '$.items[].envelopes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Changes>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Changes.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Changes>): Changes {
    return decodeMessage(buf, Changes.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Changes>): Generator<ChangesEpochFieldEvent | ChangesSeqFieldEvent | ChangesItemsMailboxFieldEvent | ChangesItemsBeforeFieldEvent | ChangesItemsAfterFieldEvent | ChangesItemsCursorsFieldEvent | ChangesItemsEnvelopesFieldEvent> {
    return streamMessage(buf, Changes.codec(), opts)
  }
}

export interface Change {
  mailbox: string
  before: bigint
  after: bigint
  cursors: Uint8Array<ArrayBuffer>[]
  envelopes: Uint8Array<ArrayBuffer>[]
}

export namespace Change {
  let _codec: Codec<Change>

  export const codec = (): Codec<Change> => {
    if (_codec == null) {
      _codec = message<Change>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.mailbox != null && obj.mailbox !== '')) {
          w.uint32(10)
          w.string(obj.mailbox)
        }

        if ((obj.before != null && obj.before !== 0n)) {
          w.uint32(16)
          w.uint64(obj.before)
        }

        if ((obj.after != null && obj.after !== 0n)) {
          w.uint32(24)
          w.uint64(obj.after)
        }

        if (obj.cursors != null && obj.cursors.length > 0) {
          for (const value of obj.cursors) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if (obj.envelopes != null && obj.envelopes.length > 0) {
          for (const value of obj.envelopes) {
            w.uint32(42)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mailbox: '',
          before: 0n,
          after: 0n,
          cursors: [],
          envelopes: []
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
              obj.before = reader.uint64()
              break
            }
            case 3: {
              obj.after = reader.uint64()
              break
            }
            case 4: {
              if (opts.limits?.cursors != null && obj.cursors.length === opts.limits.cursors) {
                throw new MaxLengthError('Decode error - repeated field "cursors" had too many elements')
              }

              obj.cursors.push(reader.bytes())
              break
            }
            case 5: {
              if (opts.limits?.envelopes != null && obj.envelopes.length === opts.limits.envelopes) {
                throw new MaxLengthError('Decode error - repeated field "envelopes" had too many elements')
              }

              obj.envelopes.push(reader.bytes())
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
          cursors: 0,
          envelopes: 0
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
                field: `${prefix}.before`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.after`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
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
            case 5: {
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

  export interface ChangeMailboxFieldEvent {
    field: '$.mailbox'
    value: string
  }

  export interface ChangeBeforeFieldEvent {
    field: '$.before'
    value: bigint
  }

  export interface ChangeAfterFieldEvent {
    field: '$.after'
    value: bigint
  }

  export interface ChangeCursorsFieldEvent {
    field: '$.cursors[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChangeEnvelopesFieldEvent {
    field: '$.envelopes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Change>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Change.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Change>): Change {
    return decodeMessage(buf, Change.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Change>): Generator<ChangeMailboxFieldEvent | ChangeBeforeFieldEvent | ChangeAfterFieldEvent | ChangeCursorsFieldEvent | ChangeEnvelopesFieldEvent> {
    return streamMessage(buf, Change.codec(), opts)
  }
}
