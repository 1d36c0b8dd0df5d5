/**
 * The child side of a chaos agent (agent.ts): one client-role Chorus node with one user on it, in its own
 * process, driven over the IPC channel of `child_process.fork` (the library from the TypeScript sources,
 * as a desktop app bundles it).
 *
 * Every message the session shows is reported to the parent the moment it is shown (`{ event: 'shown' }`),
 * so the record survives the agent's node being stopped and started again: IPC keeps order, and the
 * answer to `stop` comes after every 'shown' of the node that stopped.
 *
 * Requests: `{ id, cmd, args }` → `{ id, ok: true, value }` or `{ id, ok: false, error: { name, code, message } }`.
 */

import { createNode, type ChorusNode, type ChorusNodeOptions } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { Envelope } from '../../protocol/envelope.js'
import { cursorOf } from '../../node/store/mailbox-store.js'

if (process.send == null) {
  process.stderr.write('chaos agent-main: must be started with child_process.fork\n')
  process.exit(2)
}

let node: ChorusNode | undefined
let user: User | undefined
const post = (msg: unknown): void => { process.send?.(msg) }

function need (): { node: ChorusNode, user: User } {
  if (node == null || user == null) throw Object.assign(new Error('no node or user open in this agent'), { code: 'ERR_AGENT_STATE' })
  return { node, user }
}

/** A shown message as the record keeps it. */
function shown (m: Message): unknown {
  return { event: 'shown', id: m.id, fromId: m.fromId, from: m.from, to: m.to, room: m.room ?? null, kind: m.kind, text: m.text, timestamp: m.timestamp, cursor: m.cursor }
}

type Handler = (args: any) => Promise<unknown>

const HANDLERS: Record<string, Handler> = {
  async start (a: { bootstrap: string[], dataDir: string, handle: string, options?: Partial<ChorusNodeOptions>, syncIntervalMs?: number }) {
    if (node != null) throw Object.assign(new Error('already started'), { code: 'ERR_AGENT_STATE' })
    const n = await createNode({ role: 'client', listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: a.bootstrap, dataDir: a.dataDir, ...a.options })
    await n.start()
    node = n
    return { peerId: n.peerId.toString() }
  },

  /** Open the agent's user (claiming its handle on the first run); from now on every shown message is reported. */
  async open (a: { handle: string, syncIntervalMs?: number }) {
    const u = await need0().openUser(a.handle, { syncIntervalMs: a.syncIntervalMs })
    u.on('message', (m) => { if (m.kind !== 'error') post(shown(m)) })
    // an unhandled 'error' event would end the process
    u.on('error', (err) => { post({ event: 'log', line: `${a.handle}: session error ${err.name}: ${err.message}` }) })
    user = u
    return { userId: u.userId }
  },

  async servers () {
    return need0().status().servers
  },

  async send (a: { to: string, text: string }) {
    return need().user.send(a.to, a.text)
  },

  async roomCreate (a: { name: string }) {
    return (await need().user.rooms.create({ name: a.name })).id
  },

  async roomInvite (a: { room: string, who: string }) {
    await need().user.rooms.invite(a.room, a.who)
    return null
  },

  /** Join once the invitation has come (the invitee's node may not have synced it yet: the owners decide). */
  async roomJoin (a: { room: string }) {
    return (await need().user.rooms.join(a.room)).id
  },

  async roomMembers (a: { room: string }) {
    const room = need().user.rooms.get(a.room)
    return room == null ? [] : (await room.members()).map((m) => m.userId)
  },

  async roomSend (a: { room: string, text: string }) {
    const room = need().user.rooms.get(a.room)
    if (room == null) throw Object.assign(new Error(`not in room ${a.room}`), { code: 'ERR_NOT_IN_ROOM' })
    return room.send(a.text)
  },

  async secretSend (a: { peer: string, text: string }) {
    return (await need().user.secret.open(a.peer)).send(a.text)
  },

  /** The whole direct conversation with `peer`, oldest first, paged with `before`. */
  async history (a: { peer: string }) {
    const out: Message[][] = []
    let before: string | undefined
    for (;;) {
      const page = await need().user.history(a.peer, { limit: 200, before })
      if (page.length === 0) break
      out.unshift(page)
      before = page[0].cursor
    }
    return out.flat().map((m) => ({ id: m.id, fromId: m.fromId, text: m.text, timestamp: m.timestamp, cursor: m.cursor }))
  },

  async roomHistory (a: { room: string }) {
    const room = need().user.rooms.get(a.room)
    if (room == null) throw Object.assign(new Error(`not in room ${a.room}`), { code: 'ERR_NOT_IN_ROOM' })
    const out: Message[][] = []
    let before: string | undefined
    for (;;) {
      const page = await room.history({ limit: 200, before })
      if (page.length === 0) break
      out.unshift(page)
      before = page[0].cursor
    }
    return out.flat().map((m) => ({ id: m.id, fromId: m.fromId, text: m.text, timestamp: m.timestamp, cursor: m.cursor }))
  },

  async secretHistory (a: { peer: string }) {
    const list = await (await need().user.secret.open(a.peer)).history()
    return list.map((m) => ({ id: m.id, fromId: m.fromId, text: m.text, timestamp: m.timestamp }))
  },

  /**
   * Which of `ids` (envelope ids of this user's mailbox) each server still holds, asked of each server
   * alone (a raw FETCH by cursor with this user's read proof): what `nothing deleted comes back` checks.
   */
  async holders (a: { servers: string[], entries: Array<{ id: string, cursor: string }> }) {
    const { node: n, user: u } = need()
    const cursors = a.entries.map((e) => new Uint8Array(Buffer.from(e.cursor, 'hex')))
    const out: Record<string, string[] | string> = {}
    await Promise.all(a.servers.map(async (server) => {
      try {
        const held: string[] = []
        for (let i = 0; i < cursors.length; i += 200) {
          const res = await n.replication.call(server, { kind: StoreRequest.Kind.FETCH, mailbox: u.userId, cursors: cursors.slice(i, i + 200) as Array<Uint8Array<ArrayBuffer>>, auth: u.readAuth(u.userId) })
          for (const bytes of res.envelopes) {
            const env = Envelope.decode(bytes)
            held.push(Buffer.from(cursorOf(env)).toString('hex'))
          }
        }
        out[server] = held
      } catch (err: any) {
        out[server] = `unanswered: ${err.message}`
      }
    }))
    return out
  },

  /** Stop the node cleanly (the session closes: what it showed is marked on disk). */
  async stop () {
    const n = node
    node = undefined
    user = undefined
    await n?.stop()
    return null
  }
}

function need0 (): ChorusNode {
  if (node == null) throw Object.assign(new Error('agent node not started'), { code: 'ERR_AGENT_STATE' })
  return node
}

process.on('message', (msg: { id: number, cmd: string, args: unknown }) => {
  const handler = HANDLERS[msg.cmd]
  const run = handler == null ? Promise.reject(new Error(`unknown command ${msg.cmd}`)) : handler(msg.args ?? {})
  run.then(
    (value) => { post({ id: msg.id, ok: true, value: value ?? null }) },
    (err: any) => { post({ id: msg.id, ok: false, error: { name: err?.name ?? 'Error', code: err?.code, message: String(err?.message ?? err) } }) }
  )
})

// the parent going away (the run was killed) must not leave this node behind
process.on('disconnect', () => {
  const bye = setTimeout(() => { process.exit(0) }, 2000)
  bye.unref()
  void (node?.stop() ?? Promise.resolve()).finally(() => { process.exit(0) })
})

post({ event: 'ready' })
