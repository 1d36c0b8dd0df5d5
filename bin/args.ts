/**
 * The command line's settings: flags, environment variables and a JSON config file, merged in that order
 * of precedence (a flag beats the environment, which beats the file, which beats the defaults), and turned
 * into `createNode` options. Every value is checked here or by `resolveOptions`; nothing reaches the node
 * unvalidated.
 */

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { InvalidOptionError } from '../node/errors.js'
import type { ChorusNodeOptions } from '../node/index.js'
import { hostPort, integer } from '../node/config.js'
import { readCertificateFile } from './admission-files.js'

/** The subcommands. */
export const COMMANDS = ['start', 'bootstrap'] as const
export type Command = typeof COMMANDS[number]

/** One setting: its flag, its environment variable, its config-file key and how to read a string. */
interface Setting {
  flag: string
  env: string
  key: keyof FileConfig
  multiple?: boolean
  /** a flag without a value (`--xmpp-allow-plaintext`); in the environment and the file: true/false */
  boolean?: boolean
  help: string
}

/** What a config file may contain (JSON). Unknown keys are an error, so a typo never goes unnoticed. */
export interface FileConfig {
  role?: string
  listen?: string[]
  bootstrap?: string[]
  dataDir?: string
  replicas?: number
  writeQuorum?: number
  capacity?: number
  http?: string
  probeInterval?: number
  suspicionTimeout?: number
  senderRate?: number
  senderBurst?: number
  mesh?: string
  cert?: string
  xmpp?: string
  xmppDomain?: string
  xmppCert?: string
  xmppKey?: string
  xmppAllowPlaintext?: boolean
  xmppMaxConnections?: number
  xmppAdvertise?: string
  xmppMaxPerAddress?: number
  xmppMaxPreLogin?: number
  xmppMaxPreLoginPerAddress?: number
  xmppLoginsPerAddress?: number
  xmppRegistrationsPerAddress?: number
  xmppRegistrationsPerMinute?: number
  xmppMaxUnacked?: number
}

