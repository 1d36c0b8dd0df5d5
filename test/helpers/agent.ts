/**
 * A user's device in its own process: a client-role Chorus node (agent-main.ts), forked from its
 * compiled form in dist/ like the servers it talks to (`npm run build` compiles it with the product;
 * rebuild after changing node/): loading the sources through tsx cost each fork 0.8 s of CPU more. The
 * test drives it over the IPC channel: start a node, open users, send, page through history, read what
 * the sync loop delivered, ask servers what they hold, stop and start again on the same data dir.
 *
 * Two ways to see what a user was shown: poll `received()` / `events()` (kept in the child, per started
 * node), or pass `onShown` and get each message the moment it is shown, tagged with the node's
 * incarnation, a record that survives the node being stopped and started (the chaos run keeps it).
 *
 * A command that fails in the child rejects here with an `AgentError` that carries the child's error
 * `name` and `code` (e.g. `HandleTakenError` / `ERR_HANDLE_TAKEN`), so tests assert on those. A
 * `UserAgents` registry per test file SIGKILLs every agent still running in `after`; a last-resort exit
 * handler kills any agent the test process would otherwise leave behind.
 */

import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChorusNodeOptions } from '../../node/index.js'
import type { SendResult } from '../../node/session/user.js'
import type { ChorusStatus } from './process.js'
import { scaled, waitFor } from './wait.js'

/** The compiled agent-main.ts, in dist/ beside the compiled node/ it imports */
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'test', 'helpers', 'agent-main.js')

/** Deadline of one command unless the caller gives one (before scaling). */
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000

/**
 * Deadline of a quick command (status, metrics, a digest: no network round trip beyond one request), before scaling.
 */
const QUICK_COMMAND_TIMEOUT_MS = 10_000

/** Lines of the child's stderr kept for failure messages and logs. */
const STDERR_LINES = 20_000

/** A message as the agent reports it (received live, or read from history). */
export interface AgentMessage {
  id: string
  from: string
  fromId: string
  /** the handle of the receiving user (live) or the recipient's userId / room id (history) */
  to: string
  text: string
  timestamp: number
  cursor: string
}

/** A message as a recipient's session showed it, reported the moment it was shown (`onShown`). */
export interface Shown {
  /** the agent it was shown in (its name: the user's handle) */
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

/** One send of a `sendMany`, in send order: resolved (the "sent" tick) or failed with a typed error. */
export type AgentSendOutcome = { i: number, text: string, ms: number, resolvedAt: number } & (
  | { ok: true, id: string, timestamp: number, storedOn: string[] }
  | { ok: false, error: { name: string, code?: string, message: string } }
)

/** A session event seen in the agent (see agent-main.ts). */
export interface AgentEvent { handle: string, event: string, data: any, at: number }

/** A server's coarse digest of one mailbox: total entries and a fingerprint equal replicas share. */
export interface AgentDigest { count: number, fingerprint: string }

/** Per server: the cursors (hex) of the asked entries it still holds, or why it did not answer. */
export type AgentHolders = Record<string, string[] | string>

/** A command the child answered with an error: its `name` and `code` as the library threw them. */
export class AgentError extends Error {
  override readonly name: string
  readonly code?: string
  constructor (cmd: string, e: { name: string, code?: string, message: string }) {
    super(`${cmd}: ${e.name}${e.code != null ? ` (${e.code})` : ''}: ${e.message}`)
    this.name = e.name
    this.code = e.code
  }
}

/** A command the child did not answer in time. */
export class AgentTimeoutError extends Error {
  override readonly name = 'AgentTimeoutError'
  readonly code = 'ERR_AGENT_TIMEOUT'
}

/** How to fork an agent. */
export interface AgentInit {
  /** set in the child's environment (undefined removes a variable); CHORUS_* and NODE_OPTIONS are never inherited */
  env?: Record<string, string | undefined>
  /** called with every message a user of the agent is shown (not bounces), as it is shown */
  onShown?: (s: Shown) => void
}

interface Pending { cmd: string, resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })

/** One forked agent process. */
export class UserAgent {
  readonly child: ChildProcess
  /** progress of the running `sendMany`: sends settled, and how many of them resolved */
  progress = { done: 0, ok: 0 }
  /** stderr of the child, for failure messages */
  readonly stderr: string[] = []
  /** lines the child reported (session errors) */
  readonly logs: string[] = []
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** how many times the agent's node has started */
  incarnation = 0
  private readonly onShown?: (s: Shown) => void
  private readonly pending = new Map<number, Pending>()
  private readonly progressWaiters = new Set<() => void>()
  private nextId = 1
  private exit?: { code: number | null, signal: NodeJS.Signals | null }
  private readonly ready: Promise<void>

