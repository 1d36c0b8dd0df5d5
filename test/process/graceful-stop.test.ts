/**
 * SIGTERM and SIGINT stop a node cleanly: it says so, exits 0, and tells the mesh it is leaving, so the
 * others drop it at once ("left") instead of waiting out the suspicion timeout ("dead").
 */

import { strict as assert } from 'node:assert'
import { ChorusProcesses, LOOPBACK_ARGS, type ChorusProcess } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Long on purpose: a peer that drops the stopped node well before this can only have heard its LEAVE;
 * the failure detector could not have fired yet.
 */
const SUSPICION_TIMEOUT_MS = 10_000
const TIMING_ARGS = ['--suspicion-timeout', String(SUSPICION_TIMEOUT_MS)]

/** From the signal to "stopped" and exit 0. */
const EXIT_DEADLINE_MS = 5000

/** From the signal to every other node printing "peer left … (server, left)": a LEAVE and a line of output. */
const LEFT_DEADLINE_MS = 2000

describe('process: graceful stop on SIGTERM and SIGINT', function () {
  this.timeout(60_000)
  const procs = new ChorusProcesses()
  let bootstrap: ChorusProcess
  const servers: ChorusProcess[] = []

  before(async () => {
    bootstrap = procs.spawn(['bootstrap', ...LOOPBACK_ARGS, '--data-dir', procs.dir(), ...TIMING_ARGS])
    await bootstrap.ready()
    for (let i = 0; i < 3; i++) {
      servers.push(procs.spawn(['start', ...LOOPBACK_ARGS, '--bootstrap', bootstrap.bootstrapAddr, '--data-dir', procs.dir(), ...TIMING_ARGS]))
    }
    await Promise.all(servers.map(async (s) => await s.ready()))
    const ids = servers.map((s) => s.peerId!).sort()
    await waitFor('3 servers and the bootstrap peer to see all 3 servers', async () => {
      const views = await Promise.all([bootstrap, ...servers].map(async (n) => (await n.status()).servers))
      return views.every((v) => JSON.stringify([...v].sort()) === JSON.stringify(ids))
    }, { timeoutMs: 10_000, intervalMs: 50 })
  })

  after(async () => { await procs.cleanup() })

  /** Stop `node` with `signal`; check its own output and exit, and that every node in `others` prints its leave. */
  async function stopAndWatch (node: ChorusProcess, signal: 'SIGTERM' | 'SIGINT', others: ChorusProcess[]): Promise<{ exitMs: number, leftMs: number[] }> {
    const marks = others.map((o) => o.membership.length)
    const signalledAt = Date.now()
    node.kill(signal)
    const exit = await node.waitForExit(EXIT_DEADLINE_MS)
    const exitMs = Date.now() - signalledAt
    assert.deepEqual(exit, { code: 0, signal: null }, node.describe())
    assert.deepEqual(node.stdout.slice(-2), [`${signal}: stopping`, 'stopped'], node.describe())
    assert.deepEqual(node.stderr, [], 'nothing on stderr')

    const leftMs = await Promise.all(others.map(async (o, i) => {
      const line = await o.waitForMembership(`"peer left ${node.peerId} (server, left)"`, (l) => l.kind === 'left' && l.peerId === node.peerId, LEFT_DEADLINE_MS + 2000, marks[i])
      assert.equal(line.why, 'left', `${o.peerId} saw it ${line.why ?? '?'}, not left`)
      assert.equal(line.role, 'server')
      return line.at - signalledAt
    }))
    for (const ms of leftMs) assert.ok(ms <= LEFT_DEADLINE_MS, `left after ${ms} ms; deadline ${LEFT_DEADLINE_MS} ms, suspicion timeout ${SUSPICION_TIMEOUT_MS} ms`)
    // and it stays out: traffic of the leaver still in flight (a ping it sent, an ack to our probe) must not bring it back
    for (const o of others) {
      assert.ok(!(await o.status()).servers.includes(node.peerId!), `${o.peerId} lists ${node.peerId} again after its leave: ${o.describe()}`)
    }
    return { exitMs, leftMs }
  }

  it('SIGTERM: prints "stopped", exits 0, and the others print "peer left … (server, left)" at once', async function () {
    const { exitMs, leftMs } = await stopAndWatch(servers[0], 'SIGTERM', [bootstrap, servers[1], servers[2]])
    this.test!.title += ` (exit after ${exitMs} ms, left seen after ${Math.min(...leftMs)}–${Math.max(...leftMs)} ms)`
  })

  it('SIGINT: the same', async function () {
    assert.ok(!servers[0].alive, 'needs the previous test')
    const { exitMs, leftMs } = await stopAndWatch(servers[1], 'SIGINT', [bootstrap, servers[2]])
    this.test!.title += ` (exit after ${exitMs} ms, left seen after ${Math.min(...leftMs)}–${Math.max(...leftMs)} ms)`
  })
})

describe('process: graceful stop when nobody reads stdout any more', function () {
  this.timeout(30_000)
  const procs = new ChorusProcesses()
  after(async () => { await procs.cleanup() })

  // `chorus start | head -3`, or a log collector that restarted: the pipe is gone, the node must not be
  it('SIGTERM still stops cleanly: exit 0, no stack trace', async function () {
    const node = procs.spawn(['start', ...LOOPBACK_ARGS, '--data-dir', procs.dir()])
    await node.ready()
    node.child.stdout!.destroy()
    node.kill('SIGTERM')
    const exit = await node.waitForExit(EXIT_DEADLINE_MS)
    assert.doesNotMatch(node.stderr.join('\n'), /^\s+at /m, `a stack trace on stderr: ${node.describe()}`)
    assert.deepEqual(exit, { code: 0, signal: null }, node.describe())
  })
})
