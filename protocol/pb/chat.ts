import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface RoomEvent {
  action: RoomEvent.Action
  target: string
  targetHandle: string
  role: RoomEvent.Role
  name: string
  public: boolean
  subject: string
  nonce: Uint8Array<ArrayBuffer>
  address: string
  description: string
  listed: boolean
  moderated: boolean
  invites: RoomEvent.Invites
}

export namespace RoomEvent {
  export enum Action {
    CREATE = 'CREATE',
    INVITE = 'INVITE',
    JOIN = 'JOIN',
    LEAVE = 'LEAVE',
    KICK = 'KICK',
    ROLE = 'ROLE',
    SUBJECT = 'SUBJECT',
    CONFIGURE = 'CONFIGURE'
  }

  enum __ActionValues {
    CREATE = 0,
    INVITE = 1,
    JOIN = 2,
    LEAVE = 3,
    KICK = 4,
    ROLE = 5,
    SUBJECT = 6,
    CONFIGURE = 7
  }

  export namespace Action {
    export const codec = (): Codec<Action> => {
      return enumeration<Action>(__ActionValues)
    }
  }

  export enum Role {
    NONE = 'NONE',
    MEMBER = 'MEMBER',
    ADMIN = 'ADMIN',
    OWNER = 'OWNER'
  }

  enum __RoleValues {
    NONE = 0,
    MEMBER = 1,
    ADMIN = 2,
    OWNER = 3
  }

  export namespace Role {
    export const codec = (): Codec<Role> => {
      return enumeration<Role>(__RoleValues)
    }
  }

  export enum Invites {
    DEFAULT = 'DEFAULT',
    ADMINS = 'ADMINS',
    MEMBERS = 'MEMBERS'
  }

  enum __InvitesValues {
    DEFAULT = 0,
    ADMINS = 1,
    MEMBERS = 2
  }

  export namespace Invites {
    export const codec = (): Codec<Invites> => {
      return enumeration<Invites>(__InvitesValues)
    }
  }

  let _codec: Codec<RoomEvent>

  export const codec = (): Codec<RoomEvent> => {
    if (_codec == null) {
      _codec = message<RoomEvent>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.action != null && __ActionValues[obj.action] !== 0) {
          w.uint32(8)
          RoomEvent.Action.codec().encode(obj.action, w)
        }

        if ((obj.target != null && obj.target !== '')) {
          w.uint32(18)
          w.string(obj.target)
        }

        if ((obj.targetHandle != null && obj.targetHandle !== '')) {
          w.uint32(26)
          w.string(obj.targetHandle)
        }

        if (obj.role != null && __RoleValues[obj.role] !== 0) {
          w.uint32(32)
          RoomEvent.Role.codec().encode(obj.role, w)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(42)
          w.string(obj.name)
        }

        if ((obj.public != null && obj.public !== false)) {
          w.uint32(48)
          w.bool(obj.public)
        }

        if ((obj.subject != null && obj.subject !== '')) {
          w.uint32(58)
          w.string(obj.subject)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.nonce)
        }

        if ((obj.address != null && obj.address !== '')) {
          w.uint32(74)
          w.string(obj.address)
        }

        if ((obj.description != null && obj.description !== '')) {
          w.uint32(82)
          w.string(obj.description)
        }

        if ((obj.listed != null && obj.listed !== false)) {
          w.uint32(88)
          w.bool(obj.listed)
        }

        if ((obj.moderated != null && obj.moderated !== false)) {
          w.uint32(96)
          w.bool(obj.moderated)
        }

