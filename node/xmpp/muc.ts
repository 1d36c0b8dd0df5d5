/**
 * Multi-User Chat (XEP-0045) on Chorus rooms, for one account on one gateway. The MUC service is
 * `conference.<domain>`; a room's JID is `<room id>@conference.<domain>` (the id Chorus gave the room), and
 * a nick is always the member's handle (a client asking for another nick is told, status 210).
 *
 * - Joining `<id>@conference…/nick` joins the Chorus room (public, or invited); joining a name (any
 *   localpart that is not shaped like a Chorus room id) creates a room so named (public, the joiner its
 *   owner, status 201). The name stays this account's alias for the room (kept in the gateway node's
 *   `xmpp-rooms` sublevel, so on that gateway); everyone else, and this account elsewhere, use its id.
 * - On join the resource gets every member's presence (affiliation and role from the Chorus role: owner
 *   and admin are moderators), its own (status 110), the last messages (`<history maxstanzas>`, at most
 *   50) with delay stamps, and the subject.
 * - `groupchat` messages post to the room (reflected to the account's joined resources, as XEP-0045
 *   wants); a `<subject>` sets it; `<invite to>` invites; `muc#admin` items kick (`role="none"`) or set an
 *   affiliation (owner, admin, member).
 * - Room events come back as presence (join, leave, kick with status 307, role changes), subject
 *   messages, and mediated invitations for rooms this user is invited to.
 * - An unavailable presence to the room stops delivery to that resource; the Chorus membership stays
 *   (leaving a Chorus room is leaving for good: an XMPP client leaves a room whenever it goes offline).
 */

import xml, { type Element } from '@xmpp/xml'
import { ROOM_ID_BYTES } from '../../protocol/room-events.js'
import type { ChorusDb } from '../store/db.js'
import type { Message, RoomMemberEvent } from '../session/events.js'
import type { Room } from '../session/room.js'
import type { User } from '../session/user.js'
import { StanzaError } from './errors.js'

export const NS_MUC = 'http://jabber.org/protocol/muc'
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user'
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin'
const NS_DELAY = 'urn:xmpp:delay'
const NS_SID = 'urn:xmpp:sid:0'
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info'

/** The shape of a room id Chorus made (base32 of ROOM_ID_BYTES): any other localpart is a name. */
const ROOM_ID = new RegExp(`^[a-z2-7]{${Math.ceil(ROOM_ID_BYTES * 8 / 5)}}$`)

/** Messages of history sent on join at most. */
export const MAX_JOIN_HISTORY = 50
/** Rooms an account may have aliases for. */
const MAX_ALIASES = 1000

type Role = 'owner' | 'admin' | 'member'
const ROLE_OF: Record<Role, string> = { owner: 'moderator', admin: 'moderator', member: 'participant' }

/** What the MUC part needs of the account session around it. */
export interface MucHost {
  user: User
  domain: string
  db: ChorusDb
  /** send to one resource, if bound */
  toResource: (resource: string, el: Element) => void
  handleOf: (jid: string) => string
  /** the bare JID of a user (handle or user id) */
  jidOf: (handleOrId: string) => string
}

export class Muc {
  readonly service: string
  /** room id → the resources joined to it here, and the name this account calls it by */
  private readonly joined = new Map<string, { alias: string, resources: Set<string> }>()
  private readonly aliases
  constructor (private readonly host: MucHost) {
    this.service = `conference.${host.domain}`
    this.aliases = host.db.sublevel<string, string>('xmpp-rooms', { valueEncoding: 'utf8' })
  }

  /** Whether `jid` is at the MUC service. */
  owns (jid: string | undefined): boolean {
    return jid != null && (jid === this.service || jid.split('/')[0].endsWith(`@${this.service}`))
  }

  private roomJid (roomId: string, nick?: string): string {
    const alias = this.joined.get(roomId)?.alias ?? roomId
    return nick == null ? `${alias}@${this.service}` : `${alias}@${this.service}/${nick}`
  }

  /** The room a JID names: an alias of this account, or a room id. */
  private async resolve (jid: string): Promise<{ local: string, roomId?: string }> {
    const local = jid.split('/')[0].split('@')[0].toLowerCase()
    if (!/^[a-z0-9_.-]{1,64}$/.test(local)) throw new StanzaError('jid-malformed', 'a room name is 1–64 of a–z, 0–9, ".", "_", "-"')
    const aliased = await this.aliases.get(`${this.host.user.handle}!${local}`)
    if (aliased != null) return { local, roomId: aliased }
    return { local, roomId: ROOM_ID.test(local) ? local : undefined }
  }

