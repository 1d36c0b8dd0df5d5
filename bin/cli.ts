/**
 * `chorus`: the node binary. Output is for people and for scripts: one line per fact, peers joining and
 * leaving as they happen; errors are one line on stderr and a non-zero exit (2 for bad usage, 1 for a
 * node that could not start).
 */

import { ChorusError } from '../protocol/errors.js'
import { VERSION } from '../node/version.js'
import type { ChorusNode } from '../node/index.js'
import { SETTINGS, helpText, parseInvocation, type Invocation } from './args.js'
import { isAdmissionCommand, runAdmissionCommand } from './mesh.js'
import { ClientCommandError } from './client-session.js'

/**
 * The person-facing commands, each a module whose `run(argv)` prints its own output and resolves with
 * the exit code; loaded only when used, so `chorus start` never pays for a terminal UI.
 */
const PERSON_COMMANDS: Record<string, () => Promise<{ run: (argv: string[]) => Promise<number> }>> = {
  chat: async () => await import('./chat.js'),
  send: async () => await import('./send.js'),
  read: async () => await import('./read.js'),
  rooms: async () => await import('./rooms.js'),
  demo: async () => await import('./demo.js')
}

const STOP_TIMEOUT_MS = 10_000

function fail (message: string, code: number): never {
  process.stderr.write(`chorus: error: ${message}\n`)
  process.exit(code)
}

/** An error as the command-line user should read it: library option names become flag names. */
function explain (err: any): string {
  if (!(err instanceof ChorusError)) return `could not start: ${err?.message ?? err}`
  const option = (err as { option?: string }).option
  const setting = SETTINGS.find((s) => s.key === option)
  return setting != null ? err.message.replace(`${option}:`, `--${setting.flag}:`) : err.message
}

// `chorus start | head -2`: once nobody reads stdout, keep running and stay quiet instead of dying on EPIPE
let stdoutGone = false
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') stdoutGone = true
  else fail(`cannot write output: ${err.message}`, 1)
})

function say (line: string): void {
  if (!stdoutGone) process.stdout.write(`${line}\n`)
}

/** Say which mesh this is and, for a server, whether it may own data and why not. */
function sayAdmission (node: ChorusNode): void {
  const a = node.admissionStatus()
  if (a.mesh == null) {
    say('open mesh: any node may own data; use --mesh for a federated mesh')
    return
  }
  say(`mesh: ${a.mesh}`)
  if (a.self == null) return
  if (a.self.admitted) {
    say(`admission: certified until ${a.self.expiresAt ?? '?'}, capacity ${a.self.capacity ?? 1}${a.self.operator != null ? `, signed by operator ${a.self.operator.slice(0, 16)}` : ''}`)
  } else say(`admission: NOT ADMITTED (${a.self.reason ?? 'no certificate'}): this server owns no data and other nodes refuse it; admit it with chorus mesh admit ${node.peerId} and restart with --cert`)
}

async function main (argv: string[]): Promise<void> {
  const person = PERSON_COMMANDS[argv[0]]
  if (person != null) {
    let code: number
    try {
      code = await (await person()).run(argv.slice(1))
    } catch (err: any) {
      fail(err?.message ?? String(err), err instanceof ClientCommandError ? err.exitCode : 1)
    }
    // the command has stopped its node and said its last line: end with its code once stdout has taken
    // that line. Not a natural exit: libp2p leaves ref'd timers behind a stopped node (gossipsub's next
    // heartbeat, the address manager's 1 s debounce), which kept every command alive 1-2 s after its work
    process.stdout.write('', () => { process.exit(code) })
    return
  }
  if (isAdmissionCommand(argv)) {
    try {
      await runAdmissionCommand(argv, say)
    } catch (err: any) {
      fail(err instanceof ChorusError ? explain(err) : String(err?.message ?? err), err?.code === 'ERR_INVALID_OPTION' ? 2 : 1)
    }
    return
  }
  let inv: Invocation
  try {
    inv = parseInvocation(argv)
  } catch (err: any) {
    fail(explain(err), 2)
  }
  if (inv.version) { say(VERSION); return }
  if (inv.command == null && !inv.help && argv.length > 0) fail('no command given (try: chorus start, chorus bootstrap, chorus --help)', 2)
  if (inv.help || inv.command == null) { process.stdout.write(helpText(inv.command)); return }

  // One handler per signal for the whole life of the process: removing the last listener would give the
  // signal back its default action (die at once) for a moment. A signal during start-up stops the node
  // as soon as it is up, rather than killing it half-started.
  let onSignal = (signal: string): void => { stopRequested ??= signal }
  let stopRequested: string | undefined
  process.on('SIGINT', () => { onSignal('SIGINT') })
  process.on('SIGTERM', () => { onSignal('SIGTERM') })

  let node: ChorusNode
  try {
    const { createNode } = await import('../node/index.js')
    node = await createNode(inv.options)
    await node.start()
  } catch (err: any) {
    fail(explain(err), err?.code === 'ERR_INVALID_OPTION' ? 2 : 1)
  }

  say(`chorus ${VERSION} started as ${node.role}`)
  say(`peer id: ${node.peerId}`)
  say(`data dir: ${node.options.dataDir}`)
  for (const a of node.multiaddrs()) say(`listening: ${a}`)
  const http = node.httpAddress()
  if (http != null) say(`http: http://${http}/status`)
  const xmpp = node.xmppAddress()
  if (xmpp != null) say(`xmpp: ${xmpp} for ${node.options.xmpp?.domain ?? ''}${node.options.xmpp?.allowPlaintext === true ? ' (plaintext allowed)' : ' (STARTTLS required)'}`)
  if (node.gateway?.certificate?.selfMade === true) {
    const dir = node.gateway.certificate.dir ?? ''
    process.stderr.write(`chorus: warning: the XMPP gateway presents a self-signed certificate it made (${dir}): ` +
      'for one gateway on loopback only; clients must skip certificate checks, and it redirects no client. ' +
      'Give every gateway of the domain the same --xmpp-cert and --xmpp-key.\n')
  }
  if (node.options.bootstrap.length === 0 && node.role !== 'bootstrap') say('no --bootstrap given: this node is a mesh of its own until others join it')
  sayAdmission(node)
  node.on('member:join', (m) => { say(`${new Date().toISOString()} peer joined ${m.peerId} (${m.role})`) })
  node.on('member:leave', (m, why) => { say(`${new Date().toISOString()} peer left ${m.peerId} (${m.role}, ${why})`) })
  node.on('member:refused', (peer, err) => { say(`${new Date().toISOString()} refused ${peer} (${err.reason}): ${err.message}`) })
  node.on('admission:self', (ok) => {
    const a = node.admissionStatus().self
    say(`${new Date().toISOString()} admission: ${ok ? 'this server now owns data' : `this server no longer owns data (${a?.reason ?? 'not admitted'})`}`)
  })

  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) { process.stderr.write(`chorus: ${signal} again, exiting now\n`); process.exit(1) }
    stopping = true
    say(`${signal}: stopping`)
    const timer = setTimeout(() => { fail(`stop took longer than ${STOP_TIMEOUT_MS} ms`, 1) }, STOP_TIMEOUT_MS)
    node.stop().then(() => {
      clearTimeout(timer)
      say('stopped')
      process.exit(0)
    }, (err) => { fail(`stop failed: ${err.message}`, 1) })
  }
  onSignal = shutdown
  if (stopRequested != null) shutdown(stopRequested)
}

await main(process.argv.slice(2))
