/**
 * `chorus read`: a user's messages on the command line, for people and scripts. It opens the user's
 * client node, prints the newest `--limit` messages oldest first (direct messages both ways and the
 * posts of the rooms this device is in; `--from` keeps one sender's, `--room` one room's) and exits;
 * with `--follow` it goes on printing messages as they arrive until SIGINT or SIGTERM, then stops the
 * node and exits 0. One line per message: readable, or with `--json` one JSON object.
 *
 * Live messages and history meet here: the session hands what its catch-up found (and whatever arrives
 * meanwhile) to the first 'message' listener, which is attached before the history is read. Those are
 * printed after the history, each message once (by id), leaving out stored ones older than the page
 * the history showed: they are outside what `--limit` asked for.
 */

import { Envelope, userIdOf } from '../protocol/envelope.js'
import { HANDLE_PATTERN } from '../protocol/handle.js'
import { cursorOf, isRoomId } from '../protocol/mailbox.js'
import { MAX_FETCH_LIMIT } from '../node/replication/constants.js'
import { NotInRoomError, type Message, type Room, type User } from '../node/index.js'
import {
  asClientError, CLIENT_FLAGS_HELP, ClientCommandError, clientSettings, EXIT_FAILURE, EXIT_USAGE,
  openClientSession, parseClientArgs, type ClientSession
} from './client-session.js'

/** Messages printed when `--limit` is not given. @default 50 */
export const DEFAULT_LIMIT = 50

/** The largest `--limit`: a page a person or a script can take in at once. @default 1000 */
export const MAX_LIMIT = 1000

/** Pages read from one log at most: a `--from` filter over a long history must not read it all. */
const MAX_PAGES = 64

/** Message ids remembered to print each message once; the oldest is forgotten first. */
const SEEN_MAX = 10_000

/** Messages kept while the history is read, at most (the session holds as many for its first listener). */
const BUFFER_MAX = 10_000

/** How long the node may take to stop before the command gives up on it. */
const STOP_TIMEOUT_MS = 10_000

/** Envelope kinds of a user's mailbox that are messages to show (receipts, invitations, presence are not). */
const DIRECT_KINDS = new Set([Envelope.Kind.CHAT, Envelope.Kind.ERROR])

/** Message kinds that history can show: a live one of another kind is always new. */
const STORED_KINDS = new Set<string>(['chat', 'groupchat', 'error'])

/** The usage text of `chorus read --help`. */
export const USAGE = `Usage: chorus read [flags]

Print your newest messages, oldest first: direct messages (sent and received) and the posts of the
rooms this device is in. With --follow, keep printing new ones as they arrive until Ctrl-C (SIGINT)
or SIGTERM.

  --from HANDLE        only messages sent by HANDLE
  --room ROOM_ID       only this room's posts (see chorus rooms)
  --limit N            how many messages of history (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT})
  -f, --follow         then print new messages as they arrive
  --json               one JSON object per line: {id, from, to, room, kind, text, timestamp}
                       (to: the recipient's handle where known, null for a room post; timestamp: ms)

${CLIENT_FLAGS_HELP}

Exit status: 0 done (or stopped by a signal), 1 failed (unknown handle, no servers reachable,
handle taken), 2 bad usage.
`

const FLAGS = {
  from: { type: 'string' },
  room: { type: 'string' },
  limit: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  json: { type: 'boolean' }
} as const

/** What to show: everything, one sender's messages, one room's posts, or one sender's posts in one room. */
interface View {
  from?: { handle: string, userId: string }
  room?: Room
}

/** Run `chorus read`; resolves with the exit code. */
export async function run (argv: string[]): Promise<number> {
  const { values } = parseClientArgs(argv, FLAGS, [0, 0])
  if (values.help === true) { process.stdout.write(USAGE); return 0 }
  const from = values.from as string | undefined
  const roomId = values.room as string | undefined
  if (from != null && !HANDLE_PATTERN.test(from)) usage(`--from: not a handle: ${JSON.stringify(from.slice(0, 80))}`)
  if (roomId != null && !isRoomId(roomId)) usage(`--room: not a room id: ${JSON.stringify(roomId.slice(0, 80))}`)
  const limit = parseLimit(values.limit)
  const follow = values.follow === true
  const settings = clientSettings(values)

  // installed before the node starts: a signal during start-up stops it once it is up, not half-started
  const stop = follow ? new StopRequest() : undefined
  try {
    const session = await openClientSession(settings)
    try {
      if (stop?.requested === true) return 0
      const view: View = {}
      try {
        if (from != null) {
          const ref = await session.user.resolve(from)
          view.from = { handle: ref.handle, userId: ref.userId }
        }
        if (roomId != null) {
          view.room = session.user.rooms.list().find((r) => r.id === roomId)
          if (view.room == null) throw new NotInRoomError(roomId)
        }
      } catch (err: any) {
        if (err instanceof NotInRoomError) {
          throw new ClientCommandError(`${err.message} on this device (chorus rooms lists the rooms it is in)`, EXIT_FAILURE)
        }
        throw asClientError(err, settings)
      }
      await show(session, view, limit, values.json === true, stop)
      return 0
    } finally {
      await closeWithin(session, STOP_TIMEOUT_MS)
    }
  } finally {
    stop?.dispose()
  }
}

