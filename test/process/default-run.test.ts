/**
 * `chorus start` with no flags at all: the defaults a first-time user gets. Data under $CHORUS_HOME,
 * TCP 7400 and WebSocket 7401 on every interface, and a clean stop on SIGTERM.
 */

import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ChorusProcesses, portIsFree } from '../helpers/process.js'
import { scaled } from '../helpers/wait.js'

/** DEFAULT_TCP_PORT and DEFAULT_WS_PORT of node/constants.ts, spelt out: the test pins the documented defaults. */
const TCP_PORT = 7400
const WS_PORT = 7401

describe('process: chorus start with no flags', function () {
  this.timeout(scaled(60_000))
  const procs = new ChorusProcesses()
  after(async () => { await procs.cleanup() })

  it(`starts in $CHORUS_HOME on tcp ${TCP_PORT} and ws ${WS_PORT}, stops cleanly on SIGTERM`, async function () {
    const busy = []
    for (const port of [TCP_PORT, WS_PORT]) if (!await portIsFree(port)) busy.push(port)
    if (busy.length > 0) {
      this.test!.title += ` [skipped: port ${busy.join(' and ')} in use by another program on this machine]`
      this.skip()
    }
    const home = procs.dir('chorus-home-')
    const node = procs.spawn(['start'], { env: { CHORUS_HOME: home } })
    await node.waitForLine(new RegExp(`^listening: /ip4/[\\d.]+/tcp/${TCP_PORT}/p2p/`))
    await node.waitForLine(new RegExp(`^listening: /ip4/[\\d.]+/tcp/${WS_PORT}/ws/p2p/`))
    await node.waitForLine(/^no --bootstrap given/)
    assert.match(node.stdout[0], /^chorus \S+ started as server$/)
    assert.match(node.peerId ?? '', /^12D3KooW/)
    assert.ok(node.stdout.includes(`data dir: ${home}`), `data dir is $CHORUS_HOME: ${node.describe()}`)
    assert.ok(existsSync(join(home, 'node.key')), 'the node key is written in $CHORUS_HOME')
    assert.ok(!node.stdout.some((l) => l.startsWith('http: ')), 'the HTTP endpoint is off by default')
    assert.ok(node.listening.every((a) => a.endsWith(`/p2p/${node.peerId!}`)), 'listen addresses carry the peer id')

    node.kill('SIGTERM')
    const exit = await node.waitForExit()
    assert.deepEqual(exit, { code: 0, signal: null }, node.describe())
    assert.deepEqual(node.stdout.slice(-2), ['SIGTERM: stopping', 'stopped'])
    assert.deepEqual(node.stderr, [])
  })
})
