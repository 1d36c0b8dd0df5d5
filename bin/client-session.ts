/**
 * What every person-facing command (`chorus chat`, `send`, `read`, `rooms`) shares: the flags that say
 * who you are and how to reach the mesh, and one client-role node hosting that user. The handle given
 * with `--as` on a first run is remembered in the data dir, so later runs need no `--as`.
 *
 * Errors a person can act on are `ClientCommandError`s with an exit code: 2 for bad usage, 1 for a mesh
 * that cannot be reached or a handle that cannot be had. The commands print them as one line.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { ChorusNode, User } from '../node/index.js'
import { InvalidOptionError } from '../node/errors.js'
import { HandleTakenError, NoServersError, UnknownHandleError } from '../node/replication/errors.js'
import { PassphraseError } from '../node/session/vault.js'
import { ChorusError } from '../protocol/errors.js'
import { defaultDataDir } from '../node/constants.js'

/** Exit code of a usage error. */
export const EXIT_USAGE = 2
/** Exit code of a failure (mesh unreachable, handle taken, unknown recipient). */
export const EXIT_FAILURE = 1

/** How long a command waits to see a server of the mesh. @default 20000 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000

/** A failure meant for a person: one line, and the exit code the command ends with. */
export class ClientCommandError extends ChorusError {
  static readonly code = 'ERR_CLIENT_COMMAND'
  override readonly name = 'ClientCommandError'
  constructor (message: string, readonly exitCode: number) { super(message, ClientCommandError.code) }
}

/** The flags every client command takes, in `parseArgs` form. */
export const CLIENT_FLAGS = {
  as: { type: 'string' },
  'data-dir': { type: 'string' },
  bootstrap: { type: 'string', multiple: true },
  mesh: { type: 'string' },
  passphrase: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const satisfies ParseArgsConfig['options']

/** The `--help` block of the flags every client command takes. */
export const CLIENT_FLAGS_HELP = `Who and where (a first run needs --as and --bootstrap; later runs find the handle, and the peers last
seen, in the data dir):
  --as HANDLE          your handle                                           env CHORUS_AS
  --data-dir DIR       this device's data (default $CHORUS_HOME/client)      env CHORUS_CLIENT_DIR
  --bootstrap ADDR     a server's or bootstrap peer's multiaddr; repeatable  env CHORUS_BOOTSTRAP
  --mesh MESH_ID       the mesh id of a federated mesh                       env CHORUS_MESH
  --passphrase TEXT    the passphrase your keys are sealed with              env CHORUS_PASSPHRASE
  --timeout SECONDS    how long to wait for a server (1-600, default 20)
  -h, --help           this help`

/** The client flags, resolved (flag, then environment, then what the data dir remembers). */
export interface ClientSettings {
  handle: string
  dataDir: string
  bootstrap: string[]
  mesh?: string
  passphrase?: string
  timeoutMs: number
}

/** What a client data dir remembers between runs. */
interface Remembered { handle?: string, mesh?: string }

const REMEMBER_FILE = 'client.json'

/** Parse a client command's argv with its own extra flags; usage errors become `ClientCommandError`s (exit 2). */
export function parseClientArgs<T extends ParseArgsConfig['options']> (
  argv: string[],
  extra: T,
  positionals: [number, number]
): { values: Record<string, any>, positionals: string[] } {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { ...CLIENT_FLAGS, ...extra }, allowPositionals: true, strict: true })
  } catch (err: any) {
    throw new ClientCommandError(String(err.message).replace(/\. To specify.*$/s, '').replace(/^Unknown option/, 'unknown flag'), EXIT_USAGE)
  }
  const [min, max] = positionals
  if ((parsed.values as Record<string, unknown>).help !== true &&
      (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new ClientCommandError(
      parsed.positionals.length < min ? 'missing argument (see --help)' : `unexpected argument ${JSON.stringify(parsed.positionals[max])}`,
      EXIT_USAGE
    )
  }
  return parsed as { values: Record<string, any>, positionals: string[] }
}