/** Print the history of `view`, then what arrived meanwhile, then (with `stop`) live messages until it is requested. */
async function show (
  session: ClientSession,
  view: View,
  limit: number,
  json: boolean,
  stop: StopRequest | undefined
): Promise<void> {
  const { user } = session
  const out = new Printer(user, json)
  let buffered: Message[] | undefined = []
  const onMessage = (m: Message): void => {
    if (!matches(m, view)) return
    if (buffered == null) { out.print(m); return }
    buffered.push(m)
    if (buffered.length > BUFFER_MAX) buffered.shift()
  }
  user.on('message', onMessage)
  try {
    let page: Message[]
    try {
      page = await history(user, view, limit)
    } catch (err: any) {
      throw asClientError(err)
    }
    out.learn(page)
    for (const m of page) out.print(m)
    // a stored message older than the page shown is outside what --limit asked for, however it came
    const floor = page.length >= limit ? page[0].cursor : undefined
    const arrived = buffered
    buffered = undefined
    out.learn(arrived)
    for (const m of arrived) {
      if (floor != null && m.cursor !== '' && STORED_KINDS.has(m.kind) && m.cursor < floor) continue
      out.print(m)
    }
    if (stop != null) await stop.promise
  } finally {
    user.off('message', onMessage)
  }
}

/** Does a message belong to the view? */
function matches (m: Message, view: View): boolean {
  if (view.room != null && m.room !== view.room.id) return false
  if (view.from != null && m.fromId !== view.from.userId) return false
  return true
}

/**
 * The newest `limit` messages of the view, oldest first: merged from the user's mailbox and the rooms'
 * logs by their cursors (hybrid timestamp, then id), the order every log keeps.
 */
async function history (user: User, view: View, limit: number): Promise<Message[]> {
  const fromId = view.from?.userId
  let lists: Message[][]
  if (view.room != null) {
    lists = [await roomPosts(view.room, limit, fromId)]
  } else {
    lists = await Promise.all([
      directMessages(user, limit, fromId),
      ...user.rooms.list().map(async (room) => await roomPosts(room, limit, fromId).catch((err: Error) => {
        // one room out of reach (its owners down, this user kicked meanwhile) leaves the others to show
        process.stderr.write(`chorus: warning: room ${room.id}: ${err.message}\n`)
        return []
      }))
    ])
  }
  const byId = new Map<string, Message>()
  for (const list of lists) for (const m of list) byId.set(m.id, m)
  return [...byId.values()].sort((a, b) => (a.cursor < b.cursor ? -1 : a.cursor > b.cursor ? 1 : 0)).slice(-limit)
}

/**
 * The newest `limit` direct messages of the user's mailbox (from `fromId` only, when given), oldest first.
 * Read page by page with `user.inbox` rather than `user.history`: the mailbox also holds receipts and
 * invitations, so a page may have fewer messages than asked for while older ones remain, and `history`
 * hands back no cursor to go on from past a page with none.
 */
async function directMessages (user: User, limit: number, fromId?: string): Promise<Message[]> {
  const out: Message[] = []
  let before: string | undefined
  for (let pages = 0; pages < MAX_PAGES && out.length < limit; pages++) {
    const page = await user.inbox({ with: fromId, limit: MAX_FETCH_LIMIT, before, newestFirst: true })
    for (let i = page.envelopes.length - 1; i >= 0 && out.length < limit; i--) {
      const env = page.envelopes[i]
      if (!DIRECT_KINDS.has(env.kind) || (fromId != null && userIdOf(env.senderKey) !== fromId)) continue
      const m = await user.toMessage(env)
      if (m != null) out.push(m)
    }
    if (!page.more || page.envelopes.length === 0) break
    before = Buffer.from(cursorOf(page.envelopes[0])).toString('hex')
  }
  return out.reverse()
}

