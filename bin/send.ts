/**
 * `chorus send`: one message from the command line, for scripts. It opens the user's client node, sends
 * a direct message (or a room post with `--room`), and exits 0 once the owners acknowledged it: W of
 * them have it on disk. It prints the message id and the servers that stored it, as two lines or, with
 * `--json`, as one JSON line.
 */

import { MAX_BODY_BYTES } from '../protocol/envelope.js'
import { HANDLE_PATTERN } from '../protocol/handle.js'
import { isRoomId } from '../protocol/mailbox.js'
import { NotInRoomError, type SendResult } from '../node/index.js'
import {
  asClientError, CLIENT_FLAGS_HELP, ClientCommandError, clientSettings, EXIT_FAILURE, EXIT_USAGE,
  openClientSession, parseClientArgs
} from './client-session.js'

/** The usage text of `chorus send --help`. */
export const USAGE = `Usage: chorus send [flags] HANDLE TEXT
       chorus send [flags] --room ROOM_ID TEXT

Send TEXT to the user HANDLE (or post it to a room this device is in) and exit once the servers that
own it acknowledged it. Prints the message id and the servers that stored it. Put -- before a TEXT
that starts with a dash.

  --room ROOM_ID       post to this room instead (see chorus rooms)
  --json               print the result as one JSON line: {id, to, room, timestamp, storedOn}

${CLIENT_FLAGS_HELP}

Exit status: 0 sent, 1 failed (unknown recipient, no servers reachable, handle taken), 2 bad usage.
`

const FLAGS = {
  room: { type: 'string' },
  json: { type: 'boolean' }
} as const

/** Run `chorus send`; resolves with the exit code. */
export async function run (argv: string[]): Promise<number> {
  const { values, positionals } = parseClientArgs(argv, FLAGS, [1, 2])
  if (values.help === true) { process.stdout.write(USAGE); return 0 }
  const room = values.room as string | undefined
  // checked before a node starts: a typo must not cost a trip to the mesh
  if (room != null && !isRoomId(room)) usage(`--room: not a room id: ${JSON.stringify(room.slice(0, 80))}`)
  if (room != null && positionals.length !== 1) usage('with --room, give only the TEXT (see --help)')
  if (room == null && positionals.length !== 2) usage('give a HANDLE and a TEXT, or --room ROOM_ID and a TEXT (see --help)')
  const to = room == null ? positionals[0] : undefined
  const text = positionals[positionals.length - 1]
  if (to != null && !HANDLE_PATTERN.test(to)) usage(`not a handle: ${JSON.stringify(to.slice(0, 80))} (a-z, 0-9, . _ -; at most 64)`)
  if (text === '') usage('the TEXT is empty')
  // the library refuses a text too large for an envelope too, but only after the node joined the mesh
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) usage(`the TEXT is larger than ${MAX_BODY_BYTES} bytes`)
  const settings = clientSettings(values)

  const session = await openClientSession(settings)
  try {
    let result: SendResult
    try {
      if (room != null) {
        // only a room this device is in: its node follows the room's state, which a post is judged by
        const joined = session.user.rooms.list().find((r) => r.id === room)
        if (joined == null) throw new NotInRoomError(room)
        result = await joined.send(text)
      } else {
        result = await session.user.send(to!, text)
      }
    } catch (err: any) {
      if (err instanceof NotInRoomError) {
        throw new ClientCommandError(`${err.message} on this device (chorus rooms lists the rooms it is in)`, EXIT_FAILURE)
      }
      throw asClientError(err, settings)
    }
    if (values.json === true) {
      const line = {
        id: result.id,
        to: to ?? null,
        room: room ?? null,
        timestamp: result.timestamp,
        storedOn: result.storedOn
      }
      process.stdout.write(`${JSON.stringify(line)}\n`)
    } else {
      process.stdout.write(`sent ${result.id} to ${room != null ? `room ${room}` : to!} at ${new Date(result.timestamp).toISOString()}\n`)
      const n = result.storedOn.length
      process.stdout.write(`stored on ${n} server${n === 1 ? '' : 's'}: ${result.storedOn.join(' ')}\n`)
    }
    return 0
  } finally {
    await session.close()
  }
}

function usage (message: string): never {
  throw new ClientCommandError(message, EXIT_USAGE)
}
