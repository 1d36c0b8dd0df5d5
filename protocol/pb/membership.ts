import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Member {
  peerId: string
  role: Member.Role
  capacity: number
  addrs: Uint8Array<ArrayBuffer>[]
  incarnation: bigint
  state: Member.State
  version: string
  certificate: Uint8Array<ArrayBuffer>
}

export namespace Member {
  export enum Role {
    SERVER = 'SERVER',
    BOOTSTRAP = 'BOOTSTRAP',
    CLIENT = 'CLIENT'
  }

  enum __RoleValues {
    SERVER = 0,
    BOOTSTRAP = 1,
    CLIENT = 2
  }

  export namespace Role {
    export const codec = (): Codec<Role> => {
      return enumeration<Role>(__RoleValues)
    }
  }

  export enum State {
    ALIVE = 'ALIVE',
    SUSPECT = 'SUSPECT',
    DEAD = 'DEAD',
    LEFT = 'LEFT'
  }

  enum __StateValues {
    ALIVE = 0,
    SUSPECT = 1,
    DEAD = 2,
    LEFT = 3
  }

  export namespace State {
    export const codec = (): Codec<State> => {
      return enumeration<State>(__StateValues)
    }
  }

  let _codec: Codec<Member>

  export const codec = (): Codec<Member> => {
    if (_codec == null) {
      _codec = message<Member>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId !== '')) {
          w.uint32(10)
          w.string(obj.peerId)
        }

        if (obj.role != null && __RoleValues[obj.role] !== 0) {
          w.uint32(16)
          Member.Role.codec().encode(obj.role, w)
        }

        if ((obj.capacity != null && obj.capacity !== 0)) {
          w.uint32(24)
          w.uint32(obj.capacity)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(40)
          w.uint64(obj.incarnation)
        }

        if (obj.state != null && __StateValues[obj.state] !== 0) {
          w.uint32(48)
          Member.State.codec().encode(obj.state, w)
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(58)
          w.string(obj.version)
        }