/** The newest `limit` posts of a room (by `fromId` only, when given), oldest first. */
async function roomPosts (room: Room, limit: number, fromId?: string): Promise<Message[]> {
  const out: Message[] = []
  let before: string | undefined
  for (let pages = 0; pages < MAX_PAGES && out.length < limit; pages++) {
    const page = await room.history({ limit: MAX_FETCH_LIMIT, before })
    for (let i = page.length - 1; i >= 0 && out.length < limit; i--) {
      if (fromId == null || page[i].fromId === fromId) out.push(page[i])
    }
    // an empty page is the end; a short one need not be (posts of non-members are left out of it)
    if (page.length === 0) break
    before = page[0].cursor
  }
  return out.reverse()
}

/** Prints messages, each once, as readable lines or JSON lines. */
class Printer {
  /** handles of user ids, learnt from verified senders (and this user): envelopes name recipients by id */
  private readonly names = new Map<string, string>()
  private readonly seen = new Set<string>()
  private readonly roomNames = new Map<string, string>()

  constructor (private readonly user: User, private readonly json: boolean) {
    this.names.set(user.userId, user.handle)
    for (const room of user.rooms.list()) this.roomNames.set(room.id, room.name)
  }

  /** Remember the handles of these messages' senders, to name the recipients of others. */
  learn (messages: Message[]): void {
    for (const m of messages) {
      if (m.fromId === '' || m.from === m.fromId || this.names.has(m.fromId)) continue
      if (this.names.size >= SEEN_MAX) this.names.delete(this.names.keys().next().value as string)
      this.names.set(m.fromId, m.from)
    }
  }

  print (m: Message): void {
    if (m.id !== '') {
      if (this.seen.has(m.id)) return
      this.seen.add(m.id)
      if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value as string)
    }
    this.learn([m])
    const to = m.room != null ? null : this.names.get(m.to) ?? m.to
    if (this.json) {
      const line = {
        id: m.id,
        from: m.from,
        to,
        room: m.room ?? null,
        kind: m.kind,
        text: m.text,
        timestamp: m.timestamp
      }
      process.stdout.write(`${JSON.stringify(line)}\n`)
      return
    }
    const where = m.room != null ? `[${printable(this.roomNames.get(m.room) || m.room)}] ` : ''
    const toWhom = to != null && m.to !== this.user.userId ? ` → ${to}` : ''
    const kind = m.kind === 'chat' || m.kind === 'groupchat' ? '' : ` (${m.kind}${m.condition != null ? `: ${m.condition}` : ''})`
    process.stdout.write(`${new Date(m.timestamp).toISOString()} ${where}${m.from}${toWhom}${kind}: ${printable(m.text)}\n`)
  }
}

/**
 * Text from the network as one terminal line: line breaks and control characters (which could move the
 * cursor or recolour the terminal) and bidirectional overrides (which could reorder what is shown)
 * become escapes.
 */
function printable (text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they become escapes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n'
    if (c === '\t') return '\\t'
    if (c === '\r') return '\\r'
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

function parseLimit (value: string | undefined): number {
  if (value == null) return DEFAULT_LIMIT
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN
  if (!(n >= 1 && n <= MAX_LIMIT)) usage(`--limit: a whole number between 1 and ${MAX_LIMIT} (got ${JSON.stringify(value.slice(0, 20))})`)
  return n
}

function usage (message: string): never {
  throw new ClientCommandError(message, EXIT_USAGE)
}

/**
 * SIGINT, SIGTERM, or nobody reading stdout any more (`chorus read -f | head`): the end of a follow.
 * A second signal exits at once, as `chorus start` does.
 */
class StopRequest {
  requested = false
  readonly promise: Promise<void>
  private resolve!: () => void
  private readonly onSignal = (signal: string): void => {
    if (this.requested) { process.stderr.write(`chorus: ${signal} again, exiting now\n`); process.exit(1) }
    this.requested = true
    this.resolve()
  }

  private readonly onInt = (): void => { this.onSignal('SIGINT') }
  private readonly onTerm = (): void => { this.onSignal('SIGTERM') }
  private readonly onOutputError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE' && !this.requested) { this.requested = true; this.resolve() }
  }

  constructor () {
    this.promise = new Promise((resolve) => { this.resolve = resolve })
    process.on('SIGINT', this.onInt)
    process.on('SIGTERM', this.onTerm)
    process.stdout.on('error', this.onOutputError)
  }

  dispose (): void {
    process.off('SIGINT', this.onInt)
    process.off('SIGTERM', this.onTerm)
    process.stdout.off('error', this.onOutputError)
  }
}

/** Stop the node; one that takes longer than `ms` is given up on (the command fails, and the process exits). */
async function closeWithin (session: ClientSession, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new ClientCommandError(`the node took longer than ${ms} ms to stop`, EXIT_FAILURE)) }, ms)
  })
  try {
    await Promise.race([session.close(), late])
  } finally {
    clearTimeout(timer)
  }
}