  /** A presence to a room JID: join, or leave for this resource. */
  async presence (resource: string, el: Element): Promise<void> {
    const to = String(el.attrs.to)
    const { local, roomId } = await this.resolve(to)
    if (el.attrs.type === 'unavailable') {
      if (roomId == null) return
      const j = this.joined.get(roomId)
      j?.resources.delete(resource)
      this.host.toResource(resource, xml('presence', { type: 'unavailable', from: this.roomJid(roomId, this.host.user.handle) },
        xml('x', { xmlns: NS_MUC_USER }, xml('item', { affiliation: 'member', role: 'none' }), xml('status', { code: '110' }))))
      return
    }
    if (el.attrs.type != null) return
    const wanted = to.includes('/') ? to.slice(to.indexOf('/') + 1) : ''
    let room: Room
    let created = false
    const rooms = this.host.user.rooms
    if (roomId != null && rooms.get(roomId)?.joined === true) room = rooms.get(roomId) as Room
    else if (roomId != null) {
      try {
        room = await rooms.join(roomId)
      } catch (err: any) {
        if (err?.name === 'ForbiddenError') throw new StanzaError('registration-required', 'members only: ask for an invitation')
        if (err?.name === 'UnknownRoomError' || /unknown-room/.test(String(err?.message))) throw new StanzaError('item-not-found', 'no such room')
        throw err
      }
    } else {
      room = await this.create(local)
      created = true
    }
    const alias = roomId == null || created ? local : this.joined.get(room.id)?.alias ?? local
    const entry = this.joined.get(room.id) ?? { alias, resources: new Set<string>() }
    entry.resources.add(resource)
    this.joined.set(room.id, entry)
    await this.welcome(resource, room, el, created, wanted)
  }

  private async create (name: string): Promise<Room> {
    const room = await this.host.user.rooms.create({ name, public: true })
    const key = `${this.host.user.handle}!${name}`
    await this.aliases.put(key, room.id)
    this.joined.set(room.id, { alias: name, resources: new Set() })
    let n = 0
    for await (const k of this.aliases.keys({ gte: `${this.host.user.handle}!`, lt: `${this.host.user.handle}!\uffff` })) if (++n > MAX_ALIASES) await this.aliases.del(k)
    return room
  }

  /** Members' presence, own presence, history, subject: what a joining resource gets. */
  private async welcome (resource: string, room: Room, join: Element, created: boolean, wanted: string): Promise<void> {
    const self = this.host.user.handle
    for (const m of await room.members()) {
      if (m.handle === self) continue
      this.host.toResource(resource, occupant(this.roomJid(room.id, m.handle), m.role))
    }
    const own = occupant(this.roomJid(room.id, self), room.role === 'none' ? 'member' : room.role)
    const x = own.getChild('x') as Element
    x.append(xml('status', { code: '110' }))
    if (created) x.append(xml('status', { code: '201' }))
    if (wanted !== '' && wanted !== self) x.append(xml('status', { code: '210' }))
    this.host.toResource(resource, own)
    const wantHistory = join.getChild('x', NS_MUC)?.getChild('history')?.attrs.maxstanzas
    const limit = Math.min(MAX_JOIN_HISTORY, wantHistory == null ? 20 : Math.max(0, Number(wantHistory) || 0))
    if (limit > 0) {
      for (const m of await room.history({ limit })) this.host.toResource(resource, this.groupchat(room.id, m, true))
    }
    this.host.toResource(resource, xml('message', { type: 'groupchat', from: this.roomJid(room.id) }, xml('subject', {}, room.subject)))
  }

  private groupchat (roomId: string, m: Message, delayed: boolean, id?: string): Element {
    const el = xml('message', { type: 'groupchat', id: id ?? m.id, from: this.roomJid(roomId, m.from) }, xml('body', {}, m.text), xml('stanza-id', { xmlns: NS_SID, id: m.id, by: this.roomJid(roomId) }))
    if (delayed) el.append(xml('delay', { xmlns: NS_DELAY, from: this.roomJid(roomId), stamp: new Date(m.timestamp).toISOString() }))
    return el
  }

  /** A message to a room: a post, a subject, or an invitation. */
  async message (resource: string, el: Element): Promise<void> {
    const { roomId } = await this.resolve(String(el.attrs.to))
    const room = roomId == null ? undefined : this.host.user.rooms.get(roomId)
    if (room == null || roomId == null) throw new StanzaError('item-not-found', 'not in that room')
    const invites = el.getChild('x', NS_MUC_USER)?.getChildren('invite') ?? []
    for (const inv of invites) await room.invite(this.host.handleOf(String(inv.attrs.to)))
    if (invites.length > 0) return
    if (el.attrs.type !== 'groupchat') throw new StanzaError('bad-request', 'a message to a room is groupchat')
    const subject = el.getChildText('subject')
    if (subject != null) { await room.setSubject(subject.slice(0, 512)); return }
    const body = el.getChildText('body')
    if (body == null) return
    const sent = await room.send(body).catch((err: Error) => {
      throw err.name === 'ForbiddenError' ? new StanzaError('forbidden', 'not a member of the room') : err
    })
    // XEP-0045 reflects a post to its sender's joined resources; Chorus does not echo a user's own posts
    const mine: Message = { id: sent.id, from: this.host.user.handle, fromId: this.host.user.userId, to: `room.${roomId}`, text: body, timestamp: sent.timestamp, kind: 'groupchat', cursor: '', room: roomId }
    for (const r of this.joined.get(roomId)?.resources ?? []) this.host.toResource(r, this.groupchat(roomId, mine, false, el.attrs.id))
  }

