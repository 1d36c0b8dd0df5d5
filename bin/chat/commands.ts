/**
 * The commands of `chorus chat`: each one line starting with '/', parsed here and carried out on the
 * signed-in user. Arguments are checked before anything is sent (a handle's form, a count's range), so
 * a typo costs one line of explanation and nothing else. Library errors (an unknown handle, a room
 * that refuses) come back to the app, which prints them as one line.
 */

import { MAX_STATUS_CHARS } from '../../protocol/roster.js'
import { HANDLE_PATTERN, isRoomAddress } from '../../protocol/handle.js'
import { MAX_ROOM_NAME_LENGTH, looksLikeRoomId } from '../../protocol/room-events.js'
import type { Room } from '../../node/index.js'
import type { ChatApp } from './app.js'
import { ChatCommandError } from './errors.js'
import { clean, clock, lastSeen, safetyLines } from './format.js'
import { keyOf, labelOf, roomLabel, type Conversation } from './state.js'

/** `/history` shows this many messages unless told. @default 20 */
export const DEFAULT_HISTORY = 20

/** `/history N` shows at most this many. @default 200 */
export const MAX_HISTORY = 200

/** One command: how it is typed, what it does, how many words it takes, and the work. */
interface Command {
  usage: string
  help: string
  /** fewest and most words after the command (the text of a message counts as words) */
  words: [number, number]
  run: (app: ChatApp, words: string[], rest: string) => Promise<void>
}

const SUBSCRIPTIONS: Record<string, string> = {
  both: 'you see each other',
  to: 'you see their presence',
  from: 'they see yours',
  none: 'no presence either way'
}