/** The settings, in the order `--help` lists them. */
export const SETTINGS: Setting[] = [
  { flag: 'role', env: 'CHORUS_ROLE', key: 'role', help: 'server (default), bootstrap or client' },
  { flag: 'listen', env: 'CHORUS_LISTEN', key: 'listen', multiple: true, help: 'multiaddr to listen on; repeatable (default /ip4/0.0.0.0/tcp/7400 and /ip4/0.0.0.0/tcp/7401/ws)' },
  { flag: 'bootstrap', env: 'CHORUS_BOOTSTRAP', key: 'bootstrap', multiple: true, help: 'multiaddr of a peer to join through, ending in /p2p/<peer id>; repeatable' },
  { flag: 'data-dir', env: 'CHORUS_DATA_DIR', key: 'dataDir', help: 'node key and database directory (default $CHORUS_HOME or ~/.chorus)' },
  { flag: 'replicas', env: 'CHORUS_REPLICAS', key: 'replicas', help: 'copies of every key, N (1-16, default 3)' },
  { flag: 'write-quorum', env: 'CHORUS_WRITE_QUORUM', key: 'writeQuorum', help: 'owners that must store a write before it is acknowledged, W (1-N, default 2)' },
  { flag: 'capacity', env: 'CHORUS_CAPACITY', key: 'capacity', help: 'declared capacity: this server\'s weight in ownership (1-1000, default 1)' },
  { flag: 'mesh', env: 'CHORUS_MESH', key: 'mesh', help: 'mesh id of a federated mesh (chorus mesh init): only servers it admitted own data (default: an open mesh)' },
  { flag: 'cert', env: 'CHORUS_CERT', key: 'cert', help: 'a server\'s admission certificate file (chorus mesh admit), with --mesh' },
  { flag: 'http', env: 'CHORUS_HTTP', key: 'http', help: 'HOST:PORT for /health, /status and /metrics (off by default)' },
  { flag: 'xmpp', env: 'CHORUS_XMPP', key: 'xmpp', help: 'HOST:PORT for the XMPP gateway: Jabber clients connect here (off by default; 5222 is usual)' },
  { flag: 'xmpp-domain', env: 'CHORUS_XMPP_DOMAIN', key: 'xmppDomain', help: 'the mesh\'s XMPP domain, the same on every gateway: JIDs are handle@domain (default chorus.localhost)' },
  {
    flag: 'xmpp-cert',
    env: 'CHORUS_XMPP_CERT',
    key: 'xmppCert',
    help: 'PEM certificate file for STARTTLS, the same on every gateway of the domain ' +
    '(default: a self-signed one made on first start, for one gateway on loopback: it redirects no client)'
  },
  { flag: 'xmpp-key', env: 'CHORUS_XMPP_KEY', key: 'xmppKey', help: 'PEM private key file of --xmpp-cert' },
  { flag: 'xmpp-allow-plaintext', env: 'CHORUS_XMPP_ALLOW_PLAINTEXT', key: 'xmppAllowPlaintext', boolean: true, help: 'let XMPP clients log in without STARTTLS (loopback tests only)' },
  { flag: 'xmpp-advertise', env: 'CHORUS_XMPP_ADVERTISE', key: 'xmppAdvertise', help: 'HOST:PORT full gateways send Jabber clients to when this one has room (default: the --xmpp address unless 0.0.0.0)' },
  { flag: 'xmpp-max-connections', env: 'CHORUS_XMPP_MAX_CONNECTIONS', key: 'xmppMaxConnections', help: 'XMPP connections served at once (1-1000000, default 10000)' },
  {
    flag: 'xmpp-max-per-address',
    env: 'CHORUS_XMPP_MAX_PER_ADDRESS',
    key: 'xmppMaxPerAddress',
    help: 'XMPP connections from one IPv4 address or IPv6 /64 (1-1000000, default 100)'
  },
  {
    flag: 'xmpp-max-pre-login',
    env: 'CHORUS_XMPP_MAX_PRE_LOGIN',
    key: 'xmppMaxPreLogin',
    help: 'XMPP connections not logged in yet (1-1000000, default 1000)'
  },
  {
    flag: 'xmpp-max-pre-login-per-address',
    env: 'CHORUS_XMPP_MAX_PRE_LOGIN_PER_ADDRESS',
    key: 'xmppMaxPreLoginPerAddress',
    help: 'of those, from one address (1-1000000, default 10)'
  },
  {
    flag: 'xmpp-logins-per-address',
    env: 'CHORUS_XMPP_LOGINS_PER_ADDRESS',
    key: 'xmppLoginsPerAddress',
    help: 'XMPP login attempts per address per minute (1-1000000, default 60)'
  },
  {
    flag: 'xmpp-registrations-per-address',
    env: 'CHORUS_XMPP_REGISTRATIONS_PER_ADDRESS',
    key: 'xmppRegistrationsPerAddress',
    help: 'in-band registrations per address per hour (1-1000000, default 10)'
  },
  {
    flag: 'xmpp-registrations-per-minute',
    env: 'CHORUS_XMPP_REGISTRATIONS_PER_MINUTE',
    key: 'xmppRegistrationsPerMinute',
    help: 'in-band registrations on this gateway per minute (1-1000000, default 30)'
  },
  {
    flag: 'xmpp-max-unacked',
    env: 'CHORUS_XMPP_MAX_UNACKED',
    key: 'xmppMaxUnacked',
    help: 'stanzas a stream-management stream keeps unacknowledged, connected or not (10-1000000, default 5000)'
  },
  { flag: 'probe-interval', env: 'CHORUS_PROBE_INTERVAL', key: 'probeInterval', help: 'ms between membership probes (50-60000, default 1000)' },
  { flag: 'suspicion-timeout', env: 'CHORUS_SUSPICION_TIMEOUT', key: 'suspicionTimeout', help: 'ms a silent peer stays suspect before it leaves the view (100-600000, default 4000)' },
  { flag: 'sender-rate', env: 'CHORUS_SENDER_RATE', key: 'senderRate', help: 'envelopes a second one sender may store through this server, sustained (1-1000000, default 100)' },
  { flag: 'sender-burst', env: 'CHORUS_SENDER_BURST', key: 'senderBurst', help: 'envelopes one sender may store in a burst (1-10000000, default 500)' }
]

