/**
 * The pure parts of rosters and presence: the subscription state machine (both sides of a
 * subscription, driven by each other's sends), the fold of a roster log, the bounded decoders, and the
 * presence tracker's ordering and expiry. In memory only.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import {
  MAX_STATUS_CHARS, Presence, RosterFold, RosterItem, actionOf, checkStatus, decodePresence, decodeRosterItem, emptyItem,
  stampOf, stateOf, subscriptionName, transition, type RosterAction
} from '../../protocol/roster.js'
import { PresenceTracker } from '../../node/session/presence.js'

const A = userIdOf(generateIdentity().publicKey)
const B = userIdOf(generateIdentity().publicKey)
const S = RosterItem.Subscription

/** Two rosters that deliver each other's subscription presences, as the mesh would. */
class Pair {
  items: Record<string, RosterItem | undefined> = {}
  requests: string[] = []
  refused: string[] = []

  constructor (private readonly ids: Record<string, string> = { alice: A, bob: B }) {}

  /** `who` does `action` on the other; whatever that sends is delivered at once. */
  act (who: 'alice' | 'bob', action: RosterAction): void {
    const other = who === 'alice' ? 'bob' : 'alice'
    const t = transition(this.items[who], action, this.ids[other], other)
    if (t.refused != null) this.refused.push(`${who}:${t.refused}`)
    if (t.item != null) this.items[who] = t.item
    if (t.request) this.requests.push(who)
    for (const type of t.send) this.act(other, actionOf(type)!)
  }

  sub (who: 'alice' | 'bob'): string {
    const i = this.items[who]
    if (i == null || i.removed) return 'absent'
    return `${subscriptionName(i.subscription)}${i.pendingOut ? '+out' : ''}${i.pendingIn ? '+in' : ''}`
  }
}

const stamp = (ms: number, id = 1): string => stampOf({ timestamp: BigInt(ms) << 16n, id: new Uint8Array(16).fill(id) })

