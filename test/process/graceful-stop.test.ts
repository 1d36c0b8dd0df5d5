/**
 * SIGTERM and SIGINT stop a node cleanly: it says so, exits 0, and tells the mesh it is leaving, so the
 * others drop it at once ("left") instead of waiting out the suspicion timeout ("dead").
 */

import { strict as assert } from 'node:assert'
import { ChorusProcesses, LOOPBACK_ARGS, probeRounds, type ChorusProcess } from '../helpers/process.js'
import { scaled, waitFor } from '../helpers/wait.js'

/**
 * Long on purpose: a peer that drops the stopped node before this can only have heard its LEAVE (it
 * then says "left"; the failure detector would say "dead").
 */
const SUSPICION_TIMEOUT_MS = scaled(60_000)
const TIMING_ARGS = ['--suspicion-timeout', String(SUSPICION_TIMEOUT_MS)]

/** Deadline from the signal to the exit; how long it took is reported in the title. */
const EXIT_DEADLINE_MS = scaled(20_000)

describe('process: graceful stop on SIGTERM and SIGINT', function () {
  this.timeout(scaled(90_000))
  const procs = new ChorusProcesses()
  let bootstrap: ChorusProcess
  const servers: ChorusProcess[] = []

  before(async function () {
    this.timeout(scaled(90_000))
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
    }, { intervalMs: 50 })
  })

  after(async () => { await procs.cleanup() })

  /** Stop `node` with `signal`; check its own output and exit, and that every node in `others` prints its leave. */
  async function stopAndWatch (
    node: ChorusProcess,
    signal: 'SIGTERM' | 'SIGINT',
    others: ChorusProcess[]
  ): Promise<{ exitMs: number, leftMs: number[] }> {
    const marks = others.map((o) => o.membership.length)
    const signalledAt = Date.now()
    node.kill(signal)
    const exit = await node.waitForExit(EXIT_DEADLINE_MS)
    const exitMs = Date.now() - signalledAt
    assert.deepEqual(exit, { code: 0, signal: null }, node.describe())
    assert.deepEqual(node.stdout.slice(-2), [`${signal}: stopping`, 'stopped'], node.describe())
    assert.deepEqual(node.stderr, [], 'nothing on stderr')

    const leftMs = await Promise.all(others.map(async (o, i) => {
      const line = await o.waitForMembership(`"peer left ${node.peerId} (server, left)"`,
        (l) => l.kind === 'left' && l.peerId === node.peerId, undefined, marks[i])
      assert.equal(line.why, 'left', `${o.peerId} saw it ${line.why ?? '?'}, not left`)
      assert.equal(line.role, 'server')
      return line.at - signalledAt
    }))
    // and it stays out: traffic of the leaver still in flight (a ping it sent, an ack to our probe), or
    // a member that had not heard yet, must not bring it back. Two more probe rounds on every other node:
    await probeRounds(others, 2)
    for (const [i, o] of others.entries()) {
      assert.ok(!(await o.status()).servers.includes(node.peerId!), `${o.peerId} lists ${node.peerId} again after its leave: ${o.describe()}`)
      assert.ok(!o.membership.slice(marks[i]).some((l) => l.kind === 'joined' && l.peerId === node.peerId), `${o.peerId} printed "peer joined" for ${node.peerId} after its leave`)
    }
    return { exitMs, leftMs }
  }

  /** A running server to stop, and every other running node to watch it leave. */
  function pick (): { node: ChorusProcess, others: ChorusProcess[] } {
    const running = servers.filter((s) => s.alive)
    assert.ok(running.length >= 2, 'two servers still run (one to stop, one to watch)')
    return { node: running[0], others: [bootstrap, ...running.slice(1)] }
  }

  it('SIGTERM: prints "stopped", exits 0, and the others print "peer left … (server, left)"', async function () {
    const { node, others } = pick()
    const { exitMs, leftMs } = await stopAndWatch(node, 'SIGTERM', others)
    this.test!.title += ` (exit after ${exitMs} ms, left seen after ${Math.min(...leftMs)}–${Math.max(...leftMs)} ms; suspicion timeout ${SUSPICION_TIMEOUT_MS} ms)`
  })

  it('SIGINT: the same', async function () {
    const { node, others } = pick()
    const { exitMs, leftMs } = await stopAndWatch(node, 'SIGINT', others)
    this.test!.title += ` (exit after ${exitMs} ms, left seen after ${Math.min(...leftMs)}–${Math.max(...leftMs)} ms; suspicion timeout ${SUSPICION_TIMEOUT_MS} ms)`
  })
})

describe('process: graceful stop when nobody reads stdout any more', function () {
  this.timeout(scaled(60_000))
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
