/**
 * Prosody (https://prosody.im, Debian's `prosody` package) as the xmpp benchmark's reference server: one
 * foreground process on loopback, started with a configuration of its own in a temporary directory
 * (its data, pid file, log and certificates there; no s2s, no other listeners), and always stopped and
 * removed. Two set-ups: everything in memory (no archive, no offline storage), or every message archived
 * (XEP-0313, mod_mam) in Prosody's file storage.
 */

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { generate } from 'selfsigned'
import { DeadlineError, sleep } from './clock.js'

/** How long Prosody may take to listen. */
const START_TIMEOUT_MS = 20_000
/** How long Prosody may take to exit on SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5000
/** Archive items per user before Prosody starts truncating (its default is 10,000): never, in a run. */
const ARCHIVE_ITEM_LIMIT = 1_000_000_000

/** A Prosody set-up. */
export interface ProsodyOptions {
  /** archive every message (mod_mam, file storage); otherwise everything in memory */
  archive: boolean
  domain: string
  /** offer STARTTLS with a self-signed certificate */
  tls: boolean
}

/** A running Prosody. */
export interface ProsodyServer {
  /** the c2s `host:port` */
  address: string
  pid: number
  version: string
  /** resident memory of the process, bytes (`VmRSS`) */
  rssBytes: () => number
  /** CPU time (user + system) of the process so far, ms */
  cpuMs: () => number
  /** SIGTERM, wait (bounded), SIGKILL if needed; remove the directory. Safe to call twice. */
  stop: () => Promise<void>
}

/** The `prosody` executable on PATH, or undefined when Prosody is not installed. */
export function findProsody (): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(delimiter)) {
    const path = join(dir, 'prosody')
    if (dir !== '' && existsSync(path)) return path
  }
  return undefined
}

/** A free TCP port on loopback (free when asked; taken by Prosody a moment later). */
async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const a = server.address()
      server.close(() => { resolve(typeof a === 'object' && a != null ? a.port : 0) })
    })
  })
}

/** The configuration file of one set-up (Lua). */
export function prosodyConfig (dir: string, port: number, o: ProsodyOptions): string {
  // a Lua string literal: JSON's quoting is Lua's for the plain ASCII paths and names used here
  const q = (s: string): string => JSON.stringify(s)
  const modules = ['roster', 'saslauth', 'disco', 'register', 'ping', ...(o.tls ? ['tls'] : []), ...(o.archive ? ['mam'] : [])]
  return [
    '-- written by the Chorus xmpp benchmark; removed with its directory',
    `data_path = ${q(join(dir, 'data'))}`,
    `pidfile = ${q(join(dir, 'prosody.pid'))}`,
    `certificates = ${q(join(dir, 'certs'))}`,
    `log = { info = ${q(join(dir, 'prosody.log'))} }`,
    'daemonize = false',
    // mod_posix (loaded on every POSIX system) refuses to run as root unless told: a benchmark in a
    // container often runs as root
    'run_as_root = true',
    'interfaces = { "127.0.0.1" }',
    `c2s_ports = { ${port} }`,
    'c2s_direct_tls_ports = { }',
    'legacy_ssl_ports = { }',
    's2s_ports = { }',
    `c2s_require_encryption = ${String(o.tls)}`,
    'allow_unencrypted_plain_auth = true',
    'authentication = "internal_hashed"',
    'allow_registration = true',
    // TCP_NODELAY, as Chorus's gateway sets it: with Nagle's algorithm on (Prosody's default) a small
    // stanza waits behind an unacknowledged one, which cost Prosody half its msgs/s here
    'network_settings = { nagle = false }',
    `storage = ${q(o.archive ? 'internal' : 'memory')}`,
    `modules_enabled = { ${modules.map(q).join(', ')} }`,
    'modules_disabled = { "s2s", "s2s_auth_certs", "offline" }',
    ...(o.archive ? ['default_archive_policy = true', 'archive_expires_after = "never"', `storage_archive_item_limit = ${ARCHIVE_ITEM_LIMIT}`] : []),
    '',
    `VirtualHost ${q(o.domain)}`,
    ...(o.tls ? [`  ssl = { certificate = ${q(join(dir, 'certs', `${o.domain}.crt`))}, key = ${q(join(dir, 'certs', `${o.domain}.key`))} }`] : []),
    ''
  ].join('\n')
}

