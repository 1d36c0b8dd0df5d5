/**
 * Roster and presence with real processes: three client nodes of their own (user-agent processes)
 * against five `chorus start` servers (N = 3, W = 2). A subscription asked and approved across
 * processes, presence seen only by those approved, a clean stop seen as offline with its last seen
 * time, a restarted node that still has its roster and the stored presence, and typing.
 *
 * Every test opens users of its own (alice1, bob1, … on the same three nodes), so no test finds a roster
 * another one made; a node a test stopped is started again before the next one.
 */

import { strict as assert } from 'node:assert'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type AgentEvent, type UserAgent } from '../helpers/agent.js'
import { scaled, waitFor } from '../helpers/wait.js'

const SERVERS = 5

/** A client node of its own, and the data dir it keeps across restarts. */
interface Device { agent: UserAgent, dir: string }

describe('chat (processes): roster and presence', function () {
  this.timeout(scaled(120_000))
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let aliceNode: Device
  let bobNode: Device
  let carolNode: Device
  /** this test's users: fresh handles on the three nodes */
  let alice: string
  let bob: string
  let carol: string
  let round = 0

  async function startDevice (d: Device): Promise<void> {
    await d.agent.start([mesh.bootstrap.bootstrapAddr], d.dir, CLIENT_OPTIONS)
    await d.agent.waitForServers(mesh.ids())
  }

  /** Start the node again unless it runs (a test that stopped it, or failed while it was down, leaves it so). */
  async function ensureRunning (d: Device): Promise<void> {
    const state = await d.agent.status().then((s) => s.state, () => 'not started')
    if (state !== 'started') await startDevice(d)
  }

  /** A presence event that `to` (a user of the agent) got from `from`. */
  const presenceFrom = (to: string, from: string, pred: (d: any) => boolean = () => true) => (e: AgentEvent) =>
    e.event === 'presence' && e.handle === to && e.data.from === from && pred(e.data)
  const rosterOf = async (d: Device, handle: string): Promise<any[]> => d.agent.call(handle, 'roster', 'list')

  /**
   * `asker` (on alice's node) asks to see `contact` (on bob's node), who approves; resolves
   * once the asker sees it online.
   */
  async function approved (asker: string, contact: string): Promise<void> {
    await aliceNode.agent.call(asker, 'roster', 'add', contact)
    await bobNode.agent.waitForEvent(`${asker}'s request`, (e) => e.event === 'subscription' && e.handle === contact && e.data.from === asker)
    await bobNode.agent.call(contact, 'roster', 'accept', asker)
    await waitFor(`${asker} to see ${contact} as "to"`,
      async () => (await rosterOf(aliceNode, asker))[0]?.subscription === 'to', { intervalMs: 50 })
    await aliceNode.agent.waitForEvent(`${contact} online`, presenceFrom(asker, contact, (d) => d.state === 'online'))
  }

  before(async function () {
    this.timeout(scaled(120_000))
    await mesh.start(SERVERS)
    const device = (name: string): Device => ({ agent: agents.spawn(name), dir: mesh.procs.dir(`chorus-${name}-`) })
    ;[aliceNode, bobNode, carolNode] = [device('alice'), device('bob'), device('carol')]
    await Promise.all([aliceNode, bobNode, carolNode].map(startDevice))
  })

  beforeEach(async function () {
    this.timeout(scaled(90_000))
    await Promise.all([aliceNode, bobNode, carolNode].map(ensureRunning))
    round++
    ;[alice, bob, carol] = [`alice${round}`, `bob${round}`, `carol${round}`]
    await Promise.all([aliceNode.agent.openUser(alice), bobNode.agent.openUser(bob), carolNode.agent.openUser(carol)])
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('alice asks to see bob; bob is told and approves; each roster says which way it goes', async () => {
    await aliceNode.agent.call(alice, 'roster', 'add', bob)
    assert.deepEqual((await rosterOf(aliceNode, alice)).map((e: any) => [e.handle, e.subscription, e.pendingOut]),
      [[bob, 'none', true]])

    const [req] = await bobNode.agent.waitForEvent('alice\'s request', (e) => e.event === 'subscription' && e.handle === bob && e.data.from === alice)
    assert.equal(req.handle, bob)
    assert.deepEqual((await bobNode.agent.call(bob, 'roster', 'requests')).map((e: any) => e.handle), [alice])
    await bobNode.agent.call(bob, 'roster', 'accept', alice)

    const bobSide = await rosterOf(bobNode, bob)
    assert.deepEqual(bobSide.map((e: any) => [e.handle, e.subscription, e.pendingIn]), [[alice, 'from', false]])
    let aliceSide: any[] = []
    await waitFor('alice to see bob as "to"', async () => {
      aliceSide = await rosterOf(aliceNode, alice)
      return aliceSide[0]?.subscription === 'to'
    }, { intervalMs: 50 })
    assert.equal(aliceSide[0].pendingOut, false)
    assert.equal(aliceSide[0].userId, (await bobNode.agent.openUser(bob)).userId)
    // bob's presence follows the approval at once
    await aliceNode.agent.waitForEvent('bob online', presenceFrom(alice, bob, (d) => d.state === 'online'))
  })

  it('bob goes away for lunch: alice sees it; carol, who asked but was not approved, never does', async () => {
    await approved(alice, bob)
    await carolNode.agent.call(carol, 'roster', 'add', bob)
    await bobNode.agent.waitForEvent('carol\'s request', (e) => e.event === 'subscription' && e.handle === bob && e.data.from === carol)
    const before = Date.now()
    await bobNode.agent.call(bob, 'user', 'setPresence', 'away', 'lunch')
    const [seen] = await aliceNode.agent.waitForEvent('bob away', presenceFrom(alice, bob, (d) => d.state === 'away'))
    assert.equal(seen.data.status, 'lunch')
    assert.ok(seen.data.lastSeen >= before - 1000 && seen.data.lastSeen <= Date.now() + 1000, 'an online contact is last seen now')
    const listed = (await rosterOf(aliceNode, alice))[0]
    assert.deepEqual([listed.presence.state, listed.presence.status], ['away', 'lunch'])

    // a probe and a few broadcasts later, carol still knows nothing of bob: a message bob sends her
    // afterwards comes the way his presence would (live, on her inbox shard); once it is there, so
    // would any presence he had sent her be
    await bobNode.agent.call(bob, 'user', 'setPresence', 'busy', 'meeting')
    await aliceNode.agent.waitForEvent('bob busy', presenceFrom(alice, bob, (d) => d.state === 'busy'))
    const marker = await bobNode.agent.send(bob, carol, 'not a presence')
    await carolNode.agent.waitForReceived('bob\'s message', (r) => r.some((m) => m.id === marker.id))
    assert.deepEqual((await carolNode.agent.events()).filter((e) => e.event === 'presence' && e.handle === carol), [])
    const carolSide = await rosterOf(carolNode, carol)
    assert.deepEqual(carolSide.map((e: any) => [e.handle, e.subscription, e.pendingOut, e.presence ?? null]),
      [[bob, 'none', true, null]])
    // and a status over 256 characters is refused
    await assert.rejects(bobNode.agent.call(bob, 'user', 'setPresence', 'away', 'x'.repeat(257)), { name: 'InvalidPresenceError', code: 'ERR_INVALID_PRESENCE' })
  })

  it('typing reaches the other side', async () => {
    // typing is live only: the first word may leave before the relays know bob's node listens on his
    // shard (a fresh user), so alice keeps typing, as a person would, until bob sees it
    const typingFrom = (active: boolean) =>
      (e: AgentEvent): boolean => e.event === 'typing' && e.handle === bob && e.data.from === alice && e.data.active === active
    await waitFor('bob to see alice typing', async () => {
      if ((await bobNode.agent.events()).some(typingFrom(true))) return true
      await aliceNode.agent.call(alice, 'user', 'typing', bob)
      return false
    }, { intervalMs: 500 })
    await aliceNode.agent.call(alice, 'user', 'typing', bob, false)
    await bobNode.agent.waitForEvent('alice stopped typing', typingFrom(false))
  })

  it('bob stops his node: alice sees him offline, last seen when he stopped', async () => {
    await approved(alice, bob)
    const t0 = Date.now()
    await bobNode.agent.stop()
    const stoppedAt = Date.now()
    const [off] = await aliceNode.agent.waitForEvent('bob offline', presenceFrom(alice, bob, (d) => d.state === 'offline'))
    assert.ok(off.data.lastSeen >= t0 - 1000 && off.data.lastSeen <= stoppedAt + 1000, `last seen ${off.data.lastSeen - t0} ms after the stop began`)
  })

  it('a restarted alice still has bob, and sees his stored presence and last seen', async () => {
    await approved(alice, bob)
    await bobNode.agent.stop()
    const bobStoppedAt = Date.now()
    // bob's stop resolved once his offline record was stored at the owners; alice also hears it live
    await aliceNode.agent.waitForEvent('bob offline', presenceFrom(alice, bob, (d) => d.state === 'offline'))
    await aliceNode.agent.stop()
    await startDevice(aliceNode)
    await aliceNode.agent.openUser(alice)
    let entry: any
    await waitFor('alice\'s roster with bob\'s stored presence', async () => {
      entry = (await rosterOf(aliceNode, alice))[0]
      return entry?.presence != null
    }, { intervalMs: 50 })
    assert.deepEqual([entry.handle, entry.subscription], [bob, 'to'])
    assert.equal(entry.presence.state, 'offline')
    assert.ok(Math.abs(entry.presence.lastSeen - bobStoppedAt) < 5000, `last seen ${entry.presence.lastSeen - bobStoppedAt} ms from the stop`)
  })
})
