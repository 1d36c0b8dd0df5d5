/**
 * Multi-User Chat (XEP-0045) on Chorus rooms, for one account on one gateway. The MUC service is
 * `conference.<domain>`; a room's JID is `<address>@conference.<domain>`, its mesh-wide address (claimed
 * first come at the address's owners, like a handle: protocol/handle.ts), or `<room id>@conference…` for
 * any room. A nick is always the member's handle (a client asking for another nick is told, status 210).
 *
 * - Joining `<address>@conference…/nick` joins the room the address names, on every gateway; an address
 *   nobody has claimed creates a room there (public, listed, the joiner its owner, status 201). Joining
 *   `<id>@conference…` joins that room (public, or invited). A resource hears the room under the JID it
 *   joined by; invitations and the archive name a room by its address when its claim confirms it.
 * - On join the resource gets every member's presence (affiliation from the Chorus role; role moderator
 *   for owners and admins, participant for members, visitor for members of a moderated room), its own
 *   (status 110), the last messages (`<history maxstanzas>`, at most 50) with delay stamps, the subject.
 * - `groupchat` messages post to the room (reflected to the account's joined resources, as XEP-0045
 *   wants); a `<subject>` sets it; `<invite to>` invites; `muc#admin` items kick (`role="none"`) or set an
 *   affiliation (owner, admin, member); `muc#owner` serves and takes the configuration form (muc-config.ts;
 *   an empty submit makes an instant room).
 * - disco#items of the service lists the listed rooms of the mesh (the room directory: every server's
 *   address claims, each room's own state); disco#items of a room lists its members; disco#info of a room
 *   gives its name, features and `muc#roominfo` form.
 * - Room events come back as presence (join, leave, kick with status 307, role changes), subject
 *   messages, status 104 on a configuration change, and mediated invitations for rooms this user is
 *   invited to.
 * - An unavailable presence to the room stops delivery to that resource; the Chorus membership stays
 *   (leaving a Chorus room is leaving for good: an XMPP client leaves a room whenever it goes offline).
 */

import xml, { type Element } from '@xmpp/xml'
import { checkRoomAddress } from '../../protocol/handle.js'
import { looksLikeRoomId } from '../../protocol/room-events.js'
import type { RoomSettings } from '../../protocol/room.js'
import { RoomAddressTakenError, UnknownRoomAddressError } from '../replication/errors.js'
import type { Message, RoomMemberEvent } from '../session/events.js'
import type { Room } from '../session/room.js'
import type { User } from '../session/user.js'
import { toStanzaError, type ConditionOverrides } from './conditions.js'
import { StanzaError } from './errors.js'
import { ownerForm, parseOwnerSubmit, roomFeatures, roomInfoForm } from './muc-config.js'
import { NS_DELAY, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_MUC_OWNER, NS_MUC_USER, NS_SID } from './ns.js'

/** A room that takes members by invitation only is joined after registering with it (XEP-0045 §7.2.6). */
const JOIN_CONDITIONS: ConditionOverrides = { ERR_FORBIDDEN: 'registration-required' }

/** Messages of history sent on join at most. */
export const MAX_JOIN_HISTORY = 50

/** The MUC service of a gateway's domain. */
export function mucService (domain: string): string {
  return `conference.${domain}`
}

type Role = 'owner' | 'admin' | 'member'
const ROLE_OF: Record<Role, string> = { owner: 'moderator', admin: 'moderator', member: 'participant' }
const AFFILIATIONS = new Set<unknown>(['owner', 'admin', 'member'])

/** What the MUC part needs of the account session around it. */
export interface MucHost {
  user: User
  domain: string
  /** send to one resource, if bound */
  toResource: (resource: string, el: Element) => void
  handleOf: (jid: string) => string
  /** the bare JID of a user (handle or user id) */
  jidOf: (handleOrId: string) => string
}

