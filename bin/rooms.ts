/**
 * `chorus rooms`: the rooms a user is in on this device, for people and scripts: each room's id (what
 * `chorus send --room` and `chorus read --room` take), name, this user's role and how many members it
 * has, as a table or, with `--json`, one JSON object per line. The figures are the room's state as its
 * owners have it: the session reads each room's state log when it opens.
 */

import type { Room } from '../node/index.js'
import { CLIENT_FLAGS_HELP, clientSettings, openClientSession, parseClientArgs } from './client-session.js'

/** The usage text of `chorus rooms --help`. */
export const USAGE = `Usage: chorus rooms [flags]

List the rooms you are in on this device: id, name, your role (owner, admin, member) and how many
members each has.

  --json               one JSON object per line: {id, name, role, members, public, subject}

${CLIENT_FLAGS_HELP}

Exit status: 0 listed, 1 failed (no servers reachable, handle taken), 2 bad usage.
`

const FLAGS = {
  json: { type: 'boolean' }
} as const

/** One row of the list. */
interface RoomRow { id: string, name: string, role: string, members: number, public: boolean, subject: string }

/** Run `chorus rooms`; resolves with the exit code. */
export async function run (argv: string[]): Promise<number> {
  const { values } = parseClientArgs(argv, FLAGS, [0, 0])
  if (values.help === true) { process.stdout.write(USAGE); return 0 }
  const settings = clientSettings(values)
  const session = await openClientSession(settings)
  try {
    const rows = session.user.rooms.list().map(row).sort(
      (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)
    )
    if (values.json === true) {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`)
    } else {
      process.stdout.write(table(rows))
    }
    return 0
  } finally {
    await session.close()
  }
}

function row (room: Room): RoomRow {
  const state = room.toJSON()
  return {
    id: state.id,
    name: state.name,
    role: state.role,
    members: state.members.length,
    public: state.public,
    subject: state.subject
  }
}

/** The rows as aligned columns under a header; a line saying so when there are none. */
function table (rows: RoomRow[]): string {
  if (rows.length === 0) return 'no rooms on this device\n'
  const cells = [['ID', 'NAME', 'ROLE', 'MEMBERS'], ...rows.map((r) => [r.id, printable(r.name), r.role, String(r.members)])]
  const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)))
  return cells.map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ')).join('\n') + '\n'
}

/** Control characters, line and paragraph separators, bidirectional overrides and isolates. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they become escapes
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * A room name (set by its owner, from the network) as one terminal line: control characters and bidi overrides escaped.
 */
function printable (text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