/** Resolve who and where from parsed flags and the environment. */
export function clientSettings (values: Record<string, any>, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const dataDir = values['data-dir'] ?? env.CHORUS_CLIENT_DIR ?? join(defaultDataDir(), 'client')
  const remembered = readRemembered(dataDir)
  // CHORUS_AS asks for a handle as --as does: either must match the one the data dir remembers
  const asked = values.as ?? env.CHORUS_AS
  const handle = asked ?? remembered.handle
  if (handle == null) throw new ClientCommandError('who are you? give --as HANDLE (remembered after the first run)', EXIT_USAGE)
  if (remembered.handle != null && asked != null && asked !== remembered.handle) {
    throw new ClientCommandError(`${dataDir} belongs to ${remembered.handle}; use another --data-dir for ${String(asked)}`, EXIT_USAGE)
  }
  const bootstrap: string[] = values.bootstrap ??
    (env.CHORUS_BOOTSTRAP != null ? env.CHORUS_BOOTSTRAP.split(',').map((s) => s.trim()).filter(Boolean) : [])
  let timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS
  if (values.timeout != null) {
    timeoutMs = Number(values.timeout) * 1000
    if (!Number.isFinite(timeoutMs) || timeoutMs < 1000 || timeoutMs > 600_000) {
      throw new ClientCommandError('--timeout: seconds, 1-600', EXIT_USAGE)
    }
  }
  return {
    handle: String(handle),
    dataDir,
    bootstrap,
    mesh: values.mesh ?? env.CHORUS_MESH ?? remembered.mesh,
    passphrase: values.passphrase ?? env.CHORUS_PASSPHRASE,
    timeoutMs
  }
}

/** A running client node with one open user. `close()` stops both. */
export interface ClientSession {
  node: ChorusNode
  user: User
  close: () => Promise<void>
}

/**
 * Start a client node in the settings' data dir, open the user (creating its identity and claiming the
 * handle on a first run), and remember the handle and mesh for next time.
 */
export async function openClientSession (
  s: ClientSettings,
  o: { syncIntervalMs?: number } = {}
): Promise<ClientSession> {
  let node: ChorusNode
  try {
    const { createNode } = await import('../node/index.js')
    node = await createNode({ role: 'client', dataDir: s.dataDir, bootstrap: s.bootstrap, mesh: s.mesh })
  } catch (err: any) {
    throw asClientError(err)
  }
  try {
    await node.start()
    const user = await node.openUser(s.handle, {
      timeoutMs: s.timeoutMs,
      passphrase: s.passphrase,
      syncIntervalMs: o.syncIntervalMs
    })
    writeRemembered(s.dataDir, { handle: s.handle, mesh: s.mesh })
    return { node, user, close: async () => { await node.stop() } }
  } catch (err: any) {
    await node.stop().catch(() => {})
    throw asClientError(err, s)
  }
}

/** A library error as a person should read it, with its exit code. */
export function asClientError (err: any, s?: ClientSettings): ClientCommandError {
  if (err instanceof ClientCommandError) return err
  if (err instanceof InvalidOptionError) return new ClientCommandError(err.message, EXIT_USAGE)
  if (err instanceof NoServersError) {
    const how = s == null || s.bootstrap.length === 0 ? ' (no --bootstrap given, and none remembered: pass the address a server or bootstrap peer prints)' : ` through ${s.bootstrap.join(', ')}`
    return new ClientCommandError(`no servers reachable${how}`, EXIT_FAILURE)
  }
  if (err instanceof HandleTakenError || err instanceof UnknownHandleError || err instanceof PassphraseError) {
    return new ClientCommandError(err.message, EXIT_FAILURE)
  }
  if (err instanceof ChorusError) return new ClientCommandError(err.message, EXIT_FAILURE)
  return new ClientCommandError(String(err?.message ?? err), EXIT_FAILURE)
}

function readRemembered (dataDir: string): Remembered {
  const path = join(dataDir, REMEMBER_FILE)
  if (!existsSync(path)) return {}
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8'))
    return {
      handle: typeof doc?.handle === 'string' ? doc.handle : undefined,
      mesh: typeof doc?.mesh === 'string' ? doc.mesh : undefined
    }
  } catch {
    return {}
  }
}

function writeRemembered (dataDir: string, r: Remembered): void {
  try {
    writeFileSync(join(dataDir, REMEMBER_FILE), `${JSON.stringify(r)}\n`, { mode: 0o600 })
  } catch { /* not remembering is not fatal */ }
}