export class Muc {
  readonly service: string
  /** room id → the resources joined to it here, and the localpart they joined by (address or id) */
  private readonly joined = new Map<string, { alias: string, resources: Set<string> }>()
  /** room id → its confirmed address, for rooms this account is invited to and not in */
  private readonly invitedAs = new Map<string, string>()
  constructor (private readonly host: MucHost) {
    this.service = mucService(host.domain)
  }

  /** Whether `jid` is at the MUC service. */
  owns (jid: string | undefined): boolean {
    return jid != null && (jid === this.service || jid.split('/')[0].endsWith(`@${this.service}`))
  }

  /**
   * A room's JID as this account hears it: the localpart a resource joined by, else the room's address,
   * else its id.
   */
  private roomJid (roomId: string, nick?: string): string {
    const local = this.joined.get(roomId)?.alias ??
      this.host.user.rooms.get(roomId)?.address ??
      this.invitedAs.get(roomId) ??
      roomId
    return nick == null ? `${local}@${this.service}` : `${local}@${this.service}/${nick}`
  }

  /** The room a JID names: a room id, or an address and the room it resolves to (none when unclaimed). */
  private async resolve (jid: string): Promise<{ local: string, roomId?: string }> {
    const local = jid.split('/')[0].split('@')[0].toLowerCase()
    if (looksLikeRoomId(local)) return { local, roomId: local } // any other localpart is an address
    checkRoomAddress(local) // InvalidRoomAddressError: jid-malformed (conditions.ts)
    try {
      return { local, roomId: (await this.host.user.rooms.resolve(local)).roomId }
    } catch (err) {
      if (err instanceof UnknownRoomAddressError) return { local }
      throw err
    }
  }

  /** The room a JID names, which this account is in. */
  private async room (jid: string): Promise<Room> {
    const { roomId } = await this.resolve(jid)
    const room = roomId == null ? undefined : this.host.user.rooms.get(roomId)
    if (room == null || !room.joined) throw new StanzaError('item-not-found', 'not in that room')
    return room
  }

  /** A presence to a room JID: join, or leave for this resource. */
  async presence (resource: string, el: Element): Promise<void> {
    const to = String(el.attrs.to)
    const { local, roomId } = await this.resolve(to)
    if (el.attrs.type === 'unavailable') {
      if (roomId == null) return
      const j = this.joined.get(roomId)
      j?.resources.delete(resource)
      this.host.toResource(resource, xml('presence', { type: 'unavailable', from: `${local}@${this.service}/${this.host.user.handle}` },
        xml('x', { xmlns: NS_MUC_USER }, xml('item', { affiliation: 'member', role: 'none' }), xml('status', { code: '110' }))))
      return
    }
    if (el.attrs.type != null) return
    const wanted = to.includes('/') ? to.slice(to.indexOf('/') + 1) : ''
    const { room, created } = roomId != null
      ? { room: await this.join(roomId), created: false }
      : await this.create(local)
    const entry = this.joined.get(room.id) ?? { alias: local, resources: new Set<string>() }
    entry.resources.add(resource)
    this.joined.set(room.id, entry)
    await this.welcome(resource, room, el, created, wanted)
  }

  private async join (roomId: string): Promise<Room> {
    const rooms = this.host.user.rooms
    const known = rooms.get(roomId)
    if (known?.joined === true) return known
    try {
      return await rooms.join(roomId)
    } catch (err) {
      throw toStanzaError(err, JOIN_CONDITIONS)
    }
  }

  /**
   * A room at an address nobody has claimed: created public and listed, unless another gateway's user got
   * there first.
   */
  private async create (address: string): Promise<{ room: Room, created: boolean }> {
    try {
      return { room: await this.host.user.rooms.create({ name: address, address, public: true }), created: true }
    } catch (err) {
      if (!(err instanceof RoomAddressTakenError)) throw err
      return { room: await this.join(err.roomId), created: false }
    }
  }

