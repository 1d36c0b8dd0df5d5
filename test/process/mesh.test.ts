/**
 * The done-when, with real processes: a bootstrap peer and five servers form one view; a
 * SIGKILLed server leaves every other view within the suspicion timeout (plus a small margin); restarted
 * on the same data dir it comes back with the same peer id and the view is whole again.
 */

import { strict as assert } from 'node:assert'
import { ChorusProcesses, LOOPBACK_ARGS, type ChorusProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const PROBE_INTERVAL_MS = 200
const SUSPICION_TIMEOUT_MS = 1500
const TIMING_ARGS = ['--probe-interval', String(PROBE_INTERVAL_MS), '--suspicion-timeout', String(SUSPICION_TIMEOUT_MS)]
const SERVERS = 5

/**
 * From the last server printing its addresses to every server seeing all five. Process start-up is not
 * counted: on a busy two-core machine, loading node and libp2p in six processes alone can take seconds.
 */
const FULL_VIEW_DEADLINE_MS = 10_000

/**
 * From SIGKILL to every survivor dropping the dead server. The kernel resets its connections at once,
 * so survivors probe it and suspect it within a probe or two; it then stays suspect for the suspicion
 * timeout, and the table's timers run once per probe interval. Margin: two probe intervals for the
 * first failed probe and the timer tick, and 1 s for a loaded machine (two cores, seven node processes).
 */
const DROP_DEADLINE_MS = SUSPICION_TIMEOUT_MS + 2 * PROBE_INTERVAL_MS + 1000

describe('process: a bootstrap peer and five servers (SIGKILL and restart)', function () {
  this.timeout(60_000)
  const procs = new ChorusProcesses()
  let bootstrap: ChorusProcess
  const servers: ChorusProcess[] = []
  let killed: ChorusProcess | undefined

  const serverArgs = (dataDir: string): string[] =>
    ['start', ...LOOPBACK_ARGS, '--bootstrap', bootstrap.bootstrapAddr, '--data-dir', dataDir, ...TIMING_ARGS]

  /** Wait until each of `nodes` reports exactly `ids` as its live servers (polled over HTTP every 50 ms). */
  async function viewsEqual (nodes: ChorusProcess[], ids: string[], timeoutMs: number): Promise<void> {
    const want = [...ids].sort()
    await waitFor(`${nodes.length} nodes to see servers ${want.map((s) => s.slice(-6)).join(',')}`, async () => {
      const views = await Promise.all(nodes.map(async (n) => (await n.status()).servers))
      return views.every((v) => JSON.stringify([...v].sort()) === JSON.stringify(want))
    }, { timeoutMs, intervalMs: 50 })
  }

  before(async () => {
    bootstrap = procs.spawn(['bootstrap', ...LOOPBACK_ARGS, '--data-dir', procs.dir(), ...TIMING_ARGS])
    await bootstrap.ready()
  })

  after(async () => { await procs.cleanup() })

  it('5 servers see each other within 10 s', async function () {
    const spawnedAt = Date.now()
    for (let i = 0; i < SERVERS; i++) {
      servers.push(procs.spawn(serverArgs(procs.dir())))
    }
    await Promise.all(servers.map(async (s) => await s.ready()))
    const readyAt = Date.now()
    const ids = servers.map((s) => s.peerId!)
    assert.equal(new Set(ids).size, SERVERS, 'five distinct peer ids')

    await viewsEqual(servers, ids, FULL_VIEW_DEADLINE_MS)
    const viewAt = Date.now()
    // every server also said so on stdout: a "peer joined" line for each of the other four (stdout and
    // the HTTP reply travel separately, so the line may be read a moment after the status)
    await Promise.all(servers.flatMap((s) => ids.filter((id) => id !== s.peerId).map(async (other) =>
      await s.waitForMembership(`"peer joined ${other} (server)"`, (l) => l.kind === 'joined' && l.peerId === other && l.role === 'server', 2000))))
    await viewsEqual([bootstrap], ids, 2000)
    this.test!.title += ` (full view ${viewAt - readyAt} ms after the last server was up, deadline ${FULL_VIEW_DEADLINE_MS} ms; ${viewAt - spawnedAt} ms after spawn)`
  })

  it(`the others drop a SIGKILLed server within suspicion + 2 probes + 1 s (${DROP_DEADLINE_MS} ms)`, async function () {
    assert.equal(servers.length, SERVERS, 'needs the mesh of the previous test')
    killed = servers[SERVERS - 1]
    const survivors = servers.slice(0, -1)
    const marks = survivors.map((s) => s.membership.length)
    const killedAt = Date.now()
    killed.kill('SIGKILL')
    const exit = await killed.waitForExit()
    assert.equal(exit.signal, 'SIGKILL')

    const drops = await Promise.all(survivors.map(async (s, i) => {
      const line = await s.waitForMembership(`"peer left ${killed!.peerId}"`, (l) => l.kind === 'left' && l.peerId === killed!.peerId, DROP_DEADLINE_MS + 2000, marks[i])
      assert.equal(line.why, 'dead', 'a killed server is dead, not left')
      assert.equal(line.role, 'server')
      return line.at - killedAt
    }))
    for (const ms of drops) assert.ok(ms <= DROP_DEADLINE_MS, `dropped after ${ms} ms; deadline ${DROP_DEADLINE_MS} ms (all: ${drops.join(', ')})`)
    await viewsEqual(survivors, survivors.map((s) => s.peerId!), 2000)
    this.test!.title += ` (dropped after ${Math.min(...drops)}–${Math.max(...drops)} ms)`
  })

  it('restarted on the same data dir, it has the same peer id and all 5 see each other again', async function () {
    assert.ok(killed != null && !killed.alive, 'needs the killed server of the previous test')
    const survivors = servers.slice(0, -1)
    const marks = survivors.map((s) => s.membership.length)
    const again = procs.spawn(killed.args)
    await again.ready()
    const readyAt = Date.now()
    assert.equal(again.peerId, killed.peerId, 'the node key in the data dir keeps the peer id')
    servers[SERVERS - 1] = again

    await viewsEqual(servers, servers.map((s) => s.peerId!), FULL_VIEW_DEADLINE_MS)
    const viewAt = Date.now()
    await Promise.all(survivors.map(async (s, i) => {
      await s.waitForMembership(`"peer joined ${again.peerId}"`, (l) => l.kind === 'joined' && l.peerId === again.peerId, 2000, marks[i])
    }))
    this.test!.title += ` (full view again ${viewAt - readyAt} ms after it was up)`
  })
})