        if (obj.invites != null && __InvitesValues[obj.invites] !== 0) {
          w.uint32(104)
          RoomEvent.Invites.codec().encode(obj.invites, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          action: Action.CREATE,
          target: '',
          targetHandle: '',
          role: Role.NONE,
          name: '',
          public: false,
          subject: '',
          nonce: uint8ArrayAlloc(0),
          address: '',
          description: '',
          listed: false,
          moderated: false,
          invites: Invites.DEFAULT
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.action = RoomEvent.Action.codec().decode(reader)
              break
            }
            case 2: {
              obj.target = reader.string()
              break
            }
            case 3: {
              obj.targetHandle = reader.string()
              break
            }
            case 4: {
              obj.role = RoomEvent.Role.codec().decode(reader)
              break
            }
            case 5: {
              obj.name = reader.string()
              break
            }
            case 6: {
              obj.public = reader.bool()
              break
            }
            case 7: {
              obj.subject = reader.string()
              break
            }
            case 8: {
              obj.nonce = reader.bytes()
              break
            }
            case 9: {
              obj.address = reader.string()
              break
            }
            case 10: {
              obj.description = reader.string()
              break
            }
            case 11: {
              obj.listed = reader.bool()
              break
            }
            case 12: {
              obj.moderated = reader.bool()
              break
            }
            case 13: {
              obj.invites = RoomEvent.Invites.codec().decode(reader)
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
                field: `${prefix}.action`,
                value: RoomEvent.Action.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.target`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.targetHandle`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.role`,
                value: RoomEvent.Role.codec().decode(reader)
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.public`,
                value: reader.bool()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.subject`,
                value: reader.string()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.address`,
                value: reader.string()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.description`,
                value: reader.string()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.listed`,
                value: reader.bool()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.moderated`,
                value: reader.bool()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.invites`,
                value: RoomEvent.Invites.codec().decode(reader)
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

  export interface RoomEventActionFieldEvent {
    field: '$.action'
    value: RoomEvent.Action
  }

  export interface RoomEventTargetFieldEvent {
    field: '$.target'
    value: string
  }

  export interface RoomEventTargetHandleFieldEvent {
    field: '$.targetHandle'
    value: string
  }

  export interface RoomEventRoleFieldEvent {
    field: '$.role'
    value: RoomEvent.Role
  }

  export interface RoomEventNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface RoomEventPublicFieldEvent {
    field: '$.public'
    value: boolean
  }

  export interface RoomEventSubjectFieldEvent {
    field: '$.subject'
    value: string
  }

  export interface RoomEventNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoomEventAddressFieldEvent {
    field: '$.address'
    value: string
  }

  export interface RoomEventDescriptionFieldEvent {
    field: '$.description'
    value: string
  }

  export interface RoomEventListedFieldEvent {
    field: '$.listed'
    value: boolean
  }

  export interface RoomEventModeratedFieldEvent {
    field: '$.moderated'
    value: boolean
  }

  export interface RoomEventInvitesFieldEvent {
    field: '$.invites'
    value: RoomEvent.Invites
  }

  export function encode (obj: Partial<RoomEvent>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RoomEvent.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoomEvent>): RoomEvent {
    return decodeMessage(buf, RoomEvent.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoomEvent>): Generator<RoomEventActionFieldEvent | RoomEventTargetFieldEvent | RoomEventTargetHandleFieldEvent | RoomEventRoleFieldEvent | RoomEventNameFieldEvent | RoomEventPublicFieldEvent | RoomEventSubjectFieldEvent | RoomEventNonceFieldEvent | RoomEventAddressFieldEvent | RoomEventDescriptionFieldEvent | RoomEventListedFieldEvent | RoomEventModeratedFieldEvent | RoomEventInvitesFieldEvent> {
    return streamMessage(buf, RoomEvent.codec(), opts)
  }
}

export interface RosterItem {
  contact: string
  handle: string
  subscription: RosterItem.Subscription
  pendingOut: boolean
  pendingIn: boolean
  removed: boolean
}

export namespace RosterItem {
  export enum Subscription {
    NONE = 'NONE',
    TO = 'TO',
    FROM = 'FROM',
    BOTH = 'BOTH'
  }

  enum __SubscriptionValues {
    NONE = 0,
    TO = 1,
    FROM = 2,
    BOTH = 3
  }

  export namespace Subscription {
    export const codec = (): Codec<Subscription> => {
      return enumeration<Subscription>(__SubscriptionValues)
    }
  }

  let _codec: Codec<RosterItem>

  export const codec = (): Codec<RosterItem> => {
    if (_codec == null) {
      _codec = message<RosterItem>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.contact != null && obj.contact !== '')) {
          w.uint32(10)
          w.string(obj.contact)
        }

        if ((obj.handle != null && obj.handle !== '')) {
          w.uint32(18)
          w.string(obj.handle)
        }

        if (obj.subscription != null && __SubscriptionValues[obj.subscription] !== 0) {
          w.uint32(24)
          RosterItem.Subscription.codec().encode(obj.subscription, w)
        }

        if ((obj.pendingOut != null && obj.pendingOut !== false)) {
          w.uint32(32)
          w.bool(obj.pendingOut)
        }

        if ((obj.pendingIn != null && obj.pendingIn !== false)) {
          w.uint32(40)
          w.bool(obj.pendingIn)
        }

        if ((obj.removed != null && obj.removed !== false)) {
          w.uint32(48)
          w.bool(obj.removed)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          contact: '',
          handle: '',
          subscription: Subscription.NONE,
          pendingOut: false,
          pendingIn: false,
          removed: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.contact = reader.string()
              break
            }
            case 2: {
              obj.handle = reader.string()
              break
            }
            case 3: {
              obj.subscription = RosterItem.Subscription.codec().decode(reader)
              break
            }
            case 4: {
              obj.pendingOut = reader.bool()
              break
            }
            case 5: {
              obj.pendingIn = reader.bool()
              break
            }
            case 6: {
              obj.removed = reader.bool()
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
                field: `${prefix}.contact`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.handle`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.subscription`,
                value: RosterItem.Subscription.codec().decode(reader)
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.pendingOut`,
                value: reader.bool()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.pendingIn`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.removed`,
                value: reader.bool()
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

  export interface RosterItemContactFieldEvent {
    field: '$.contact'
    value: string
  }

  export interface RosterItemHandleFieldEvent {
    field: '$.handle'
    value: string
  }

  export interface RosterItemSubscriptionFieldEvent {
    field: '$.subscription'
    value: RosterItem.Subscription
  }

  export interface RosterItemPendingOutFieldEvent {
    field: '$.pendingOut'
    value: boolean
  }

  export interface RosterItemPendingInFieldEvent {
    field: '$.pendingIn'
    value: boolean
  }

  export interface RosterItemRemovedFieldEvent {
    field: '$.removed'
    value: boolean
  }

  export function encode (obj: Partial<RosterItem>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RosterItem.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterItem>): RosterItem {
    return decodeMessage(buf, RosterItem.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RosterItem>): Generator<RosterItemContactFieldEvent | RosterItemHandleFieldEvent | RosterItemSubscriptionFieldEvent | RosterItemPendingOutFieldEvent | RosterItemPendingInFieldEvent | RosterItemRemovedFieldEvent> {
    return streamMessage(buf, RosterItem.codec(), opts)
  }
}

export interface Presence {
  type: Presence.Type
  state: Presence.State
  status: string
  lastSeen: bigint
}

export namespace Presence {
  export enum Type {
    AVAILABILITY = 'AVAILABILITY',
    PROBE = 'PROBE',
    SUBSCRIBE = 'SUBSCRIBE',
    SUBSCRIBED = 'SUBSCRIBED',
    UNSUBSCRIBE = 'UNSUBSCRIBE',
    UNSUBSCRIBED = 'UNSUBSCRIBED',
    TYPING = 'TYPING'
  }

  enum __TypeValues {
    AVAILABILITY = 0,
    PROBE = 1,
    SUBSCRIBE = 2,
    SUBSCRIBED = 3,
    UNSUBSCRIBE = 4,
    UNSUBSCRIBED = 5,
    TYPING = 6
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  export enum State {
    OFFLINE = 'OFFLINE',
    ONLINE = 'ONLINE',
    AWAY = 'AWAY',
    BUSY = 'BUSY'
  }

  enum __StateValues {
    OFFLINE = 0,
    ONLINE = 1,
    AWAY = 2,
    BUSY = 3
  }

  export namespace State {
    export const codec = (): Codec<State> => {
      return enumeration<State>(__StateValues)
    }
  }

  let _codec: Codec<Presence>

  export const codec = (): Codec<Presence> => {
    if (_codec == null) {
      _codec = message<Presence>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          Presence.Type.codec().encode(obj.type, w)
        }

        if (obj.state != null && __StateValues[obj.state] !== 0) {
          w.uint32(16)
          Presence.State.codec().encode(obj.state, w)
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(26)
          w.string(obj.status)
        }

        if ((obj.lastSeen != null && obj.lastSeen !== 0n)) {
          w.uint32(32)
          w.uint64(obj.lastSeen)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.AVAILABILITY,
          state: State.OFFLINE,
          status: '',
          lastSeen: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = Presence.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.state = Presence.State.codec().decode(reader)
              break
            }
            case 3: {
              obj.status = reader.string()
              break
            }
            case 4: {
              obj.lastSeen = reader.uint64()
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
                field: `${prefix}.type`,
                value: Presence.Type.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.state`,
                value: Presence.State.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.lastSeen`,
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

  export interface PresenceTypeFieldEvent {
    field: '$.type'
    value: Presence.Type
  }

  export interface PresenceStateFieldEvent {
    field: '$.state'
    value: Presence.State
  }

  export interface PresenceStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface PresenceLastSeenFieldEvent {
    field: '$.lastSeen'
    value: bigint
  }

  export function encode (obj: Partial<Presence>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Presence.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Presence>): Presence {
    return decodeMessage(buf, Presence.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Presence>): Generator<PresenceTypeFieldEvent | PresenceStateFieldEvent | PresenceStatusFieldEvent | PresenceLastSeenFieldEvent> {
    return streamMessage(buf, Presence.codec(), opts)
  }
}

export interface Receipt {
  status: Receipt.Status
  ids: Uint8Array<ArrayBuffer>[]
  room: string
}

export namespace Receipt {
  export enum Status {
    DELIVERED = 'DELIVERED',
    READ = 'READ'
  }

  enum __StatusValues {
    DELIVERED = 0,
    READ = 1
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<Receipt>

  export const codec = (): Codec<Receipt> => {
    if (_codec == null) {
      _codec = message<Receipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          Receipt.Status.codec().encode(obj.status, w)
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if ((obj.room != null && obj.room !== '')) {
          w.uint32(26)
          w.string(obj.room)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.DELIVERED,
          ids: [],
          room: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = Receipt.Status.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              obj.ids.push(reader.bytes())
              break
            }
            case 3: {
              obj.room = reader.string()
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
          ids: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: Receipt.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              if (opts.limits?.ids != null && obj.ids === opts.limits.ids) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              yield {
                field: `${prefix}.ids[]`,
                index: obj.ids,
                value: reader.bytes()
              }

              obj.ids++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.room`,
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

  export interface ReceiptStatusFieldEvent {
    field: '$.status'
    value: Receipt.Status
  }

  export interface ReceiptIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptRoomFieldEvent {
    field: '$.room'
    value: string
  }

  export function encode (obj: Partial<Receipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Receipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Receipt {
    return decodeMessage(buf, Receipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Generator<ReceiptStatusFieldEvent | ReceiptIdsFieldEvent | ReceiptRoomFieldEvent> {
    return streamMessage(buf, Receipt.codec(), opts)
  }
}
