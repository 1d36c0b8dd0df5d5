/**
 * Rooms, with real processes: five `chorus start` servers (N = 3, W = 2) and client nodes for alice,
 * bob, carol and (on a fourth node) dave and mallory's raw publishing. A private room goes create →
 * invite → join → everyone hears everyone → kick; the kicked member's node hears nothing more and the
 * owners refuse its reads and posts; a public room is open to anyone; a never-invited user cannot get
 * in; forged posts on the room's topic are rejected by the members' nodes and never shown; a joined
 * room survives a restart of the member's node.
 *
 * The sessions' sync loops run once a minute, so what arrives by itself came by the relay. The first
 * test is about the relay: its posts must all come live, once each, in order. Elsewhere the relay is
 * not under test, and a wait drives the sync path (`user.sync`, `rooms.sync`, which resolve once what
 * they brought has been shown) between looks, as a session would every second by default.
 *
 * Every test makes the rooms it needs, and waits until every member's node has every member in its
 * fold, and knows a relay of the room's topic, before anyone posts (a post from a member a node does
 * not know yet is left to that node's next sync). A check that something never arrived waits first for
 * a later post on the same path, or for a sync.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { roomMailbox } from '../../protocol/mailbox.js'
import { roomTopic } from '../../protocol/topics.js'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type AgentEvent, type UserAgent } from '../helpers/agent.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** Sync once a minute: inside a test, anything that arrives came by the relay (or an explicit sync). */
const LIVE_ONLY = { syncIntervalMs: 60_000 }

/** One user on a client node of its own: the agent, the handle, and the node's data dir (kept across restarts). */
interface Device { agent: UserAgent, handle: string, dir: string }

