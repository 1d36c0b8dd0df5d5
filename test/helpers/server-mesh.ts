/**
 * A mesh of real `chorus start` server processes for the replication tests: a bootstrap peer and N
 * servers with N = 3 replicas, W = 2 and fast membership timings, each with its own data dir kept
 * across restarts. Also the two ways a test looks at replicas: the ownership ring computed here from
 * the live server ids (the same pure function the nodes use), and the LevelDB files of a stopped
 * server, read directly.
 */

import { GroupCommit } from '../../node/store/group-commit.js'
import { openDb } from '../../node/store/db.js'
import { HandleStore } from '../../node/store/handle-store.js'
import { MailboxStore } from '../../node/store/mailbox-store.js'
import { userIdOf } from '../../protocol/envelope.js'
import { Ring, keyPoint } from '../../protocol/ring.js'
import { ChorusProcesses, LOOPBACK_ARGS, type ChorusProcess } from './process.js'
import { scaled, waitFor } from './wait.js'

/**
 * Membership timings of these meshes: quick enough that a killed server is dropped within seconds, and
 * tolerant enough for a loaded two-core machine running a dozen node processes. The CLI derives the
 * servers' probe timeout from the interval (500 ms; a dial to a peer not yet connected gets three
 * times that); a pending peer that has not answered within the suspicion timeout is forgotten, so that
 * timeout must outlast a handshake on a busy host (at 1.5 s, clients once failed to admit any server
 * for 30 s). The suspicion timeout is stretched by CHORUS_TEST_SLOWDOWN like every test deadline.
 */
export const PROBE_INTERVAL_MS = 500
export const SUSPICION_TIMEOUT_MS = scaled(4000)
export const REPLICAS = 3
export const WRITE_QUORUM = 2

/** Flags every node of these tests runs with. */
export const MESH_ARGS = [
  '--replicas', String(REPLICAS), '--write-quorum', String(WRITE_QUORUM),
  '--probe-interval', String(PROBE_INTERVAL_MS), '--suspicion-timeout', String(SUSPICION_TIMEOUT_MS)
]

/**
 * The same timings for a client node started through the library, with the library's default probe
 * timeout (1 s, scaled: a client dials every server it learns of, which on a busy host takes a while),
 * plus a 1 s membership sync: a client learns the servers from the table of whoever it syncs with, and
 * at the default 15 s a fresh client can take that long to see all five.
 */
export const CLIENT_OPTIONS = {
  replicas: REPLICAS,
  writeQuorum: WRITE_QUORUM,
  membership: {
    probeIntervalMs: PROBE_INTERVAL_MS,
    probeTimeoutMs: scaled(1000),
    rejoinIntervalMs: PROBE_INTERVAL_MS * 2,
    suspicionTimeoutMs: SUSPICION_TIMEOUT_MS,
    syncIntervalMs: 1000
  }
}

/** One server slot: its data dir (and so its peer id) outlives the process. */
export interface ServerSlot {
  dir: string
  peerId: string
  proc: ChorusProcess
}

export class ServerMesh {
  readonly procs = new ChorusProcesses()
  bootstrap!: ChorusProcess
  readonly servers: ServerSlot[] = []

  /** Start the bootstrap peer and `n` servers; resolve when every server sees all `n`. */
  async start (n: number, timeoutMs = scaled(60_000)): Promise<void> {
    this.bootstrap = this.procs.spawn(['bootstrap', ...LOOPBACK_ARGS, '--data-dir', this.procs.dir('chorus-boot-'), ...MESH_ARGS])
    await this.bootstrap.ready()
    const procs = Array.from({ length: n }, () => this.spawn(this.procs.dir('chorus-srv-')))
    await Promise.all(procs.map(async (p) => await p.ready()))
    for (const p of procs) this.servers.push({ dir: dirOf(p), peerId: p.peerId!, proc: p })
    await this.waitForView(this.servers, this.ids(), timeoutMs)
  }

  /** Peer ids of the servers whose process runs (or of all slots with `all`). */
  ids (all = false): string[] {
    return this.servers.filter((s) => all || s.proc.alive).map((s) => s.peerId)
  }

  slot (peerId: string): ServerSlot {
    const s = this.servers.find((x) => x.peerId === peerId)
    if (s == null) throw new Error(`no server ${peerId}`)
    return s
  }