/** The commands, in the order /help lists them. */
export const COMMANDS: Record<string, Command> = {
  msg: {
    usage: '/msg HANDLE [TEXT]',
    help: 'talk to HANDLE (plain lines go there from now on), sending TEXT if given',
    words: [1, Infinity],
    run: async (app, [handle], rest) => {
      const text = rest.slice(rest.indexOf(handle) + handle.length).trim()
      const c = await direct(app, handle)
      await app.open(c)
      if (text !== '') app.send(c, text)
    }
  },
  join: {
    usage: '/join ROOM',
    help: 'switch to a room you are in, or join one (an invitation, or a public room by id or address)',
    words: [1, Infinity],
    run: async (app, _w, rest) => { await app.open({ kind: 'room', room: await joinRoom(app, rest) }) }
  },
  rooms: {
    usage: '/rooms',
    help: 'the rooms you are in, and invitations',
    words: [0, 0],
    run: async (app) => { showRooms(app) }
  },
  create: {
    usage: '/create NAME [--public] [--address ADDRESS]',
    help: 'create a room (private unless --public: people join by invitation; --address gives it a mesh-wide address, team@conference… for Jabber users) and switch to it',
    words: [1, Infinity],
    run: async (app, words) => {
      const at = words.indexOf('--address')
      const address = at >= 0 ? words[at + 1] : undefined
      if (at >= 0 && address == null) throw new ChatCommandError('usage: /create NAME [--public] [--address ADDRESS]')
      const name = words.filter((w, i) => w !== '--public' && (at < 0 || (i !== at && i !== at + 1))).join(' ')
      if (name === '') throw new ChatCommandError('usage: /create NAME [--public] [--address ADDRESS]')
      if (name.length > MAX_ROOM_NAME_LENGTH) throw new ChatCommandError(`a room name is at most ${MAX_ROOM_NAME_LENGTH} characters`)
      if (address != null && !isRoomAddress(address)) throw new ChatCommandError(`not a room address: ${clean(address, 70)} (lower-case letters, digits, '.', '_' and '-'; not 16 letters like a room id)`)
      const room = await app.user.rooms.create({
        name,
        public: words.includes('--public'),
        ...(address != null ? { address } : {})
      })
      await app.open({ kind: 'room', room }, { history: false })
      app.say(`${roomLabel(room.name)} is ${room.public ? 'public' : 'private'} (id ${room.id}${room.address != null ? `, address ${room.address}` : ''}): /invite HANDLE to add people`)
    }
  },
  invite: {
    usage: '/invite HANDLE',
    help: 'invite HANDLE to the current room',
    words: [1, 1],
    run: async (app, [handle]) => { await currentRoom(app).invite(checkHandle(handle)) }
  },
  kick: {
    usage: '/kick HANDLE',
    help: 'remove HANDLE from the current room',
    words: [1, 1],
    run: async (app, [handle]) => { await currentRoom(app).kick(checkHandle(handle)) }
  },
  leave: {
    usage: '/leave',
    help: 'leave the current room',
    words: [0, 0],
    run: async (app) => { await currentRoom(app).leave() }
  },
  who: {
    usage: '/who',
    help: 'your contacts with their presence, status and last seen (and the members of the current room)',
    words: [0, 0],
    run: async (app) => { await showWho(app) }
  },
  add: {
    usage: '/add HANDLE',
    help: 'ask HANDLE to let you see their presence',
    words: [1, 1],
    run: async (app, [handle]) => {
      await app.user.roster.add(checkHandle(handle))
      app.say(`asked ${handle} to see their presence (pending until they /accept ${app.me})`)
    }
  },
  accept: {
    usage: '/accept HANDLE',
    help: 'let HANDLE see your presence (they asked)',
    words: [1, 1],
    run: async (app, [handle]) => {
      await app.user.roster.accept(checkHandle(handle))
      const entry = app.user.roster.list().find((e) => e.handle === handle)
      const hint = entry != null && entry.subscription !== 'both' && !entry.pendingOut ? ` (/add ${handle} to see theirs)` : ''
      app.say(`${handle} now sees your presence${hint}`)
    }
  },
  history: {
    usage: '/history [N]',
    help: `the last N messages of the current conversation (default ${DEFAULT_HISTORY}, at most ${MAX_HISTORY})`,
    words: [0, 1],
    run: async (app, [n]) => {
      const limit = n == null ? DEFAULT_HISTORY : Number(n)
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) {
        throw new ChatCommandError(`/history N: N is a whole number from 1 to ${MAX_HISTORY}`)
      }
      await app.showHistory(limit)
    }
  },
  secret: {
    usage: '/secret HANDLE',
    help: 'switch to an end-to-end encrypted chat with HANDLE (on this device only)',
    words: [1, 1],
    run: async (app, [handle]) => {
      await app.open({ kind: 'secret', chat: await app.user.secret.open(checkHandle(handle, app)) })
    }
  },
  verify: {
    usage: '/verify [HANDLE]',
    help: 'the safety number of your secret chat with HANDLE: compare it with theirs, in person',
    words: [0, 1],
    run: async (app, [handle]) => {
      const peer = handle ?? peerOf(app.current)
      if (peer == null) throw new ChatCommandError('usage: /verify HANDLE')
      const chat = await app.user.secret.open(checkHandle(peer, app))
      const sn = await chat.safetyNumber()
      app.say(`safety number with ${clean(chat.peer, 64)} (the same on both devices, or someone is in between):`)
      for (const line of safetyLines(sn)) app.print(line)
    }
  },
  away: {
    usage: '/away [TEXT]',
    help: 'tell your contacts you are away, with a status text',
    words: [0, Infinity],
    run: async (app, _w, rest) => {
      if (rest.length > MAX_STATUS_CHARS) throw new ChatCommandError(`a status is at most ${MAX_STATUS_CHARS} characters`)
      await app.user.setPresence('away', rest)
      app.say(`you are away${rest !== '' ? `: ${clean(rest)}` : ''}`)
    }
  },
  back: {
    usage: '/back',
    help: 'tell your contacts you are back (online)',
    words: [0, 0],
    run: async (app) => {
      await app.user.setPresence('online', '')
      app.say('you are online')
    }
  },
  quit: {
    usage: '/quit',
    help: 'stop the client (Ctrl-C and Ctrl-D too)',
    words: [0, 0],
    run: async (app) => { void app.quit() }
  },
  help: {
    usage: '/help',
    help: 'this list',
    words: [0, 0],
    run: async (app) => {
      for (const c of Object.values(COMMANDS)) app.print(`  ${c.usage.padEnd(24)} ${c.help}`)
      app.print(`  ${'TEXT'.padEnd(24)} a plain line goes to the current conversation (//TEXT sends a line starting with /)`)
    }
  }
}

/** Run one command line (it starts with '/'). */
export async function runCommand (app: ChatApp, line: string): Promise<void> {
  const m = /^\/(\S*)\s*(.*)$/s.exec(line)
  const name = (m?.[1] ?? '').toLowerCase()
  const rest = (m?.[2] ?? '').trim()
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command == null) throw new ChatCommandError(`unknown command /${clean(name, 40)} (try /help)`)
  const words = rest === '' ? [] : rest.split(/\s+/)
  const [min, max] = command.words
  if (words.length < min || words.length > max) throw new ChatCommandError(`usage: ${command.usage}`)
  await command.run(app, words, rest)
}

/** Complete a command's name, a handle or a room (readline's completer). */
export function complete (app: ChatApp, line: string): [string[], string] {
  const names = Object.keys(COMMANDS).map((n) => `/${n}`)
  if (/^\/\S*$/.test(line)) {
    const hits = names.filter((n) => n.startsWith(line))
    return [hits.length > 0 ? hits : names, line]
  }
  const m = /^\/(\w+)\s+(\S*)$/.exec(line)
  if (m == null) return [[], line]
  const [, command, word] = m
  const u = app.user
  const words = command === 'join'
    ? [...u.rooms.list().map((r) => r.name), ...u.rooms.invitations().map((i) => i.name)].filter((n) => /^\S+$/.test(n))
    : u.roster.list().map((e) => e.handle)
  return [[...new Set(words)].filter((w) => w.startsWith(word)), word]
}