const FILE_KEYS = new Set<string>(SETTINGS.map((s) => s.key))

/** Parsed command line: the command, whether help was asked, and the merged node options. */
export interface Invocation {
  command?: Command
  help: boolean
  version: boolean
  options: ChorusNodeOptions
}

/** Parse `argv` (without node and script) against `env`. Throws `InvalidOptionError` with the flag's name. */
export function parseInvocation (argv: string[], env: NodeJS.ProcessEnv = process.env): Invocation {
  const flagSpec: Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    config: { type: 'string' }
  }
  for (const s of SETTINGS) {
    flagSpec[s.flag] = s.boolean === true ? { type: 'boolean' } : { type: 'string', multiple: s.multiple === true }
  }
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: flagSpec, allowPositionals: true, strict: true })
  } catch (err: any) {
    throw new InvalidOptionError('command line', String(err.message).replace(/\. To specify.*$/s, '').replace(/^Unknown option/, 'unknown flag'))
  }
  const { values, positionals } = parsed
  if (positionals.length > 1) throw new InvalidOptionError('command line', `unexpected argument ${JSON.stringify(positionals[1])}`)
  const cmd = positionals[0]
  if (cmd != null && !(COMMANDS as readonly string[]).includes(cmd)) {
    throw new InvalidOptionError('command line', `unknown command ${JSON.stringify(cmd)} (try: ${COMMANDS.join(', ')})`)
  }
  const configPath = (values.config as string | undefined) ?? env.CHORUS_CONFIG
  const file = configPath != null ? readConfigFile(configPath) : {}
  const merged: Record<string, unknown> = { ...file }
  for (const s of SETTINGS) {
    const fromEnv = env[s.env]
    if (fromEnv != null && fromEnv !== '') {
      merged[s.key] = s.multiple === true ? fromEnv.split(',').map((x) => x.trim()).filter(Boolean) : fromEnv
    }
    const fromFlag = values[s.flag]
    if (fromFlag != null) merged[s.key] = fromFlag
  }
  if (cmd === 'bootstrap') {
    if (merged.role != null && merged.role !== 'bootstrap') throw new InvalidOptionError('--role', '`chorus bootstrap` always runs role bootstrap')
    merged.role = 'bootstrap'
  }
  return {
    command: cmd as Command | undefined,
    help: values.help === true,
    version: values.version === true,
    options: toNodeOptions(merged)
  }
}