  /** Members' presence, own presence, history, subject: what a joining resource gets. */
  private async welcome (resource: string, room: Room, join: Element, created: boolean, wanted: string): Promise<void> {
    const self = this.host.user.handle
    const moderated = room.settings.moderated
    for (const m of await room.members()) {
      if (m.handle === self) continue
      this.host.toResource(resource, occupant(this.roomJid(room.id, m.handle), m.role, moderated))
    }
    const own = occupant(this.roomJid(room.id, self), room.role === 'none' ? 'member' : room.role, moderated)
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
    const room = this.roomJid(roomId)
    const el = xml('message', { type: 'groupchat', id: id ?? m.id, from: this.roomJid(roomId, m.from) },
      xml('body', {}, m.text),
      xml('stanza-id', { xmlns: NS_SID, id: m.id, by: room }))
    if (delayed) el.append(xml('delay', { xmlns: NS_DELAY, from: room, stamp: new Date(m.timestamp).toISOString() }))
    return el
  }

  /** A message to a room: a post, a subject, or an invitation. */
  async message (resource: string, el: Element): Promise<void> {
    const room = await this.room(String(el.attrs.to))
    const invites = el.getChild('x', NS_MUC_USER)?.getChildren('invite') ?? []
    for (const inv of invites) await room.invite(this.host.handleOf(String(inv.attrs.to)))
    if (invites.length > 0) return
    if (el.attrs.type !== 'groupchat') throw new StanzaError('bad-request', 'a message to a room is groupchat')
    const subject = el.getChildText('subject')
    if (subject != null) { await room.setSubject(subject.slice(0, 512)); return }
    const body = el.getChildText('body')
    if (body == null) return
    if (!room.fold.maySpeak(this.host.user.userId)) throw new StanzaError('forbidden', 'the room is moderated: only its owners and admins post')
    const sent = await room.send(body)
    // XEP-0045 reflects a post to its sender's joined resources; Chorus does not echo a user's own posts
    const mine: Message = {
      id: sent.id,
      from: this.host.user.handle,
      fromId: this.host.user.userId,
      to: `room.${room.id}`,
      text: body,
      timestamp: sent.timestamp,
      kind: 'groupchat',
      cursor: '',
      room: room.id
    }
    const reflected = this.groupchat(room.id, mine, false, el.attrs.id)
    for (const r of this.joined.get(room.id)?.resources ?? []) this.host.toResource(r, reflected)
  }

  /** muc#admin set: kick (role none) or set an affiliation. */
  async admin (to: string, query: Element): Promise<void> {
    const room = await this.room(to)
    for (const item of query.getChildren('item')) {
      const handle = item.attrs.nick != null ? String(item.attrs.nick) : this.host.handleOf(String(item.attrs.jid))
      if (item.attrs.role === 'none' || item.attrs.affiliation === 'none' || item.attrs.affiliation === 'outcast') await room.kick(handle)
      else if (AFFILIATIONS.has(item.attrs.affiliation)) await room.setRole(handle, item.attrs.affiliation as Role)
      else throw new StanzaError('feature-not-implemented', 'kick (role none) or set an affiliation (owner, admin, member)')
    }
  }

  /** muc#owner: the configuration form (get), a submitted form, an instant room, or a cancel (set). Owners only. */
  async owner (to: string, type: 'get' | 'set', query: Element): Promise<Element | undefined> {
    const room = await this.room(to)
    if (room.role !== 'owner') throw new StanzaError('forbidden', 'only the room\'s owners configure it')
    if (type === 'get') return ownerForm(this.roomJid(room.id).split('@')[0], room.settings)
    if (query.getChild('destroy') != null) throw new StanzaError('feature-not-implemented', 'a Chorus room is not destroyed: its owners leave it')
    const change = parseOwnerSubmit(query)
    if (change == null || Object.keys(change).length === 0) return undefined
    const now = room.settings
    if (Object.entries(change).every(([k, v]) => now[k as keyof RoomSettings] === v)) return undefined
    await room.configure(change)
    return undefined
  }

