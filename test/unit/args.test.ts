import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseInvocation } from '../../bin/args.js'
import { checkOptions, resolveOptions } from '../../node/config.js'
import { TempDirs } from '../helpers/wait.js'

const PEER = '12D3KooWHFrmLWTTDD4NodngtRMEVYUvHBVqsFQqZu4V2k8DaUc5'
const BOOT_A = `/ip4/127.0.0.1/tcp/7400/p2p/${PEER}`
const BOOT_B = `/ip4/127.0.0.2/tcp/7400/p2p/${PEER}`

function assertInvalid (argv: string[], env: NodeJS.ProcessEnv, option: string): void {
  assert.throws(() => parseInvocation(argv, env), (err: any) => {
    assert.equal(err.name, 'InvalidOptionError', `${argv.join(' ')}: ${err.name} ${err.message}`)
    assert.equal(err.code, 'ERR_INVALID_OPTION')
    assert.equal(err.option, option, `${argv.join(' ')} blames ${err.option} (${err.message})`)
    return true
  }, `${argv.join(' ')} was accepted`)
}

describe('parseInvocation (bin/args.ts)', () => {
  const dirs = new TempDirs()
  let dir: string
  const config = (data: unknown): string => {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(path, typeof data === 'string' ? data : JSON.stringify(data))
    return path
  }
  beforeEach(() => { dir = dirs.make() })
  after(() => { dirs.cleanup() })

  it('parses a bare command with no settings', () => {
    const inv = parseInvocation(['start'], {})
    assert.equal(inv.command, 'start')
    assert.equal(inv.help, false)
    assert.equal(inv.version, false)
    assert.deepEqual(inv.options, {})
    assert.deepEqual(parseInvocation([], {}).command, undefined)
    assert.equal(parseInvocation(['start', '--help'], {}).help, true)
    assert.equal(parseInvocation(['-v'], {}).version, true)
  })

  it('takes a flag over the environment, the environment over the file, the file over the default', () => {
    const file = config({ replicas: 5, capacity: 7, http: '127.0.0.1:9001', role: 'client' })
    const env = { CHORUS_CONFIG: file, CHORUS_REPLICAS: '4', CHORUS_CAPACITY: '6' }
    const { options } = parseInvocation(['start', '--replicas', '3'], env)
    assert.equal(options.replicas, 3, 'flag beats env and file')
    assert.equal(options.capacity, 6, 'env beats file')
    assert.equal(options.http, '127.0.0.1:9001', 'file beats default')
    assert.equal(options.role, 'client', 'file beats default')
    assert.equal(options.writeQuorum, undefined, 'untouched settings stay for resolveOptions to default')
    assert.equal(resolveOptions({ ...options, dataDir: dir }).writeQuorum, 2)
  })

  it('takes --config over CHORUS_CONFIG', () => {
    const a = config({ capacity: 2 })
    const b = config({ capacity: 3 })
    assert.equal(parseInvocation(['start', '--config', b], { CHORUS_CONFIG: a }).options.capacity, 3)
  })

  it('repeats --listen and --bootstrap', () => {
    const { options } = parseInvocation(['start', '--listen', '/ip4/127.0.0.1/tcp/1', '--listen', '/ip4/127.0.0.1/tcp/2', '--bootstrap', BOOT_A, '--bootstrap', BOOT_B], {})
    assert.deepEqual(options.listen, ['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'])
    assert.deepEqual(options.bootstrap, [BOOT_A, BOOT_B])
  })

  it('splits comma lists in the environment and ignores empty variables', () => {
    const { options } = parseInvocation(['start'], { CHORUS_BOOTSTRAP: ` ${BOOT_A} ,${BOOT_B},`, CHORUS_LISTEN: '/ip4/127.0.0.1/tcp/1', CHORUS_HTTP: '' })
    assert.deepEqual(options.bootstrap, [BOOT_A, BOOT_B])
    assert.deepEqual(options.listen, ['/ip4/127.0.0.1/tcp/1'])
    assert.equal(options.http, undefined)
  })

  it('maps every environment variable to its option', () => {
    const { options } = parseInvocation(['start'], {
      CHORUS_ROLE: 'client',
      CHORUS_DATA_DIR: dir,
      CHORUS_REPLICAS: '5',
      CHORUS_WRITE_QUORUM: '3',
      CHORUS_CAPACITY: '9',
      CHORUS_HTTP: '127.0.0.1:0',
      CHORUS_PROBE_INTERVAL: '200',
      CHORUS_SUSPICION_TIMEOUT: '900'
    })
    assert.deepEqual(options, {
      role: 'client',
      dataDir: dir,
      replicas: 5,
      writeQuorum: 3,
      capacity: 9,
      http: '127.0.0.1:0',
      membership: { probeIntervalMs: 200, probeTimeoutMs: 200, rejoinIntervalMs: 400, suspicionTimeoutMs: 900 }
    })
  })

  it('reads lists from the config file', () => {
    const { options } = parseInvocation(['start', '--config', config({ listen: ['/ip4/127.0.0.1/tcp/1'], bootstrap: [BOOT_A] })], {})
    assert.deepEqual(options.listen, ['/ip4/127.0.0.1/tcp/1'])
    assert.deepEqual(options.bootstrap, [BOOT_A])
  })

  it('rejects an unknown flag, an unknown command and a stray argument', () => {
    assertInvalid(['start', '--replica', '3'], {}, 'command line')
    assertInvalid(['serve'], {}, 'command line')
    assertInvalid(['start', 'now'], {}, 'command line')
    assertInvalid(['start', '--replicas'], {}, 'command line')
  })

  it('rejects an unknown config key, invalid JSON, a non-object and a missing file', () => {
    assertInvalid(['start', '--config', config({ replica: 3 })], {}, '--config')
    assertInvalid(['start', '--config', config('{"replicas": 3,')], {}, '--config')
    assertInvalid(['start', '--config', config('[1, 2]')], {}, '--config')
    assertInvalid(['start', '--config', config('null')], {}, '--config')
    assertInvalid(['start', '--config', join(dir, 'missing.json')], {}, '--config')
    assertInvalid(['start'], { CHORUS_CONFIG: config('nope') }, '--config')
  })

  it('rejects bad values with the flag\'s name, wherever they came from', () => {
    assertInvalid(['start', '--replicas', 'three'], {}, '--replicas')
    assertInvalid(['start'], { CHORUS_REPLICAS: '17' }, '--replicas')
    assertInvalid(['start', '--config', config({ capacity: 0 })], {}, '--capacity')
    assertInvalid(['start', '--write-quorum', '0'], {}, '--write-quorum')
    assertInvalid(['start', '--http', 'localhost'], {}, '--http')
    assertInvalid(['start', '--config', config({ listen: 5 })], {}, '--listen')
  })

  it('`bootstrap` forces role bootstrap, and refuses another role', () => {
    assert.equal(parseInvocation(['bootstrap'], {}).options.role, 'bootstrap')
    assert.equal(parseInvocation(['bootstrap', '--role', 'bootstrap'], {}).options.role, 'bootstrap')
    assert.equal(parseInvocation(['bootstrap'], { CHORUS_ROLE: 'bootstrap' }).command, 'bootstrap')
    assertInvalid(['bootstrap', '--role', 'server'], {}, '--role')
    assertInvalid(['bootstrap'], { CHORUS_ROLE: 'client' }, '--role')
  })

  it('bounds --probe-interval to 50..60000 and derives the probe timeout and rejoin interval', () => {
    assertInvalid(['start', '--probe-interval', '49'], {}, '--probe-interval')
    assertInvalid(['start', '--probe-interval', '60001'], {}, '--probe-interval')
    assertInvalid(['start', '--probe-interval', '1.5'], {}, '--probe-interval')
    assert.deepEqual(parseInvocation(['start', '--probe-interval', '50'], {}).options.membership, {
      probeIntervalMs: 50,
      probeTimeoutMs: 50,
      rejoinIntervalMs: 200
    })
    assert.deepEqual(parseInvocation(['start', '--probe-interval', '60000'], {}).options.membership, {
      probeIntervalMs: 60000,
      probeTimeoutMs: 1000,
      rejoinIntervalMs: 120000
    })
  })

  it('bounds --suspicion-timeout to 100..600000', () => {
    assertInvalid(['start', '--suspicion-timeout', '99'], {}, '--suspicion-timeout')
    assertInvalid(['start', '--suspicion-timeout', '600001'], {}, '--suspicion-timeout')
    assert.deepEqual(parseInvocation(['start', '--suspicion-timeout', '100'], {}).options.membership, { suspicionTimeoutMs: 100 })
  })

  it('--xmpp turns the gateway on; its flags, environment variables and file keys need it, and are checked', () => {
    const pem = join(dir, 'gw.pem')
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    const { options } = parseInvocation(['start', '--xmpp', '127.0.0.1:5222', '--xmpp-domain', 'chat.example.org', '--xmpp-allow-plaintext',
      '--xmpp-cert', pem, '--xmpp-key', pem, '--xmpp-max-connections', '50'], {})
    assert.equal(options.xmpp?.listen, '127.0.0.1:5222')
    assert.equal(options.xmpp?.domain, 'chat.example.org')
    assert.equal(options.xmpp?.allowPlaintext, true)
    assert.equal(options.xmpp?.maxConnections, 50)
    assert.match(options.xmpp?.cert ?? '', /BEGIN CERTIFICATE/)
    assert.equal(
      parseInvocation(['start'], { CHORUS_XMPP: '127.0.0.1:0', CHORUS_XMPP_ALLOW_PLAINTEXT: 'false' }).options.xmpp?.allowPlaintext,
      false
    )
    assert.equal(
      parseInvocation(['start', '--config', config({ xmpp: '127.0.0.1:0', xmppAllowPlaintext: true })], {}).options.xmpp?.allowPlaintext,
      true
    )
    assertInvalid(['start', '--xmpp', 'localhost'], {}, '--xmpp')
    assertInvalid(['start', '--xmpp-domain', 'chat.example.org'], {}, '--xmpp-domain')
    assertInvalid(['start', '--xmpp', '127.0.0.1:0', '--xmpp-cert', pem], {}, '--xmpp-key')
    assertInvalid(['start', '--xmpp', '127.0.0.1:0', '--xmpp-cert', join(dir, 'missing.pem'), '--xmpp-key', pem], {}, '--xmpp-cert')
    assertInvalid(['start'], { CHORUS_XMPP: '127.0.0.1:0', CHORUS_XMPP_ALLOW_PLAINTEXT: 'maybe' }, '--xmpp-allow-plaintext')
    assertInvalid(['start', '--xmpp', '127.0.0.1:0', '--xmpp-max-connections', '0'], {}, '--xmpp-max-connections')
    // the node checks the rest: the domain's shape, and that only a server runs a gateway
    assert.throws(() => resolveOptions({ dataDir: dir, xmpp: { listen: '127.0.0.1:0', domain: 'Not A Domain' } }), /xmpp.domain/)
    assert.throws(() => resolveOptions({ dataDir: dir, role: 'client', xmpp: { listen: '127.0.0.1:0' } }), /only a server runs the XMPP gateway/)
    assert.throws(() => resolveOptions({ dataDir: dir, xmpp: { listen: '127.0.0.1:0', stanzaRate: 0 } }), /xmpp.stanzaRate/)
    assert.throws(() => checkOptions({ dataDir: dir, xmpp: { listen: '127.0.0.1:0', bogus: 1 } }), /xmpp.bogus/)
  })

  it('the gateway\'s budgets before login and per address are flags, variables and file keys, checked', () => {
    const argv = ['start', '--xmpp', '127.0.0.1:0', '--xmpp-max-per-address', '500',
      '--xmpp-max-pre-login-per-address', '50', '--xmpp-registrations-per-address', '3', '--xmpp-max-unacked', '100']
    const { xmpp } = parseInvocation(argv, { CHORUS_XMPP_LOGINS_PER_ADDRESS: '120' }).options
    assert.deepEqual([xmpp?.maxConnectionsPerAddress, xmpp?.maxPreLoginPerAddress, xmpp?.registrationsPerAddress,
      xmpp?.maxUnacked, xmpp?.loginsPerAddress], [500, 50, 3, 100, 120])
    const file = config({ xmpp: '127.0.0.1:0', xmppRegistrationsPerMinute: 5 })
    assert.equal(parseInvocation(['start', '--config', file], {}).options.xmpp?.registrationsPerMinute, 5)
    assertInvalid(['start', '--xmpp', '127.0.0.1:0', '--xmpp-max-pre-login', '0'], {}, '--xmpp-max-pre-login')
    assertInvalid(['start', '--xmpp', '127.0.0.1:0', '--xmpp-max-unacked', '9'], {}, '--xmpp-max-unacked')
    assertInvalid(['start', '--xmpp-logins-per-address', '5'], {}, '--xmpp-logins-per-address')
    const r = resolveOptions({ dataDir: dir, xmpp: { listen: '127.0.0.1:0' } }).xmpp
    assert.deepEqual([r?.maxConnectionsPerAddress, r?.maxPreLogin, r?.maxPreLoginPerAddress, r?.loginsPerAddress,
      r?.registrationsPerAddress, r?.registrationsPerMinute, r?.maxUnacked], [100, 1000, 10, 60, 10, 30, 5000])
    const zero = { listen: '127.0.0.1:0', registrationsPerMinute: 0 }
    assert.throws(() => resolveOptions({ dataDir: dir, xmpp: zero }), /xmpp.registrationsPerMinute/)
  })
})
