/**
 * What happens to the signed-in user, as lines on the screen: messages, ticks (receipts), contacts'
 * presence, subscription requests, room membership and invitations. Each event is one line. A handler
 * that fails prints one line too: a bad event never stops the client.
 */

import { IdentityChangedError, type PresenceEvent, type ReceiptEvent, type RoomMemberEvent, type User } from '../../node/index.js'
import { messageLine, type ChatApp } from './app.js'
import { clean, describe, lastSeen } from './format.js'
import { roomLabel } from './state.js'

/** Listen to every event of the app's user and print it. */
export function attachEvents (app: ChatApp): void {
  const u = app.user
  const guard = <A extends unknown[]>(what: string, fn: (...a: A) => void | Promise<void>) => (...a: A): void => {
    void (async () => { await fn(...a) })().catch((err) => { app.warn(`showing ${what}: ${describe(err)}`) })
  }
  // messages one at a time: the first one may open its conversation, and the next must find it open
  let messages: Promise<void> = Promise.resolve()
  u.on('message', (m) => {
    // a local bounce (unknown recipient, rate limit) is said by the send that failed
    if (m.kind === 'error' && m.id === '') return
    messages = messages.then(async () => {
      app.print(messageLine(m, app.labelOfMessage(m)))
      await app.arrived(m)
    }).catch((err) => { app.warn(`showing a message: ${describe(err)}`) })
  })
  u.on('receipt', guard('a receipt', (r: ReceiptEvent) => {
    const t = app.ticks.receipt(r, app.pendingSends)
    if (t != null) app.tick(t)
  }))
  u.on('presence', guard('a presence', (p: PresenceEvent) => { app.say(presenceLine(p)) }))
  u.on('subscription', guard('a request', (r) => {
    const who = clean(r.from, 64)
    app.say(`${who} asks to see your presence: /accept ${who}`)
  }))
  u.on('room:member', guard('a room change', (e: RoomMemberEvent) => {
    app.say(memberLine(u, e))
    // out of the room that was open: plain lines have nowhere to go until another is opened
    const current = app.current
    const out = e.memberId === u.userId && (e.action === 'kick' || e.action === 'leave')
    if (out && current?.kind === 'room' && current.room.id === e.room) app.close()
  }))
  // typing notifications are not shown (a line each would drown the conversation), but are taken, not held
  u.on('typing', () => {})
  u.on('error', (err) => {
    app.warn(err instanceof IdentityChangedError ? `${describe(err)} (/verify HANDLE)` : describe(err))
  })
}

/** A contact's presence change. */
export function presenceLine (p: PresenceEvent, now = Date.now()): string {
  const who = clean(p.from, 64)
  const status = p.status !== '' ? `: ${clean(p.status, 256)}` : ''
  if (p.state === 'offline') return `${who} is offline${status} (last seen ${lastSeen(p.lastSeen, now)})`
  return `${who} is ${p.state}${status}`
}

/** A room's label by id: its name when this session knows it (joined, or invited), else its id. */
export function roomLabelOf (u: User, roomId: string): string {
  const name = u.rooms.get(roomId)?.name ?? u.rooms.invitations().find((i) => i.room === roomId)?.name
  return roomLabel(name != null && name !== '' ? name : roomId)
}

/** A change of a room's membership, roles or settings, with "you" for this user. */
export function memberLine (u: User, e: RoomMemberEvent): string {
  const room = roomLabelOf(u, e.room)
  const by = e.byId === u.userId ? 'you' : clean(e.by, 64)
  const member = e.memberId === u.userId ? 'you' : clean(e.member ?? '?', 64)
  switch (e.action) {
    case 'create': return `${by} created ${room}`
    case 'invite': {
      const joined = u.rooms.get(e.room)?.joined === true
      if (e.memberId === u.userId && !joined) return `${by} invites you to ${room}: /join ${joinName(u, e.room)}`
      return `${by} invited ${member} to ${room}`
    }
    case 'join': return `${member} joined ${room}`
    case 'leave': return `${member} left ${room}`
    case 'kick': return `${by} removed ${member} from ${room}`
    case 'role': return `${by} made ${member} ${e.role ?? 'member'} of ${room}`
    case 'subject': return `${by} set the subject of ${room}: ${clean(u.rooms.get(e.room)?.subject ?? '', 200)}`
    case 'configure': return `${by} changed the settings of ${room}`
  }
}

/** What to type after /join for a room: its name when that is one word and unambiguous, else its id. */
function joinName (u: User, roomId: string): string {
  const name = u.rooms.invitations().find((i) => i.room === roomId)?.name ?? ''
  const names = [...u.rooms.invitations().map((i) => i.name), ...u.rooms.list().map((r) => r.name)]
  const same = names.filter((n) => n.toLowerCase() === name.toLowerCase())
  return /^[\w.-]{1,40}$/.test(name) && same.length === 1 ? name : roomId
}
