/**
 * Room invitations as the invitee receives them. The inviter sends the invitee the signed INVITE of the
 * room's state log, wrapped in a ROOM envelope to the invitee's own mailbox (durable, and live on its
 * inbox shard); the invitee checks the wrapped event's signature, kind, target and signer before it
 * believes it. Joining is explicit (`rooms.join`).
 */

import { logger } from '@libp2p/logger'
import { Envelope, openEnvelope, userIdOf } from '../../protocol/envelope.js'
import { hlcMillis } from '../../protocol/hlc.js'
import { parseMailbox } from '../../protocol/mailbox.js'
import { RoomEvent, decodeRoomEvent } from '../../protocol/room.js'
import type { Lookups, Rejections, Signer } from './ports.js'

const log = logger('chorus:session:rooms')

/** An invitation this session received. */
export interface RoomInvitation {
  room: string
  name: string
  /** the room's address, when the invitation names one and its claim names this room */
  address?: string
  by: string
  byId: string
  at: number
}

/** What reading an invitation uses: who this user is, the refusal counter, senders' handles, addresses. */
export interface InvitationComponents {
  signer: Pick<Signer, 'handle' | 'userId'>
  rejections: Rejections
  lookups: Pick<Lookups, 'toMessage'>
  /** `claimed` when it is the address of room `roomId` by its claim (RoomAddresses.addressOf) */
  addressOf: (roomId: string, claimed: string) => Promise<string | undefined>
}

/**
 * The invitation a ROOM envelope of this user's mailbox carries: the room's signed INVITE of this user,
 * wrapped by the inviter. Anything else is refused (counted as `bad-room-invite`) and gives undefined.
 * Reading it changes nothing.
 */
export async function invitationIn (c: InvitationComponents, env: Envelope): Promise<RoomInvitation | undefined> {
  let inner: Envelope
  let ev: RoomEvent
  try {
    inner = openEnvelope(env.body)
    ev = decodeRoomEvent(inner.body)
  } catch (err: any) {
    c.rejections.reject('bad-room-invite')
    log('%s: undecodable invitation: %s', c.signer.handle, err.message)
    return undefined
  }
  const to = parseMailbox(inner.recipient)
  const byId = userIdOf(inner.senderKey)
  if (env.kind !== Envelope.Kind.ROOM || inner.kind !== Envelope.Kind.ROOM || to?.kind !== 'room' ||
      to.log !== 'state' || ev.action !== RoomEvent.Action.INVITE || ev.target !== c.signer.userId ||
      byId !== userIdOf(env.senderKey)) {
    c.rejections.reject('bad-room-invite')
    return undefined
  }
  const by = (await c.lookups.toMessage(inner))?.from ?? byId
  const address = await c.addressOf(to.id, ev.address)
  return {
    room: to.id,
    name: ev.name,
    ...(address != null ? { address } : {}),
    by,
    byId,
    at: hlcMillis(inner.timestamp)
  }
}
