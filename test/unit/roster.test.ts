/**
 * Rosters and presence. The pure parts, in memory: the subscription state machine (both sides of a
 * subscription, driven by each other's sends), the fold of a roster log, the bounded decoders, and the
 * presence tracker's ordering and expiry. Then the `Roster` component with its session stubbed (logs in
 * memory, a LevelDB per node on disk): duplicates, refusals, restarts, failed stores and expiry.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { HybridClock } from '../../protocol/hlc.js'
import { mailboxesOf } from '../../protocol/mailbox.js'
import {
  MAX_STATUS_CHARS, Presence, RosterFold, RosterItem, actionOf, checkStatus, decodePresence, decodeRosterItem,
  emptyItem,
  stampOf, stateOf, subscriptionName, transition, type RosterAction
} from '../../protocol/roster.js'
import { PresenceTracker } from '../../node/session/presence.js'
import { Roster, type RosterComponents, type RosterInit } from '../../node/session/roster.js'
import { Feed, type FeedConsumer, type FeedInit } from '../../node/session/feed.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import type { Message } from '../../node/session/events.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'

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
  const enc = (p: Partial<Presence>): Uint8Array =>
    Presence.encode({ type: Presence.Type.AVAILABILITY, state: Presence.State.ONLINE, status: '', lastSeen: 0n, ...p })

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
    assert.deepEqual(t.observe(B, { state: 'online', status: '', lastSeen: 1000 }, stamp(1000), 1000), {
      state: 'online',
      status: '',
      lastSeen: 1000
    })
    assert.equal(t.observe(B, { state: 'online', status: '', lastSeen: 61_000 }, stamp(61_000), 61_000), undefined, 'a heartbeat')
    assert.equal(t.get(B)?.lastSeen, 61_000, 'but it moves last seen')
    assert.deepEqual(t.observe(B, { state: 'away', status: 'lunch', lastSeen: 62_000 }, stamp(62_000), 62_000),
      { state: 'away', status: 'lunch', lastSeen: 62_000 })
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

// ---------------------------------------------------------------------------------------------------
// The Roster component with its session stubbed: an in-memory "mesh" of logs, live delivery straight to
// the recipient's roster, a real Feed over the logs, and a LevelDB per node in a temporary directory.

class World {
  readonly logs = new Map<string, Envelope[]>()
  readonly online = new Map<string, Stub>()

  append (env: Envelope): void {
    for (const mailbox of mailboxesOf(env)) {
      const list = this.logs.get(mailbox) ?? []
      if (list.some((e) => stampOf(e) === stampOf(env))) continue
      list.push(env)
      list.sort((a, b) => (stampOf(a) < stampOf(b) ? -1 : 1))
      this.logs.set(mailbox, list)
    }
  }

  read (
    mailbox: string,
    o: { after?: Uint8Array, limit?: number, newestFirst?: boolean }
  ): { envelopes: Envelope[], more: boolean, answeredBy: string[] } {
    const after = o.after != null ? Buffer.from(o.after).toString('hex') : ''
    let list = (this.logs.get(mailbox) ?? []).filter((e) => stampOf(e) > after)
    const limit = o.limit ?? 50
    const more = list.length > limit
    list = o.newestFirst === true ? list.slice(-limit) : list.slice(0, limit)
    return { envelopes: list, more, answeredBy: ['stub'] }
  }

  /** The owners' side of a Feed's sync: cursors (hex) in a range, and the envelopes of listed cursors. */
  reader (): FeedInit['reader'] {
    const hex = (c?: Uint8Array): string => (c != null ? Buffer.from(c).toString('hex') : '')
    const cursors = (m: string): string[] => (this.logs.get(m) ?? []).map((e) => hex(cursorOf(e)))
    return {
      listCursors: async (m, o) => {
        const all = cursors(m).filter((c) => c > hex(o?.after))
        const limit = o?.limit ?? 50
        return { cursors: all.slice(0, limit), more: all.length > limit }
      },
      readCursors: async (m, o) =>
        new Set(cursors(m).filter((c) => c > hex(o?.after) && (o?.before == null || c < hex(o.before)))),
      readEntries: async (m, wanted) => {
        const keys = new Set(wanted.map((c) => hex(c)))
        return (this.logs.get(m) ?? []).filter((e) => keys.has(hex(cursorOf(e))))
      }
    }
  }

  live (env: Envelope): void {
    const to = this.online.get(env.recipient)
    if (to == null || to.cut) return
    void to.roster.handle(env)
  }
}