describe('roster: the subscription state machine', () => {
  it('add → pending out on one side, pending in (and one request) on the other', () => {
    const p = new Pair()
    p.act('alice', 'add')
    assert.equal(p.sub('alice'), 'none+out')
    assert.equal(p.sub('bob'), 'none+in')
    assert.deepEqual(p.requests, ['bob'])
    // asking again re-sends, but the other side is told once
    p.act('alice', 'add')
    assert.deepEqual(p.requests, ['bob'])
  })

  it('accept → alice sees bob (to), bob is seen by alice (from)', () => {
    const p = new Pair()
    p.act('alice', 'add')
    p.act('bob', 'accept')
    assert.equal(p.sub('alice'), 'to')
    assert.equal(p.sub('bob'), 'from')
    // accepting twice is a no-op, not an error
    assert.equal(transition(p.items.bob, 'accept', A, 'alice').item, undefined)
  })

  it('mutual subscription is both on each side', () => {
    const p = new Pair()
    p.act('alice', 'add')
    p.act('bob', 'accept')
    p.act('bob', 'add')
    p.act('alice', 'accept')
    assert.equal(p.sub('alice'), 'both')
    assert.equal(p.sub('bob'), 'both')
  })

  it('remove drops both directions on both sides', () => {
    const p = new Pair()
    p.act('alice', 'add'); p.act('bob', 'accept'); p.act('bob', 'add'); p.act('alice', 'accept')
    p.act('alice', 'remove')
    assert.equal(p.sub('alice'), 'absent')
    assert.equal(p.sub('bob'), 'none')
    // removing again does nothing and sends nothing
    assert.deepEqual(transition(p.items.alice, 'remove', B, 'bob'), { send: [], request: false })
  })

  it('deny answers unsubscribed: the asker is no longer pending, the item that only held the request goes', () => {
    const p = new Pair()
    p.act('alice', 'add')
    p.act('bob', 'deny')
    assert.equal(p.sub('alice'), 'none')
    assert.equal(p.sub('bob'), 'absent')
  })

  it('accept or deny without a request is refused', () => {
    assert.equal(transition(undefined, 'accept', A, 'alice').refused, 'no-request')
    assert.equal(transition(undefined, 'deny', A, 'alice').refused, 'no-request')
  })

  it('a SUBSCRIBED nobody asked for is ignored', () => {
    const t = transition(undefined, 'subscribed', A, 'alice')
    assert.equal(t.item, undefined)
    assert.equal(t.refused, 'unrequested-subscribed')
    const after = transition({ ...emptyItem(A, 'alice'), subscription: S.FROM }, 'subscribed', A, 'alice')
    assert.equal(after.refused, 'unrequested-subscribed')
  })

  it('a SUBSCRIBE from someone who already sees us is answered SUBSCRIBED at once (RFC 6121 3.1.3)', () => {
    const t = transition({ ...emptyItem(A, 'alice'), subscription: S.FROM }, 'subscribe', A, 'alice')
    assert.deepEqual(t.send, [Presence.Type.SUBSCRIBED])
    assert.equal(t.request, false)
    assert.equal(t.item, undefined)
  })

  it('UNSUBSCRIBE drops from (and a pending request), UNSUBSCRIBED drops to (and our pending request)', () => {
    const both = { ...emptyItem(A, 'alice'), subscription: S.BOTH }
    assert.equal(transition(both, 'unsubscribe', A, 'alice').item?.subscription, S.TO)
    assert.equal(transition(both, 'unsubscribed', A, 'alice').item?.subscription, S.FROM)
    const pendingIn = transition({ ...emptyItem(A, 'alice'), pendingIn: true }, 'unsubscribe', A, 'alice').item
    assert.equal(pendingIn?.pendingIn, false)
    const pendingOut = transition({ ...emptyItem(A, 'alice'), pendingOut: true }, 'unsubscribed', A, 'alice').item
    assert.equal(pendingOut?.pendingOut, false)
    // nothing to drop: no change, nothing sent
    assert.deepEqual(transition(undefined, 'unsubscribe', A, 'alice'), { send: [], request: false })
    assert.deepEqual(transition({ ...emptyItem(A, 'alice'), subscription: S.TO }, 'unsubscribe', A, 'alice'), { send: [], request: false })
  })

  it('adding someone already seen does nothing', () => {
    assert.deepEqual(transition({ ...emptyItem(B, 'bob'), subscription: S.TO }, 'add', B, 'bob'), { send: [], request: false })
  })

  it('a removed item counts as none: a new request starts afresh', () => {
    const removed = { ...emptyItem(A, 'alice'), subscription: S.NONE, removed: true }
    assert.equal(transition(removed, 'subscribed', A, 'alice').refused, 'unrequested-subscribed')
    const t = transition(removed, 'subscribe', A, 'alice')
    assert.equal(t.request, true)
    assert.deepEqual(t.item, { ...emptyItem(A, 'alice'), pendingIn: true })
  })

  it('keeps a known handle over a bare user id', () => {
    const t = transition({ ...emptyItem(B, 'bob') }, 'add', B, B)
    assert.equal(t.item?.handle, 'bob')
  })
})

describe('roster: the fold of a roster log', () => {
  it('the newest item per contact wins, whatever order they arrive in', () => {
    const older = { ...emptyItem(B, 'bob'), pendingOut: true }
    const newer = { ...emptyItem(B, 'bob'), subscription: S.TO }
    const f = new RosterFold()
    assert.equal(f.apply(newer, stamp(2000)), true)
    assert.equal(f.apply(older, stamp(1000)), false)
    assert.equal(f.apply(newer, stamp(2000)), false, 'the same envelope twice is a no-op')
    assert.deepEqual(f.items(), [newer])
  })

  it('ties on the timestamp go to the larger id', () => {
    const f = new RosterFold()
    f.apply({ ...emptyItem(B, 'bob'), pendingOut: true }, stamp(1000, 9))
    f.apply({ ...emptyItem(B, 'bob'), subscription: S.TO }, stamp(1000, 2))
    assert.equal(f.get(B)?.pendingOut, true)
  })

  it('a removed item leaves the roster and an older item cannot bring it back', () => {
    const f = new RosterFold()
    f.apply({ ...emptyItem(B, 'bob'), subscription: S.BOTH }, stamp(1000))
    f.apply({ ...emptyItem(A, 'alice'), subscription: S.TO }, stamp(1500))
    f.apply({ ...emptyItem(B, 'bob'), removed: true }, stamp(2000))
    assert.deepEqual(f.items().map((i) => i.contact), [A])
    f.apply({ ...emptyItem(B, 'bob'), subscription: S.BOTH }, stamp(1200))
    assert.deepEqual(f.items().map((i) => i.contact), [A])
    // a newer one does
    f.apply({ ...emptyItem(B, 'bob'), pendingOut: true }, stamp(3000))
    assert.deepEqual(f.items().map((i) => i.contact).sort(), [A, B].sort())
  })

  it('stamps sort as (timestamp, id), across digit counts', () => {
    assert.ok(stamp(999) < stamp(1000))
    assert.ok(stamp(0x0fffffff) < stamp(0x10000000))
    assert.ok(stamp(1000, 1) < stamp(1000, 2))
  })
})

