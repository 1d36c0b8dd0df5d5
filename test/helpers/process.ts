/**
 * Real `chorus` processes for the multi-process tests: `node bin/chorus …` as a child, its stdout parsed
 * line by line as it arrives (peer id, listen and http addresses, peers joining and leaving), its
 * `/status` one HTTP request away. A `ChorusProcesses` registry per test file SIGKILLs whatever is still
 * running and removes the data directories in an `after` hook; a last-resort exit handler kills any
 * child the test process would otherwise leave behind.
 */

import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { TempDirs, scaled, waitFor } from './wait.js'

/** The repository root, where `bin/chorus` lives. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The `chorus` entry point the tests run (it loads the compiled dist/bin/cli.js). */
export const CHORUS_BIN = join(REPO_ROOT, 'bin', 'chorus')

/** Loopback on an ephemeral port, status endpoint on an ephemeral port: what every test node listens on. */
export const LOOPBACK_ARGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0']

/** A peer joining or leaving, as one process reported it on stdout. */
export interface MembershipLine {
  kind: 'joined' | 'left'
  peerId: string
  role: string
  /** `dead` or `left`, for a leave */
  why?: string
  /** the timestamp the process printed */
  at: number
  /** when the test process read the line (ms since epoch) */
  seenAt: number
}

/** A process run to its end by `ChorusProcesses.run`. */
export interface FinishedRun {
  exit: ProcessExit
  stdout: string[]
  stderr: string[]
  /** from spawn to exit */
  ms: number
}

/** How a process ended. */
export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Options of `spawnChorus`. */
export interface SpawnOptions {
  /** Added to the child's environment (which starts without any CHORUS_* variable of the test's own). */
  env?: Record<string, string | undefined>
}

const JOINED = /^(\S+) peer joined (\S+) \((\w+)\)$/
const LEFT = /^(\S+) peer left (\S+) \((\w+), (\w+)\)$/

/** Every child not yet exited, so that a crashing test run cannot leave nodes behind. */
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })

/** One running (or finished) `chorus` process. */
export class ChorusProcess {
  readonly child: ChildProcess
  readonly args: string[]
  /** every stdout line so far */
  readonly stdout: string[] = []
  /** every stderr line so far */
  readonly stderr: string[] = []
  /** "peer joined" and "peer left" lines, in order */
  readonly membership: MembershipLine[] = []
  /** the multiaddrs of the "listening:" lines */
  readonly listening: string[] = []
  /** from the "peer id:" line */
  peerId?: string
  /** from the "http:" line: the /status URL with the bound port */
  statusUrl?: string
  /** set once the process has exited and its output is read */
  exit?: ProcessExit
  /** resolves when the process has exited and both output streams are drained */
  readonly exited: Promise<ProcessExit>
  private readonly waiters = new Set<() => void>()

