/**
 * `chorus chat`: an interactive terminal client. It runs a client-role node for one user (the shared
 * client session of the person-facing commands: --as, --data-dir, --bootstrap, --mesh, --passphrase,
 * --timeout), shows what arrives as it arrives, one line per event, and sends what is typed to the
 * current conversation: a direct chat, a room or a secret chat. The pieces live in bin/chat/.
 */

import { ChatApp } from './chat/app.js'
import { complete, runCommand } from './chat/commands.js'
import { attachEvents } from './chat/events.js'
import { clock } from './chat/format.js'
import { clientSettings, openClientSession, parseClientArgs, type ClientSession } from './client-session.js'

const HELP = `Usage: chorus chat [flags]

An interactive chat client: direct messages with receipts (✓ sent: W owners have it; ✓✓ delivered;
✓✓ read), rooms, contacts' presence and end-to-end encrypted secret chats. Type /help inside.

  --as HANDLE          who you are; claimed on the first run and remembered in the data dir
  --data-dir DIR       the client's keys and database (default $CHORUS_HOME/client or ~/.chorus/client)
  --bootstrap ADDR     multiaddr of a server or bootstrap peer; repeatable (env CHORUS_BOOTSTRAP)
  --mesh MESH_ID       the mesh id of a federated mesh (remembered)
  --passphrase TEXT    seal this device's keys and secret history (env CHORUS_PASSPHRASE)
  --timeout SECONDS    how long to wait for a server of the mesh (1-600, default 20)
  -h, --help           this help
`

/** Run `chorus chat`; resolves with the exit code. Usage and connection errors throw `ClientCommandError`. */
export async function run (argv: string[]): Promise<number> {
  const { values } = parseClientArgs(argv, {}, [0, 0])
  if (values.help === true) { process.stdout.write(HELP); return 0 }
  const settings = clientSettings(values)

  // Ctrl-C while connecting: stop as soon as the session is open (the node must not be left half-started)
  let interrupted = false
  const onSignal = (): void => {
    if (interrupted) process.exit(130)
    interrupted = true
    process.stdout.write('stopping once connected (Ctrl-C again to quit at once)…\n')
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.stdout.write(`${clock()} connecting as ${settings.handle}…\n`)
  let session: ClientSession
  try {
    session = await openClientSession(settings)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (interrupted) {
    await session.close()
    return 0
  }

  const app = new ChatApp({ session, input: process.stdin, output: process.stdout, command: runCommand, complete })
  attachEvents(app)
  const servers = session.node.status().servers.length
  app.say(`signed in as ${session.user.handle} (${servers} server${servers === 1 ? '' : 's'} in view). /help lists the commands.`)
  return await app.run()
}
