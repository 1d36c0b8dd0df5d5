/**
 * Issue 3, with real processes: 1,000 messages from alice to bob (each user on a client node in a
 * process of its own) against five `chorus start` servers with N = 3, W = 2, while an owner of their
 * mailboxes is SIGKILLed and later restarted; then an owner killed for good. What was acknowledged
 * is read back exactly once (live, in the order it arrives; from history, in order), and repair brings every envelope
 * to N copies on the mailboxes' owners, checked in the LevelDB files of the stopped servers.
 */

import { strict as assert } from 'node:assert'
import {
  CLIENT_OPTIONS, REPLICAS, ServerMesh, handleOwners, mailboxOwners, readHandles, readMailboxes,
  type ServerSlot
} from '../helpers/server-mesh.js'
import { UserAgents, type AgentMessage, type AgentSendOutcome, type UserAgent } from '../helpers/agent.js'
import { scaled, waitFor } from '../helpers/wait.js'

const SERVERS = 5
const MESSAGES = 1000
const KILL_AFTER = 300
const RESTART_AFTER = 700
/** Sends in flight at once: 1, strictly one after another, so send order is alice's order by construction. */
const WINDOW = 1
/**
 * Deadline for repair to converge, from the moment it has what it needs (view whole, or dead peer
 * dropped). Generous: how long it took is reported in the test's title, never asserted.
 */
const REPAIR_DEADLINE_MS = scaled(60_000)

type Resolved = Extract<AgentSendOutcome, { ok: true }>

