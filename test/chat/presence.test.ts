/**
 * Roster and presence with real processes: three users on client nodes of their own (user-agent
 * processes) against five `chorus start` servers (N = 3, W = 2). A subscription asked and approved
 * across processes, presence seen only by those approved, a clean stop seen as offline with its last
 * seen time, a restarted node that still has its roster and the stored presence, and typing.
 */

import { strict as assert } from 'node:assert'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type AgentEvent, type UserAgent } from '../helpers/user-agent.js'

const SERVERS = 5

describe('chat (processes): roster and presence', function () {
  this.timeout(90_000)
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: UserAgent
  let bob: UserAgent
  let carol: UserAgent
  let aliceDir: string
  let bobStoppedAt = 0

  async function startAgent (agent: UserAgent, dir: string): Promise<void> {
    await agent.start([mesh.bootstrap.bootstrapAddr], dir, CLIENT_OPTIONS)
    await agent.waitForServers(mesh.ids())
  }

  const presenceFrom = (who: string, pred: (d: any) => boolean = () => true) => (e: AgentEvent) => e.event === 'presence' && e.data.from === who && pred(e.data)

  before(async function () {
    this.timeout(60_000)
    alice = agents.spawn('alice')
    bob = agents.spawn('bob')
    carol = agents.spawn('carol')
    await mesh.start(SERVERS)
    aliceDir = mesh.procs.dir('chorus-alice-')
    await Promise.all([startAgent(alice, aliceDir), startAgent(bob, mesh.procs.dir('chorus-bob-')), startAgent(carol, mesh.procs.dir('chorus-carol-'))])
    await Promise.all([alice.openUser('alice'), bob.openUser('bob'), carol.openUser('carol')])
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('alice asks to see bob; bob is told and approves; each roster says which way it goes', async () => {
    await alice.call('alice', 'roster', 'add', 'bob')
    assert.deepEqual((await alice.call('alice', 'roster', 'list')).map((e: any) => [e.handle, e.subscription, e.pendingOut]), [['bob', 'none', true]])

    const [req] = await bob.waitForEvent('alice\'s request', (e) => e.event === 'subscription' && e.data.from === 'alice')
    assert.equal(req.handle, 'bob')
    assert.deepEqual((await bob.call('bob', 'roster', 'requests')).map((e: any) => e.handle), ['alice'])
    await bob.call('bob', 'roster', 'accept', 'alice')

    const bobSide = await bob.call('bob', 'roster', 'list')
    assert.deepEqual(bobSide.map((e: any) => [e.handle, e.subscription, e.pendingIn]), [['alice', 'from', false]])
    let aliceSide: any[] = []
    await waitUntil('alice to see bob as "to"', async () => { aliceSide = await alice.call('alice', 'roster', 'list'); return aliceSide[0]?.subscription === 'to' })
    assert.equal(aliceSide[0].pendingOut, false)
    assert.equal(aliceSide[0].userId, (await bob.openUser('bob')).userId)
    // bob's presence follows the approval at once
    await alice.waitForEvent('bob online', presenceFrom('bob', (d) => d.state === 'online'))
  })

  it('bob goes away for lunch: alice sees it; carol, who asked but was not approved, never does', async () => {
    await carol.call('carol', 'roster', 'add', 'bob')
    await bob.waitForEvent('carol\'s request', (e) => e.event === 'subscription' && e.data.from === 'carol')
    const before = Date.now()
    await bob.call('bob', 'user', 'setPresence', 'away', 'lunch')
    const [seen] = await alice.waitForEvent('bob away', presenceFrom('bob', (d) => d.state === 'away'))
    assert.equal(seen.data.status, 'lunch')
    assert.ok(seen.data.lastSeen >= before - 1000 && seen.data.lastSeen <= Date.now() + 1000, 'an online contact is last seen now')
    const listed = (await alice.call('alice', 'roster', 'list'))[0]
    assert.deepEqual([listed.presence.state, listed.presence.status], ['away', 'lunch'])

    // a probe and a few broadcasts later, carol still knows nothing of bob
    await bob.call('bob', 'user', 'setPresence', 'busy', 'meeting')
    await alice.waitForEvent('bob busy', presenceFrom('bob', (d) => d.state === 'busy'))
    assert.deepEqual((await carol.events()).filter((e) => e.event === 'presence'), [])
    const carolSide = await carol.call('carol', 'roster', 'list')
    assert.deepEqual(carolSide.map((e: any) => [e.handle, e.subscription, e.pendingOut, e.presence ?? null]), [['bob', 'none', true, null]])
    // and a status over 256 characters is refused
    await assert.rejects(bob.call('bob', 'user', 'setPresence', 'away', 'x'.repeat(257)), { name: 'InvalidPresenceError', code: 'ERR_INVALID_PRESENCE' })
  })

  it('typing reaches the other side', async () => {
    await alice.call('alice', 'user', 'typing', 'bob')
    const [t] = await bob.waitForEvent('alice typing', (e) => e.event === 'typing' && e.data.from === 'alice')
    assert.equal(t.data.active, true)
    await alice.call('alice', 'user', 'typing', 'bob', false)
    await bob.waitForEvent('alice stopped typing', (e) => e.event === 'typing' && e.data.from === 'alice' && e.data.active === false)
  })

  it('bob stops his node: alice sees him offline, last seen when he stopped', async () => {
    const t0 = Date.now()
    await bob.stop()
    bobStoppedAt = Date.now()
    const [off] = await alice.waitForEvent('bob offline', presenceFrom('bob', (d) => d.state === 'offline'))
    assert.ok(off.data.lastSeen >= t0 - 1000 && off.data.lastSeen <= bobStoppedAt + 1000, `last seen ${off.data.lastSeen - t0} ms after the stop began`)
  })

  it('a restarted alice still has bob, and sees his stored presence and last seen', async () => {
    await alice.stop()
    await startAgent(alice, aliceDir)
    await alice.openUser('alice')
    let entry: any
    await waitUntil('alice\'s roster with bob\'s stored presence', async () => {
      entry = (await alice.call('alice', 'roster', 'list'))[0]
      return entry?.presence != null
    })
    assert.deepEqual([entry.handle, entry.subscription], ['bob', 'to'])
    assert.equal(entry.presence.state, 'offline')
    assert.ok(Math.abs(entry.presence.lastSeen - bobStoppedAt) < 5000, `last seen ${entry.presence.lastSeen - bobStoppedAt} ms from the stop`)
  })
})

async function waitUntil (what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