/** One user's session, stubbed: the ports `Roster` takes (`RosterComponents`), over the world. */
class Stub {
  readonly identity = generateIdentity()
  readonly userId = userIdOf(this.identity.publicKey)
  readonly clock = new HybridClock()
  readonly events: Array<{ event: string, data: any }> = []
  readonly rejected: string[] = []
  readonly feeds = new Map<string, Feed>()
  roster!: Roster
  closed = false
  /** a cut-off node: nothing it sends arrives */
  cut = false
  db!: ChorusDb

  constructor (
    readonly handle: string,
    private readonly world: World,
    private readonly dir: string,
    private readonly directory: Map<string, Stub>
  ) {
    directory.set(handle, this)
  }

  /** What the roster gets: this stub's session, as ports. */
  components (): RosterComponents {
    const closed = (): boolean => this.closed
    return {
      signer: {
        handle: this.handle,
        userId: this.userId,
        clock: this.clock,
        sign: (kind, to, body) => this.sign(kind, to, body)
      },
      outbox: { send: async (env) => await this.send(env), publish: async (env) => { await this.publish(env) } },
      logs: {
        feed: (mailbox, consumer) => this.feed(mailbox, consumer),
        read: async (mailbox, o = {}) => this.world.read(mailbox, o)
      },
      lookups: { resolve: async (h) => await this.resolve(h), toMessage: async (env) => await this.toMessage(env) },
      rejections: { reject: (reason) => { this.rejected.push(reason) } },
      storage: this.db,
      events: { emit: (event, ...args) => { this.emit(event, args[0]) } },
      session: { get closed () { return closed() } }
    }
  }

  async start (init: RosterInit = {}): Promise<void> {
    this.db = await openDb(this.dir)
    this.feeds.clear()
    this.closed = false
    this.roster = new Roster(this.components(), init)
    this.world.online.set(this.userId, this)
    await this.roster.open()
  }

  async stop (): Promise<void> {
    await this.roster.close()
    this.closed = true
    this.world.online.delete(this.userId)
    for (const f of this.feeds.values()) await f.close()
    await this.db.close()
  }

  /** What the session's mailbox sync would hand the roster. */
  async syncInbox (): Promise<void> {
    await this.feed(this.userId, async (env) => {
      if (env.kind === Envelope.Kind.PRESENCE) await this.roster.handle(env)
    }).sync()
  }

  sign (kind: Envelope.Kind, recipient: string, body: Uint8Array): Envelope {
    return signEnvelope({ kind, recipient, body, timestamp: this.clock.now(), senderHandle: this.handle },
      this.identity)
  }

  async send (env: Envelope): Promise<{ id: string, timestamp: number, storedOn: string[] }> {
    if (this.cut) throw new Error('cut off')
    this.world.append(env)
    this.world.live(env)
    return { id: '', timestamp: 0, storedOn: ['stub'] }
  }

  async publish (env: Envelope): Promise<void> { if (!this.cut) this.world.live(env) }

  feed (mailbox: string, consumer: FeedConsumer): Feed {
    let f = this.feeds.get(mailbox)
    if (f == null) {
      f = new Feed({ db: this.db, reader: this.world.reader(), mailbox, key: `${this.userId}@${mailbox}`, consumer })
      this.feeds.set(mailbox, f)
    } else {
      f.consume(consumer)
    }
    return f
  }

  async resolve (h: string): Promise<{ handle: string, userId: string, publicKey: Uint8Array }> {
    const s = this.directory.get(h)
    if (s == null) throw new Error(`unknown ${h}`)
    return { handle: s.handle, userId: s.userId, publicKey: s.identity.publicKey }
  }

  async toMessage (env: Envelope): Promise<Message | undefined> {
    const fromId = userIdOf(env.senderKey)
    const s = [...this.directory.values()].find((x) => x.userId === fromId)
    const id = Buffer.from(env.id).toString('hex')
    return {
      id,
      from: s?.handle ?? fromId,
      fromId,
      to: env.recipient,
      text: '',
      timestamp: 0,
      kind: 'presence',
      cursor: Buffer.from(cursorOf(env)).toString('hex')
    }
  }

  emit (event: string, data: unknown): void { this.events.push({ event, data }) }

