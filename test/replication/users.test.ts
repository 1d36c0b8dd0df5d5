/**
 * Issue 3, with real processes: two users on client nodes of their own (user-agent processes) against
 * five `chorus start` servers (N = 3, W = 2). Handles are first come across processes, an unknown handle
 * is a typed error, and a user who was offline gets everything sent meanwhile, in order, exactly once,
 * and nothing it already had again.
 */

import { strict as assert } from 'node:assert'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type UserAgent } from '../helpers/agent.js'
import { scaled } from '../helpers/wait.js'

const SERVERS = 5
const OFFLINE_MESSAGES = 50
/** Large messages sent while bob is away: together 9 MB, more than one replication frame (8 MiB) can carry. */
const LARGE_MESSAGES = 150
const LARGE_BODY = 60_000

describe('replication (processes): handles and offline delivery', function () {
  this.timeout(scaled(180_000))
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: UserAgent
  let bob: UserAgent
  let bobDir: string

  /** Start an agent's node and wait until it sees all live servers (so it computes the owners they do). */
  async function startAgent (agent: UserAgent, dir: string): Promise<void> {
    await agent.start([mesh.bootstrap.bootstrapAddr], dir, CLIENT_OPTIONS)
    await agent.waitForServers(mesh.ids())
  }

  /**
   * Start bob's node again and open his user unless it runs (a test that stopped it, or failed
   * while it was down, leaves it so).
   */
  async function ensureBob (): Promise<void> {
    const state = await bob.status().then((s) => s.state, () => 'not started')
    if (state !== 'started') await startAgent(bob, bobDir)
    await bob.openUser('bob')
  }

  before(async function () {
    this.timeout(scaled(120_000))
    alice = agents.spawn('alice')
    bob = agents.spawn('bob')
    await mesh.start(SERVERS)
    bobDir = mesh.procs.dir('chorus-bob-')
    await Promise.all([startAgent(alice, mesh.procs.dir('chorus-alice-')), startAgent(bob, bobDir)])
    await alice.openUser('alice')
    await bob.openUser('bob')
  })

  beforeEach(async function () {
    this.timeout(scaled(90_000))
    await ensureBob()
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('a handle claimed in one process is HandleTakenError in another; an unknown handle is UnknownHandleError', async () => {
    await assert.rejects(bob.openUser('alice'), { name: 'HandleTakenError', code: 'ERR_HANDLE_TAKEN' })
    await assert.rejects(alice.openUser('bob'), { name: 'HandleTakenError', code: 'ERR_HANDLE_TAKEN' })
    await assert.rejects(alice.send('alice', 'nobody-here', 'hello?'), { name: 'UnknownHandleError', code: 'ERR_UNKNOWN_HANDLE' })
    await assert.rejects(bob.send('bob', 'nobody-here', 'hello?'), { name: 'UnknownHandleError', code: 'ERR_UNKNOWN_HANDLE' })

    // both sessions keep working: a message each way is stored on W servers and delivered
    const a = await alice.send('alice', 'bob', 'still here?')
    const b = await bob.send('bob', 'alice', 'yes')
    assert.ok(a.storedOn.length >= 2 && b.storedOn.length >= 2, 'each send is on at least W servers')
    const got = (await bob.waitForReceived('alice\'s message', (r) => r.some((m) => m.id === a.id))).find((m) => m.id === a.id)!
    await alice.waitForReceived('bob\'s message', (r) => r.some((m) => m.id === b.id))
    assert.equal(got.from, 'alice')
    assert.equal(got.text, 'still here?')
    // the failed claim left bob's own session untouched: opening it again is the same user
    assert.equal((await bob.openUser('bob')).handle, 'bob')
  })

  it(`a user who was offline gets the ${OFFLINE_MESSAGES} messages sent meanwhile, in order, once, and nothing again`, async () => {
    // a few messages just before bob goes: they are inside the window his next sync looks back over,
    // so only his seen-marks keep them from being emitted again
    const recent = await alice.sendMany('alice', 'bob', 5, 'just-before-')
    const before = await bob.history('bob', 'alice')
    assert.ok(recent.every((o) => o.ok && before.some((m) => m.id === o.id)), 'the recent messages are in bob\'s history')
    const live = await bob.waitForReceived('everything in his history',
      (r) => before.filter((m) => m.from === 'alice').every((m) => r.some((x) => x.id === m.id)))
    const hadBefore = new Set(live.map((m) => m.id))

    await bob.stop()
    const outcomes = await alice.sendMany('alice', 'bob', OFFLINE_MESSAGES, 'while-away-')
    const failed = outcomes.filter((o) => !o.ok)
    assert.deepEqual(failed, [], 'every send resolves while bob is offline (his mailbox is on the servers, not on his device)')
    const sent = outcomes.map((o) => (o.ok ? o.id : ''))

    await startAgent(bob, bobDir)
    const reopened = await bob.openUser('bob')
    assert.equal(reopened.handle, 'bob')
    const got = await bob.waitForReceived(`${OFFLINE_MESSAGES} messages after reopening`, (r) => r.length >= OFFLINE_MESSAGES)
    // a later message on the live path, then one more sync (it resolves once it has shown what it
    // brought): anything re-emitted late by either path would show up by now
    const lastSend = await alice.send('alice', 'bob', 'welcome back')
    await bob.waitForReceived('the welcome', (r) => r.some((m) => m.id === lastSend.id))
    await bob.call('bob', 'user', 'sync')
    const all = await bob.received()

    assert.deepEqual(all.map((m) => m.id), [...sent, lastSend.id], 'exactly the messages sent while away, in send order, each once, then the new one')
    assert.deepEqual(got.slice(0, OFFLINE_MESSAGES).map((m) => m.text), outcomes.map((o) => o.text))
    const again = all.filter((m) => hadBefore.has(m.id))
    assert.deepEqual(again, [], 'nothing bob had before stopping is emitted again')
  })

  it(`${LARGE_MESSAGES} messages of ${LARGE_BODY / 1000} kB sent while offline (more than one frame) arrive in order, once`, async () => {
    await bob.stop()
    const body = 'x'.repeat(LARGE_BODY - 8)
    const outcomes = await alice.sendMany('alice', 'bob', LARGE_MESSAGES, `${body}-`, 4)
    assert.deepEqual(outcomes.filter((o) => !o.ok), [], 'every large send resolves')
    const sent = outcomes.map((o) => (o.ok ? o.id : ''))

    await startAgent(bob, bobDir)
    await bob.openUser('bob')
    await bob.waitForReceived(`${LARGE_MESSAGES} large messages`, (r) => r.length >= LARGE_MESSAGES, scaled(60_000))
    // a later message on the live path and one more sync: a copy shown twice would be there by now
    const lastSend = await alice.send('alice', 'bob', 'after the large ones')
    await bob.waitForReceived('the message after them', (r) => r.some((m) => m.id === lastSend.id))
    await bob.call('bob', 'user', 'sync')
    const got = (await bob.received()).filter((m) => m.id !== lastSend.id)
    assert.deepEqual(got.map((m) => m.id), sent, 'in send order, each once')
    assert.ok(got.every((m, i) => m.text === outcomes[i].text), 'bodies intact')
    const history = (await bob.history('bob', 'alice')).filter((m) => m.text.startsWith(body))
    assert.deepEqual(history.map((m) => m.id), sent, 'history pages through them too')
  })
})