describe('replication (processes): an owner SIGKILLed mid-stream, and one killed for good', function () {
  this.timeout(scaled(300_000))
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: UserAgent
  let bob: UserAgent
  let aliceId: string
  let bobId: string

  /**
   * Poll (over the replication protocol) until the owners of both mailboxes hold equal digests, and no
   * live server holds more of a mailbox than its owners do. Resolves with the time it converged.
   */
  async function waitForRepair (live: string[], what: string): Promise<number> {
    const mailboxes = [bobId, aliceId]
    await waitFor(what, async () => {
      for (const mailbox of mailboxes) {
        const owners = mailboxOwners(mailbox, live)
        const digests = await Promise.all(live.map(async (p) => ({ p, d: await alice.digest(p, mailbox) })))
        const ofOwners = digests.filter((x) => owners.includes(x.p))
        if (new Set(ofOwners.map((x) => x.d.fingerprint)).size !== 1) return false
        if (ofOwners[0].d.count < Math.max(...digests.map((x) => x.d.count))) return false
      }
      return true
    }, { timeoutMs: REPAIR_DEADLINE_MS, intervalMs: 100 })
    return Date.now()
  }

  /** Poll until no live server outside a mailbox's owners holds any of it (handoff done); resolves with the time. */
  async function waitForHandoff (live: string[], what: string): Promise<number> {
    await waitFor(what, async () => {
      for (const mailbox of [bobId, aliceId]) {
        const owners = mailboxOwners(mailbox, live)
        const counts = await Promise.all(
          live.filter((p) => !owners.includes(p)).map(async (p) => (await alice.digest(p, mailbox)).count)
        )
        if (counts.some((n) => n > 0)) return false
      }
      return true
    }, { timeoutMs: REPAIR_DEADLINE_MS, intervalMs: 100 })
    return Date.now()
  }

  /** An owner of bob's mailbox; among those, the one that also owns the most of alice's mailbox and the two handles. */
  function pickVictim (servers: string[]): string {
    const alsoOwns = (p: string): number =>
      [mailboxOwners(aliceId, servers), handleOwners('alice', servers), handleOwners('bob', servers)]
        .filter((o) => o.includes(p)).length
    return [...mailboxOwners(bobId, servers)].sort((a, b) => alsoOwns(b) - alsoOwns(a))[0]
  }

  /**
   * Stop every running server gracefully, read their LevelDB files, and check that each owner (under
   * `live`) of bob's and alice's mailboxes has every acknowledged envelope, and every envelope any of
   * the servers has, once.
   */
  async function checkFiles (
    slots: ServerSlot[],
    live: string[],
    acknowledged: Resolved[]
  ): Promise<Map<string, number>> {
    await mesh.stopAll()
    const copies = new Map<string, number>()
    for (const [mailbox, name] of [[bobId, 'bob'], [aliceId, 'alice']]) {
      const owners = mailboxOwners(mailbox, live)
      assert.equal(owners.length, REPLICAS)
      const held = new Map<string, Set<string>>()
      const union = new Set<string>()
      for (const s of slots) {
        const ids = (await readMailboxes(s.dir, [mailbox])).get(mailbox)!
        assert.equal(new Set(ids).size, ids.length, `${name}'s mailbox on ${s.peerId} holds no envelope twice`)
        held.set(s.peerId, new Set(ids))
        for (const id of ids) union.add(id)
      }
      for (const owner of owners) {
        const have = held.get(owner) ?? new Set()
        const missingAcked = acknowledged.filter((o) => !have.has(o.id))
        assert.equal(missingAcked.length, 0,
          `owner ${owner.slice(-6)} of ${name}'s mailbox lacks ${missingAcked.length} acknowledged envelopes (e.g. ${missingAcked.slice(0, 3).map((o) => o.text).join(', ')})`)
        const missing = [...union].filter((id) => !have.has(id))
        assert.equal(missing.length, 0, `owner ${owner.slice(-6)} of ${name}'s mailbox lacks ${missing.length} envelopes another server has`)
      }
      for (const o of acknowledged) {
        const n = live.filter((p) => held.get(p)?.has(o.id)).length
        copies.set(`${name}:${o.id}`, n)
        assert.ok(n >= REPLICAS, `${o.text} has ${n} copies in ${name}'s mailbox among live servers`)
      }
    }
    return copies
  }

  /** The acknowledged sends, each once (in any order). */
  function assertOnce (seen: AgentMessage[], sends: Resolved[], where: string): void {
    const ids = seen.map((m) => m.id)
    assert.equal(new Set(ids).size, ids.length, `${where}: no message twice`)
    const missing = sends.filter((o) => !ids.includes(o.id))
    assert.equal(missing.length, 0, `${where}: ${missing.length} acknowledged sends missing (e.g. ${missing.slice(0, 5).map((o) => o.text).join(', ')})`)
  }

  /** The acknowledged sends, as they must appear: in send order, each once. */
  function assertInOrderOnce (seen: AgentMessage[], sends: Resolved[], where: string): void {
    const ids = seen.map((m) => m.id)
    assert.equal(new Set(ids).size, ids.length, `${where}: no message twice`)
    const wanted = new Set(sends.map((o) => o.id))
    const present = ids.filter((id) => wanted.has(id))
    const missing = sends.filter((o) => !ids.includes(o.id))
    assert.equal(missing.length, 0, `${where}: ${missing.length} acknowledged sends missing (e.g. ${missing.slice(0, 5).map((o) => o.text).join(', ')})`)
    assert.deepEqual(present, sends.map((o) => o.id), `${where}: in alice's send order`)
  }

  /**
   * Every server running and in every view, the clients' included. A test that stopped servers (the
   * file checks stop them all) leaves them so: they are started again once the clients have noticed
   * (servers send their LEAVE to servers only, so clients find out by probing). Restarting sooner once
   * left a client without one server for over 20 s: membership puts gossiped addresses in the peer
   * store only for peers new to it, so a client still holding the old entry dials the old port.
   */
  async function wholeMesh (): Promise<void> {
    const stopped = mesh.servers.filter((s) => !s.proc.alive)
    if (stopped.length > 0) {
      const running = mesh.ids()
      await Promise.all([alice.waitForServers(running), bob.waitForServers(running)])
      for (const s of stopped) await mesh.restart(s)
    }
    const all = mesh.ids()
    await mesh.waitForView(mesh.servers, all)
    await Promise.all([alice.waitForServers(all), bob.waitForServers(all)])
  }

  before(async function () {
    this.timeout(scaled(120_000))
    alice = agents.spawn('alice')
    bob = agents.spawn('bob')
    await mesh.start(SERVERS)
    await Promise.all([
      alice.start([mesh.bootstrap.bootstrapAddr], mesh.procs.dir('chorus-alice-'), CLIENT_OPTIONS),
      bob.start([mesh.bootstrap.bootstrapAddr], mesh.procs.dir('chorus-bob-'), CLIENT_OPTIONS)
    ])
    await Promise.all([alice.waitForServers(mesh.ids()), bob.waitForServers(mesh.ids())])
    aliceId = (await alice.openUser('alice')).userId
    bobId = (await bob.openUser('bob')).userId
  })

  beforeEach(async function () {
    this.timeout(scaled(120_000))
    await wholeMesh()
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it(`${MESSAGES} messages while an owner is SIGKILLed after ${KILL_AFTER} and restarted after ${RESTART_AFTER}: each acknowledged one read once, in order; N copies on disk after repair`, async function () {
    const all = mesh.ids()
    const victim = mesh.slot(pickVictim(all))

    const started = Date.now()
    const sending = alice.sendMany('alice', 'bob', MESSAGES, 'm-', WINDOW)
    await alice.waitForProgress(KILL_AFTER, scaled(120_000))
    victim.proc.kill('SIGKILL')
    const killedAtSend = alice.progress.done
    await alice.waitForProgress(RESTART_AFTER, scaled(180_000))
    const restartedAtSend = alice.progress.done
    await mesh.restart(victim)
    const restartedAt = Date.now()
    // catch-up: how long until the restarted owner holds every send acknowledged while it was away
    const ackedBeforeRestart = alice.progress.ok
    const caughtUp = waitFor('the restarted owner to hold what was acknowledged before its restart',
      async () => (await alice.digest(victim.peerId, bobId)).count >= ackedBeforeRestart ? Date.now() : 0,
      { timeoutMs: REPAIR_DEADLINE_MS, intervalMs: 50 })
    caughtUp.catch(() => {})
    const outcomes = await sending
    const sentAt = Date.now()
    const sendMs = sentAt - started
    // repair runs on its own; watch it converge while the reads below go on
    const repaired = waitForRepair(all, 'the owners of bob\'s and alice\'s mailboxes to converge')
    repaired.catch(() => {})
    const resolved = outcomes.filter((o): o is Resolved => o.ok)
    const failed = outcomes.filter((o) => !o.ok)
    assert.equal(failed.length, 0, `every send resolves while two owners of three are up (failed: ${[...new Set(failed.map((o) => !o.ok && `${o.error.code}: ${o.error.message}`))].join('; ')})`)

    // history, read back from the owners (merged): every acknowledged send once, in order
    const bobHistory = await bob.history('bob', 'alice')
    assertInOrderOnce(bobHistory.filter((m) => m.text.startsWith('m-')), resolved, 'bob\'s history')
    const aliceHistory = await alice.history('alice', 'bob')
    assertInOrderOnce(aliceHistory.filter((m) => m.text.startsWith('m-')), resolved, 'alice\'s history')
    // live: each exactly once, whichever path brought it. Not necessarily in send order: a message
    // the relay lost while an owner died comes by sync after later ones came live (each carries its
    // cursor; history, above, is in order)
    const live = await bob.waitForReceived('every acknowledged send', (r) => {
      const ids = new Set(r.map((m) => m.id))
      return resolved.every((o) => ids.has(o.id))
    }, scaled(60_000))
    assertOnce(live, resolved, 'bob\'s live messages')

    // repair: the restarted owner catches up (hinted handoff and anti-entropy), stand-ins hand off
    const caughtUpAt = await caughtUp
    const convergedAt = await repaired
    await mesh.waitForView(mesh.servers, all)
    // handoff: the server that owned the mailboxes while the victim was away gives its copies back
    const handedOffAt = await waitForHandoff(all, 'servers that no longer own bob\'s or alice\'s mailbox to hand their copies off')
    const copies = await checkFiles(mesh.servers, all, resolved)

    const latencies = resolved.map((o) => o.ms).sort((a, b) => a - b)
    const p50 = latencies[Math.floor(latencies.length / 2)]
    const p99 = latencies[Math.floor(latencies.length * 0.99)]
    const perSecond = Math.round(resolved.length / (sendMs / 1000))
    this.test!.title += ` [${resolved.length}/${MESSAGES} acknowledged in ${(sendMs / 1000).toFixed(1)} s = ${perSecond} sends/s,` +
      ` p50 ${p50} ms, p99 ${p99} ms; killed at send ${killedAtSend}, restarted at ${restartedAtSend};` +
      ` the restarted owner had the ${ackedBeforeRestart} sends acknowledged before it came back ${caughtUpAt - restartedAt} ms after its restart;` +
      ` owners converged ${Math.max(0, convergedAt - sentAt)} ms after the last send, non-owners handed off after ${Math.max(0, handedOffAt - sentAt)} ms; min copies ${Math.min(...copies.values())}]`
  })

  it('an owner killed for good: the survivors drop it and repair restores N copies on the new owners', async function () {
    /** the sends of this test that resolved, in send order */
    const acknowledged: Resolved[] = []
    const all = mesh.ids()

    const bobOwners = mailboxOwners(bobId, all)
    const victim = mesh.slot(pickVictim(all))
    const victimHandles = ['alice', 'bob'].filter((h) => handleOwners(h, all).includes(victim.peerId))
    const survivors = mesh.servers.filter((s) => s !== victim)
    const survivorIds = survivors.map((s) => s.peerId)
    const newBobOwners = mailboxOwners(bobId, survivorIds)
    assert.ok(!newBobOwners.includes(victim.peerId) && newBobOwners.length === REPLICAS)
    // the server that will take the dead one's place
    const heir = newBobOwners.find((p) => !bobOwners.includes(p))!

    // traffic before, and while the survivors still count the dead owner in (its writes go to hints and stand-ins)
    const before = await alice.sendMany('alice', 'bob', 100, 'k-', 4)
    const heirHeld = (await alice.digest(heir, bobId)).count
    victim.proc.kill('SIGKILL')
    const killedAt = Date.now()
    const during = await alice.sendMany('alice', 'bob', 100, 'd-', 4)
    for (const batch of [before, during]) {
      const failed = batch.filter((o) => !o.ok)
      assert.equal(failed.length, 0, `every send resolves with two owners of three alive (${failed.map((o) => !o.ok && o.error.code).join(', ')})`)
      acknowledged.push(...batch.filter((o): o is Resolved => o.ok))
    }
    await mesh.waitForView(survivors, survivorIds)
    const droppedAt = Date.now()
    await Promise.all([alice.waitForServers(survivorIds), bob.waitForServers(survivorIds)])

    const convergedAt = await waitForRepair(survivorIds, 'the new owners of bob\'s and alice\'s mailboxes to converge')
    const history = await bob.history('bob', 'alice')
    assertInOrderOnce(history, acknowledged, 'bob\'s history after the loss')

    // the handle claims are back on N owners too: a newcomer, whose node has no cached resolution, finds bob
    await waitFor('the new owners of handles alice and bob to hold their claims', async () => {
      const held = await Promise.all(
        ['alice', 'bob'].flatMap((h) => handleOwners(h, survivorIds).map(async (p) => await alice.claimAt(p, h)))
      )
      return held.every(Boolean)
    }, { timeoutMs: REPAIR_DEADLINE_MS, intervalMs: 100 })
    const carol = agents.spawn('carol')
    await carol.start([mesh.bootstrap.bootstrapAddr], mesh.procs.dir('chorus-carol-'), CLIENT_OPTIONS)
    await carol.waitForServers(survivorIds)
    await carol.openUser('carol')
    const hello = await carol.send('carol', 'bob', 'hello from a newcomer')
    const got = (await bob.waitForReceived('carol\'s message', (r) => r.some((m) => m.id === hello.id))).find((m) => m.id === hello.id)!
    assert.equal(got.from, 'carol')
    await carol.stop()

    const copies = await checkFiles(survivors, survivorIds, acknowledged)
    for (const h of ['alice', 'bob']) {
      for (const owner of handleOwners(h, survivorIds)) {
        const claimedFor = (await readHandles(mesh.slot(owner).dir, [h])).get(h)
        assert.equal(claimedFor, h === 'bob' ? bobId : aliceId, `owner ${owner.slice(-6)} of handle ${h} holds its claim on disk`)
      }
    }
    this.test!.title += ` [dropped ${droppedAt - killedAt} ms after SIGKILL; the server taking its place held ${heirHeld} of bob's envelopes before the kill, ${acknowledged.length} were to be there;` +
      ` new owners converged ${convergedAt - droppedAt} ms after the drop; min copies ${Math.min(...copies.values())}; the dead server owned handle claims: ${victimHandles.join(', ') || 'none'}]`
  })
})