  constructor (readonly name: string, init: AgentInit = {}) {
    this.onShown = init.onShown
    const env: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHORUS_') && k !== 'NODE_OPTIONS') env[k] = v
    // fork leaves out a variable whose value is undefined
    Object.assign(env, init.env)
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`)
    this.child = fork(MAIN, [], { execArgv: [], env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    running.add(this.child)
    this.child.stderr?.setEncoding('utf8')
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr.push(...chunk.split('\n').filter(Boolean))
      if (this.stderr.length > STDERR_LINES) this.stderr.splice(0, this.stderr.length - STDERR_LINES)
    })
    this.ready = new Promise((resolve, reject) => {
      this.child.once('message', () => { resolve() })
      this.child.once('exit', () => { reject(new Error(`agent ${name} exited before it was ready: ${this.stderr.slice(-5).join(' | ')}`)) })
    })
    this.ready.catch(() => {})
    this.child.on('message', (msg: any) => { this.onMessage(msg) })
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child)
        this.exit = { code, signal }
        for (const p of this.pending.values()) {
          clearTimeout(p.timer)
          p.reject(new Error(`agent ${name} exited (${code ?? signal}) during ${p.cmd}: ${this.stderr.slice(-5).join(' | ')}`))
        }
        this.pending.clear()
        for (const w of this.progressWaiters) w()
        resolve(this.exit)
      })
    })
  }

  get alive (): boolean { return this.exit == null }

  /**
   * Start the agent's client node (role client, loopback, ephemeral port); again after `stop`,
   * on the same or another data dir.
   */
  async start (
    bootstrap: string[],
    dataDir: string,
    options: Partial<ChorusNodeOptions> = {},
    timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)
  ): Promise<{ peerId: string }> {
    const started = await this.request<{ peerId: string }>('start', { bootstrap, dataDir, options }, timeoutMs)
    this.incarnation++
    return started
  }

  async status (timeoutMs = scaled(QUICK_COMMAND_TIMEOUT_MS)): Promise<ChorusStatus> {
    return this.request('status', {}, timeoutMs)
  }

  /** The live servers the agent's node sees. */
  async servers (timeoutMs = scaled(QUICK_COMMAND_TIMEOUT_MS)): Promise<string[]> {
    return (await this.status(timeoutMs)).servers
  }

  /**
   * Open (claim if new) a user on the agent's node; `HandleTakenError` when another key holds the handle.
   * With `onShown`, every message this user is shown from now on is reported.
   */
  async openUser (
    handle: string,
    o: { syncIntervalMs?: number } = {},
    timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)
  ): Promise<{ handle: string, userId: string }> {
    return this.request('openUser', { handle, ...o, report: this.onShown != null }, timeoutMs)
  }

  /** Publish raw bytes (hex) on a gossipsub topic from the agent's node. */
  async publishRaw (topic: string, hex: string): Promise<{ recipients: string[] }> {
    return this.request('publishRaw', { topic, hex }, scaled(20_000))
  }

  /** Listen on `userId`'s inbox shard as any node can, keeping the envelopes for them it gets there. */
  async eavesdrop (userId: string): Promise<void> { await this.request('eavesdrop', { userId }, scaled(QUICK_COMMAND_TIMEOUT_MS)) }

  /** Send raw bytes as one frame of the live hop to `peerId`. */
  async sendLiveRaw (peerId: string, hex: string): Promise<void> {
    await this.request('sendLiveRaw', { peerId, hex }, scaled(20_000))
  }

  /** The messages (hex) seen on the eavesdropped topic. */
  async overheard (): Promise<string[]> { return this.request('overheard', {}, scaled(QUICK_COMMAND_TIMEOUT_MS)) }

  /** Dial another node by its full multiaddr. */
  async dial (addr: string): Promise<void> { await this.request('dial', { addr }, scaled(20_000)) }

  /** Peers the agent's node knows to be subscribed to `topic`. */
  async subscribers (topic: string): Promise<string[]> {
    return this.request('subscribers', { topic }, scaled(QUICK_COMMAND_TIMEOUT_MS))
  }

  /** The agent node's gossipsub score of `peerId`. */
  async pubsubScore (peerId: string): Promise<number> {
    return this.request('pubsubScore', { peerId }, scaled(QUICK_COMMAND_TIMEOUT_MS))
  }

  /** The agent node's Prometheus text. */
  async metrics (): Promise<string> { return this.request('metrics', {}, scaled(QUICK_COMMAND_TIMEOUT_MS)) }

  async send (
    from: string,
    to: string,
    text: string,
    timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)
  ): Promise<SendResult> {
    return this.request('send', { from, to, text }, timeoutMs)
  }

  /** `count` sends of `${prefix}${i}`, `window` in flight (1: one after another); never rejects for a failed send. */
  async sendMany (
    from: string,
    to: string,
    count: number,
    prefix: string,
    window = 1,
    timeoutMs = scaled(180_000)
  ): Promise<AgentSendOutcome[]> {
    this.progress = { done: 0, ok: 0 }
    return this.request('sendMany', { from, to, count, prefix, window }, timeoutMs)
  }

  /** The whole conversation of `handle` with `withHandle`, oldest first (paged with `before` until empty). */
  async history (
    handle: string,
    withHandle: string,
    pageSize = 100,
    timeoutMs = scaled(60_000)
  ): Promise<AgentMessage[]> {
    return this.request('history', { handle, with: withHandle, pageSize }, timeoutMs)
  }

  /** Create a room as `handle`; its id. */
  async roomCreate (handle: string, name: string, timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)): Promise<string> {
    return this.request('roomCreate', { handle, name }, timeoutMs)
  }

  async roomInvite (
    handle: string,
    room: string,
    who: string,
    timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)
  ): Promise<void> {
    await this.request('roomInvite', { handle, room, who }, timeoutMs)
  }

  /** Join `room` as `handle` (invited, or public); the room's id. */
  async roomJoin (handle: string, room: string, timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)): Promise<string> {
    return this.request('roomJoin', { handle, room }, timeoutMs)
  }

  /** The userIds of `room`'s members as `handle`'s node knows them ([] when `handle` is not in it). */
  async roomMembers (handle: string, room: string, timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)): Promise<string[]> {
    return this.request('roomMembers', { handle, room }, timeoutMs)
  }

  async roomSend (
    handle: string,
    room: string,
    text: string,
    timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)
  ): Promise<SendResult> {
    return this.request('roomSend', { handle, room, text }, timeoutMs)
  }

  /** The whole history of `room` as `handle` reads it, oldest first. */
  async roomHistory (
    handle: string,
    room: string,
    pageSize = 100,
    timeoutMs = scaled(60_000)
  ): Promise<AgentMessage[]> {
    return this.request('roomHistory', { handle, room, pageSize }, timeoutMs)
  }

  /** Send in `handle`'s secret chat with `peer` (opened on first use). */
  async secretSend (
    handle: string,
    peer: string,
    text: string,
    timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)
  ): Promise<{ id: string }> {
    return this.request('secretSend', { handle, peer, text }, timeoutMs)
  }

  /** The secret chat of `handle` with `peer`, as kept on `handle`'s device. */
  async secretHistory (handle: string, peer: string, timeoutMs = scaled(60_000)): Promise<AgentMessage[]> {
    return this.request('secretHistory', { handle, peer }, timeoutMs)
  }

  /** Every message the sync loop delivered since this agent's node last started, in delivery order. */
  async received (): Promise<AgentMessage[]> { return this.request('received', {}, scaled(QUICK_COMMAND_TIMEOUT_MS)) }

  /** Wait until the agent's node sees exactly `ids` as the live servers (so it computes the owners they do). */
  async waitForServers (ids: string[], timeoutMs = scaled(60_000)): Promise<void> {
    const want = JSON.stringify([...ids].sort())
    await waitFor(`agent ${this.name} to see servers ${ids.map((s) => s.slice(-6)).join(',')}`, async () => {
      const seen = (await this.status()).servers.sort()
      if (JSON.stringify(seen) === want) return true
      throw new Error(`it sees ${seen.map((s) => s.slice(-6)).join(',')}`)
    }, { timeoutMs, intervalMs: 100 })
  }

  /** Wait until the agent's node sees at least `n` live servers; each look may take `lookMs`. */
  async waitForServerCount (
    n: number,
    timeoutMs = scaled(60_000),
    lookMs = scaled(QUICK_COMMAND_TIMEOUT_MS)
  ): Promise<void> {
    await waitFor(`${this.name}'s node to see ${n} servers`, async () => (await this.servers(lookMs)).length >= n, { timeoutMs, intervalMs: 100 })
  }