  of (event: string, from?: string): any[] {
    return this.events.filter((e) => e.event === event && (from == null || e.data.from === from)).map((e) => e.data)
  }
}

describe('Roster (stubbed session, LevelDB on disk)', () => {
  const dirs = new TempDirs()
  let world: World
  let alice: Stub
  let bob: Stub
  let carol: Stub

  beforeEach(async () => {
    world = new World()
    const directory = new Map<string, Stub>()
    alice = new Stub('alice', world, dirs.make(), directory)
    bob = new Stub('bob', world, dirs.make(), directory)
    carol = new Stub('carol', world, dirs.make(), directory)
    await Promise.all([alice.start(), bob.start(), carol.start()])
  })

  afterEach(async () => {
    for (const s of [alice, bob, carol]) if (!s.closed) await s.stop()
    dirs.cleanup()
  })

  /** alice sees bob; bob is seen by alice. */
  async function subscribe (): Promise<void> {
    await alice.roster.add('bob')
    await waitFor('bob to be asked', () => bob.of('subscription', 'alice').length > 0)
    await bob.roster.accept('alice')
    await waitFor('alice to see bob', () => alice.roster.list()[0]?.subscription === 'to')
  }

  it('a request and its approval arrive live and again by sync: each is taken once', async () => {
    await subscribe()
    await bob.syncInbox()
    await alice.syncInbox()
    assert.equal(bob.of('subscription').length, 1)
    assert.deepEqual(bob.roster.list().map((e) => [e.handle, e.subscription, e.pendingIn]), [['alice', 'from', false]])
    assert.deepEqual(alice.roster.list().map((e) => [e.handle, e.subscription, e.pendingOut]), [['bob', 'to', false]])
    assert.deepEqual([...alice.rejected, ...bob.rejected], [])
    // bob's presence came right after his approval
    await waitFor('bob online at alice', () => alice.of('presence', 'bob').some((p) => p.state === 'online'))
  })

  it('presence reaches the approved only; the rest is refused and counted', async () => {
    await subscribe()
    await alice.roster.add('carol') // pending, never approved
    await bob.roster.setPresence('away', 'lunch')
    await waitFor('bob away at alice', () => alice.of('presence', 'bob').some((p) => p.state === 'away' && p.status === 'lunch'))
    // carol pushes her presence at alice uninvited, probes bob, and answers a SUBSCRIBED nobody asked for
    const avail = Presence.encode({
      type: Presence.Type.AVAILABILITY,
      state: Presence.State.ONLINE,
      status: 'hi',
      lastSeen: 0n
    })
    await alice.roster.handle(carol.sign(Envelope.Kind.PRESENCE, alice.userId, avail))
    await bob.roster.handle(
      carol.sign(Envelope.Kind.PRESENCE, bob.userId, Presence.encode({ type: Presence.Type.PROBE }))
    )
    await bob.roster.handle(
      carol.sign(Envelope.Kind.PRESENCE, bob.userId, Presence.encode({ type: Presence.Type.SUBSCRIBED }))
    )
    await bob.roster.handle(carol.sign(Envelope.Kind.PRESENCE, bob.userId, new Uint8Array([0xff, 0x01])))
    await bob.roster.handle(
      carol.sign(Envelope.Kind.PRESENCE, bob.userId,
        Presence.encode({ type: Presence.Type.AVAILABILITY, status: 'z'.repeat(257) }))
    )
    assert.deepEqual(alice.rejected, ['presence-not-subscribed'])
    assert.deepEqual(bob.rejected, ['probe-not-approved', 'presence-unrequested-subscribed', 'bad-presence', 'bad-presence'])
    assert.deepEqual(alice.of('presence', 'carol'), [])
    assert.deepEqual(carol.of('presence'), [])
    assert.deepEqual(bob.roster.list().map((e) => e.handle), ['alice'])
  })

  it('remove drops both directions on both sides, and presence stops', async () => {
    await subscribe()
    await bob.roster.add('alice')
    await waitFor('alice asked', () => alice.roster.requests().length === 1)
    await alice.roster.accept('bob')
    await waitFor('both', () => bob.roster.list()[0]?.subscription === 'both' && alice.roster.list()[0]?.subscription === 'both')
    await alice.roster.remove('bob')
    await waitFor('bob to drop alice', () => bob.roster.list()[0]?.subscription === 'none')
    assert.deepEqual(alice.roster.list(), [])
    const seen = alice.of('presence', 'bob').length
    await bob.roster.setPresence('busy')
    await alice.syncInbox(); await bob.syncInbox()
    assert.equal(alice.of('presence', 'bob').length, seen, 'nothing more from bob')
    assert.equal(bob.roster.list()[0]?.subscription, 'none', 'the sync copies change nothing')
  })

  it('a restarted session keeps its roster (from its disk) and takes no replayed subscription again', async () => {
    await subscribe()
    await bob.stop()
    await waitFor('bob offline at alice', () => alice.of('presence', 'bob').some((p) => p.state === 'offline'))
    await alice.stop()
    // bob removes alice while she is away; she gets the UNSUBSCRIBED by sync only
    await bob.start()
    await bob.roster.remove('alice')
    await alice.start()
    assert.deepEqual(alice.roster.list().map((e) => [e.handle, e.subscription]), [['bob', 'to']], 'from disk, before her mailbox sync')
    await alice.syncInbox()
    assert.deepEqual(alice.roster.list().map((e) => [e.handle, e.subscription]), [['bob', 'none']])
    // bob's old SUBSCRIBED, replayed, does not bring him back
    const old = world.logs.get(alice.userId)!.find((e) => decodePresence(e.body).type === Presence.Type.SUBSCRIBED)!
    await alice.roster.handle(old)
    assert.equal(alice.roster.list()[0].subscription, 'none')
  })

  it('a mailbox replayed after a restart raises no request again and undoes nothing', async () => {
    await subscribe()
    await alice.roster.remove('bob')
    await waitFor('bob to drop alice', () => bob.roster.list()[0]?.subscription === 'none')
    await bob.stop()
    await bob.start()
    // bob's mailbox feed has no cursor yet: the sync hands him SUBSCRIBE, UNSUBSCRIBE, UNSUBSCRIBED again
    await bob.syncInbox()
    assert.equal(bob.of('subscription').length, 1)
    assert.deepEqual(bob.roster.list().map((e) => [e.handle, e.subscription, e.pendingIn]), [['alice', 'none', false]])
  })

  it('an item whose store failed is on disk and stored on the next open', async () => {
    alice.cut = true
    await assert.rejects(alice.roster.add('bob'))
    assert.deepEqual(alice.roster.list().map((e) => [e.handle, e.pendingOut]), [['bob', true]], 'kept locally')
    assert.equal(world.logs.get(`${alice.userId}.roster`), undefined)
    alice.cut = false
    await alice.stop()
    await alice.start()
    await waitFor('the item stored', () => (world.logs.get(`${alice.userId}.roster`)?.length ?? 0) === 1)
  })

  it('the roster log is the roster: a device with no local copy folds it', async () => {
    await subscribe()
    await alice.stop()
    const other = new Stub('alice', world, dirs.make(), new Map([['bob', bob], ['carol', carol]]))
    Object.assign(other, { identity: alice.identity, userId: alice.userId })
    await other.start()
    try {
      assert.deepEqual(other.roster.list().map((e) => [e.handle, e.subscription]), [['bob', 'to']])
    } finally {
      await other.stop()
    }
  })

  it('a contact whose heartbeat stops is shown offline, last seen at its last heartbeat', async () => {
    for (const s of [alice, bob]) await s.stop()
    await Promise.all(
      [alice.start({ heartbeatMs: 50, expiryMs: 300, sweepMs: 25 }),
        bob.start({ heartbeatMs: 50, expiryMs: 300, sweepMs: 25, stopTimeoutMs: 100 })]
    )
    await subscribe()
    await waitFor('a heartbeat', () => (alice.roster.list()[0]?.presence?.lastSeen ?? 0) > Date.now() - 100)
    bob.cut = true
    const cutAt = Date.now()
    const off = await waitFor('bob expired', () => alice.of('presence', 'bob').find((p) => p.state === 'offline'), { timeoutMs: scaled(10_000) })
    // last seen at a heartbeat from before the cut (a busy host may have delayed the last ones), never at the expiry
    assert.ok(off.lastSeen <= cutAt + 5 && off.lastSeen >= cutAt - scaled(1000), `last seen ${cutAt - off.lastSeen} ms before the cut`)
    assert.ok(Date.now() - cutAt >= 300)
  })
})
