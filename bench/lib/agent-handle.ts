/** The coordinator's side of one agent process: typed requests with deadlines, events, exit and stderr. */

import type { ChildProcess } from 'node:child_process'
import type { AgentCommands, AgentMessage, AgentOp, AgentReplies, MemberEvent } from './agent-protocol.js'
import { DeadlineError, withDeadline } from './clock.js'
import { DEFAULT_AGENT_READY_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './constants.js'

/** Bytes of an agent's stderr kept for error messages. */
const STDERR_TAIL_BYTES = 4096

/** An agent failed a command, or exited while one was pending. */
export class AgentError extends Error {
  override readonly name = 'AgentError'
  readonly code = 'ERR_BENCH_AGENT'
}

interface Pending { resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

/** One forked agent. Created by `AgentPool.fork`. */
export class AgentHandle {
  /** Membership events the agent reported, in arrival order. */
  readonly events: MemberEvent[] = []
  /** Resolves with the agent's wall clock and pid once its modules are loaded. */
  readonly ready: Promise<{ at: number, pid: number }>
  /** Resolves with the exit code (or signal name) when the process is gone. */
  readonly exited: Promise<number | string>
  private readonly pending = new Map<number, Pending>()
  private readonly eventListeners: Array<(e: MemberEvent) => void> = []
  private nextId = 1
  private stderr = ''
  private exitInfo?: number | string

  constructor (
    readonly name: string,
    readonly dataDir: string,
    readonly child: ChildProcess,
    readonly forkedAt: number
  ) {
    let readyResolve!: (v: { at: number, pid: number }) => void
    const ready = new Promise<{ at: number, pid: number }>((resolve) => { readyResolve = resolve })
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = code ?? signal ?? 'unknown'
        const why = new AgentError(`agent ${name} exited (${this.exitInfo})${this.stderrTail() !== '' ? `: ${this.stderrTail()}` : ''}`)
        for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(why) }
        this.pending.clear()
        resolve(this.exitInfo)
      })
    })
    this.ready = withDeadline(`agent ${name} to load`, Promise.race([ready, this.exited.then((c) => {
      throw new AgentError(`agent ${name} exited (${c}) before it was ready: ${this.stderrTail()}`)
    })]), DEFAULT_AGENT_READY_TIMEOUT_MS)
    this.ready.catch(() => {}) // observed by whoever awaits it; never an unhandled rejection
    child.stderr?.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES) })
    child.on('message', (msg: AgentMessage) => {
      if (msg.kind === 'ready') readyResolve({ at: msg.at, pid: msg.pid })
      else if (msg.kind === 'event') {
        this.events.push(msg.event)
        for (const l of this.eventListeners) l(msg.event)
      } else this.settle(msg)
    })
  }

  /** Whether the process is still running. */
  get alive (): boolean { return this.exitInfo == null }

  /** Send one command and wait (at most `timeoutMs`) for its reply. */
  async request<O extends AgentOp> (
    op: O,
    cmd: AgentCommands[O],
    timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS
  ): Promise<AgentReplies[O]> {
    if (!this.alive || !this.child.connected) throw new AgentError(`agent ${this.name} is not running (${this.exitInfo ?? 'disconnected'})`)
    const id = this.nextId++
    return await new Promise<AgentReplies[O]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new DeadlineError(`agent ${this.name}: ${op} got no reply within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      this.child.send({ id, op, ...cmd }, (err) => {
        if (err == null) return
        clearTimeout(timer)
        this.pending.delete(id)
        reject(new AgentError(`agent ${this.name}: could not send ${op}: ${err.message}`))
      })
    })
  }

  /** Call `listener` for every membership event from now on. */
  onEvent (listener: (e: MemberEvent) => void): void {
    this.eventListeners.push(listener)
  }

  /** The last line the agent wrote to stderr, if any. */
  stderrTail (): string {
    return this.stderr.trim().split('\n').pop() ?? ''
  }

  private settle (msg: Extract<AgentMessage, { kind: 'reply' }>): void {
    const p = this.pending.get(msg.id)
    if (p == null) return
    this.pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok) p.resolve(msg.result)
    else p.reject(new AgentError(`agent ${this.name}: ${msg.error}`))
  }
}
