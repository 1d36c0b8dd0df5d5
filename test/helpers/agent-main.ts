/**
 * The child side of `UserAgent` (agent.ts): one client-role Chorus node in its own process, driven over
 * the IPC channel of `child_process.fork`. It runs the library from the TypeScript sources in node/ (the
 * parent forks it with `--import tsx`, as a desktop app bundles it), so it needs no build; the servers it
 * talks to run the compiled dist/ through `bin/chorus`.
 *
 * Protocol: the parent sends `{ id, cmd, args }`; the child answers `{ id, ok: true, value }` or
 * `{ id, ok: false, error: { name, code, message } }`. Unasked, it sends `{ event: 'progress', done, ok }`
 * after each send of a running `sendMany` settles, `{ event: 'log', line }` for a session error, and,
 * for a user opened with `report`, `{ event: 'shown', … }` the moment that user is shown a message: IPC
 * keeps order, so the answer to `stop` comes after every 'shown' of the node that stopped. Every
 * received message and session event is also kept in order (per started node: `received` and `events`
 * return those of the current node only) until asked for.
 *
 * The commands here are the session's; agent-wire.ts has those that speak to the mesh below it.
 */

import { createNode, type ChorusNode, type ChorusNodeOptions } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import type { AgentEvent, AgentMessage, AgentSendOutcome } from './agent.js'
import { wireCommands, type Handler } from './agent-wire.js'

if (process.send == null) {
  process.stderr.write('agent-main: must be started with child_process.fork\n')
  process.exit(2)
}

let node: ChorusNode | undefined
const users = new Map<string, User>()
let received: AgentMessage[] = []
/** Every session event (message, receipt, presence, typing, subscription, room:member), in order. */
let events: AgentEvent[] = []
const EVENTS = ['message', 'receipt', 'presence', 'typing', 'subscription', 'room:member'] as const

const post = (msg: unknown): void => { process.send?.(msg) }

function need (): ChorusNode {
  if (node == null) throw Object.assign(new Error('agent node not started'), { code: 'ERR_AGENT_STATE' })
  return node
}

function user (handle: string): User {
  const u = users.get(handle)
  if (u == null) throw Object.assign(new Error(`user ${handle} not open in this agent`), { code: 'ERR_AGENT_STATE' })
  return u
}

function room (handle: string, id: string): NonNullable<ReturnType<User['rooms']['get']>> {
  const r = user(handle).rooms.get(id)
  if (r == null) throw Object.assign(new Error(`not in room ${id}`), { code: 'ERR_NOT_IN_ROOM' })
  return r
}

const brief = (m: Message, to: string): AgentMessage =>
  ({ id: m.id, from: m.from, fromId: m.fromId, to, text: m.text, timestamp: m.timestamp, cursor: m.cursor })

/** A shown message as the parent's record keeps it. */
const shown = (m: Message): unknown => ({
  event: 'shown',
  id: m.id,
  fromId: m.fromId,
  room: m.room ?? null,
  kind: m.kind,
  text: m.text,
  timestamp: m.timestamp,
  cursor: m.cursor
})

/** Every page of a history, oldest first, fetched with `before` until one comes back empty. */
async function wholeHistory (
  page: (o: { limit: number, before?: string }) => Promise<Message[]>,
  limit: number
): Promise<AgentMessage[]> {
  const pages: Message[][] = []
  let before: string | undefined
  for (;;) {
    const p = await page({ limit, before })
    if (p.length === 0) break
    pages.unshift(p)
    before = p[0].cursor
  }
  return pages.flat().map((m) => brief(m, m.to))
}

/** A value as plain JSON: what `toJSON` says, Uint8Arrays as hex, undefined as null. */
function plain (v: unknown): unknown {
  if (v === undefined) return null
  return JSON.parse(
    JSON.stringify(v, (_k, x) => x instanceof Uint8Array ? Buffer.from(x).toString('hex') : typeof x === 'bigint' ? Number(x) : x)
  )
}

