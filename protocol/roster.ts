/**
 * Rosters and presence as data, with no I/O: the subscription state machine (Jabber's, RFC 6121 §3),
 * the fold of a user's roster log (the newest item per contact wins), and bounded decoders of the
 * ROSTER and PRESENCE bodies. `node/session/roster.ts` does the sending and storing.
 *
 * Subscriptions are one-way and named from the roster owner's side: TO = we see their presence,
 * FROM = they see ours, BOTH = both. `pending_out` is our request not yet answered; `pending_in` theirs.
 */

import { ChorusError, MalformedEnvelopeError } from './errors.js'
import { isUserId } from './mailbox.js'
import { Presence, RosterItem } from './pb/chat.js'

export { Presence, RosterItem }

/** Longest presence status, in characters (code points). */
export const MAX_STATUS_CHARS = 256

/** Largest PRESENCE body: a full status of 4-byte characters plus the other fields. */
export const MAX_PRESENCE_BODY_BYTES = MAX_STATUS_CHARS * 4 + 32

/** Largest ROSTER body: a userId, a 64-character handle and the flags. */
export const MAX_ROSTER_BODY_BYTES = 256

/** A presence that breaks the protocol's rules: unknown state, status too long, body malformed. */
export class InvalidPresenceError extends ChorusError {
  static readonly code = 'ERR_INVALID_PRESENCE'
  override readonly name = 'InvalidPresenceError'
  constructor (message: string) { super(message, InvalidPresenceError.code) }
}

/** `accept` (or `deny`) of a user who has asked nothing. */
export class NoSubscriptionRequestError extends ChorusError {
  static readonly code = 'ERR_NO_SUBSCRIPTION_REQUEST'
  override readonly name = 'NoSubscriptionRequestError'
  constructor (message: string) { super(message, NoSubscriptionRequestError.code) }
}

/** A roster operation on oneself. */
export class InvalidContactError extends ChorusError {
  static readonly code = 'ERR_INVALID_CONTACT'
  override readonly name = 'InvalidContactError'
  constructor (message: string) { super(message, InvalidContactError.code) }
}

/** Subscription states as the library hands them out. */
export type SubscriptionName = 'none' | 'to' | 'from' | 'both'

/** Presence states, as Jabber's show values. */
export type PresenceStateName = 'online' | 'away' | 'busy' | 'offline'

const STATE_NAMES: Record<Presence.State, PresenceStateName> = {
  [Presence.State.OFFLINE]: 'offline',
  [Presence.State.ONLINE]: 'online',
  [Presence.State.AWAY]: 'away',
  [Presence.State.BUSY]: 'busy'
}

const STATES = new Map(Object.entries(STATE_NAMES).map(([k, v]) => [v, k as Presence.State]))

/** The name of a wire state. */
export function stateName (s: Presence.State): PresenceStateName { return STATE_NAMES[s] }

/** The wire state of a name. Throws `InvalidPresenceError` for anything else. */
export function stateOf (name: string): Presence.State {
  const s = STATES.get(name as PresenceStateName)
  if (s == null) throw new InvalidPresenceError(`unknown presence state ${JSON.stringify(name)}`)
  return s
}

/** Check a status text against the bound. Throws `InvalidPresenceError`. */
export function checkStatus (status: string): void {
  if (typeof status !== 'string') throw new InvalidPresenceError('status must be a string')
  // count code points, as a reader would count characters; .length would count UTF-16 units
  let n = 0
  for (const _ of status) if (++n > MAX_STATUS_CHARS) throw new InvalidPresenceError(`status longer than ${MAX_STATUS_CHARS} characters`)
}

/** Decode a PRESENCE body within bounds. Throws `InvalidPresenceError`. */
export function decodePresence (body: Uint8Array): Presence {
  if (body.byteLength > MAX_PRESENCE_BODY_BYTES) throw new InvalidPresenceError(`presence body of ${body.byteLength} bytes`)
  let p: Presence
  try {
    // no repeated fields: the byte bound above is the whole limit
    p = Presence.decode(body)
  } catch (err: any) {
    throw new InvalidPresenceError(`presence does not decode: ${err.message}`)
  }
  checkStatus(p.status)
  return p
}