  /** Poll `received()` until `pred` holds for the list, and return it. */
  async waitForReceived (
    what: string,
    pred: (received: AgentMessage[]) => boolean,
    timeoutMs = scaled(20_000)
  ): Promise<AgentMessage[]> {
    let list: AgentMessage[] = []
    await waitFor(`${this.name} to receive ${what}`, async () => {
      list = await this.received()
      return pred(list)
    }, { timeoutMs, intervalMs: 50 })
    return list
  }

  /** Session events of the agent's users since its node started (from index `from`). */
  async events (from = 0): Promise<AgentEvent[]> { return this.request('events', { from }, scaled(QUICK_COMMAND_TIMEOUT_MS)) }

  /** Poll `events()` until some event matches `pred`; returns the matching ones. */
  async waitForEvent (
    what: string,
    pred: (e: AgentEvent) => boolean,
    timeoutMs = scaled(20_000)
  ): Promise<AgentEvent[]> {
    let hits: AgentEvent[] = []
    await waitFor(`${this.name} to see ${what}`, async () => {
      hits = (await this.events()).filter(pred)
      return hits.length > 0
    }, { timeoutMs, intervalMs: 50 })
    return hits
  }

  /**
   * Call a session method in the agent: `target` 'user' | 'roster' | 'rooms' | 'room:<id>' | 'secret' |
   * 'secret:<peer>'. Typed errors come back as `AgentError` with the remote name and code.
   */
  async call<T = any> (handle: string, target: string, method: string, ...args: unknown[]): Promise<T> {
    return this.request('call', { handle, target, method, args }, scaled(DEFAULT_COMMAND_TIMEOUT_MS))
  }

