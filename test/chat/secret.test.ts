/**
 * Issue 5, with real processes: a secret chat between two client-role users through five `chorus start`
 * servers. The recipient is offline for part of it (its prekeys, published earlier, let the chat start
 * anyway; the ciphertext waits in its mailbox). Both sides restart mid-chat and keep their sessions.
 * Afterwards every server's LevelDB is scanned — its files byte by byte, and every value through LevelDB
 * itself (table files are compressed) — and holds none of the plaintexts.
 *
 * Every test opens a pair of users of its own (alice1/bob1, … on the same two nodes) and starts its own
 * secret chat; a node (or server) a test stopped is started again before the next one.
 */

import { strict as assert } from 'node:assert'
import { join } from 'node:path'
import { filesHolding, valuesHolding } from '../helpers/scan.js'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type UserAgent } from '../helpers/agent.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** Plaintexts unlikely to appear anywhere by chance. */
const secret = (i: number): string => `zebra-quartz-${i}-nebula-${(i * 7919).toString(36)}`

/** A client node of its own, and the data dir it keeps across restarts. */
interface Device { agent: UserAgent, dir: string }

describe('secret chat (processes): two client users through 5 servers', function () {
  this.timeout(scaled(120_000))
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let aliceNode: Device
  let bobNode: Device
  /** this test's users: fresh handles on the two nodes */
  let alice: string
  let bob: string
  let round = 0
  /** every plaintext any test of this file sent: none may be on a server */
  const plaintexts: string[] = []
  let nextSecret = 0

  const fresh = (): string => { const text = secret(nextSecret++); plaintexts.push(text); return text }

  async function startDevice (d: Device): Promise<void> {
    await d.agent.start([mesh.bootstrap.bootstrapAddr], d.dir, CLIENT_OPTIONS)
    await d.agent.waitForServers(mesh.ids())
  }

  /** Start the node again unless it runs (a test that stopped it, or failed while it was down, leaves it so). */
  async function ensureRunning (d: Device): Promise<void> {
    const state = await d.agent.status().then((s) => s.state, () => 'not started')
    if (state !== 'started') await startDevice(d)
  }

  /** Start every stopped server again, once the running clients no longer count them (see owner-failure.test.ts). */
  async function ensureServers (): Promise<void> {
    const stopped = mesh.servers.filter((s) => !s.proc.alive)
    if (stopped.length === 0) return
    const running = await Promise.all(
      [aliceNode, bobNode].map(async (d) => (await d.agent.status().catch(() => undefined))?.state === 'started' ? d : undefined)
    )
    await Promise.all(running.map(async (d) => await d?.agent.waitForServers(mesh.ids())))
    for (const s of stopped) await mesh.restart(s)
    await mesh.waitForView(mesh.servers, mesh.ids())
    await Promise.all(running.map(async (d) => await d?.agent.waitForServers(mesh.ids())))
  }

  /**
   * Wait until no owner of `handle`'s mailbox (on `d`'s node) serves a SECRET envelope any more: the
   * recipient's deletions have landed.
   */
  async function deletionsLanded (d: Device, handle: string): Promise<void> {
    // waitFor stops at the first truthy value: answer false (not a description) until every owner is empty
    await waitFor(`the owners of ${handle}'s mailbox to drop the delivered ciphertext`, async () => {
      const held = await d.agent.heldByOwners(handle, 'SECRET')
      return Object.values(held).every((n) => n === 0)
    }, { intervalMs: 200 })
  }

  before(async function () {
    this.timeout(scaled(120_000))
    await mesh.start(5)
    const device = (name: string): Device => ({ agent: agents.spawn(name), dir: mesh.procs.dir(`chorus-${name}-`) })
    ;[aliceNode, bobNode] = [device('alice'), device('bob')]
    await Promise.all([aliceNode, bobNode].map(startDevice))
  })

  beforeEach(async function () {
    this.timeout(scaled(90_000))
    await ensureServers()
    await Promise.all([aliceNode, bobNode].map(ensureRunning))
    round++
    ;[alice, bob] = [`alice${round}`, `bob${round}`]
    // bob's prekeys are published when his session opens: alice can start a chat with him from then on
    await Promise.all([aliceNode.agent.openUser(alice), bobNode.agent.openUser(bob)])
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('starts while the recipient is offline and delivers everything in order once it is back', async () => {
    await bobNode.agent.stop()
    const sent: string[] = []
    for (let i = 0; i < 10; i++) {
      const text = fresh()
      const r = await aliceNode.agent.call(alice, `secret:${bob}`, 'send', text)
      assert.ok(r.storedOn.length >= 2, 'a secret message is stored like any other')
      sent.push(text)
    }
    await startDevice(bobNode)
    await bobNode.agent.openUser(bob)
    const got = await bobNode.agent.waitForReceived('the ten secret messages', (r) => r.filter((m) => sent.includes(m.text)).length === 10)
    assert.deepEqual(got.filter((m) => sent.includes(m.text)).map((m) => m.text), sent, 'in order, once each, decrypted')
  })

  it('answers both ways, and both sides compute the same safety number', async () => {
    const first = fresh()
    await aliceNode.agent.call(alice, `secret:${bob}`, 'send', first)
    await bobNode.agent.waitForReceived('alice\'s first message', (r) => r.some((m) => m.text === first))
    const reply = fresh()
    await bobNode.agent.call(bob, `secret:${alice}`, 'send', reply)
    await aliceNode.agent.waitForReceived('bob\'s reply', (r) => r.some((m) => m.text === reply))
    const a = await aliceNode.agent.call(alice, `secret:${bob}`, 'safetyNumber')
    const b = await bobNode.agent.call(bob, `secret:${alice}`, 'safetyNumber')
    assert.equal(a.digits, b.digits)
    assert.match(a.digits, /^\d{60}$/)
    assert.deepEqual(a.picture, b.picture)
  })

  it('keeps the sessions across restarts of both devices', async () => {
    const before = fresh()
    await aliceNode.agent.call(alice, `secret:${bob}`, 'send', before)
    await bobNode.agent.waitForReceived('the message before the restart', (r) => r.some((m) => m.text === before))
    await aliceNode.agent.stop()
    await bobNode.agent.stop()
    await Promise.all([startDevice(aliceNode), startDevice(bobNode)])
    await Promise.all([aliceNode.agent.openUser(alice), bobNode.agent.openUser(bob)])
    const after = fresh()
    await aliceNode.agent.call(alice, `secret:${bob}`, 'send', after)
    await bobNode.agent.waitForReceived('the message after the restart', (r) => r.some((m) => m.text === after))
    const history = await bobNode.agent.call(bob, `secret:${alice}`, 'history')
    assert.ok(history.some((m: any) => m.text === before) && history.some((m: any) => m.text === after), 'the device keeps its plaintext history')
  })

  it('leaves no plaintext on any server, in its files or in its database', async () => {
    const toBob = [fresh(), fresh(), fresh()]
    for (const text of toBob) await aliceNode.agent.call(alice, `secret:${bob}`, 'send', text)
    await bobNode.agent.waitForReceived('alice\'s messages', (r) => toBob.every((t) => r.some((m) => m.text === t)))
    const reply = fresh()
    await bobNode.agent.call(bob, `secret:${alice}`, 'send', reply)
    await aliceNode.agent.waitForReceived('bob\'s reply', (r) => r.some((m) => m.text === reply))
    // delivered ciphertext is deleted at the owners (tombstoned): scan once the deletions have landed
    await deletionsLanded(bobNode, bob)
    await deletionsLanded(aliceNode, alice)
    await mesh.stopAll()
    const needles = plaintexts.map((t) => Buffer.from(t))
    for (const slot of mesh.servers) {
      const files = filesHolding(slot.dir, needles)
      assert.deepEqual(files.found, [], `files of ${slot.peerId} hold a plaintext`)
      const values = await valuesHolding(join(slot.dir, 'db'), needles)
      assert.deepEqual(values.found, [], `values of ${slot.peerId} hold a plaintext`)
      assert.ok(values.entries > 0, 'the scan read the server\'s database')
    }
  })
})