function toNodeOptions (m: Record<string, unknown>): ChorusNodeOptions {
  const opts: ChorusNodeOptions = {}
  if (m.role != null) opts.role = String(m.role) as ChorusNodeOptions['role']
  if (m.listen != null) opts.listen = list('--listen', m.listen)
  if (m.bootstrap != null) opts.bootstrap = list('--bootstrap', m.bootstrap)
  if (m.dataDir != null) opts.dataDir = String(m.dataDir)
  if (m.replicas != null) opts.replicas = integer('--replicas', m.replicas, 1, 16)
  if (m.writeQuorum != null) opts.writeQuorum = integer('--write-quorum', m.writeQuorum, 1, 16)
  if (m.capacity != null) opts.capacity = integer('--capacity', m.capacity, 1, 1000)
  if (m.http != null) { hostPort('--http', m.http); opts.http = String(m.http) }
  if (m.mesh != null) opts.mesh = String(m.mesh)
  if (m.cert != null && m.mesh == null) throw new InvalidOptionError('--cert', 'a certificate belongs to a mesh: give --mesh MESH_ID too')
  if (m.cert != null) opts.certificate = readCertificateFile('--cert', String(m.cert))
  const membership: ChorusNodeOptions['membership'] = {}
  if (m.probeInterval != null) {
    membership.probeIntervalMs = integer('--probe-interval', m.probeInterval, 50, 60000)
    membership.probeTimeoutMs = Math.max(50, Math.min(1000, membership.probeIntervalMs))
    membership.rejoinIntervalMs = Math.max(200, membership.probeIntervalMs * 2)
  }
  if (m.suspicionTimeout != null) membership.suspicionTimeoutMs = integer('--suspicion-timeout', m.suspicionTimeout, 100, 600000)
  if (Object.keys(membership).length > 0) opts.membership = membership
  const replication: ChorusNodeOptions['replication'] = {}
  if (m.senderRate != null) replication.senderRate = integer('--sender-rate', m.senderRate, 1, 1_000_000)
  if (m.senderBurst != null) replication.senderBurst = integer('--sender-burst', m.senderBurst, 1, 10_000_000)
  if (Object.keys(replication).length > 0) opts.replication = replication
  if (m.xmpp != null) {
    hostPort('--xmpp', m.xmpp)
    opts.xmpp = { listen: String(m.xmpp), allowPlaintext: bool('--xmpp-allow-plaintext', m.xmppAllowPlaintext ?? false) }
    if (m.xmppDomain != null) opts.xmpp.domain = String(m.xmppDomain)
    if ((m.xmppCert == null) !== (m.xmppKey == null)) throw new InvalidOptionError(m.xmppCert == null ? '--xmpp-cert' : '--xmpp-key', 'give both --xmpp-cert and --xmpp-key, or neither')
    if (m.xmppCert != null) opts.xmpp.cert = readPem('--xmpp-cert', String(m.xmppCert))
    if (m.xmppKey != null) opts.xmpp.key = readPem('--xmpp-key', String(m.xmppKey))
    if (m.xmppMaxConnections != null) opts.xmpp.maxConnections = integer('--xmpp-max-connections', m.xmppMaxConnections, 1, 1_000_000)
    for (const [k, flag, option, min] of XMPP_BUDGETS) {
      if (m[k] != null) opts.xmpp[option] = integer(`--${flag}`, m[k], min, 1_000_000)
    }
    if (m.xmppAdvertise != null) { hostPort('--xmpp-advertise', m.xmppAdvertise); opts.xmpp.advertise = String(m.xmppAdvertise) }
  } else {
    const gatewayOnly = [['xmppDomain', 'xmpp-domain'], ['xmppCert', 'xmpp-cert'], ['xmppKey', 'xmpp-key'],
      ['xmppMaxConnections', 'xmpp-max-connections'], ['xmppAdvertise', 'xmpp-advertise'], ...XMPP_BUDGETS] as const
    for (const [k, flag] of gatewayOnly) {
      if (m[k] != null) throw new InvalidOptionError(`--${flag}`, 'belongs to the XMPP gateway: give --xmpp HOST:PORT too')
    }
  }
  return opts
}

/** The gateway's budgets: file key, flag, `xmpp` option, least value (config.ts checks them again). */
const XMPP_BUDGETS = [
  ['xmppMaxPerAddress', 'xmpp-max-per-address', 'maxConnectionsPerAddress', 1],
  ['xmppMaxPreLogin', 'xmpp-max-pre-login', 'maxPreLogin', 1],
  ['xmppMaxPreLoginPerAddress', 'xmpp-max-pre-login-per-address', 'maxPreLoginPerAddress', 1],
  ['xmppLoginsPerAddress', 'xmpp-logins-per-address', 'loginsPerAddress', 1],
  ['xmppRegistrationsPerAddress', 'xmpp-registrations-per-address', 'registrationsPerAddress', 1],
  ['xmppRegistrationsPerMinute', 'xmpp-registrations-per-minute', 'registrationsPerMinute', 1],
  ['xmppMaxUnacked', 'xmpp-max-unacked', 'maxUnacked', 10]
] as const

