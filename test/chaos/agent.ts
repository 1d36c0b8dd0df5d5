/**
 * The parent side of a chaos agent: a forked process running one client-role node and one user
 * (agent-main.ts). Requests go over IPC; every message the user's session shows comes back as a
 * 'shown' event, tagged here with the agent's incarnation (how many times its node was started).
 */

import { fork, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { scaled, waitFor } from '../helpers/wait.js'

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'agent-main.ts')

/** A message as a recipient's session showed it. */
export interface Shown {
  /** the user it was shown to */
  to: string
  id: string
  fromId: string
  room: string | null
  kind: string
  text: string
  timestamp: number
  cursor: string
  /** the agent's node incarnation it was shown in (1 = first start) */
  incarnation: number
  /** ms since the epoch, by the test's clock */
  at: number
}

interface Pending { cmd: string, resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

/** A request the agent answered with an error: its name and code as the library threw them. */
export class AgentCallError extends Error {
  readonly code?: string
  constructor (readonly cmd: string, e: { name: string, code?: string, message: string }) {
    super(`${cmd}: ${e.name}: ${e.message}`)
    this.name = e.name
    this.code = e.code
  }
}

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })

export class ChaosAgent {
  readonly child: ChildProcess
  readonly stderr: string[] = []
  readonly logs: string[] = []
  readonly exited: Promise<void>
  incarnation = 0
  userId = ''
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private exitedFlag = false
  private readonly ready: Promise<void>

  constructor (readonly handle: string, private readonly onShown: (s: Shown) => void, debug?: string) {
    const env: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHORUS_') && k !== 'NODE_OPTIONS' && k !== 'DEBUG') env[k] = v
    if (debug != null) env.DEBUG = debug
    this.child = fork(MAIN, [], { execArgv: ['--import', 'tsx'], env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    running.add(this.child)
    this.child.stderr?.setEncoding('utf8')
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr.push(...chunk.split('\n').filter(Boolean))
      if (this.stderr.length > 20_000) this.stderr.splice(0, this.stderr.length - 20_000)
    })
    this.ready = new Promise((resolve, reject) => {
      this.child.once('message', () => { resolve() })
      this.child.once('exit', () => { reject(new Error(`chaos agent ${handle} exited before it was ready: ${this.stderr.slice(-5).join(' | ')}`)) })
    })
    this.ready.catch(() => {})
    this.child.on('message', (msg: any) => { this.onMessage(msg) })
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child)
        this.exitedFlag = true
        for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error(`chaos agent ${handle} exited (${code ?? signal}) during ${p.cmd}`)) }
        this.pending.clear()
        resolve()
      })
    })
  }

  /** Start the agent's node on `dataDir`, wait until it sees `servers` servers, and open its user. */
  async start (bootstrap: string[], dataDir: string, options: Record<string, unknown>, syncIntervalMs: number, servers: number): Promise<void> {
    await this.request('start', { bootstrap, dataDir, options }, 60_000)
    this.incarnation++
    await waitFor(`${this.handle}'s node to see ${servers} servers`, async () => (await this.request<string[]>('servers', {}, 5000)).length >= servers, { timeoutMs: scaled(60_000), intervalMs: 100 })
    const { userId } = await this.request<{ userId: string }>('open', { handle: this.handle, syncIntervalMs }, 60_000)
    this.userId = userId
  }

  /** Stop the node cleanly; every 'shown' of this incarnation has arrived when this resolves. */
  async stop (): Promise<void> {
    await this.request('stop', {}, 60_000)
  }

  async request<T = any> (cmd: string, args: unknown, timeoutMs = 30_000): Promise<T> {
    await this.ready
    if (this.exitedFlag) throw new Error(`chaos agent ${this.handle} has exited`)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(Object.assign(new Error(`chaos agent ${this.handle}: ${cmd} got no answer in ${timeoutMs} ms`), { name: 'AgentTimeout' }))
      }, timeoutMs)
      this.pending.set(id, { cmd, resolve, reject, timer })
      this.child.send({ id, cmd, args })
    })
  }

  kill (): void {
    if (!this.exitedFlag) this.child.kill('SIGKILL')
  }

  private onMessage (msg: any): void {
    if (msg?.event === 'shown') {
      this.onShown({ to: this.handle, id: msg.id, fromId: msg.fromId, room: msg.room, kind: msg.kind, text: msg.text, timestamp: msg.timestamp, cursor: msg.cursor, incarnation: this.incarnation, at: Date.now() })
      return
    }
    if (msg?.event === 'log') { this.logs.push(msg.line); return }
    if (typeof msg?.id !== 'number') return
    const p = this.pending.get(msg.id)
    if (p == null) return
    this.pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok === true) p.resolve(msg.value)
    else p.reject(new AgentCallError(p.cmd, msg.error))
  }
}