describe('rooms (processes): 5 servers, 4 client nodes', function () {
  this.timeout(scaled(120_000))
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: Device
  let bob: Device
  let carol: Device
  /** dave's node, which mallory also uses to publish raw bytes */
  let dave: Device
  const ids: Record<string, string> = {}

  const isRoomMessage = (room: string, text: string) =>
    (e: AgentEvent): boolean => e.event === 'message' && e.data.room === room && e.data.text === text
  const memberEvent = (room: string, action: string, memberId?: string) => (e: AgentEvent): boolean =>
    e.event === 'room:member' && e.data.room === room && e.data.action === action &&
      (memberId == null || e.data.memberId === memberId)
  const roomTexts = (events: AgentEvent[], room: string): string[] =>
    events.filter((e) => e.event === 'message' && e.data.room === room).map((e) => e.data.text)

  /** Start the device's node, wait until it sees every live server, open its user. */
  async function startDevice (d: Device): Promise<void> {
    await d.agent.start([mesh.bootstrap.bootstrapAddr], d.dir, CLIENT_OPTIONS)
    await d.agent.waitForServers(mesh.ids())
    ids[d.handle] = (await d.agent.openUser(d.handle, LIVE_ONLY)).userId
  }

  /**
   * Start the device again unless its node runs (a test that stopped it, or failed while it was down, leaves it so).
   */
  async function ensureRunning (d: Device): Promise<void> {
    const state = await d.agent.status().then((s) => s.state, () => 'not started')
    if (state !== 'started') await startDevice(d)
  }

  /**
   * Wait until `d` has had an event matching `pred`; returns the matching ones. Between looks it drives
   * the sync path (the user's mailbox and rooms), which a session would run every second by default: the
   * relay is best effort, and where a test is not about it, a live copy lost on a busy host must not
   * leave the test waiting for the minute-long sync of LIVE_ONLY.
   */
  async function seen (d: Device, what: string, pred: (e: AgentEvent) => boolean): Promise<AgentEvent[]> {
    let hits: AgentEvent[] = []
    const look = async (): Promise<boolean> => { hits = (await d.agent.events()).filter(pred); return hits.length > 0 }
    await waitFor(`${d.handle} to see ${what}`, async () => {
      if (await look()) return true
      await Promise.all([d.agent.call(d.handle, 'user', 'sync'), d.agent.call(d.handle, 'rooms', 'sync')])
      return await look()
    }, { intervalMs: 250 })
    return hits
  }

  /** Call `method` of room `room` in the device's session. */
  async function inRoom<T = any> (d: Device, room: string, method: string, ...args: unknown[]): Promise<T> {
    return d.agent.call<T>(d.handle, `room:${room}`, method, ...args)
  }

  /**
   * Wait until the node of every device in `members` has exactly those users as the room's members (a
   * node whose fold lacks one syncs the room's state, as its session would), and knows a peer that
   * relays the room's topic: from then on a post of any of them is delivered live to all the others.
   */
  async function waitForMembers (room: string, members: Device[]): Promise<void> {
    const want = JSON.stringify(members.map((m) => ids[m.handle]).sort())
    await waitFor(`${members.map((m) => m.handle).join(', ')} each to have all of them as members of ${room}, and a relay of its topic`, async () => {
      let ready = true
      for (const d of members) {
        const list = await inRoom<Array<{ userId: string }>>(d, room, 'members')
        if (JSON.stringify(list.map((m) => m.userId).sort()) !== want) {
          ready = false
          await d.agent.call(d.handle, 'rooms', 'sync')
        }
        if ((await d.agent.subscribers(roomTopic(room))).length === 0) ready = false
      }
      return ready
    }, { intervalMs: 100 })
  }

  /**
   * A private room of `owner`'s that each of `invitees` was invited to and joined, every
   * member's node knowing them all.
   */
  async function privateRoom (owner: Device, invitees: Device[], name: string): Promise<string> {
    const room: string = (await owner.agent.call(owner.handle, 'rooms', 'create', { name })).id
    for (const d of invitees) {
      await owner.agent.call(owner.handle, 'rooms', 'invite', room, d.handle)
      await seen(d, `${d.handle}'s invitation to ${name}`, memberEvent(room, 'invite', ids[d.handle]))
      await d.agent.call(d.handle, 'rooms', 'join', room)
    }
    await waitForMembers(room, [owner, ...invitees])
    return room
  }

  /** A public room of `owner`'s that each of `joiners` joined, every member's node knowing them all. */
  async function publicRoom (owner: Device, joiners: Device[], name: string): Promise<string> {
    const room: string = (await owner.agent.call(owner.handle, 'rooms', 'create', { name, public: true })).id
    for (const d of joiners) await d.agent.call(d.handle, 'rooms', 'join', room)
    await waitForMembers(room, [owner, ...joiners])
    return room
  }

  /** The value of `chorus_rejected_total{component="relay",reason}` in an agent's metrics (0 when absent). */
  async function relayRejections (d: Device, reason: string): Promise<number> {
    const m = new RegExp(`^chorus_rejected_total\\{component="relay",reason="${reason}"\\} (\\d+)$`, 'm').exec(await d.agent.metrics())
    return m == null ? 0 : Number(m[1])
  }

  before(async function () {
    this.timeout(scaled(120_000))
    const device = (handle: string, agentName = handle): Device =>
      ({ agent: agents.spawn(agentName), handle, dir: mesh.procs.dir(`chorus-${handle}-`) })
    await mesh.start(5)
    ;[alice, bob, carol, dave] = [device('alice'), device('bob'), device('carol'), device('dave', 'mallory')]
    await Promise.all([alice, bob, carol, dave].map(startDevice))
  })

  beforeEach(async function () {
    this.timeout(scaled(90_000))
    await Promise.all([alice, bob, carol, dave].map(ensureRunning))
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('a private room: create, invite, join; everyone hears everyone; history is whole and in order', async () => {
    const room = await alice.agent.call('alice', 'rooms', 'create', { name: 'ops', subject: 'deploys' })
    const roomId: string = room.id
    assert.match(roomId, /^[a-z2-7]{16}$/)
    assert.equal(room.role, 'owner')
    assert.equal(room.public, false)
    assert.deepEqual(room.members.map((m: any) => m.role), ['owner'])

    await alice.agent.call('alice', 'rooms', 'invite', roomId, 'bob')
    await alice.agent.call('alice', 'rooms', 'invite', roomId, 'carol')
    for (const d of [bob, carol]) {
      const [invite] = await seen(d, `${d.handle}'s invitation`, memberEvent(roomId, 'invite', ids[d.handle]))
      assert.equal(invite.data.by, 'alice')
      const joined = await d.agent.call(d.handle, 'rooms', 'join', roomId)
      assert.equal(joined.role, 'member')
      assert.equal(joined.name, 'ops')
      assert.equal(joined.subject, 'deploys')
    }
    await seen(alice, 'carol joining', memberEvent(roomId, 'join', ids.carol))
    await seen(alice, 'bob joining', memberEvent(roomId, 'join', ids.bob))
    await waitForMembers(roomId, [alice, bob, carol])

    // one after another, each acknowledged by W owners before the next is sent
    const sent: string[] = []
    for (const d of [alice, bob, carol, alice, bob]) {
      const text = `${d.handle} #${sent.length}`
      const r = await inRoom(d, roomId, 'send', text)
      assert.ok(r.storedOn.length >= 2, 'stored on W owners')
      sent.push(text)
    }
    for (const d of [alice, bob, carol]) {
      const others = sent.filter((t) => !t.startsWith(d.handle))
      await waitFor(`${d.handle} to hear the others`, async () => {
        const got = roomTexts(await d.agent.events(), roomId)
        return others.every((t) => got.includes(t))
      }, { intervalMs: 100 })
      const got = roomTexts(await d.agent.events(), roomId)
      assert.deepEqual(got, others, `${d.handle}: each of the others' messages once, in order, none of its own`)
      const event = (await d.agent.events()).find(isRoomMessage(roomId, others[0]))
      assert.equal(event?.data.kind, 'groupchat')
      // the sync path has them all too, and shows none of them again (sync resolves once it has shown what it brought)
      await d.agent.call(d.handle, 'rooms', 'sync')
      assert.deepEqual(roomTexts(await d.agent.events(), roomId), others, `${d.handle}: exactly once over both paths`)
      const history = await inRoom(d, roomId, 'history', { limit: 50 })
      assert.deepEqual(history.map((m: any) => m.text), sent, `${d.handle}: the whole history, in order`)
    }
    const members = await inRoom(bob, roomId, 'members')
    assert.deepEqual(members.map((m: any) => `${m.handle}:${m.role}`).sort(), ['alice:owner', 'bob:member', 'carol:member'])
  })

  it('a kicked member gets the kick, hears nothing after it, and the owners refuse its reads and posts', async () => {
    const roomId = await privateRoom(alice, [bob, carol], 'kick')
    // carol stays in this one: a later post of alice's there is the marker on the relay path to carol's node
    const other = await privateRoom(alice, [carol], 'still in')

    await alice.agent.call('alice', 'rooms', 'kick', roomId, 'carol')
    const [kick] = await seen(carol, 'the kick', memberEvent(roomId, 'kick', ids.carol))
    assert.equal(kick.data.by, 'alice')
    assert.equal(kick.data.member, 'carol')
    await seen(bob, 'carol kicked', memberEvent(roomId, 'kick', ids.carol))
    const carolsRooms = (await carol.agent.call('carol', 'rooms', 'list')).map((r: any) => r.id)
    assert.ok(!carolsRooms.includes(roomId) && carolsRooms.includes(other), 'the room is gone from carol\'s list, the other one is not')

    await inRoom(alice, roomId, 'send', 'after the kick')
    await inRoom(alice, other, 'send', 'marker after the kick')
    await seen(bob, 'the post after the kick', isRoomMessage(roomId, 'after the kick'))
    await seen(carol, 'alice\'s later post in the room carol is still in', isRoomMessage(other, 'marker after the kick'))
    await carol.agent.call('carol', 'rooms', 'sync')
    assert.ok(!(await carol.agent.events()).some(isRoomMessage(roomId, 'after the kick')), 'carol never receives it')

    await assert.rejects(inRoom(carol, roomId, 'history'), { name: 'ForbiddenError', code: 'ERR_FORBIDDEN' })
    await assert.rejects(inRoom(carol, roomId, 'send', 'let me back in'), { name: 'ForbiddenError', code: 'ERR_FORBIDDEN' })
    // nor may she rejoin a private room uninvited
    await assert.rejects(carol.agent.call('carol', 'rooms', 'join', roomId), { name: 'ForbiddenError' })
    await inRoom(alice, roomId, 'send', 'after the refusal')
    await seen(bob, 'the post after the refused one', isRoomMessage(roomId, 'after the refusal'))
    const history = await inRoom(bob, roomId, 'history')
    assert.ok(!history.some((m: any) => m.text === 'let me back in'), 'the refused post is nowhere')
    assert.deepEqual(history.slice(-2).map((m: any) => m.text), ['after the kick', 'after the refusal'])
    assert.ok(!(await bob.agent.events()).some(isRoomMessage(roomId, 'let me back in')), 'bob never shows the refused post')
  })

  it('a never-invited user cannot read or join a private room', async () => {
    const roomId = await privateRoom(alice, [bob], 'closed')
    await assert.rejects(dave.agent.call('dave', 'rooms', 'join', roomId), { name: 'ForbiddenError', code: 'ERR_FORBIDDEN' })
    await assert.rejects(dave.agent.call('dave', 'rooms', 'join', 'nosuchroom23456a'), { name: 'UnknownRoomError', code: 'ERR_UNKNOWN_ROOM' })
    assert.ok(!(await dave.agent.call('dave', 'rooms', 'list')).some((r: any) => r.id === roomId), 'the room is not in dave\'s list')
  })

  it('a public room: anyone joins without an invitation, and leaves', async () => {
    const lobby: string = (await bob.agent.call('bob', 'rooms', 'create', { name: 'lobby', public: true })).id
    const joined = await carol.agent.call('carol', 'rooms', 'join', lobby)
    assert.equal(joined.public, true)
    await dave.agent.call('dave', 'rooms', 'join', lobby)
    await seen(bob, 'dave joining', memberEvent(lobby, 'join', ids.dave))
    await seen(bob, 'carol joining', memberEvent(lobby, 'join', ids.carol))
    await waitForMembers(lobby, [bob, carol, dave])
    await inRoom(carol, lobby, 'send', 'hi lobby')
    await seen(bob, 'carol\'s post', isRoomMessage(lobby, 'hi lobby'))
    await seen(dave, 'carol\'s post at dave', isRoomMessage(lobby, 'hi lobby'))

    await dave.agent.call('dave', 'rooms', 'leave', lobby)
    await seen(dave, 'dave\'s own leave', memberEvent(lobby, 'leave', ids.dave))
    await seen(bob, 'dave leaving', memberEvent(lobby, 'leave', ids.dave))
    await inRoom(bob, lobby, 'send', 'bye dave')
    await seen(carol, 'bob\'s post', isRoomMessage(lobby, 'bye dave'))
    await assert.rejects(inRoom(dave, lobby, 'send', 'one more thing'), { name: 'ForbiddenError' })
  })

  it('forged posts on the room\'s topic are rejected by the members\' nodes and never shown', async () => {
    const roomId = await privateRoom(alice, [bob], 'guarded')
    const topic = roomTopic(roomId)
    const bobPeer = (await bob.agent.status()).peerId
    await dave.agent.dial((await bob.agent.status()).addresses[0])
    await waitFor('mallory to see bob subscribed to the room', async () => (await dave.agent.subscribers(topic)).includes(bobPeer))

    const stranger = generateIdentity()
    const post = (text: string): Envelope =>
      signEnvelope(
        {
          kind: Envelope.Kind.GROUPCHAT,
          recipient: roomMailbox(roomId),
          body: new TextEncoder().encode(text),
          timestamp: hlcPack(Date.now(), 0),
          senderHandle: ''
        },
        stranger
      )
    const nonMember = post('forged: not a member')
    const broken = post('forged: bad signature')
    broken.signature[0] ^= 0xff
    const before = { notMember: await relayRejections(bob, 'not-member'), badSignature: await relayRejections(bob, 'bad-signature') }
    await dave.agent.publishRaw(topic, Buffer.from(Envelope.encode(nonMember)).toString('hex'))
    await dave.agent.publishRaw(topic, Buffer.from(Envelope.encode(broken)).toString('hex'))

    await waitFor('bob\'s node to reject both', async () =>
      (await relayRejections(bob, 'not-member')) > before.notMember &&
        (await relayRejections(bob, 'bad-signature')) > before.badSignature, { intervalMs: 100 })
    // later genuine posts reach each member; the forgeries were never stored, so sync cannot bring them either
    await inRoom(alice, roomId, 'send', 'genuine from alice')
    await inRoom(bob, roomId, 'send', 'genuine from bob')
    await seen(bob, 'alice\'s genuine post', isRoomMessage(roomId, 'genuine from alice'))
    await seen(alice, 'bob\'s genuine post', isRoomMessage(roomId, 'genuine from bob'))
    await Promise.all([alice.agent.call('alice', 'rooms', 'sync'), bob.agent.call('bob', 'rooms', 'sync')])
    for (const d of [alice, bob]) {
      assert.ok(!(await d.agent.events()).some((e) => e.event === 'message' && String(e.data.text).startsWith('forged')), `${d.handle} never shows a forgery`)
    }
    const history = await inRoom(alice, roomId, 'history')
    assert.deepEqual(history.map((m: any) => m.text), ['genuine from alice', 'genuine from bob'])
  })

  it('a joined room survives a restart of the member\'s node', async () => {
    const roomId = await privateRoom(alice, [bob], 'durable')
    // posts bob has seen just before he stops: none of them may be shown again after the restart
    for (const text of ['seen before the stop #1', 'seen before the stop #2']) {
      await inRoom(alice, roomId, 'send', text)
      await seen(bob, `"${text}"`, isRoomMessage(roomId, text))
    }
    await bob.agent.stop()
    await inRoom(alice, roomId, 'send', 'while bob was away')
    await startDevice(bob)
    const rooms = await bob.agent.call('bob', 'rooms', 'list')
    assert.ok(rooms.some((r: any) => r.id === roomId), 'the room is back in bob\'s list')
    await seen(bob, 'the post made while away', isRoomMessage(roomId, 'while bob was away'))
    await inRoom(alice, roomId, 'send', 'welcome back')
    await seen(bob, 'the next post', isRoomMessage(roomId, 'welcome back'))
    await bob.agent.call('bob', 'rooms', 'sync')
    assert.deepEqual(roomTexts(await bob.agent.events(), roomId), ['while bob was away', 'welcome back'], 'nothing seen before the restart comes again, over either path')
  })

  it('a member kicked while away finds out when its session opens again', async () => {
    const lobby = await publicRoom(bob, [carol], 'open house')
    assert.ok((await carol.agent.call('carol', 'rooms', 'list')).some((r: any) => r.id === lobby))
    await carol.agent.stop()
    await bob.agent.call('bob', 'rooms', 'kick', lobby, 'carol')
    await startDevice(carol)
    const [kick] = await seen(carol, 'the kick found on reopening', memberEvent(lobby, 'kick', ids.carol))
    assert.equal(kick.data.by, 'bob')
    assert.ok(!(await carol.agent.call('carol', 'rooms', 'list')).some((r: any) => r.id === lobby), 'and the room is gone for good')
    // banned from the public room until invited again
    await assert.rejects(carol.agent.call('carol', 'rooms', 'join', lobby), { name: 'ForbiddenError' })
    await bob.agent.call('bob', 'rooms', 'invite', lobby, 'carol')
    await seen(carol, 'the new invitation', memberEvent(lobby, 'invite', ids.carol))
    assert.equal((await carol.agent.call('carol', 'rooms', 'join', lobby)).role, 'member')
  })
})