/** A boolean setting: a flag is true; the environment and the file say true/false (or 1/0). */
function bool (name: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0' || v === '') return false
  throw new InvalidOptionError(name, `must be true or false (got ${JSON.stringify(v)})`)
}

/** A PEM file, read and bounded. */
function readPem (name: string, path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    throw new InvalidOptionError(name, `cannot read ${path}: ${err.code ?? err.message}`)
  }
  if (text.length > 256 * 1024 || !text.includes('-----BEGIN')) throw new InvalidOptionError(name, `${path} is not a PEM file`)
  return text
}

function list (name: string, v: unknown): string[] {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v
  if (typeof v === 'string') return [v]
  throw new InvalidOptionError(name, 'must be a list of multiaddrs')
}

function readConfigFile (path: string): FileConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    throw new InvalidOptionError('--config', `cannot read ${path}: ${err.code ?? err.message}`)
  }
  if (text.length > 1024 * 1024) throw new InvalidOptionError('--config', `${path} is larger than 1 MiB`)
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err: any) {
    throw new InvalidOptionError('--config', `${path} is not valid JSON: ${err.message}`)
  }
  if (data == null || typeof data !== 'object' || Array.isArray(data)) throw new InvalidOptionError('--config', `${path} must hold a JSON object`)
  for (const key of Object.keys(data)) {
    if (!FILE_KEYS.has(key)) throw new InvalidOptionError('--config', `${path}: unknown key ${JSON.stringify(key)} (known: ${[...FILE_KEYS].join(', ')})`)
  }
  return data as FileConfig
}

/** The help text of `chorus` or of one command. */
export function helpText (command?: Command): string {
  const flags = SETTINGS.map((s) => `  --${s.flag.padEnd(20)} ${s.help}\n  ${''.padEnd(22)} env ${s.env}`).join('\n')
  const common = [
    flags,
    `  --${'config FILE'.padEnd(20)} JSON file with any of: ${[...FILE_KEYS].join(', ')}`,
    `  ${''.padEnd(22)} env CHORUS_CONFIG`,
    `  ${'-h, --help'.padEnd(22)} this help`,
    '',
    'Precedence: flag > environment variable > config file > default.'
  ].join('\n')
  if (command === 'start') {
    return [
      'Usage: chorus start [flags]',
      '',
      'Start a node and join the mesh through --bootstrap peers (with none, it is a mesh of one).',
      'Prints its peer id and the multiaddrs other nodes pass to --bootstrap; logs peers joining and leaving;',
      'stops cleanly on SIGINT or SIGTERM.',
      '',
      common,
      ''
    ].join('\n')
  }
  if (command === 'bootstrap') {
    return [
      'Usage: chorus bootstrap [flags]',
      '',
      'Run a bootstrap peer: a stable, well-known address that helps new nodes find the mesh. It stores no',
      'chat data and takes no part in ownership. Same flags as start (--role is fixed to bootstrap).',
      '',
      common,
      ''
    ].join('\n')
  }
  return [
    'Usage: chorus <command> [flags]',
    '',
    'Chorus: a peer-to-peer federated chat mesh.',
    '',
    'Commands:',
    '  start       run a node (role server by default)',
    '  bootstrap   run a bootstrap peer',
    "  id          print a data dir's peer id (creating its key): what chorus mesh admit needs",
    '  mesh        federated mesh admission: init, delegate, admit, revoke, inspect',
    '  chat        an interactive chat client (--as HANDLE): direct messages with ticks, rooms, presence, secret chats',
    "  send        send a message as a user (--as): chorus send --as alice bob 'hi', or --room ROOM_ID",
    "  read        print a user's messages; --follow for new ones as they arrive, --json for scripts",
    '  rooms       list the rooms a user is in: id, name, role, members',
    '  demo        the whole system on this machine, narrated: 5 servers, chat, a kill and a repair',
    '',
    'chorus <command> --help shows its flags. chorus --version prints the version.',
    ''
  ].join('\n')
}