  /** `peer`'s coarse digest of `mailbox`, asked over the replication protocol. */
  async digest (peer: string, mailbox: string): Promise<AgentDigest> {
    return this.request('digest', { peer, mailbox }, scaled(QUICK_COMMAND_TIMEOUT_MS))
  }

  /** Does server `peer` hold a claim of `handle`? Asked of that one server, past any cache. */
  async claimAt (peer: string, handle: string): Promise<boolean> {
    return this.request('claimAt', { peer, handle }, scaled(QUICK_COMMAND_TIMEOUT_MS))
  }

  /** Per owner of `handle`'s own mailbox (peer id → count): the envelopes of `kind` (e.g. 'SECRET') it still serves. */
  async heldByOwners (handle: string, kind: string): Promise<Record<string, number>> {
    return this.request('heldByOwners', { handle, kind })
  }

  /**
   * Which of `entries` (of `handle`'s own mailbox, by cursor) each of `servers` still holds, asked of each
   * server alone: what "nothing deleted comes back" checks.
   */
  async holders (
    handle: string,
    servers: string[],
    entries: Array<{ id: string, cursor: string }>,
    timeoutMs = scaled(60_000)
  ): Promise<AgentHolders> {
    return this.request('holders', { handle, servers, entries }, timeoutMs)
  }

  /**
   * Stop the node (the process stays, ready to `start` again); every `onShown` of the node has come when this resolves.
   */
  async stop (timeoutMs = scaled(30_000)): Promise<void> { await this.request('stop', {}, timeoutMs) }

  /** Resolve once the running `sendMany` has settled `n` sends. */
  async waitForProgress (n: number, timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const done = (): void => { clearTimeout(timer); this.progressWaiters.delete(poke) }
      const poke = (): void => {
        if (this.progress.done >= n) { done(); resolve(); return }
        if (this.exit != null) { done(); reject(new Error(`agent ${this.name} exited before ${n} sends`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${n} sends of ${this.name} (at ${this.progress.done})`)) }, timeoutMs)
      this.progressWaiters.add(poke)
      poke()
    })
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal)
  }

  private async request<T> (cmd: string, args: unknown, timeoutMs = scaled(DEFAULT_COMMAND_TIMEOUT_MS)): Promise<T> {
    await this.ready
    if (this.exit != null) throw new Error(`agent ${this.name} has exited`)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new AgentTimeoutError(`agent ${this.name}: ${cmd} got no answer in ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { cmd, resolve, reject, timer })
      this.child.send({ id, cmd, args })
    })
  }

  private onMessage (msg: any): void {
    if (msg?.event === 'shown') {
      this.onShown?.({
        to: this.name,
        id: msg.id,
        fromId: msg.fromId,
        room: msg.room,
        kind: msg.kind,
        text: msg.text,
        timestamp: msg.timestamp,
        cursor: msg.cursor,
        incarnation: this.incarnation,
        at: Date.now()
      })
      return
    }
    if (msg?.event === 'progress') {
      this.progress = { done: msg.done, ok: msg.ok }
      for (const w of [...this.progressWaiters]) w()
      return
    }
    if (msg?.event === 'log') { this.logs.push(msg.line); return }
    if (typeof msg?.id !== 'number') return
    const p = this.pending.get(msg.id)
    if (p == null) return
    this.pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok === true) p.resolve(msg.value)
    else p.reject(new AgentError(p.cmd, msg.error))
  }
}

/** The agents of one test file; `cleanup()` (from `after`) SIGKILLs every one still running. */
export class UserAgents {
  private readonly agents: UserAgent[] = []

  spawn (name: string, init?: AgentInit): UserAgent {
    const a = new UserAgent(name, init)
    this.agents.push(a)
    return a
  }

  async cleanup (): Promise<void> {
    const left = this.agents.filter((a) => a.alive)
    for (const a of left) a.kill('SIGKILL')
    await Promise.all(left.map(async (a) => await a.exited))
    this.agents.length = 0
  }
}
