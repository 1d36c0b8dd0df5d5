import { strict as assert } from 'node:assert'
import { statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkOptions } from '../../node/config.js'
import { TempDirs } from '../helpers/wait.js'

const PEER = '12D3KooWHFrmLWTTDD4NodngtRMEVYUvHBVqsFQqZu4V2k8DaUc5'

/** `options` are what a JavaScript caller or a parsed file could pass: anything. */
function assertInvalid (options: unknown, option: string): void {
  assert.throws(() => checkOptions(options), (err: any) => {
    assert.equal(err.name, 'InvalidOptionError', `${JSON.stringify(options)}: ${err.name} ${err.message}`)
    assert.equal(err.code, 'ERR_INVALID_OPTION')
    assert.equal(err.option, option, `${JSON.stringify(options)} blames ${err.option}`)
    return true
  })
}

describe('resolveOptions (node/config.ts)', () => {
  const dirs = new TempDirs()
  let dataDir: string
  beforeEach(() => { dataDir = dirs.make() })
  after(() => { dirs.cleanup() })

  it('applies the defaults', () => {
    const o = checkOptions({ dataDir })
    assert.equal(o.role, 'server')
    assert.equal(o.dataDir, dataDir)
    assert.deepEqual(o.listen.map(String), ['/ip4/0.0.0.0/tcp/7400', '/ip4/0.0.0.0/tcp/7401/ws'])
    assert.deepEqual(o.bootstrap, [])
    assert.equal(o.replicas, 3)
    assert.equal(o.writeQuorum, 2)
    assert.equal(o.capacity, 1)
    assert.equal(o.http, undefined)
    assert.equal(o.allowPrivateAddresses, false)
    assert.deepEqual(o.membership, {})
  })

  it('defaults the data dir to $CHORUS_HOME', () => {
    const saved = process.env.CHORUS_HOME
    process.env.CHORUS_HOME = join(dataDir, 'home')
    try {
      assert.equal(checkOptions({}).dataDir, join(dataDir, 'home'))
    } finally {
      if (saved == null) delete process.env.CHORUS_HOME
      else process.env.CHORUS_HOME = saved
    }
  })

  it('gives a client an ephemeral loopback port', () => {
    const o = checkOptions({ dataDir, role: 'client' })
    assert.deepEqual(o.listen.map(String), ['/ip4/127.0.0.1/tcp/0'])
    assert.equal(o.allowPrivateAddresses, true)
  })

  it('caps the default write quorum at replicas', () => {
    assert.equal(checkOptions({ dataDir, replicas: 1 }).writeQuorum, 1)
  })

  it('accepts the bounds and whole numbers written as strings', () => {
    const o = checkOptions({ dataDir, replicas: 16, writeQuorum: 16, capacity: 1000 })
    assert.deepEqual([o.replicas, o.writeQuorum, o.capacity], [16, 16, 1000])
    assert.equal(checkOptions({ dataDir, replicas: '5' }).replicas, 5)
  })

  it('parses http HOST:PORT, IPv6 included', () => {
    assert.deepEqual(checkOptions({ dataDir, http: '127.0.0.1:8080' }).http, { host: '127.0.0.1', port: 8080 })
    assert.deepEqual(checkOptions({ dataDir, http: '[::1]:0' }).http, { host: '::1', port: 0 })
  })

  it('creates a missing data directory (and its parents) with mode 0700', () => {
    const dir = join(dataDir, 'a', 'b')
    assert.equal(checkOptions({ dataDir: dir }).dataDir, dir)
    assert.equal(statSync(dir).mode & 0o777, 0o700)
  })

  it('rejects a bad role', () => {
    assertInvalid({ dataDir, role: 'admin' }, 'role')
    assertInvalid({ dataDir, role: '' }, 'role')
  })

  it('rejects replicas outside 1..16 or not whole', () => {
    for (const replicas of [0, 17, 1.5, 'x', -1, NaN]) assertInvalid({ dataDir, replicas }, 'replicas')
  })

  it('rejects a write quorum above replicas or below 1', () => {
    assertInvalid({ dataDir, replicas: 3, writeQuorum: 4 }, 'writeQuorum')
    assertInvalid({ dataDir, writeQuorum: 0 }, 'writeQuorum')
  })

  it('rejects a capacity outside 1..1000', () => {
    for (const capacity of [0, 1001, 2.5, 'big']) assertInvalid({ dataDir, capacity }, 'capacity')
  })

  it('rejects listen addresses that are not TCP multiaddrs or carry /p2p', () => {
    assertInvalid({ dataDir, listen: ['localhost:7400'] }, 'listen')
    assertInvalid({ dataDir, listen: ['/ip4/127.0.0.1/udp/7400'] }, 'listen')
    assertInvalid({ dataDir, listen: [`/ip4/127.0.0.1/tcp/7400/p2p/${PEER}`] }, 'listen')
    assertInvalid({ dataDir, listen: [42] }, 'listen')
    assertInvalid({ dataDir, listen: '/ip4/127.0.0.1/tcp/0' }, 'listen')
  })

  it('rejects a bootstrap address without /p2p or that does not parse', () => {
    assertInvalid({ dataDir, bootstrap: ['/ip4/127.0.0.1/tcp/7400'] }, 'bootstrap')
    assertInvalid({ dataDir, bootstrap: ['/nonsense'] }, 'bootstrap')
    assert.equal(checkOptions({ dataDir, bootstrap: [`/ip4/127.0.0.1/tcp/7400/p2p/${PEER}`] }).bootstrap.length, 1)
  })

  it('rejects more than 32 addresses', () => {
    const listen = Array.from({ length: 33 }, (_, i) => `/ip4/127.0.0.1/tcp/${7000 + i}`)
    assertInvalid({ dataDir, listen }, 'listen')
    assert.equal(checkOptions({ dataDir, listen: listen.slice(0, 32) }).listen.length, 32)
    assertInvalid({ dataDir, bootstrap: Array.from({ length: 33 }, () => `/ip4/127.0.0.1/tcp/7400/p2p/${PEER}`) }, 'bootstrap')
  })

  it('rejects a bad http address', () => {
    for (const http of ['8080', 'localhost', '127.0.0.1:99999', '127.0.0.1:', ':8080', 'a b:80', 8080]) {
      assertInvalid({ dataDir, http }, 'http')
    }
  })

  it('rejects an empty data dir and reports an unusable one as DataDirError', () => {
    assertInvalid({ dataDir: '' }, 'dataDir')
    const file = join(dataDir, 'file')
    writeFileSync(file, 'x')
    assert.throws(() => checkOptions({ dataDir: join(file, 'sub') }), (err: any) => err.name === 'DataDirError' && err.code === 'ERR_DATA_DIR')
  })

  it('rejects options that are not an object', () => {
    assertInvalid('nope', 'options')
  })

  // "Every value is checked here": membership timings reach setInterval unchecked, so 0 is a hot loop.
  it('rejects membership timings that are not positive whole numbers', () => {
    for (const membership of [{ probeIntervalMs: 0 }, { probeTimeoutMs: -1 }, { suspicionTimeoutMs: 'soon' },
      { maxMembers: 1.5 }]) {
      assert.throws(() => checkOptions({ dataDir, membership }), (err: any) => {
        assert.equal(err.name, 'InvalidOptionError', `${JSON.stringify(membership)} accepted`)
        assert.match(err.option, /^membership/)
        return true
      }, `membership ${JSON.stringify(membership)} was accepted`)
    }
  })

  it('infers allowPrivateAddresses from loopback listen or bootstrap addresses, unless told', () => {
    assert.equal(checkOptions({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] }).allowPrivateAddresses, true)
    assert.equal(checkOptions({ dataDir, listen: ['/ip6/::1/tcp/0'] }).allowPrivateAddresses, true)
    assert.equal(checkOptions({ dataDir, listen: ['/ip4/0.0.0.0/tcp/0'], bootstrap: [`/ip4/127.0.0.1/tcp/7400/p2p/${PEER}`] }).allowPrivateAddresses, true)
    assert.equal(checkOptions({ dataDir, listen: ['/ip4/0.0.0.0/tcp/0'], bootstrap: [`/dns4/localhost/tcp/7400/p2p/${PEER}`] }).allowPrivateAddresses, true)
    assert.equal(checkOptions({ dataDir, listen: ['/ip4/0.0.0.0/tcp/0'], bootstrap: [`/ip4/203.0.113.9/tcp/7400/p2p/${PEER}`] }).allowPrivateAddresses, false)
    assert.equal(checkOptions({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], allowPrivateAddresses: false }).allowPrivateAddresses, false)
  })

  it('checks allowPrivateAddresses and connectionGater, and reads a section\'s whole numbers written as strings', () => {
    assertInvalid({ dataDir, allowPrivateAddresses: 'no' }, 'allowPrivateAddresses')
    assertInvalid({ dataDir, connectionGater: 'none' }, 'connectionGater')
    const { membership } = checkOptions({ dataDir, membership: { probeIntervalMs: '500' } })
    assert.deepEqual(membership, { probeIntervalMs: 500 })
  })
})
