/**
 * Chorus: the library API. Desktop clients bundle this and run their node in `client` role; the
 * `chorus` command is a thin shell around the same calls.
 *
 * ```ts
 * import { createNode } from 'chorus-mesh'
 * const node = await createNode({ dataDir, role: 'client', bootstrap: ['/ip4/…/tcp/7400/p2p/12D3…'] })
 * await node.start()
 * node.on('member:join', (m) => { servers.add(m.peerId) })
 * await node.stop()
 * ```
 */
import './polyfill.js'

export { createNode, ChorusNode, type ChorusNodeEvents, type NodeStatus, type NodeLifecycle } from './chorus-node.js'
export { resolveOptions, type ChorusNodeOptions, type ResolvedOptions } from './config.js'
export * from './errors.js'
export type { Member, MembershipInit, MembershipStats } from './membership/index.js'
export type { WorkSnapshot } from './status/work.js'
export type { LiveCounts } from './relay/live.js'
export type { TrafficSnapshot, KindTraffic } from './replication/traffic.js'
export type { PubsubCounts } from './relay/pubsub-counters.js'
export {
  ForbiddenError, HandleTakenError, NoServersError, QuorumError, RateLimitedError, RemoteError, RoomAddressTakenError,
  UnknownHandleError, UnknownKeyError, UnknownRoomAddressError
} from './replication/errors.js'
export { RequestTimeoutError } from './replication/rpc.js'
export { PassphraseError, VaultIntegrityError } from './session/vault.js'
export { IdentityMismatchError } from './session/identities.js'
export { DashboardAssetsError } from './status/assets.js'
export {
  User, type InboxOptions, type InboxPage, type Message, type SendResult, type UserEvents, type SendOptions
} from './session/user.js'
export type {
  MessageKind, PresenceEvent, PresenceState, ReceiptEvent, RoomMemberEvent, SubscriptionRequestEvent, TypingEvent
} from './session/events.js'
export { Rooms, NotInRoomError, UnknownRoomError, type CreateRoomOptions } from './session/rooms.js'
export type { RoomInvitation } from './session/room-invitations.js'
export type { ListedRoom } from './session/room-list.js'
export type { RoomAddress } from './session/directory.js'
export { Room, type RoomEvents, type RoomMemberInfo } from './session/room.js'
export { MalformedRoomEventError, RoomRuleError, type RoomInvites, type RoomRole, type RoomSettings } from '../protocol/room.js'
export { Roster } from './session/roster.js'
export { InvalidContactError, InvalidPresenceError, NoSubscriptionRequestError } from '../protocol/roster.js'
export { Secrets, SecretChat, type SecretChatEvents, type SecretMessage } from './session/secret.js'
export { IdentityChangedError, NoPrekeysError } from './session/secret-errors.js'
export {
  BadBundleSignatureError, DecryptError, InitiationReplayError, InvalidKeyError, MalformedSecretMessageError,
  PrekeyUsedError,
  ReplayError, SecretChatError, SessionStateError, StaleBundleError, TooFarAheadError, TooManySkippedError,
  type SafetyNumber
} from '../protocol/secret/index.js'
export { BadSignatureError, EnvelopeTooLargeError, MalformedEnvelopeError } from '../protocol/errors.js'
export { InvalidHandleError, InvalidRoomAddressError } from '../protocol/handle.js'
export { ClockDriftError } from '../protocol/hlc.js'
export { AdmissionError } from '../protocol/admission.js'
export { VERSION } from './version.js'
export { MESH_TOPIC, ROLES, type Role } from '../protocol/constants.js'