  constructor (args: string[], options: SpawnOptions = {}) {
    this.args = args
    const env: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(process.env)) {
      // the child must see only what the test gives it: no CHORUS_* of the developer's shell, no tsx loader
      if (!k.startsWith('CHORUS_') && k !== 'NODE_OPTIONS' && k !== 'DEBUG') env[k] = v
    }
    Object.assign(env, options.env)
    this.child = spawn(process.execPath, [CHORUS_BIN, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(this.child)
    this.child.once('error', (err) => { this.stderr.push(`spawn failed: ${err.message}`) })
    createInterface({ input: this.child.stdout! }).on('line', (line) => { this.onStdout(line) })
    createInterface({ input: this.child.stderr! }).on('line', (line) => { this.stderr.push(line); this.notify() })
    this.exited = new Promise((resolve) => {
      // 'close' comes after 'exit' and after stdout/stderr end, so no line is lost
      this.child.once('close', (code, signal) => {
        running.delete(this.child)
        this.exit = { code, signal }
        this.notify()
        resolve(this.exit)
      })
    })
  }

  /** Is the process still running? */
  get alive (): boolean {
    return this.exit == null && this.child.exitCode == null && this.child.signalCode == null
  }

  /** Its first TCP listen address with /p2p/: what another node passes to --bootstrap. */
  get bootstrapAddr (): string {
    const a = this.listening.find((m) => /\/tcp\/\d+\/p2p\//.test(m))
    if (a == null) throw new Error(`process ${this.describe()} printed no TCP listen address`)
    return a
  }

  /**
   * Wait for a stdout line matching `re`, looking at lines from index `from` on (0: all so far).
   * Fails at once if the process exits first, with its output in the message.
   */
  async waitForLine (re: RegExp, timeoutMs = scaled(20_000), from = 0): Promise<RegExpMatchArray> {
    return this.until(`a line matching ${re}`, () => {
      for (let i = from; i < this.stdout.length; i++) {
        const m = re.exec(this.stdout[i])
        if (m != null) return m
      }
      return undefined
    }, timeoutMs)
  }

  /**
   * Wait until it has printed its peer id and addresses: up to the "http:" line when `http` (by default:
   * when --http is among the arguments; pass `http: true` when the setting comes from env or a file).
   */
  async ready (
    { http = this.args.some((a) => a === '--http' || a.startsWith('--http=')), timeoutMs = scaled(30_000) } = {}
  ): Promise<this> {
    await this.waitForLine(http ? /^http: / : /^listening: /, timeoutMs)
    return this
  }

  /** Wait for a "peer joined"/"peer left" line matching `pred`, among those from index `from` on. */
  async waitForMembership (
    what: string,
    pred: (l: MembershipLine) => boolean,
    timeoutMs = scaled(20_000),
    from = 0
  ): Promise<MembershipLine> {
    return this.until(what, () => this.membership.slice(from).find(pred), timeoutMs)
  }

  /** GET the --http /status JSON. */
  async status (timeoutMs = scaled(5000)): Promise<ChorusStatus> {
    if (this.statusUrl == null) throw new Error(`process ${this.describe()} printed no http: line`)
    return JSON.parse(await httpGet(this.statusUrl, timeoutMs)) as ChorusStatus
  }

  /** GET the --http /metrics text (Prometheus). */
  async metrics (timeoutMs = scaled(5000)): Promise<string> {
    if (this.statusUrl == null) throw new Error(`process ${this.describe()} printed no http: line`)
    return httpGet(this.statusUrl.replace(/\/status$/, '/metrics'), timeoutMs)
  }

  /** One unlabelled counter or gauge of /metrics; 0 when it is absent. */
  async metric (name: string): Promise<number> {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await this.metrics())
    return m == null ? 0 : Number(m[1])
  }

  /** Send a signal if the process still runs. */
  kill (signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.alive) this.child.kill(signal)
  }

  /** Wait for the exit, failing after `timeoutMs`. */
  async waitForExit (timeoutMs = scaled(20_000)): Promise<ProcessExit> {
    await this.until('the process to exit', () => this.exit, timeoutMs, false)
    return this.exit!
  }

  /** Short description for failure messages: arguments, exit and the last lines of output. */
  describe (): string {
    const tail = (lines: string[]): string => lines.slice(-8).join(' | ')
    return `chorus ${this.args.join(' ')} [${this.exit != null
      ? `exited ${this.exit.code ?? this.exit.signal}`
      : `pid ${this.child.pid}`}] stdout: ${tail(this.stdout)} stderr: ${tail(this.stderr)}`
  }

  private onStdout (line: string): void {
    this.stdout.push(line)
    const seenAt = Date.now()
    let m: RegExpExecArray | null
    if ((m = /^peer id: (\S+)$/.exec(line)) != null) this.peerId = m[1]
    else if ((m = /^listening: (\S+)$/.exec(line)) != null) this.listening.push(m[1])
    else if ((m = /^http: (http:\/\/\S+)$/.exec(line)) != null) this.statusUrl = m[1]
    else if ((m = JOINED.exec(line)) != null) {
      this.membership.push({ kind: 'joined', peerId: m[2], role: m[3], at: Date.parse(m[1]), seenAt })
    } else if ((m = LEFT.exec(line)) != null) {
      this.membership.push({ kind: 'left', peerId: m[2], role: m[3], why: m[4], at: Date.parse(m[1]), seenAt })
    }
    this.notify()
  }

  private notify (): void {
    for (const w of [...this.waiters]) w()
  }