describe('roster: bounded decoding', () => {
  const enc = (p: Partial<Presence>): Uint8Array => Presence.encode({ type: Presence.Type.AVAILABILITY, state: Presence.State.ONLINE, status: '', lastSeen: 0n, ...p })

  it('takes a status of 256 characters (of any width) and refuses 257', () => {
    const wide = '😀'.repeat(MAX_STATUS_CHARS)
    assert.equal(decodePresence(enc({ status: wide })).status, wide)
    assert.throws(() => decodePresence(enc({ status: 'x'.repeat(MAX_STATUS_CHARS + 1) })), { name: 'InvalidPresenceError', code: 'ERR_INVALID_PRESENCE' })
    assert.throws(() => { checkStatus('y'.repeat(MAX_STATUS_CHARS + 1)) }, { code: 'ERR_INVALID_PRESENCE' })
  })

  it('refuses garbage, an unknown state and an oversized body', () => {
    assert.throws(() => decodePresence(new Uint8Array([0xff, 0xff, 0xff])), { code: 'ERR_INVALID_PRESENCE' })
    assert.throws(() => decodePresence(new Uint8Array([0x10, 0x09])), { code: 'ERR_INVALID_PRESENCE' }, 'state 9')
    assert.throws(() => decodePresence(new Uint8Array(5000)), { code: 'ERR_INVALID_PRESENCE' })
    assert.throws(() => stateOf('invisible'), { code: 'ERR_INVALID_PRESENCE' })
  })

  it('a roster item must name a user id', () => {
    const ok = RosterItem.encode({ ...emptyItem(B, 'bob'), subscription: S.TO })
    assert.equal(decodeRosterItem(ok).subscription, S.TO)
    assert.throws(() => decodeRosterItem(RosterItem.encode(emptyItem('not-a-user', 'bob'))), { code: 'ERR_MALFORMED_ENVELOPE' })
    assert.throws(() => decodeRosterItem(new Uint8Array(300)), { code: 'ERR_MALFORMED_ENVELOPE' })
  })
})

describe('presence tracker', () => {
  it('shows changes, not heartbeats; an older envelope never overrides a newer one', () => {
    const t = new PresenceTracker(150_000)
    assert.deepEqual(t.observe(B, { state: 'online', status: '', lastSeen: 1000 }, stamp(1000), 1000), { state: 'online', status: '', lastSeen: 1000 })
    assert.equal(t.observe(B, { state: 'online', status: '', lastSeen: 61_000 }, stamp(61_000), 61_000), undefined, 'a heartbeat')
    assert.equal(t.get(B)?.lastSeen, 61_000, 'but it moves last seen')
    assert.deepEqual(t.observe(B, { state: 'away', status: 'lunch', lastSeen: 62_000 }, stamp(62_000), 62_000), { state: 'away', status: 'lunch', lastSeen: 62_000 })
    assert.equal(t.observe(B, { state: 'offline', status: '', lastSeen: 500 }, stamp(500), 63_000), undefined, 'a stale record')
    assert.equal(t.get(B)?.state, 'away')
  })

  it('a contact silent for the expiry is offline, last seen at its last heartbeat; then back online', () => {
    const t = new PresenceTracker(150_000)
    t.observe(B, { state: 'online', status: '', lastSeen: 60_000 }, stamp(60_000), 60_000)
    assert.deepEqual(t.expire(60_000 + 150_000), [])
    assert.deepEqual(t.expire(60_000 + 150_001), [[B, { state: 'offline', status: '', lastSeen: 60_000 }]])
    assert.deepEqual(t.expire(60_000 + 300_000), [], 'once')
    assert.equal(t.observe(B, { state: 'online', status: '', lastSeen: 400_000 }, stamp(400_000), 400_000)?.state, 'online')
  })

  it('a stored "online" stands for the probe grace only', () => {
    const t = new PresenceTracker(150_000)
    const now = 1_000_000
    t.observe(B, { state: 'online', status: '', lastSeen: 10_000 }, stamp(10_000), t.graceFrom(now, 15_000))
    assert.deepEqual(t.expire(now + 14_000), [])
    assert.deepEqual(t.expire(now + 15_001), [[B, { state: 'offline', status: '', lastSeen: 10_000 }]])
  })
})
