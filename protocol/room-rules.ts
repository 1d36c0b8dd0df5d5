/**
 * The rules of a room's state log, which protocol/room.ts folds the log by: what each event needs of the
 * state before it (`Fold.judge`), and what it changes (`Fold.mutate`): members and roles, invitations and
 * bans, settings, and who has voice when.
 *
 * Rules (sender = the envelope's signer):
 *   CREATE     once; the room id must derive from the sender's key and the event's nonce (`roomIdOf`),
 *              so nobody else can create, or re-create, that room. The creator is its first owner.
 *   INVITE     by an owner or admin; by any member when the room lets members invite (by default, a public
 *              room does: an invitation there only tells the invitee about the room). Not of a current
 *              member. Lifts a ban left by a kick.
 *   JOIN       by the sender itself, when invited, or when the room is public and the sender not banned.
 *   LEAVE      by the sender itself, a member; the last owner may leave only when no one else remains.
 *   KICK       by an owner or admin, of a member or invitee who is not an owner; an admin cannot kick an
 *              admin. The target's invitation is dropped and it is banned from rejoining a public room
 *              until invited again.
 *   ROLE       by an owner, of a member: member, admin or owner; the last owner cannot step down.
 *   SUBJECT    by an owner or admin.
 *   CONFIGURE  by an owner: every setting (public, listed, moderated, who may invite, description), and the
 *              name when one is given.
 *   Posts      (GROUPCHAT in `room.<id>`) by a member with voice at the post's time: every member, or in
 *              a moderated room owners and admins only.
 *
 * The CREATE may name the room's address (`team` of `team@conference.<domain>`): the fold records it as
 * the creator's word; the address is the room's only when its claim at the address's owners names this
 * room (protocol/handle.ts), which readers check.
 */

import { type Envelope, userIdOf } from './envelope.js'
import { RoomEvent } from './pb/chat.js'
import { RoomRuleError, roomIdOf, type RoomRole, type RoomRuleReason } from './room-events.js'

/** Roles by rank: an admin outranks a member, an owner both. */
export const RANK: Record<RoomRole, number> = { member: 1, admin: 2, owner: 3 }

/** Who may invite: owners and admins, or any member. */
export type RoomInvites = 'admins' | 'members'

/** A room's settings (CREATE sets them, CONFIGURE replaces them). */
export interface RoomSettings {
  name: string
  description: string
  /** anyone may join (else an invitation is needed) */
  public: boolean
  /** listed in the room directory; the state log is then readable by anyone */
  listed: boolean
  /** only owners and admins post */
  moderated: boolean
  invites: RoomInvites
}
const INVITES: Record<RoomEvent.Invites, RoomInvites | undefined> = {
  [RoomEvent.Invites.DEFAULT]: undefined,
  [RoomEvent.Invites.ADMINS]: 'admins',
  [RoomEvent.Invites.MEMBERS]: 'members'
}
/** The role a ROLE event carries, by its wire value (an unset role names none). */
export const ROLE_OF: Partial<Record<RoomEvent.Role, RoomRole>> = {
  [RoomEvent.Role.MEMBER]: 'member',
  [RoomEvent.Role.ADMIN]: 'admin',
  [RoomEvent.Role.OWNER]: 'owner'
}

/** How a user last stopped being a member. */
export interface RoomExit {
  action: 'leave' | 'kick'
  by: string
  at: bigint
}

/** A user's stretches of membership: [from, to) in HLC timestamps; `to` undefined while still a member. */
interface Interval { from: bigint, to?: bigint }