/** `handle` if it has a handle's form (and is not the user's own, where that makes no sense). */
function checkHandle (handle: string, app?: ChatApp): string {
  if (!HANDLE_PATTERN.test(handle)) {
    throw new ChatCommandError(`not a handle: ${clean(handle, 70)} (lower-case letters, digits, '.', '_' and '-')`)
  }
  if (app != null && handle === app.me) throw new ChatCommandError('that is you')
  return handle
}

/** A direct conversation with a handle that exists (`UnknownHandleError` otherwise). */
async function direct (app: ChatApp, handle: string): Promise<Conversation> {
  const ref = await app.user.resolve(checkHandle(handle, app))
  return { kind: 'dm', handle: ref.handle }
}

function currentRoom (app: ChatApp): Room {
  const c = app.need()
  if (c.kind !== 'room') throw new ChatCommandError(`${labelOf(c)} is not a room: /join ROOM first`)
  return c.room
}

/** The other person of a direct or secret conversation. */
function peerOf (c: Conversation | undefined): string | undefined {
  if (c?.kind === 'dm') return c.handle
  if (c?.kind === 'secret') return c.chat.peer
  return undefined
}

/**
 * The room `query` names: a room this user is in (by id or name), an invitation (by id or name), or a
 * room by id or mesh-wide address. A name two rooms share needs the id.
 */
async function joinRoom (app: ChatApp, query: string): Promise<Room> {
  const rooms = app.user.rooms
  const named = (name: string): boolean => name.toLowerCase() === query.toLowerCase()
  const mine = rooms.list().filter((r) => r.id === query || named(r.name))
  if (mine.length === 1) return mine[0]
  const invited = rooms.invitations().filter((i) => i.room === query || named(i.name))
  const ids = [...new Set([...mine.map((r) => r.id), ...invited.map((i) => i.room)])]
  if (ids.length > 1) throw new ChatCommandError(`${ids.length} rooms are called ${clean(query, 40)}: /join one of ${ids.join(', ')}`)
  const id = ids[0] ??
    (looksLikeRoomId(query)
      ? query
      : isRoomAddress(query) ? (await rooms.resolve(query).catch(() => undefined))?.roomId : undefined)
  if (id == null) {
    throw new ChatCommandError(`no room ${clean(query, 40)} among yours, your invitations or the mesh's addresses (see /rooms; a public room joins by id or address)`)
  }
  return await rooms.join(id)
}

function showRooms (app: ChatApp): void {
  const rooms = app.user.rooms.list()
  const invitations = app.user.rooms.invitations()
  if (rooms.length === 0 && invitations.length === 0) { app.say('no rooms yet: /create NAME, or wait for an invitation'); return }
  const current = app.current != null ? keyOf(app.current) : ''
  for (const r of rooms) {
    const mark = current === `room:${r.id}` ? ' ← current' : ''
    const members = `${String(r.fold.members().length).padStart(3)} members`
    app.print(`  ${roomLabel(r.name).padEnd(26)} ${r.public ? 'public ' : 'private'} you: ${r.role.padEnd(6)} ${members}  id ${r.id}${mark}`)
  }
  for (const i of invitations) {
    app.print(`  ${roomLabel(i.name).padEnd(26)} invited by ${clean(i.by, 64)} at ${clock(i.at)}: /join ${i.room}`)
  }
}

async function showWho (app: ChatApp): Promise<void> {
  const entries = app.user.roster.list()
  if (entries.length === 0) app.say('no contacts yet: /add HANDLE')
  else app.say('contacts:')
  for (const e of entries) {
    const p = e.presence
    const state = p == null ? (e.subscription === 'to' || e.subscription === 'both' ? 'unknown' : '-') : p.state
    const status = p?.status != null && p.status !== '' ? ` "${clean(p.status, 80)}"` : ''
    const seen = p != null && p.state !== 'online' ? `, last seen ${lastSeen(p.lastSeen)}` : ''
    const pending = `${e.pendingOut ? ', you asked to see theirs' : ''}${e.pendingIn ? `, asks to see yours: /accept ${e.handle}` : ''}`
    const subscription = SUBSCRIPTIONS[e.subscription] ?? e.subscription
    app.print(`  ${clean(e.handle, 64).padEnd(16)} ${state.padEnd(8)}${status}${seen} (${subscription}${pending})`)
  }
  const c = app.current
  if (c?.kind === 'room') {
    const members = await c.room.members()
    app.say(`${labelOf(c)}: ${members.map((m) => `${clean(m.handle, 64)}${m.role !== 'member' ? ` (${m.role})` : ''}`).join(', ')}`)
  }
}