  /** Event-driven wait: re-check `check` on every line and on exit; no polling, no fixed sleep. */
  private async until<T> (what: string, check: () => T | undefined, timeoutMs: number, failOnExit = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => { clearTimeout(timer); this.waiters.delete(poke) }
      const poke = (): void => {
        const v = check()
        if (v != null) { done(); resolve(v); return }
        if (failOnExit && this.exit != null) { done(); reject(new Error(`process exited before ${what}: ${this.describe()}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${this.describe()}`)) }, timeoutMs)
      this.waiters.add(poke)
      poke()
    })
  }
}

/** The parts of `GET /status` the tests read. */
export interface ChorusStatus {
  peerId: string
  role: string
  state: string
  addresses: string[]
  servers: string[]
  peers: Array<{ peerId: string, role: string, state: string }>
  replicas: number
  writeQuorum: number
}

/** Start `node bin/chorus …args` (not tracked: prefer `ChorusProcesses.spawn`, which cleans up). */
export function spawnChorus (args: string[], options: SpawnOptions = {}): ChorusProcess {
  return new ChorusProcess(args, options)
}

/**
 * The processes and data directories of one test file. Call `cleanup()` from `after`: it SIGKILLs every
 * process still running, waits for them to exit, then removes the directories.
 */
export class ChorusProcesses {
  private readonly procs: ChorusProcess[] = []
  private readonly dirs = new TempDirs()

  /**
   * Start a process. Unless `env` sets CHORUS_HOME, the child gets a fresh empty one, so that an
   * invocation without --data-dir never touches the developer's ~/.chorus.
   */
  spawn (args: string[], options: SpawnOptions = {}): ChorusProcess {
    const env = { ...options.env }
    if (env.CHORUS_HOME == null) env.CHORUS_HOME = this.dir('chorus-home-')
    const p = spawnChorus(args, { ...options, env })
    this.procs.push(p)
    return p
  }

  /**
   * Run an invocation that should exit by itself; fails after `timeoutMs` (default: scaled 20 s; the
   * process is killed in `cleanup()`).
   */
  async run (args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<FinishedRun> {
    const started = Date.now()
    const p = this.spawn(args, options)
    const exit = await p.waitForExit(options.timeoutMs ?? scaled(20_000))
    return { exit, stdout: p.stdout, stderr: p.stderr, ms: Date.now() - started }
  }

  /** A new temporary directory, removed by `cleanup()`. */
  dir (prefix = 'chorus-proc-'): string {
    return this.dirs.make(prefix)
  }

  /** Processes still running. */
  running (): ChorusProcess[] {
    return this.procs.filter((p) => p.alive)
  }

  async cleanup (): Promise<void> {
    const left = this.running()
    for (const p of left) p.kill('SIGKILL')
    await Promise.all(left.map(async (p) => await p.exited))
    this.procs.length = 0
    this.dirs.cleanup()
  }
}

/**
 * Wait until each of `procs` (with --http) has sent `rounds` full probe rounds more than when called: a
 * round probes every member in its view once, and urgent and routine probes alternate, hence two per
 * member. Whatever a member would still tell it about a peer has reached it by then.
 */
export async function probeRounds (procs: ChorusProcess[], rounds: number): Promise<void> {
  const probes = 'chorus_membership_probes_sent_total'
  const from = await Promise.all(
    procs.map(async (p) => ({ sent: await p.metric(probes), members: (await p.status()).peers.length }))
  )
  await waitFor(`${rounds} more probe rounds on ${procs.length} processes`, async () => {
    const sent = await Promise.all(procs.map(async (p) => await p.metric(probes)))
    return sent.every((n, i) => n >= from[i].sent + rounds * 2 * Math.max(1, from[i].members))
  }, { intervalMs: 100 })
}

/** A TCP port that was free on `host` a moment ago (bound to 0, read, released). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number }
      s.close(() => { resolve(port) })
    })
  })
}

/** Can `port` be bound on `host` right now? */
export async function portIsFree (port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => { resolve(false) })
    s.listen(port, host, () => { s.close(() => { resolve(true) }) })
  })
}

/** One GET without keep-alive, so that no socket outlives the request (mocha runs with exit: false). */
async function httpGet (url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`)) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)) })
    req.on('error', reject)
    req.end()
  })
}