/** The fold itself: the state after some prefix of the log. */
export class Fold {
  created = false
  creator = ''
  createdAt = 0n
  name = ''
  subject = ''
  public = false
  address = ''
  description = ''
  listed = false
  moderated = false
  /** undefined: by the room's public flag */
  invites: RoomInvites | undefined
  readonly roles = new Map<string, RoomRole>()
  readonly invited = new Map<string, { by: string, at: bigint }>()
  readonly banned = new Set<string>()
  readonly handles = new Map<string, string>()
  readonly intervals = new Map<string, Interval[]>()
  /** stretches in which a member may post (a moderated room gives voice to owners and admins only) */
  readonly voice = new Map<string, Interval[]>()
  readonly exits = new Map<string, RoomExit>()

  constructor (readonly id: string) {}

  /** Who may invite now. */
  get invitesBy (): RoomInvites { return this.invites ?? (this.public ? 'members' : 'admins') }

  /** Whether a member of role `role` may post now. */
  hasVoice (role: RoomRole | undefined): boolean {
    return role != null && (!this.moderated || RANK[role] >= RANK.admin)
  }

  owners (): number {
    let n = 0
    for (const r of this.roles.values()) if (r === 'owner') n++
    return n
  }

  /** Why `env` (event `ev`) may not apply to this state; undefined when it may. */
  judge (env: Envelope, ev: RoomEvent): RoomRuleError | undefined {
    const actor = userIdOf(env.senderKey)
    const deny = (reason: RoomRuleReason, msg: string): RoomRuleError => new RoomRuleError(reason, msg)
    if (ev.action === RoomEvent.Action.CREATE) {
      if (this.created) return deny('exists', `room ${this.id} exists`)
      if (roomIdOf(env.senderKey, ev.nonce) !== this.id) return deny('forged-create', `the CREATE's signer and nonce do not derive room ${this.id}`)
      return undefined
    }
    if (!this.created) return deny('no-room', `room ${this.id} has no CREATE before this event`)
    const role = this.roles.get(actor)
    const rank = role == null ? 0 : RANK[role]
    const target = ev.target
    switch (ev.action) {
      case RoomEvent.Action.INVITE:
        if (target === '') return deny('malformed', 'an INVITE names its target')
        if (role == null) return deny('not-member', 'only members invite')
        if (this.invitesBy === 'admins' && rank < RANK.admin) return deny('not-allowed', 'only owners and admins invite to this room')
        if (this.roles.has(target)) return deny('already-member', 'the target is a member')
        return undefined
      case RoomEvent.Action.JOIN:
        if (target !== '' && target !== actor) return deny('not-allowed', 'a JOIN is made by the joiner itself')
        if (role != null) return deny('already-member', 'already a member')
        if (this.invited.has(actor)) return undefined
        if (this.public && !this.banned.has(actor)) return undefined
        return deny('not-invited', this.public ? 'kicked from this room: an invitation is needed to rejoin' : 'a private room needs an invitation')
      case RoomEvent.Action.LEAVE:
        if (target !== '' && target !== actor) return deny('not-allowed', 'a LEAVE is made by the member itself (use KICK)')
        if (role == null) return deny('not-member', 'not a member')
        if (role === 'owner' && this.owners() === 1 && this.roles.size > 1) return deny('last-owner', 'the last owner cannot leave while others remain: make another owner first')
        return undefined
      case RoomEvent.Action.KICK: {
        if (target === '' || target === actor) return deny('malformed', 'a KICK names another user')
        if (rank < RANK.admin) return deny('not-allowed', 'only owners and admins kick')
        const theirs = this.roles.get(target)
        if (theirs == null && !this.invited.has(target)) return deny('not-member', 'the target is neither a member nor invited')
        if (theirs === 'owner') return deny('not-allowed', 'an owner cannot be kicked')
        if (theirs === 'admin' && role !== 'owner') return deny('not-allowed', 'only an owner kicks an admin')
        return undefined
      }
      case RoomEvent.Action.ROLE: {
        if (target === '') return deny('malformed', 'a ROLE names its target')
        if (role !== 'owner') return deny('not-allowed', 'only owners change roles')
        const next = ROLE_OF[ev.role]
        if (next == null) return deny('malformed', 'a ROLE names member, admin or owner')
        const theirs = this.roles.get(target)
        if (theirs == null) return deny('not-member', 'the target is not a member')
        if (theirs === 'owner' && next !== 'owner' && this.owners() === 1) return deny('last-owner', 'the last owner cannot step down')
        return undefined
      }
      case RoomEvent.Action.SUBJECT:
        if (rank < RANK.admin) return deny('not-allowed', 'only owners and admins set the subject')
        return undefined
      case RoomEvent.Action.CONFIGURE:
        if (role !== 'owner') return deny('not-allowed', 'only owners configure the room')
        return undefined
      default:
        return deny('malformed', 'unknown action')
    }
  }

