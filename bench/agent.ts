/**
 * A benchmark agent: one Chorus node in its own process, driven by the coordinator over the IPC channel
 * of `child_process.fork`. It never prints; it answers commands and reports membership events. When the
 * coordinator goes away (channel closed) it removes its data directory and exits.
 */

import { rmSync } from 'node:fs'
import { AGENT_ENV, type AgentMessage, type AgentOp, type AgentRequest } from './lib/agent-protocol.js'
import { createHandlers, type AgentState } from './lib/agent-handlers.js'
import { wallClock } from './lib/clock.js'
import { PayloadRecorder } from './lib/receiver.js'

const name = process.env[AGENT_ENV.name] ?? 'agent'
const dataDir = process.env[AGENT_ENV.dataDir]

function send (msg: AgentMessage): void {
  if (process.connected) process.send?.(msg)
}

function bail (message: string): never {
  process.stderr.write(`bench agent ${name}: ${message}\n`)
  if (dataDir != null) rmSync(dataDir, { recursive: true, force: true })
  process.exit(1)
}

if (process.send == null || dataDir == null) bail('must be forked by the benchmark coordinator (IPC channel and data dir required)')

const state: AgentState = {
  dataDir,
  recorder: new PayloadRecorder(),
  view: [],
  users: new Map(),
  emit: (event) => {
    send({ kind: 'event', event })
  }
}
const handlers = createHandlers(state)

process.on('message', (raw: AgentRequest) => {
  const op = raw.op as AgentOp
  const handler = handlers[op] as ((cmd: unknown) => Promise<unknown>) | undefined
  if (handler == null) { send({ kind: 'reply', id: raw.id, ok: false, error: `unknown operation ${JSON.stringify(op)}` }); return }
  handler(raw).then(
    (result) => {
      send({ kind: 'reply', id: raw.id, ok: true, result })
      if (op === 'stop') process.disconnect()
    },
    (err: any) => { send({ kind: 'reply', id: raw.id, ok: false, error: String(err?.message ?? err).split('\n')[0] }) }
  )
})

// the coordinator is gone (or told us to stop): nobody will clean up after us
process.on('disconnect', () => {
  const stop = Promise.all([state.node?.stop().catch(() => {}), state.floor?.stop().catch(() => {})])
  const force = setTimeout(() => { rmSync(dataDir, { recursive: true, force: true }); process.exit(0) }, 2000)
  void stop.then(() => { clearTimeout(force); rmSync(dataDir, { recursive: true, force: true }); process.exit(0) })
})

// Ctrl-C reaches the whole process group: the coordinator decides how its agents end
process.on('SIGINT', () => {})
process.on('uncaughtException', (err) => { bail(`uncaught: ${err.message}`) })
process.on('unhandledRejection', (err: any) => { bail(`unhandled rejection: ${err?.message ?? err}`) })

send({ kind: 'ready', at: wallClock(), pid: process.pid })
