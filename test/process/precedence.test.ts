/**
 * Where a setting comes from: a flag beats the environment, which beats the config file, which beats
 * the default. Checked on a running node through GET /status.
 */

import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ChorusProcesses, type ChorusStatus, type SpawnOptions } from '../helpers/process.js'
import { scaled } from '../helpers/wait.js'

describe('process: flag > environment > config file > default', function () {
  this.timeout(scaled(60_000))
  const procs = new ChorusProcesses()
  let config: string
  let dataDir: string

  before(() => {
    dataDir = procs.dir()
    config = join(procs.dir(), 'chorus.json')
    // the file also carries listen, http and dataDir: every key works from a file
    writeFileSync(config, JSON.stringify({ replicas: 5, listen: ['/ip4/127.0.0.1/tcp/0'], http: '127.0.0.1:0', dataDir }))
  })
  after(async () => { await procs.cleanup() })

  /** Start a node, read its status, stop it with SIGTERM. */
  async function statusOf (args: string[], options: SpawnOptions = {}): Promise<ChorusStatus> {
    const node = procs.spawn(['start', ...args], options)
    try {
      await node.ready({ http: true })
      const status = await node.status()
      assert.ok(node.stdout.includes(`data dir: ${dataDir}`), `dataDir from the config file: ${node.describe()}`)
      node.kill('SIGTERM')
      assert.equal((await node.waitForExit()).code, 0, node.describe())
      return status
    } finally {
      // the next case needs the data dir: never leave this node holding it
      node.kill('SIGKILL')
      await node.exited
    }
  }

  it('config 5, env 4, flag 3 → 3', async () => {
    assert.equal((await statusOf(['--config', config, '--replicas', '3'], { env: { CHORUS_REPLICAS: '4' } })).replicas, 3)
  })

  it('config 5, env 4 → 4', async () => {
    assert.equal((await statusOf(['--config', config], { env: { CHORUS_REPLICAS: '4' } })).replicas, 4)
  })

  it('config 5 → 5, and the file\'s listen and http apply', async () => {
    const status = await statusOf(['--config', config])
    assert.equal(status.replicas, 5)
    assert.ok(status.addresses.length > 0 && status.addresses.every((a) => a.startsWith('/ip4/127.0.0.1/tcp/')), status.addresses.join(' '))
  })

  it('CHORUS_CONFIG names the file as --config does; --config beats it', async () => {
    assert.equal((await statusOf([], { env: { CHORUS_CONFIG: config } })).replicas, 5)
    const other = join(procs.dir(), 'other.json')
    writeFileSync(other, JSON.stringify({ replicas: 1, listen: ['/ip4/127.0.0.1/tcp/0'], http: '127.0.0.1:0', dataDir }))
    assert.equal((await statusOf(['--config', other], { env: { CHORUS_CONFIG: config } })).replicas, 1)
  })

  it('nothing given → the default, 3', async () => {
    assert.equal((await statusOf(['--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--data-dir', dataDir])).replicas, 3)
  })
})
