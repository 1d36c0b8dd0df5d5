/**
 * Rooms, with real processes: five `chorus start` servers (N = 3, W = 2) and client nodes for alice,
 * bob, carol and (on a fourth node) dave and mallory's raw publishing. A private room goes create →
 * invite → join → everyone hears everyone → kick; the kicked member's node hears nothing more and the
 * owners refuse its reads and posts; a public room is open to anyone; a never-invited user cannot get
 * in; forged posts on the room's topic are rejected by the members' nodes and never shown; a joined
 * room survives a restart of the member's node.
 *
 * The sessions' sync loops run once a minute, so what arrives within a test came by the relay; the
 * sync path is driven explicitly (`rooms.sync`) where a test is about it.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { roomMailbox } from '../../protocol/mailbox.js'
import { roomTopic } from '../../protocol/topics.js'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type AgentEvent, type UserAgent } from '../helpers/user-agent.js'
import { waitFor } from '../helpers/wait.js'

/** Sync once a minute: inside a test, anything that arrives came by the relay (or an explicit sync). */
const LIVE_ONLY = { syncIntervalMs: 60_000 }

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('rooms (processes): 5 servers, 4 client nodes', function () {
  this.timeout(90_000)
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: UserAgent
  let bob: UserAgent
  let carol: UserAgent
  let mallory: UserAgent
  let bobDir: string
  let carolDir: string
  let lobby = ''
  const ids: Record<string, string> = {}
  let roomId = ''

  const isRoomMessage = (room: string, text: string) => (e: AgentEvent): boolean => e.event === 'message' && e.data.room === room && e.data.text === text
  const memberEvent = (room: string, action: string, memberId?: string) => (e: AgentEvent): boolean =>
    e.event === 'room:member' && e.data.room === room && e.data.action === action && (memberId == null || e.data.memberId === memberId)
  const roomTexts = (events: AgentEvent[], room: string): string[] => events.filter((e) => e.event === 'message' && e.data.room === room).map((e) => e.data.text)

  async function startAgent (agent: UserAgent, dir: string): Promise<void> {
    await agent.start([mesh.bootstrap.bootstrapAddr], dir, CLIENT_OPTIONS)
    await agent.waitForServers(mesh.ids())
  }

  before(async function () {
    this.timeout(60_000)
    alice = agents.spawn('alice')
    bob = agents.spawn('bob')
    carol = agents.spawn('carol')
    mallory = agents.spawn('mallory')
    await mesh.start(5)
    bobDir = mesh.procs.dir('chorus-bob-')
    carolDir = mesh.procs.dir('chorus-carol-')
    await Promise.all([
      startAgent(alice, mesh.procs.dir('chorus-alice-')), startAgent(bob, bobDir),
      startAgent(carol, carolDir), startAgent(mallory, mesh.procs.dir('chorus-mallory-'))
    ])
    for (const [agent, handle] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol'], [mallory, 'dave']] as const) {
      ids[handle] = (await agent.openUser(handle, LIVE_ONLY)).userId
    }
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('a private room: create, invite, join; everyone hears everyone; history is whole and in order', async () => {
    const room = await alice.call('alice', 'rooms', 'create', { name: 'ops', subject: 'deploys' })
    roomId = room.id
    assert.match(roomId, /^[a-z2-7]{16}$/)
    assert.equal(room.role, 'owner')
    assert.equal(room.public, false)
    assert.deepEqual(room.members.map((m: any) => m.role), ['owner'])

    await alice.call('alice', 'rooms', 'invite', roomId, 'bob')
    await alice.call('alice', 'rooms', 'invite', roomId, 'carol')
    for (const [agent, handle] of [[bob, 'bob'], [carol, 'carol']] as const) {
      const [invite] = await agent.waitForEvent(`${handle}'s invitation`, memberEvent(roomId, 'invite', ids[handle]))
      assert.equal(invite.data.by, 'alice')
      const joined = await agent.call(handle, 'rooms', 'join', roomId)
      assert.equal(joined.role, 'member')
      assert.equal(joined.name, 'ops')
      assert.equal(joined.subject, 'deploys')
    }
    await alice.waitForEvent('bob and carol joining', (e) => memberEvent(roomId, 'join', ids.carol)(e))
    await alice.waitForEvent('bob joining', memberEvent(roomId, 'join', ids.bob))

    const sent: string[] = []
    for (const [agent, handle] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol'], [alice, 'alice'], [bob, 'bob']] as const) {
      const text = `${handle} #${sent.length}`
      const r = await agent.call(handle, `room:${roomId}`, 'send', text)
      assert.ok(r.storedOn.length >= 2, 'stored on W owners')
      sent.push(text)
    }
    for (const [agent, handle] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol']] as const) {
      const others = sent.filter((t) => !t.startsWith(handle))
      await waitFor(`${handle} to hear the others`, async () => {
        const got = roomTexts(await agent.events(), roomId)
        return others.every((t) => got.includes(t))
      }, { timeoutMs: 8000, intervalMs: 100 })
      const got = roomTexts(await agent.events(), roomId)
      assert.deepEqual(got, others, `${handle}: each of the others' messages once, in order, none of its own`)
      const event = (await agent.events()).find(isRoomMessage(roomId, others[0]))
      assert.equal(event?.data.kind, 'groupchat')
      // the sync path has them all too, and shows none of them again
      await agent.call(handle, 'rooms', 'sync')
      assert.deepEqual(roomTexts(await agent.events(), roomId), others, `${handle}: exactly once over both paths`)
      const history = await agent.call(handle, `room:${roomId}`, 'history', { limit: 50 })
      assert.deepEqual(history.map((m: any) => m.text), sent, `${handle}: the whole history, in order`)
    }
    const members = await bob.call('bob', `room:${roomId}`, 'members')
    assert.deepEqual(members.map((m: any) => `${m.handle}:${m.role}`).sort(), ['alice:owner', 'bob:member', 'carol:member'])
  })

  it('a kicked member gets the kick, hears nothing after it, and the owners refuse its reads and posts', async () => {
    await alice.call('alice', 'rooms', 'kick', roomId, 'carol')
    const [kick] = await carol.waitForEvent('the kick', memberEvent(roomId, 'kick', ids.carol))
    assert.equal(kick.data.by, 'alice')
    assert.equal(kick.data.member, 'carol')
    await bob.waitForEvent('carol kicked', memberEvent(roomId, 'kick', ids.carol))
    assert.deepEqual((await carol.call('carol', 'rooms', 'list')).map((r: any) => r.id), [], 'the room is gone from carol\'s list')

    await alice.call('alice', `room:${roomId}`, 'send', 'after the kick')
    await bob.waitForEvent('the post after the kick', isRoomMessage(roomId, 'after the kick'))
    await carol.call('carol', 'rooms', 'sync')
    await sleep(1000)
    assert.ok(!(await carol.events()).some(isRoomMessage(roomId, 'after the kick')), 'carol never receives it')

    await assert.rejects(carol.call('carol', `room:${roomId}`, 'history'), { name: 'ForbiddenError', code: 'ERR_FORBIDDEN' })
    await assert.rejects(carol.call('carol', `room:${roomId}`, 'send', 'let me back in'), { name: 'ForbiddenError', code: 'ERR_FORBIDDEN' })
    // nor may she rejoin a private room uninvited
    await assert.rejects(carol.call('carol', 'rooms', 'join', roomId), { name: 'ForbiddenError' })
    const history = await bob.call('bob', `room:${roomId}`, 'history')
    assert.ok(!history.some((m: any) => m.text === 'let me back in'), 'the refused post is nowhere')
    assert.equal(history[history.length - 1].text, 'after the kick')
    assert.ok(!(await bob.events()).some(isRoomMessage(roomId, 'let me back in')))
  })

  it('a never-invited user cannot read or join a private room', async () => {
    await assert.rejects(mallory.call('dave', 'rooms', 'join', roomId), { name: 'ForbiddenError', code: 'ERR_FORBIDDEN' })
    await assert.rejects(mallory.call('dave', 'rooms', 'join', 'nosuchroom23456a'), (err: any) => err.name === 'UnknownRoomError' || err.name === 'QuorumError')
  })

  it('a public room: anyone joins without an invitation, and leaves', async () => {
    lobby = (await bob.call('bob', 'rooms', 'create', { name: 'lobby', public: true })).id
    const joined = await carol.call('carol', 'rooms', 'join', lobby)
    assert.equal(joined.public, true)
    await mallory.call('dave', 'rooms', 'join', lobby)
    await bob.waitForEvent('dave joining', memberEvent(lobby, 'join', ids.dave))
    await bob.waitForEvent('carol joining', memberEvent(lobby, 'join', ids.carol))
    await carol.call('carol', `room:${lobby}`, 'send', 'hi lobby')
    await bob.waitForEvent('carol\'s post', isRoomMessage(lobby, 'hi lobby'))
    await mallory.waitForEvent('carol\'s post at dave', isRoomMessage(lobby, 'hi lobby'))

    await mallory.call('dave', 'rooms', 'leave', lobby)
    await mallory.waitForEvent('dave\'s own leave', memberEvent(lobby, 'leave', ids.dave))
    await bob.waitForEvent('dave leaving', memberEvent(lobby, 'leave', ids.dave))
    await bob.call('bob', `room:${lobby}`, 'send', 'bye dave')
    await carol.waitForEvent('bob\'s post', isRoomMessage(lobby, 'bye dave'))
    await assert.rejects(mallory.call('dave', `room:${lobby}`, 'send', 'one more thing'), { name: 'ForbiddenError' })
  })

  it('forged posts on the room\'s topic are rejected by the members\' nodes and never shown', async () => {
    const topic = roomTopic(roomId)
    const bobPeer = (await bob.status()).peerId
    await mallory.dial((await bob.status()).addresses[0])
    await waitFor('mallory to see bob subscribed to the room', async () => (await mallory.subscribers(topic)).includes(bobPeer), { timeoutMs: 10_000 })

    const stranger = generateIdentity()
    const post = (text: string): Envelope => signEnvelope({ kind: Envelope.Kind.GROUPCHAT, recipient: roomMailbox(roomId), body: new TextEncoder().encode(text), timestamp: hlcPack(Date.now(), 0), senderHandle: '' }, stranger)
    const nonMember = post('forged: not a member')
    const broken = post('forged: bad signature')
    broken.signature[0] ^= 0xff
    await mallory.publishRaw(topic, Buffer.from(Envelope.encode(nonMember)).toString('hex'))
    await mallory.publishRaw(topic, Buffer.from(Envelope.encode(broken)).toString('hex'))

    await waitFor('bob\'s node to reject both', async () => {
      const metrics = await bob.metrics()
      return /chorus_rejected_total\{component="relay",reason="not-member"\} [1-9]/.test(metrics) &&
        /chorus_rejected_total\{component="relay",reason="bad-signature"\} [1-9]/.test(metrics)
    }, { timeoutMs: 5000, intervalMs: 100 })
    // the forgeries were never stored, so sync cannot bring them either
    await Promise.all([alice.call('alice', 'rooms', 'sync'), bob.call('bob', 'rooms', 'sync')])
    await sleep(500)
    for (const [agent, handle] of [[alice, 'alice'], [bob, 'bob']] as const) {
      assert.ok(!(await agent.events()).some((e) => e.event === 'message' && String(e.data.text).startsWith('forged')), `${handle} never shows a forgery`)
    }
    const history = await alice.call('alice', `room:${roomId}`, 'history')
    assert.ok(!history.some((m: any) => m.text.startsWith('forged')))
  })

  it('a joined room survives a restart of the member\'s node', async () => {
    await bob.stop()
    await alice.call('alice', `room:${roomId}`, 'send', 'while bob was away')
    await startAgent(bob, bobDir)
    await bob.openUser('bob', LIVE_ONLY)
    const rooms = await bob.call('bob', 'rooms', 'list')
    assert.ok(rooms.some((r: any) => r.id === roomId), 'the room is back in bob\'s list')
    await bob.waitForEvent('the post made while away', isRoomMessage(roomId, 'while bob was away'))
    await alice.call('alice', `room:${roomId}`, 'send', 'welcome back')
    await bob.waitForEvent('the next post', isRoomMessage(roomId, 'welcome back'))
    assert.deepEqual(roomTexts(await bob.events(), roomId).filter((t) => t !== 'welcome back'), ['while bob was away'], 'nothing seen before the restart comes again')
  })

  it('a member kicked while away finds out when its session opens again', async () => {
    assert.ok((await carol.call('carol', 'rooms', 'list')).some((r: any) => r.id === lobby))
    await carol.stop()
    await bob.call('bob', 'rooms', 'kick', lobby, 'carol')
    await startAgent(carol, carolDir)
    await carol.openUser('carol', LIVE_ONLY)
    const [kick] = await carol.waitForEvent('the kick found on reopening', memberEvent(lobby, 'kick', ids.carol))
    assert.equal(kick.data.by, 'bob')
    assert.deepEqual((await carol.call('carol', 'rooms', 'list')).map((r: any) => r.id), [], 'and the room is gone for good')
    // banned from the public room until invited again
    await assert.rejects(carol.call('carol', 'rooms', 'join', lobby), { name: 'ForbiddenError' })
    await bob.call('bob', 'rooms', 'invite', lobby, 'carol')
    await carol.waitForEvent('the new invitation', memberEvent(lobby, 'invite', ids.carol))
    assert.equal((await carol.call('carol', 'rooms', 'join', lobby)).role, 'member')
  })
})