const HANDLERS: Record<string, Handler> = {
  async start (a: { bootstrap: string[], dataDir: string, options?: Partial<ChorusNodeOptions> }) {
    if (node != null && node.state !== 'stopped') throw Object.assign(new Error('already started'), { code: 'ERR_AGENT_STATE' })
    received = []
    events = []
    users.clear()
    node = await createNode({ role: 'client', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: a.bootstrap, dataDir: a.dataDir, ...a.options })
    await node.start()
    return { peerId: node.peerId.toString() }
  },

  async status () {
    return need().status()
  },

  /** Open `handle` (claiming it on first use); with `report`, every message it is shown is posted as it is shown. */
  async openUser (a: { handle: string, syncIntervalMs?: number, report?: boolean }) {
    const u = await need().openUser(a.handle, { syncIntervalMs: a.syncIntervalMs })
    if (!users.has(a.handle)) {
      users.set(a.handle, u)
      u.on('message', (m) => {
        received.push(brief(m, a.handle))
        if (a.report === true && m.kind !== 'error') post(shown(m))
      })
      for (const e of EVENTS) {
        (u as any).on(e, (data: unknown) => {
          events.push({ handle: a.handle, event: e, data: plain(data), at: Date.now() })
        })
      }
      // an unhandled 'error' event would end the process
      u.on('error', (err) => { post({ event: 'log', line: `${a.handle}: session error ${err.name}: ${err.message}` }) })
    }
    return { handle: u.handle, userId: u.userId }
  },

  async send (a: { from: string, to: string, text: string }) {
    return user(a.from).send(a.to, a.text)
  },

  /** `count` sends, `window` at a time (1: strictly one after another), each outcome recorded in order. */
  async sendMany (a: { from: string, to: string, count: number, prefix: string, window?: number }) {
    const u = user(a.from)
    const outcomes: AgentSendOutcome[] = []
    let next = 0
    let ok = 0
    const worker = async (): Promise<void> => {
      while (next < a.count) {
        const i = next++
        const text = `${a.prefix}${i}`
        const started = Date.now()
        try {
          const r = await u.send(a.to, text)
          outcomes[i] = {
            i,
            text,
            ok: true,
            id: r.id,
            timestamp: r.timestamp,
            storedOn: r.storedOn,
            ms: Date.now() - started,
            resolvedAt: Date.now()
          }
          ok++
        } catch (err: any) {
          outcomes[i] = {
            i,
            text,
            ok: false,
            error: { name: err.name, code: err.code, message: err.message },
            ms: Date.now() - started,
            resolvedAt: Date.now()
          }
        }
        post({ event: 'progress', done: outcomes.filter((o) => o != null).length, ok })
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, a.window ?? 1) }, worker))
    return outcomes
  },

  /** The whole direct conversation, oldest first. */
  async history (a: { handle: string, with: string, pageSize?: number }) {
    const u = user(a.handle)
    return wholeHistory(async (o) => u.history(a.with, o), a.pageSize ?? 100)
  },

  async received () {
    return received
  },

  /** Session events since the node started (all users), optionally only those after index `from`. */
  async events (a: { from?: number }) {
    return events.slice(a.from ?? 0)
  },

  async roomCreate (a: { handle: string, name: string }) {
    return (await user(a.handle).rooms.create({ name: a.name })).id
  },

  async roomInvite (a: { handle: string, room: string, who: string }) {
    await user(a.handle).rooms.invite(a.room, a.who)
    return null
  },

  /** Join once the invitation has come (the invitee's node may not have synced it yet: the owners decide). */
  async roomJoin (a: { handle: string, room: string }) {
    return (await user(a.handle).rooms.join(a.room)).id
  },

  async roomMembers (a: { handle: string, room: string }) {
    const r = user(a.handle).rooms.get(a.room)
    return r == null ? [] : (await r.members()).map((m) => m.userId)
  },

  async roomSend (a: { handle: string, room: string, text: string }) {
    return room(a.handle, a.room).send(a.text)
  },

  async roomHistory (a: { handle: string, room: string, pageSize?: number }) {
    const r = room(a.handle, a.room)
    return wholeHistory(async (o) => r.history(o), a.pageSize ?? 100)
  },

  async secretSend (a: { handle: string, peer: string, text: string }) {
    return (await user(a.handle).secret.open(a.peer)).send(a.text)
  },

  async secretHistory (a: { handle: string, peer: string }) {
    return (await (await user(a.handle).secret.open(a.peer)).history()).map((m) => brief(m, m.to))
  },

  /**
   * Call a method of a session part: `target` is 'user', 'roster', 'rooms', 'room:<id>' (a room of
   * `user.rooms`), 'secret' or 'secret:<peer>'. The result comes back as plain JSON (objects with a
   * toJSON are sent as that).
   */
  async call (a: { handle: string, target: string, method: string, args?: unknown[] }) {
    const u = user(a.handle)
    let obj: any
    if (a.target === 'user') obj = u
    else if (a.target === 'roster') obj = u.roster
    else if (a.target === 'rooms') obj = u.rooms
    else if (a.target.startsWith('room:')) obj = await (u.rooms as any).get(a.target.slice(5))
    else if (a.target === 'secret') obj = u.secret
    else if (a.target.startsWith('secret:')) obj = await u.secret.open(a.target.slice(7))
    else throw new Error(`unknown call target ${a.target}`)
    if (obj == null || typeof obj[a.method] !== 'function') throw new Error(`${a.target} has no method ${a.method}`)
    return plain(await obj[a.method](...(a.args ?? [])))
  },

  /** Stop the node cleanly (the sessions close: what they showed is marked on disk); `start` may follow. */
  async stop () {
    await node?.stop()
    users.clear()
    return null
  },

  ...wireCommands({ node: need, user })
}

process.on('message', (msg: { id: number, cmd: string, args: unknown }) => {
  const handler = HANDLERS[msg.cmd]
  const run = handler == null ? Promise.reject(new Error(`unknown command ${msg.cmd}`)) : handler(msg.args ?? {})
  run.then(
    (value) => { post({ id: msg.id, ok: true, value: value ?? null }) },
    (err: any) => {
      post({
        id: msg.id,
        ok: false,
        error: { name: err?.name ?? 'Error', code: err?.code, message: String(err?.message ?? err) }
      })
    }
  )
})

// the parent going away (the test run was killed) must not leave this node behind
process.on('disconnect', () => {
  const bye = setTimeout(() => { process.exit(0) }, 2000)
  bye.unref()
  void (node?.stop() ?? Promise.resolve()).finally(() => { process.exit(0) })
})

post({ event: 'ready' })