  /** Start the slot's server again on its data dir (same peer id, a new port). */
  async restart (slot: ServerSlot): Promise<void> {
    if (slot.proc.alive) throw new Error(`server ${slot.peerId} still runs`)
    slot.proc = this.spawn(slot.dir)
    await slot.proc.ready()
    if (slot.proc.peerId !== slot.peerId) throw new Error(`restarted server has peer id ${slot.proc.peerId}, not ${slot.peerId}`)
  }

  /** SIGTERM every running server and wait for each to exit 0 (graceful stop: the LevelDB is closed). */
  async stopAll (timeoutMs = scaled(30_000)): Promise<void> {
    const live = this.servers.filter((s) => s.proc.alive)
    for (const s of live) s.proc.kill('SIGTERM')
    const exits = await Promise.all(live.map(async (s) => await s.proc.waitForExit(timeoutMs)))
    exits.forEach((e, i) => {
      if (e.code !== 0) throw new Error(`server ${live[i].peerId} exited ${e.code ?? e.signal} on SIGTERM: ${live[i].proc.describe()}`)
    })
  }

  /** Wait until each of `viewers` reports exactly `ids` as its live servers (via /status). */
  async waitForView (
    viewers: Array<{ proc: ChorusProcess } | ChorusProcess>,
    ids: string[],
    timeoutMs = scaled(60_000)
  ): Promise<void> {
    const want = JSON.stringify([...ids].sort())
    const procs = viewers.map((v) => ('proc' in v ? v.proc : v))
    await waitFor(`${procs.length} nodes to see servers ${ids.map((s) => s.slice(-6)).join(',')}`, async () => {
      const views = await Promise.all(procs.map(async (p) => (await p.status()).servers))
      if (views.every((v) => JSON.stringify([...v].sort()) === want)) return true
      // not there yet: the views, for the message should the wait time out
      throw new Error(`views: ${views.map((v, i) => `${(procs[i].peerId ?? '?').slice(-6)} sees ${v.map((s) => s.slice(-6)).join(',')}`).join('; ')}`)
    }, { timeoutMs, intervalMs: 100 })
  }

  async cleanup (): Promise<void> {
    await this.procs.cleanup()
  }

  private spawn (dir: string): ChorusProcess {
    const args = ['start', ...LOOPBACK_ARGS, '--bootstrap', this.bootstrap.bootstrapAddr, '--data-dir', dir, ...MESH_ARGS]
    return this.procs.spawn(args)
  }
}

function dirOf (p: ChorusProcess): string {
  return p.args[p.args.indexOf('--data-dir') + 1]
}

/** The N owners of a user's mailbox among `servers` (equal capacities), primary first. */
export function mailboxOwners (userId: string, servers: string[], n = REPLICAS): string[] {
  return new Ring(servers.map((peerId) => ({ peerId }))).owners(keyPoint('user', userId), n)
}

/** The N owners of a handle's claim among `servers`. */
export function handleOwners (handle: string, servers: string[], n = REPLICAS): string[] {
  return new Ring(servers.map((peerId) => ({ peerId }))).owners(keyPoint('handle', handle), n)
}

/** The userId each of `handles` is claimed for in a stopped server's LevelDB (undefined: no claim there). */
export async function readHandles (dataDir: string, handles: string[]): Promise<Map<string, string | undefined>> {
  const db = await openDb(dataDir)
  try {
    const store = new HandleStore(db, new GroupCommit(db))
    const out = new Map<string, string | undefined>()
    for (const h of handles) {
      const claim = await store.get(h)
      out.set(h, claim == null ? undefined : userIdOf(claim.publicKey))
    }
    return out
  } finally {
    await db.close()
  }
}

/**
 * Envelope ids (hex) in each mailbox of a stopped server's LevelDB, read from the files. Every id is
 * checked to appear once: the log is keyed by (timestamp, id), so two keys with one id would be two
 * different timestamps for one immutable envelope.
 */
export async function readMailboxes (dataDir: string, mailboxes: string[]): Promise<Map<string, string[]>> {
  const db = await openDb(dataDir)
  try {
    const store = new MailboxStore(db, new GroupCommit(db))
    const out = new Map<string, string[]>()
    for (const mailbox of mailboxes) {
      const page = await store.range(mailbox, { limit: 1_000_000 })
      out.set(mailbox, page.entries.map((e) => Buffer.from(e.cursor.subarray(8)).toString('hex')))
    }
    return out
  } finally {
    await db.close()
  }
}
