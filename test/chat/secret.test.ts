/**
 * Issue 5, with real processes: a secret chat between two client-role users through five `chorus start`
 * servers. The recipient is offline for part of it (its prekeys, published earlier, let the chat start
 * anyway; the ciphertext waits in its mailbox). Both sides restart mid-chat and keep their sessions.
 * Afterwards every server's LevelDB is scanned — its files byte by byte, and every value through LevelDB
 * itself (table files are compressed) — and holds none of the plaintexts.
 */

import { strict as assert } from 'node:assert'
import { join } from 'node:path'
import { filesHolding, valuesHolding } from '../helpers/scan.js'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type UserAgent } from '../helpers/user-agent.js'

/** Plaintexts unlikely to appear anywhere by chance. */
const secret = (i: number): string => `zebra-quartz-${i}-nebula-${(i * 7919).toString(36)}`

describe('secret chat (processes): two client users through 5 servers', function () {
  this.timeout(120_000)
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: UserAgent
  let bob: UserAgent
  let aliceDir: string
  let bobDir: string
  const sent: string[] = []

  const startAgent = async (agent: UserAgent, dir: string, handle: string): Promise<void> => {
    await agent.start([mesh.bootstrap.bootstrapAddr], dir, CLIENT_OPTIONS)
    await agent.waitForServers(mesh.ids())
    await agent.openUser(handle)
  }

  before(async function () {
    this.timeout(60_000)
    alice = agents.spawn('alice')
    bob = agents.spawn('bob')
    await mesh.start(5)
    aliceDir = mesh.procs.dir('chorus-alice-')
    bobDir = mesh.procs.dir('chorus-bob-')
    await Promise.all([startAgent(alice, aliceDir, 'alice'), startAgent(bob, bobDir, 'bob')])
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('starts while the recipient is offline and delivers everything in order once it is back', async () => {
    await bob.stop() // bob's prekeys were published when his session opened
    for (let i = 0; i < 10; i++) {
      const text = secret(i)
      const r = await alice.call('alice', 'secret:bob', 'send', text)
      assert.ok(r.storedOn.length >= 2, 'a secret message is stored like any other')
      sent.push(text)
    }
    await startAgent(bob, bobDir, 'bob')
    const got = await bob.waitForReceived('the ten secret messages', (r) => r.filter((m) => sent.includes(m.text)).length === 10, 15_000)
    assert.deepEqual(got.filter((m) => sent.includes(m.text)).map((m) => m.text), sent, 'in order, once each, decrypted')
  })

  it('answers both ways, and both sides compute the same safety number', async () => {
    const reply = secret(100)
    await bob.call('bob', 'secret:alice', 'send', reply)
    sent.push(reply)
    await alice.waitForReceived('bob\'s reply', (r) => r.some((m) => m.text === reply), 10_000)
    const a = await alice.call('alice', 'secret:bob', 'safetyNumber')
    const b = await bob.call('bob', 'secret:alice', 'safetyNumber')
    assert.equal(a.digits, b.digits)
    assert.match(a.digits, /^\d{60}$/)
    assert.deepEqual(a.picture, b.picture)
  })

  it('keeps the sessions across restarts of both devices', async () => {
    await alice.stop()
    await bob.stop()
    await Promise.all([startAgent(alice, aliceDir, 'alice'), startAgent(bob, bobDir, 'bob')])
    const text = secret(200)
    await alice.call('alice', 'secret:bob', 'send', text)
    sent.push(text)
    await bob.waitForReceived('the message after the restart', (r) => r.some((m) => m.text === text), 10_000)
    const history = await bob.call('bob', 'secret:alice', 'history')
    assert.ok(history.some((m: any) => m.text === secret(0)) && history.some((m: any) => m.text === text), 'the device keeps its plaintext history')
  })

  it('leaves no plaintext on any server, in its files or in its database', async () => {
    // delivered ciphertext is deleted at the owners (tombstoned); let the last deletions land
    await new Promise((resolve) => setTimeout(resolve, 500))
    await mesh.stopAll()
    const needles = sent.map((t) => Buffer.from(t))
    for (const slot of mesh.servers) {
      const files = filesHolding(slot.dir, needles)
      assert.deepEqual(files.found, [], `files of ${slot.peerId} hold a plaintext`)
      const values = await valuesHolding(join(slot.dir, 'db'), needles)
      assert.deepEqual(values.found, [], `values of ${slot.peerId} hold a plaintext`)
      assert.ok(values.entries > 0, 'the scan read the server\'s database')
    }
  })
})