        if ((obj.certificate != null && obj.certificate.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.certificate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: '',
          role: Role.SERVER,
          capacity: 0,
          addrs: [],
          incarnation: 0n,
          state: State.ALIVE,
          version: '',
          certificate: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.string()
              break
            }
            case 2: {
              obj.role = Member.Role.codec().decode(reader)
              break
            }
            case 3: {
              obj.capacity = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 5: {
              obj.incarnation = reader.uint64()
              break
            }
            case 6: {
              obj.state = Member.State.codec().decode(reader)
              break
            }
            case 7: {
              obj.version = reader.string()
              break
            }
            case 8: {
              obj.certificate = reader.bytes()
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
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.role`,
                value: Member.Role.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.capacity`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.state`,
                value: Member.State.codec().decode(reader)
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.certificate`,
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

  export interface MemberPeerIdFieldEvent {
    field: '$.peerId'
    value: string
  }

  export interface MemberRoleFieldEvent {
    field: '$.role'
    value: Member.Role
  }

  export interface MemberCapacityFieldEvent {
    field: '$.capacity'
    value: number
  }

  export interface MemberAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MemberIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export interface MemberStateFieldEvent {
    field: '$.state'
    value: Member.State
  }

  export interface MemberVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface MemberCertificateFieldEvent {
    field: '$.certificate'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Member>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Member.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Member>): Member {
    return decodeMessage(buf, Member.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Member>): Generator<MemberPeerIdFieldEvent | MemberRoleFieldEvent | MemberCapacityFieldEvent | MemberAddrsFieldEvent | MemberIncarnationFieldEvent | MemberStateFieldEvent | MemberVersionFieldEvent | MemberCertificateFieldEvent> {
    return streamMessage(buf, Member.codec(), opts)
  }
}

export interface MembershipMessage {
  kind: MembershipMessage.Kind
  sender?: Member
  updates: Member[]
  target: string
  wallTime: bigint
  mesh: Uint8Array<ArrayBuffer>
  revocations: Uint8Array<ArrayBuffer>[]
  revokedCertificates: Uint8Array<ArrayBuffer>[]
  requestId: number
}

export namespace MembershipMessage {
  export enum Kind {
    PING = 'PING',
    ACK = 'ACK',
    SYNC = 'SYNC',
    SYNC_REPLY = 'SYNC_REPLY',
    LEAVE = 'LEAVE',
    PING_REQ = 'PING_REQ',
    NACK = 'NACK'
  }

  enum __KindValues {
    PING = 0,
    ACK = 1,
    SYNC = 2,
    SYNC_REPLY = 3,
    LEAVE = 4,
    PING_REQ = 5,
    NACK = 6
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<MembershipMessage>

  export const codec = (): Codec<MembershipMessage> => {
    if (_codec == null) {
      _codec = message<MembershipMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          MembershipMessage.Kind.codec().encode(obj.kind, w)
        }

        if (obj.sender != null) {
          w.uint32(18)
          Member.codec().encode(obj.sender, w)
        }

        if (obj.updates != null && obj.updates.length > 0) {
          for (const value of obj.updates) {
            w.uint32(26)
            Member.codec().encode(value, w)
          }
        }

        if ((obj.target != null && obj.target !== '')) {
          w.uint32(34)
          w.string(obj.target)
        }

        if ((obj.wallTime != null && obj.wallTime !== 0n)) {
          w.uint32(40)
          w.uint64(obj.wallTime)
        }

        if ((obj.mesh != null && obj.mesh.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.mesh)
        }

        if (obj.revocations != null && obj.revocations.length > 0) {
          for (const value of obj.revocations) {
            w.uint32(58)
            w.bytes(value)
          }
        }

        if (obj.revokedCertificates != null && obj.revokedCertificates.length > 0) {
          for (const value of obj.revokedCertificates) {
            w.uint32(66)
            w.bytes(value)
          }
        }

        if ((obj.requestId != null && obj.requestId !== 0)) {
          w.uint32(72)
          w.uint32(obj.requestId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.PING,
          updates: [],
          target: '',
          wallTime: 0n,
          mesh: uint8ArrayAlloc(0),
          revocations: [],
          revokedCertificates: [],
          requestId: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = MembershipMessage.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.sender = Member.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.sender
              })
              break
            }
            case 3: {
              if (opts.limits?.updates != null && obj.updates.length === opts.limits.updates) {
                throw new MaxLengthError('Decode error - repeated field "updates" had too many elements')
              }

              obj.updates.push(Member.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.updates$
              }))
              break
            }
            case 4: {
              obj.target = reader.string()
              break
            }
            case 5: {
              obj.wallTime = reader.uint64()
              break
            }
            case 6: {
              obj.mesh = reader.bytes()
              break
            }
            case 7: {
              if (opts.limits?.revocations != null && obj.revocations.length === opts.limits.revocations) {
                throw new MaxLengthError('Decode error - repeated field "revocations" had too many elements')
              }

              obj.revocations.push(reader.bytes())
              break
            }
            case 8: {
              if (opts.limits?.revokedCertificates != null && obj.revokedCertificates.length === opts.limits.revokedCertificates) {
                throw new MaxLengthError('Decode error - repeated field "revokedCertificates" had too many elements')
              }

              obj.revokedCertificates.push(reader.bytes())
              break
            }
            case 9: {
              obj.requestId = reader.uint32()
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
          updates: 0,
          revocations: 0,
          revokedCertificates: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: MembershipMessage.Kind.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield * Member.codec().stream(reader, reader.uint32(), `${prefix}.sender`, {
                limits: opts.limits?.sender
              })

              break
            }
            case 3: {
              if (opts.limits?.updates != null && obj.updates === opts.limits.updates) {
                throw new MaxLengthError('Streaming decode error - repeated field "updates" had too many elements')
              }

              for (const evt of Member.codec().stream(reader, reader.uint32(), `${prefix}.updates[]`, {
                limits: opts.limits?.updates$
              })) {
                yield {
                  ...evt,
                  index: obj.updates
                }
              }

              obj.updates++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.target`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.wallTime`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.mesh`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              if (opts.limits?.revocations != null && obj.revocations === opts.limits.revocations) {
                throw new MaxLengthError('Streaming decode error - repeated field "revocations" had too many elements')
              }

              yield {
                field: `${prefix}.revocations[]`,
                index: obj.revocations,
                value: reader.bytes()
              }

              obj.revocations++

              break
            }
            case 8: {
              if (opts.limits?.revokedCertificates != null && obj.revokedCertificates === opts.limits.revokedCertificates) {
                throw new MaxLengthError('Streaming decode error - repeated field "revokedCertificates" had too many elements')
              }

              yield {
                field: `${prefix}.revokedCertificates[]`,
                index: obj.revokedCertificates,
                value: reader.bytes()
              }

              obj.revokedCertificates++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.requestId`,
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

  export interface MembershipMessageKindFieldEvent {
    field: '$.kind'
    value: MembershipMessage.Kind
  }

  export interface MembershipMessageSenderPeerIdFieldEvent {
    field: '$.sender.peerId'
    value: string
  }

  export interface MembershipMessageSenderRoleFieldEvent {
    field: '$.sender.role'
    value: Member.Role
  }

  export interface MembershipMessageSenderCapacityFieldEvent {
    field: '$.sender.capacity'
    value: number
  }

  export interface MembershipMessageSenderAddrsFieldEvent {
    field: '$.sender.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageSenderIncarnationFieldEvent {
    field: '$.sender.incarnation'
    value: bigint
  }

  export interface MembershipMessageSenderStateFieldEvent {
    field: '$.sender.state'
    value: Member.State
  }

  export interface MembershipMessageSenderVersionFieldEvent {
    field: '$.sender.version'
    value: string
  }

  export interface MembershipMessageSenderCertificateFieldEvent {
    field: '$.sender.certificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageUpdatesPeerIdFieldEvent {
    field: '$.updates[].peerId'
    value: string
    index: number
  }

  export interface MembershipMessageUpdatesRoleFieldEvent {
    field: '$.updates[].role'
    value: Member.Role
    index: number
  }

  export interface MembershipMessageUpdatesCapacityFieldEvent {
    field: '$.updates[].capacity'
    value: number
    index: number
  }

  export interface MembershipMessageUpdatesAddrsFieldEvent {
    field: '$.updates[].addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageUpdatesIncarnationFieldEvent {
    field: '$.updates[].incarnation'
    value: bigint
    index: number
  }

  export interface MembershipMessageUpdatesStateFieldEvent {
    field: '$.updates[].state'
    value: Member.State
    index: number
  }

  export interface MembershipMessageUpdatesVersionFieldEvent {
    field: '$.updates[].version'
    value: string
    index: number
  }

  export interface MembershipMessageUpdatesCertificateFieldEvent {
    field: '$.updates[].certificate'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MembershipMessageTargetFieldEvent {
    field: '$.target'
    value: string
  }

  export interface MembershipMessageWallTimeFieldEvent {
    field: '$.wallTime'
    value: bigint
  }

  export interface MembershipMessageMeshFieldEvent {
    field: '$.mesh'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageRevocationsFieldEvent {
    field: '$.revocations[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageRevokedCertificatesFieldEvent {
    field: '$.revokedCertificates[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MembershipMessageRequestIdFieldEvent {
    field: '$.requestId'
    value: number
  }

  export function encode (obj: Partial<MembershipMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MembershipMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MembershipMessage>): MembershipMessage {
    return decodeMessage(buf, MembershipMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MembershipMessage>): Generator<MembershipMessageKindFieldEvent | MembershipMessageSenderPeerIdFieldEvent | MembershipMessageSenderRoleFieldEvent | MembershipMessageSenderCapacityFieldEvent | MembershipMessageSenderAddrsFieldEvent | MembershipMessageSenderIncarnationFieldEvent | MembershipMessageSenderStateFieldEvent | MembershipMessageSenderVersionFieldEvent | MembershipMessageSenderCertificateFieldEvent | MembershipMessageUpdatesPeerIdFieldEvent | MembershipMessageUpdatesRoleFieldEvent | MembershipMessageUpdatesCapacityFieldEvent | MembershipMessageUpdatesAddrsFieldEvent | MembershipMessageUpdatesIncarnationFieldEvent | MembershipMessageUpdatesStateFieldEvent | MembershipMessageUpdatesVersionFieldEvent | MembershipMessageUpdatesCertificateFieldEvent | MembershipMessageTargetFieldEvent | MembershipMessageWallTimeFieldEvent | MembershipMessageMeshFieldEvent | MembershipMessageRevocationsFieldEvent | MembershipMessageRevokedCertificatesFieldEvent | MembershipMessageRequestIdFieldEvent> {
    return streamMessage(buf, MembershipMessage.codec(), opts)
  }
}