/** Decode a ROSTER body within bounds. Throws `MalformedEnvelopeError`. */
export function decodeRosterItem (body: Uint8Array): RosterItem {
  if (body.byteLength > MAX_ROSTER_BODY_BYTES) throw new MalformedEnvelopeError(`roster body of ${body.byteLength} bytes`)
  let item: RosterItem
  try {
    item = RosterItem.decode(body)
  } catch (err: any) {
    throw new MalformedEnvelopeError(`roster item does not decode: ${err.message}`)
  }
  if (!isUserId(item.contact)) throw new MalformedEnvelopeError('roster item contact is not a user id')
  if (item.handle.length > 64) throw new MalformedEnvelopeError('roster item handle too long')
  return item
}

// subscriptions

const S = RosterItem.Subscription

/** We see their presence. */
export function hasTo (s: RosterItem.Subscription): boolean { return s === S.TO || s === S.BOTH }

/** They see ours. */
export function hasFrom (s: RosterItem.Subscription): boolean { return s === S.FROM || s === S.BOTH }

/** The subscription with these two directions. */
export function subscriptionOf (to: boolean, from: boolean): RosterItem.Subscription {
  return to ? (from ? S.BOTH : S.TO) : (from ? S.FROM : S.NONE)
}

/** The name of a wire subscription. */
export function subscriptionName (s: RosterItem.Subscription): SubscriptionName {
  return s.toLowerCase() as SubscriptionName
}

/**
 * What changes a roster item: the owner's own actions (`add`, `accept`, `deny`, `remove`) and the
 * contact's subscription presences (`subscribe`, `subscribed`, `unsubscribe`, `unsubscribed`).
 */
export type RosterAction = 'add' | 'accept' | 'deny' | 'remove' | 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed'

/** The outcome of one action on one item. */
export interface RosterTransition {
  /** the item to write; undefined when it does not change */
  item?: RosterItem
  /** subscription presences to send the contact (durably), in order */
  send: Presence.Type[]
  /** a new request to see our presence: tell the user */
  request: boolean
  /** why the action does nothing (a count for metrics, or an error for the caller) */
  refused?: 'no-request' | 'unrequested-subscribed'
}

/** An empty item for `contact`. */
export function emptyItem (contact: string, handle: string): RosterItem {
  return { contact, handle, subscription: S.NONE, pendingOut: false, pendingIn: false, removed: false }
}

function same (a: RosterItem, b: RosterItem): boolean {
  return a.handle === b.handle && a.subscription === b.subscription && a.pendingOut === b.pendingOut &&
    a.pendingIn === b.pendingIn && a.removed === b.removed
}

/**
 * One step of the subscription state machine. `current` is the contact's item (a removed item counts
 * as none); `handle` is the contact's verified handle. Pure: the caller writes `item` and sends `send`.
 *
 * Follows RFC 6121 where it applies: a SUBSCRIBE from someone who already sees our presence is
 * answered SUBSCRIBED at once (their side may have lost the answer); a SUBSCRIBED nobody asked for is
 * ignored; UNSUBSCRIBE and UNSUBSCRIBED each drop one direction (and the matching pending request).
 */