  /** muc#admin: kick (role none) or set an affiliation. */
  async admin (el: Element, query: Element): Promise<void> {
    const { roomId } = await this.resolve(String(el.attrs.to))
    const room = roomId == null ? undefined : this.host.user.rooms.get(roomId)
    if (room == null) throw new StanzaError('item-not-found', 'not in that room')
    for (const item of query.getChildren('item')) {
      const handle = item.attrs.nick != null ? String(item.attrs.nick) : this.host.handleOf(String(item.attrs.jid))
      if (item.attrs.role === 'none' || item.attrs.affiliation === 'none' || item.attrs.affiliation === 'outcast') await room.kick(handle)
      else if (item.attrs.affiliation === 'owner' || item.attrs.affiliation === 'admin' || item.attrs.affiliation === 'member') await room.setRole(handle, item.attrs.affiliation as Role)
      else throw new StanzaError('feature-not-implemented', 'kick (role none) or set an affiliation (owner, admin, member)')
    }
  }

  /** disco#info of the service or a room. */
  async info (to: string): Promise<Element> {
    if (to === this.service) return xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'conference', type: 'text', name: 'Chorus rooms' }), xml('feature', { var: NS_MUC }))
    const { roomId } = await this.resolve(to)
    const room = roomId == null ? undefined : this.host.user.rooms.get(roomId)
    if (room == null) throw new StanzaError('item-not-found', 'no such room here')
    return xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'conference', type: 'text', name: room.name }),
      xml('feature', { var: NS_MUC }), xml('feature', { var: room.public ? 'muc_public' : 'muc_membersonly' }), xml('feature', { var: 'muc_persistent' }))
  }

  /** A groupchat message from the session: to the resources joined to its room. */
  onMessage (m: Message): boolean {
    if (m.kind !== 'groupchat' || m.room == null) return false
    const j = this.joined.get(m.room)
    for (const r of j?.resources ?? []) this.host.toResource(r, this.groupchat(m.room, m, Date.now() - m.timestamp > 5000))
    return true
  }

  /** A room event: presence changes and subjects to the joined resources; invitations to every resource. */
  onMember (e: RoomMemberEvent, all: (el: Element) => void): void {
    if (e.action === 'invite' && e.memberId === this.host.user.userId) {
      all(invitation(`${e.room}@${this.service}`, this.host.jidOf(e.by)))
      return
    }
    const j = this.joined.get(e.room)
    if (j == null || j.resources.size === 0) return
    const to = (el: Element): void => { for (const r of j.resources) this.host.toResource(r, el) }
    const room = this.host.user.rooms.get(e.room)
    if (e.action === 'subject') { to(xml('message', { type: 'groupchat', from: this.roomJid(e.room, e.by) }, xml('subject', {}, room?.subject ?? ''))); return }
    if (e.member == null) return
    if (e.action === 'join' || e.action === 'role') to(occupant(this.roomJid(e.room, e.member), e.role ?? 'member'))
    if (e.action === 'leave' || e.action === 'kick') {
      const x = xml('x', { xmlns: NS_MUC_USER }, xml('item', { affiliation: 'none', role: 'none' }))
      if (e.action === 'kick') x.append(xml('status', { code: '307' }))
      if (e.memberId === this.host.user.userId) x.append(xml('status', { code: '110' }))
      to(xml('presence', { type: 'unavailable', from: this.roomJid(e.room, e.member) }, x))
    }
  }

  /** A resource went away: it is in no room any more. */
  forget (resource: string): void {
    for (const j of this.joined.values()) j.resources.delete(resource)
  }
}

/**
 * A mediated invitation (XEP-0045 §7.8.2) to the room `roomJid` from `by` (a bare JID): how the gateway
 * shows a Chorus invitation, live and in the archive.
 */
export function invitation (roomJid: string, by: string): Element {
  return xml('message', { from: roomJid }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { from: by })))
}

/** An occupant's presence in a room. */
function occupant (from: string, role: Role | string): Element {
  const r = (role === 'owner' || role === 'admin' ? role : 'member') as Role
  return xml('presence', { from }, xml('x', { xmlns: NS_MUC_USER }, xml('item', { affiliation: r, role: ROLE_OF[r] })))
}