  /** Apply an event `judge` allowed, and open or close the voice it gives or takes. */
  mutate (env: Envelope, ev: RoomEvent): void {
    this.change(env, ev)
    this.revoice(env.timestamp)
  }

  private change (env: Envelope, ev: RoomEvent): void {
    const actor = userIdOf(env.senderKey)
    const t = env.timestamp
    if (env.senderHandle !== '') this.handles.set(actor, env.senderHandle)
    if (ev.target !== '' && ev.targetHandle !== '' && !this.handles.has(ev.target)) {
      this.handles.set(ev.target, ev.targetHandle)
    }
    switch (ev.action) {
      case RoomEvent.Action.CREATE:
        this.created = true
        this.creator = actor
        this.createdAt = t
        this.name = ev.name
        this.subject = ev.subject
        this.address = ev.address
        this.settings(ev)
        this.enter(actor, 'owner', t)
        return
      case RoomEvent.Action.INVITE:
        this.invited.set(ev.target, { by: actor, at: t })
        this.banned.delete(ev.target)
        return
      case RoomEvent.Action.JOIN:
        this.invited.delete(actor)
        this.enter(actor, 'member', t)
        return
      case RoomEvent.Action.LEAVE:
        this.exit(actor, { action: 'leave', by: actor, at: t })
        return
      case RoomEvent.Action.KICK:
        this.invited.delete(ev.target)
        this.banned.add(ev.target)
        if (this.roles.has(ev.target)) this.exit(ev.target, { action: 'kick', by: actor, at: t })
        return
      case RoomEvent.Action.ROLE:
        this.roles.set(ev.target, ROLE_OF[ev.role] as RoomRole)
        return
      case RoomEvent.Action.SUBJECT:
        this.subject = ev.subject
        return
      case RoomEvent.Action.CONFIGURE:
        this.settings(ev)
        if (ev.name !== '') this.name = ev.name
    }
  }

  private settings (ev: RoomEvent): void {
    this.public = ev.public
    this.description = ev.description
    this.listed = ev.listed
    this.moderated = ev.moderated
    this.invites = INVITES[ev.invites]
  }

  /** Open voice for members who have it now and lack it, close it for those who lost it. */
  private revoice (t: bigint): void {
    for (const [user, list] of this.voice) {
      const open = list[list.length - 1]
      if (open?.to == null && !this.hasVoice(this.roles.get(user))) open.to = t
    }
    for (const [user, role] of this.roles) {
      if (!this.hasVoice(role)) continue
      let list = this.voice.get(user)
      if (list == null) { list = []; this.voice.set(user, list) }
      const last = list[list.length - 1]
      if (last == null || last.to != null) list.push({ from: t })
    }
  }

  private enter (user: string, role: RoomRole, t: bigint): void {
    this.roles.set(user, role)
    let list = this.intervals.get(user)
    if (list == null) { list = []; this.intervals.set(user, list) }
    list.push({ from: t })
  }

  private exit (user: string, how: RoomExit): void {
    this.roles.delete(user)
    this.invited.delete(user)
    const list = this.intervals.get(user)
    const open = list?.[list.length - 1]
    if (open != null && open.to == null) open.to = how.at
    this.exits.set(user, how)
  }
}