/** Start Prosody with `o` and wait (bounded) until it accepts connections. */
export async function startProsody (binary: string, o: ProsodyOptions): Promise<ProsodyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-bench-prosody-'))
  let child: ChildProcess | undefined
  const stop = async (): Promise<void> => {
    if (child != null && child.exitCode == null && child.signalCode == null) {
      const exited = new Promise<void>((resolve) => { child?.once('exit', () => { resolve() }) })
      child.kill('SIGTERM')
      const timer = setTimeout(() => { child?.kill('SIGKILL') }, STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    mkdirSync(join(dir, 'data'), { mode: 0o750 })
    mkdirSync(join(dir, 'certs'), { mode: 0o750 })
    if (o.tls) await writeCertificate(join(dir, 'certs'), o.domain)
    const port = await freePort()
    const config = join(dir, 'prosody.cfg.lua')
    writeFileSync(config, prosodyConfig(dir, port, o))
    const proc = spawn(binary, ['-F', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    let output = ''
    const keep = (b: Buffer): void => { output = (output + b.toString()).slice(-4096) }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    // if the benchmark dies first, Prosody must not outlive it, nor its directory
    const kill = (): void => { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) }
    process.once('exit', kill)
    proc.once('exit', () => { process.off('exit', kill) })
    await awaitListening(port, proc, () => `${output.trim().split('\n').pop() ?? ''} ${logTail(dir)}`)
    return {
      address: `127.0.0.1:${port}`,
      pid: proc.pid as number,
      version: /Prosody version (\S+)/.exec(readLog(dir))?.[1] ?? 'unknown',
      rssBytes: () => procStatusKiB(proc.pid as number, 'VmRSS') * 1024,
      cpuMs: () => procCpuMs(proc.pid as number),
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Poll a TCP connect to `port` until it succeeds, the process exits, or the deadline passes. */
async function awaitListening (port: number, proc: ChildProcess, why: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (proc.exitCode != null || proc.signalCode != null) throw new Error(`prosody exited (${proc.exitCode ?? proc.signalCode}) before it listened: ${why()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.once('error', () => { resolve(false) })
    })
    if (ok) return
    await sleep(100)
  }
  throw new DeadlineError(`prosody did not listen on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms: ${why()}`)
}

/** A self-signed certificate for `domain`, as Prosody reads it: `<domain>.crt` and `<domain>.key`. */
async function writeCertificate (dir: string, domain: string): Promise<void> {
  const pems = await generate([{ name: 'commonName', value: domain }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: domain }] }]
  })
  writeFileSync(join(dir, `${domain}.key`), pems.private, { mode: 0o600 })
  writeFileSync(join(dir, `${domain}.crt`), pems.cert)
}

/** Prosody's log so far ('' before it wrote one). */
function readLog (dir: string): string {
  try {
    return readFileSync(join(dir, 'prosody.log'), 'utf8')
  } catch {
    return ''
  }
}

/** The last error or warning line of Prosody's log, if any. */
function logTail (dir: string): string {
  return readLog(dir).split('\n').filter((l) => /\t(error|warn)\t/.test(l)).pop() ?? ''
}

/** A `kB` field of `/proc/<pid>/status` (0 when the process is gone). */
function procStatusKiB (pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m == null ? 0 : Number(m[1])
  } catch {
    return 0
  }
}

/** User + system CPU of a process from `/proc/<pid>/stat`, ms (clock ticks at the usual 100 Hz). */
function procCpuMs (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command (which may hold spaces) start after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}