  /** disco#info of the service or a room. */
  async info (to: string): Promise<Element> {
    if (to === this.service) {
      return xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'conference', type: 'text', name: 'Chorus rooms' }),
        xml('feature', { var: NS_MUC }), xml('feature', { var: NS_DISCO_ITEMS }))
    }
    const { roomId } = await this.resolve(to)
    if (roomId == null) throw new StanzaError('item-not-found', 'no room has that address')
    const state = await this.host.user.rooms.peek(roomId).catch(() => undefined)
    if (state == null || !state.created) throw new StanzaError('item-not-found', 'no such room, or not one this account may see')
    const settings = state.settings
    return xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'conference', type: 'text', name: settings.name }),
      xml('feature', { var: NS_MUC }), xml('feature', { var: NS_MUC_OWNER }),
      ...roomFeatures(settings).map((f) => xml('feature', { var: f })), roomInfoForm(settings, state.members().length))
  }

  /** disco#items: of the service, the room directory; of a room this account is in, its members. */
  async items (to: string): Promise<Element> {
    if (to === this.service) {
      const listed = await this.host.user.rooms.directoryList()
      return xml('query', { xmlns: NS_DISCO_ITEMS }, ...listed.map((r) => xml('item', { jid: `${r.address}@${this.service}`, name: r.name })))
    }
    const room = await this.room(to).catch(() => undefined)
    if (room == null) return xml('query', { xmlns: NS_DISCO_ITEMS })
    const members = await room.members()
    return xml('query', { xmlns: NS_DISCO_ITEMS }, ...members.map((m) => xml('item', { jid: this.roomJid(room.id, m.handle) })))
  }

  /** A groupchat message from the session: to the resources joined to its room. */
  onMessage (m: Message): boolean {
    if (m.kind !== 'groupchat' || m.room == null) return false
    const j = this.joined.get(m.room)
    const delayed = Date.now() - m.timestamp > 5000
    for (const r of j?.resources ?? []) this.host.toResource(r, this.groupchat(m.room, m, delayed))
    return true
  }

  /** A room event: presence changes and subjects to the joined resources; invitations to every resource. */
  onMember (e: RoomMemberEvent, all: (el: Element) => void): void {
    if (e.action === 'invite' && e.memberId === this.host.user.userId) {
      if (e.address != null) this.invitedAs.set(e.room, e.address)
      all(invitation(this.roomJid(e.room), this.host.jidOf(e.by)))
      return
    }
    const j = this.joined.get(e.room)
    if (j == null || j.resources.size === 0) return
    const to = (el: Element): void => { for (const r of j.resources) this.host.toResource(r, el) }
    const room = this.host.user.rooms.get(e.room)
    if (e.action === 'subject') { to(xml('message', { type: 'groupchat', from: this.roomJid(e.room, e.by) }, xml('subject', {}, room?.subject ?? ''))); return }
    if (e.action === 'configure') {
      to(xml('message', { type: 'groupchat', from: this.roomJid(e.room) }, xml('x', { xmlns: NS_MUC_USER }, xml('status', { code: '104' }))))
      return
    }
    if (e.member == null) return
    if (e.action === 'join' || e.action === 'role') {
      to(occupant(this.roomJid(e.room, e.member), e.role ?? 'member', room?.settings.moderated === true))
    }
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

/** An occupant's presence in a room (a member of a moderated room has no voice: a visitor). */
function occupant (from: string, role: Role | string, moderated: boolean): Element {
  const r = (role === 'owner' || role === 'admin' ? role : 'member') as Role
  const muc = r === 'member' && moderated ? 'visitor' : ROLE_OF[r]
  return xml('presence', { from }, xml('x', { xmlns: NS_MUC_USER }, xml('item', { affiliation: r, role: muc })))
}