export function transition (
  current: RosterItem | undefined,
  action: RosterAction,
  contact: string,
  handle: string
): RosterTransition {
  const live = current != null && !current.removed
  const base: RosterItem = live
    ? { ...current, handle: current.handle !== '' && current.handle !== contact ? current.handle : handle }
    : emptyItem(contact, handle)
  const to = hasTo(base.subscription)
  const from = hasFrom(base.subscription)
  const out = (next: RosterItem, send: Presence.Type[] = [], request = false): RosterTransition =>
    ({ item: live && same(current, next) ? undefined : next, send, request })
  const nothing: RosterTransition = { send: [], request: false }
  switch (action) {
    case 'add':
      if (to) return nothing
      // asking again while pending re-sends the request (it may have been lost on their side)
      return out({ ...base, pendingOut: true }, [Presence.Type.SUBSCRIBE])
    case 'accept':
      if (!base.pendingIn) return from ? nothing : { ...nothing, refused: 'no-request' }
      return out({ ...base, subscription: subscriptionOf(to, true), pendingIn: false }, [Presence.Type.SUBSCRIBED])
    case 'deny': {
      if (!base.pendingIn) return { ...nothing, refused: 'no-request' }
      const next = { ...base, pendingIn: false }
      // an item that only held their request goes away with it
      if (next.subscription === S.NONE && !next.pendingOut) next.removed = true
      return out(next, [Presence.Type.UNSUBSCRIBED])
    }
    case 'remove':
      if (!live) return nothing
      return out({ ...emptyItem(contact, base.handle), removed: true },
        [Presence.Type.UNSUBSCRIBE, Presence.Type.UNSUBSCRIBED])
    case 'subscribe':
      if (from) return { ...nothing, send: [Presence.Type.SUBSCRIBED] }
      if (base.pendingIn) return nothing
      return out({ ...base, pendingIn: true }, [], true)
    case 'subscribed':
      if (!base.pendingOut) return { ...nothing, refused: 'unrequested-subscribed' }
      return out({ ...base, subscription: subscriptionOf(true, from), pendingOut: false })
    case 'unsubscribe':
      if (!live || (!from && !base.pendingIn)) return nothing
      return out({ ...base, subscription: subscriptionOf(to, false), pendingIn: false })
    case 'unsubscribed':
      if (!live || (!to && !base.pendingOut)) return nothing
      return out({ ...base, subscription: subscriptionOf(false, from), pendingOut: false })
  }
}

/** The roster action a subscription presence from the contact is. */
export function actionOf (type: Presence.Type): RosterAction | undefined {
  switch (type) {
    case Presence.Type.SUBSCRIBE: return 'subscribe'
    case Presence.Type.SUBSCRIBED: return 'subscribed'
    case Presence.Type.UNSUBSCRIBE: return 'unsubscribe'
    case Presence.Type.UNSUBSCRIBED: return 'unsubscribed'
    default: return undefined
  }
}

/**
 * Which side of the subscription a presence from the contact is about: SUBSCRIBE / UNSUBSCRIBE about
 * theirs of ours ('from'), SUBSCRIBED / UNSUBSCRIBED about ours of theirs ('to'). The newest envelope
 * of each side wins; an older one arriving later (a replay, the sync copy of a live one) is stale.
 */
export function sideOf (action: RosterAction): 'from' | 'to' | undefined {
  if (action === 'subscribe' || action === 'unsubscribe') return 'from'
  if (action === 'subscribed' || action === 'unsubscribed') return 'to'
  return undefined
}

// the fold

/**
 * An envelope's position in its log as a string that sorts the same way: the hybrid timestamp (16 hex
 * digits) then the id. Equal to the hex of the store's cursor.
 */
export function stampOf (env: { timestamp: bigint, id: Uint8Array }): string {
  return env.timestamp.toString(16).padStart(16, '0') + Buffer.from(env.id).toString('hex')
}

/**
 * A roster: the fold of a roster log, newest item per contact (by stamp). Removed items stay in the
 * fold, so an older item seen later cannot bring a contact back, and are left out of `items()`.
 */
export class RosterFold {
  private readonly byContact = new Map<string, { item: RosterItem, stamp: string }>()

  /** Fold in one item written at `stamp`; true when it is now the contact's newest. */
  apply (item: RosterItem, stamp: string): boolean {
    const had = this.byContact.get(item.contact)
    if (had != null && had.stamp >= stamp) return false
    this.byContact.set(item.contact, { item, stamp })
    return true
  }

  /** The contact's newest item, removed or not. */
  get (contact: string): RosterItem | undefined { return this.byContact.get(contact)?.item }

  /** The stamp of the contact's newest item. */
  stamp (contact: string): string | undefined { return this.byContact.get(contact)?.stamp }

  /** The roster: every contact whose newest item is not removed. */
  items (): RosterItem[] {
    return [...this.byContact.values()].filter((e) => !e.item.removed).map((e) => e.item)
  }

  get size (): number { return this.byContact.size }
}
