/** The shapes a session hands out: messages, send results and the events of `User` and `Room`. */

/** Message types, as in Jabber, plus Chorus's own. */
export type MessageKind = 'chat' | 'groupchat' | 'headline' | 'error' | 'receipt' | 'presence' | 'secret'

/** A message as the library hands it out. */
export interface Message {
  /** envelope id, hex */
  id: string
  /** the sender's handle (verified against its claim), or its userId if it sent none */
  from: string
  fromId: string
  /** the recipient: a userId, or `room.<id>` for a groupchat message */
  to: string
  text: string
  /** ms since the epoch (the wall-clock part of the hybrid timestamp) */
  timestamp: number
  kind: MessageKind
  /** opaque position, for `history({ before })` */
  cursor: string
  /** groupchat: the room id */
  room?: string
  /** error: the condition, as in XMPP (`item-not-found`, `forbidden`, `resource-constraint`, ...) */
  condition?: string
}

/** The result of a send: the "sent" tick. */
export interface SendResult {
  id: string
  timestamp: number
  /** servers that have the envelope on disk when the send resolved (none for a headline) */
  storedOn: string[]
}

/** A delivery status change of a message this user sent: sent → delivered → read. */
export interface ReceiptEvent {
  /** the message's envelope id, hex */
  id: string
  status: 'delivered' | 'read'
  /** who got or read it: handle (or userId) */
  by: string
  byId: string
  /** ms since the epoch, by the reporter's clock */
  at: number
  /** set for a groupchat message */
  room?: string
}

/** Presence states, as Jabber's show values. */
export type PresenceState = 'online' | 'away' | 'busy' | 'offline'

/** A contact's presence. */
export interface PresenceEvent {
  from: string
  fromId: string
  state: PresenceState
  status: string
  /** ms since the epoch: when the contact was last online (now, while online) */
  lastSeen: number
}

/** A typing notification in a direct chat. */
export interface TypingEvent {
  from: string
  fromId: string
  active: boolean
}

/** A request by another user to see this user's presence. */
export interface SubscriptionRequestEvent {
  from: string
  fromId: string
}

/** A change of a room's membership, roles or settings. */
export interface RoomMemberEvent {
  room: string
  /** the room's address (an invitation's, when its claim names this room) */
  address?: string
  action: 'create' | 'invite' | 'join' | 'leave' | 'kick' | 'role' | 'subject' | 'configure'
  /** the member acted on (handle or userId), where there is one */
  member?: string
  memberId?: string
  role?: 'owner' | 'admin' | 'member'
  /** who made the change */
  by: string
  byId: string
  at: number
}

/** Events of a session. */
export interface UserEvents {
  message: [Message]
  receipt: [ReceiptEvent]
  presence: [PresenceEvent]
  typing: [TypingEvent]
  subscription: [SubscriptionRequestEvent]
  'room:member': [RoomMemberEvent]
  error: [Error]
}
