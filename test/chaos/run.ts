/**
 * A Jepsen-style chaos run: a mesh of real processes (a bootstrap peer and five `chorus start` servers,
 * N = 3, W = 2), three users in client-role processes of their own chatting (direct messages both ways,
 * posts in a shared private room, a secret chat), and a nemesis that, one fault at a time, SIGKILLs and
 * restarts a server, pauses one (SIGSTOP: it neither answers nor sends, its connections stay up, as when
 * a partition cuts it off) and resumes it, and stops and reopens a user's client node on its data dir.
 * One server runs with its wall clock minutes off for the whole run. Everything is seeded: the seed
 * picks the workload's operations, the faults, their targets and durations (the machine's timing still
 * varies, so a replay reproduces the schedule, not every interleaving).
 *
 * At the end every fault is healed, the sessions catch up, each user reads every history, the servers
 * are asked which deleted envelopes they still hold, and `check` (checker.ts) judges the whole record.
 */

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { keyPoint, Ring } from '../../protocol/ring.js'
import { roomMailbox } from '../../protocol/mailbox.js'
import { mailboxKey } from '../../node/replication/placement.js'
import { ChorusProcesses, LOOPBACK_ARGS, type ChorusProcess } from '../helpers/process.js'
import { REPLICAS, WRITE_QUORUM } from '../helpers/server-mesh.js'
import { prng } from '../helpers/prng.js'
import { scaled, waitFor } from '../helpers/wait.js'
import { UserAgents, type Shown, type UserAgent } from '../helpers/agent.js'
import {
  check, conversationOf, type ChaosRecord, type ChaosReport, type FaultWindow, type HistoryRead,
  type SendRecord
} from './checker.js'

const SKEW_PRELOAD = new URL('./skew-clock.mjs', import.meta.url).href

/** How long the mesh may take to see every server again after a fault (scaled by CHORUS_TEST_SLOWDOWN). */
const HEAL_TIMEOUT_MS = 90_000

/**
 * Membership timings of the run: faster than the defaults (a fault is noticed in seconds, not ten), but
 * not so fast that a loaded 2-core machine running nine processes takes a slow answer for a death.
 */
const PROBE_INTERVAL_MS = 500
const SUSPICION_TIMEOUT_MS = 3000
const MESH_ARGS = ['--replicas', String(REPLICAS), '--write-quorum', String(WRITE_QUORUM), '--probe-interval',
  String(PROBE_INTERVAL_MS), '--suspicion-timeout', String(SUSPICION_TIMEOUT_MS)]
const CLIENT_OPTIONS = {
  replicas: REPLICAS,
  writeQuorum: WRITE_QUORUM,
  membership: {
    probeIntervalMs: PROBE_INTERVAL_MS,
    probeTimeoutMs: PROBE_INTERVAL_MS,
    rejoinIntervalMs: PROBE_INTERVAL_MS * 2,
    suspicionTimeoutMs: SUSPICION_TIMEOUT_MS,
    syncIntervalMs: 1000
  }
}

export interface ChaosOptions {
  seed: number
  /** how long the users chat while the nemesis works */
  durationMs: number
  /** operations per second, all users together @default 20 */
  rate?: number
  /** progress lines */
  log?: (line: string) => void
  /** when set, servers log replication and relay (DEBUG) and each server's log is written here at the end */
  logDir?: string
}

export interface ChaosResult {
  seed: number
  report: ChaosReport
  record: ChaosRecord
  /** ms: mesh start, chat, settle, read back */
  phases: Record<string, number>
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const HANDLES = ['alice', 'bob', 'carol'] as const
/** Users who have a secret chat: the first two. */
const SECRET_PAIR = ['alice', 'bob']

interface Server { dir: string, peerId: string, proc: ChorusProcess, env: Record<string, string> }

export async function runChaos (o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {})
  const rand = prng(o.seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]
  const between = (lo: number, hi: number): number => Math.round(lo + rand() * (hi - lo))
  const procs = new ChorusProcesses()
  const forks = new UserAgents()
  const agents = new Map<string, UserAgent>()
  const userIds = new Map<string, string>()
  const phases: Record<string, number> = {}
  const shown: Shown[] = []
  const sends: SendRecord[] = []
  const faults: FaultWindow[] = []
  const t0 = Date.now()
  let dumpLogs = (): void => {}
  try {
    // the mesh: one server's clock is minutes off, ahead or behind
    const bootstrap = procs.spawn(['bootstrap', ...LOOPBACK_ARGS, '--data-dir', procs.dir('chaos-boot-'), ...MESH_ARGS])
    await bootstrap.ready()
    const skewed = between(0, 4)
    const skewMs = (rand() < 0.5 ? -1 : 1) * between(90_000, 180_000)
    const serverLogs: ChorusProcess[] = []
    const spawnServer = (dir: string, env: Record<string, string>): ChorusProcess => {
      const debug = o.logDir != null ? { DEBUG: 'chorus:replication*,chorus:relay*,chorus:membership' } : {}
      const p = procs.spawn(
        ['start', ...LOOPBACK_ARGS, '--bootstrap', bootstrap.bootstrapAddr, '--data-dir', dir, ...MESH_ARGS],
        { env: { ...env, ...debug } }
      )
      serverLogs.push(p)
      return p
    }
    dumpLogs = () => {
      if (o.logDir == null) return
      mkdirSync(o.logDir, { recursive: true })
      serverLogs.forEach((p, i) => {
        writeFileSync(join(o.logDir!, `server-${i}-${p.peerId?.slice(-8) ?? 'unknown'}.log`), [...p.stdout, ...p.stderr].join('\n'))
      })
      for (const a of agents.values()) writeFileSync(join(o.logDir, `user-${a.name}.log`), [...a.logs, ...a.stderr].join('\n'))
    }
    const servers: Server[] = []
    await Promise.all(Array.from({ length: 5 }, async (_, i) => {
      const env: Record<string, string> = i === skewed
        ? { NODE_OPTIONS: `--import ${SKEW_PRELOAD}`, CHAOS_CLOCK_SKEW_MS: String(skewMs) }
        : {}
      const dir = procs.dir('chaos-srv-')
      const proc = spawnServer(dir, env)
      await proc.ready()
      servers[i] = { dir, peerId: proc.peerId!, proc, env }
    }))
    const ids = servers.map((s) => s.peerId)
    faults.push({ server: ids[skewed], kind: 'skew', from: t0, to: Number.MAX_SAFE_INTEGER })
    log(`seed ${o.seed}: 5 servers up; ${ids[skewed].slice(-8)} runs ${skewMs > 0 ? '+' : ''}${Math.round(skewMs / 1000)} s off`)

    const ring = new Ring(ids.map((peerId) => ({ peerId })))
    const ownersOf = (mailbox: string): string[] => {
      const k = mailboxKey(mailbox)
      return ring.owners(keyPoint(k.kind, k.id), REPLICAS)
    }
    const allSeeAll = async (what: string): Promise<void> => {
      const want = JSON.stringify([...ids].sort())
      await waitFor(what, async () => {
        const views = await Promise.all([...agents.values()].map(async (a) => a.servers(5000)))
        const serverViews = await Promise.all(servers.map(async (s) => (await s.proc.status()).servers))
        return [...views, ...serverViews].every((v) => JSON.stringify([...v].sort()) === want)
      }, { timeoutMs: scaled(HEAL_TIMEOUT_MS), intervalMs: 200 })
    }
    /**
     * After a fault: wait until the mesh has healed; a mesh that takes longer is logged, and the run goes on (the
     * fault's window stays open until then, so failures meanwhile are excused)
     */
    const healed = async (what: string): Promise<void> => {
      await allSeeAll(what).catch(async (err: Error) => {
        log(`nemesis: ${err.message}; going on`)
        await allSeeAll(what)
      })
    }

    // the users, each on a client node of its own
    const dirs = new Map<string, string>()
    const clientOptions = { ...CLIENT_OPTIONS }
    /**
     * Start `h`'s node on its data dir, wait until it sees every server, and open its user
     * (claiming the handle on the first run).
     */
    const startUser = async (h: string): Promise<void> => {
      const agent = agents.get(h)!
      await agent.start([bootstrap.bootstrapAddr], dirs.get(h)!, clientOptions, 60_000)
      await agent.waitForServerCount(ids.length, scaled(60_000), 5000)
      userIds.set(h, (await agent.openUser(h, { syncIntervalMs: 1000 }, 60_000)).userId)
    }
    await Promise.all(HANDLES.map(async (h) => {
      const debug = o.logDir != null ? 'chorus:session*,chorus:replication:write' : undefined
      agents.set(h, forks.spawn(h, { env: { DEBUG: debug }, onShown: (s) => { shown.push(s) } }))
      dirs.set(h, procs.dir(`chaos-${h}-`))
      await startUser(h)
    }))
    log(`users' nodes up after ${Date.now() - t0} ms`)
    await allSeeAll('every node to see the five servers')
    log(`every node sees every server after ${Date.now() - t0} ms`)
    const users = HANDLES.map((handle) => ({ handle, userId: userIds.get(handle)! }))
    const userId = (h: string): string => userIds.get(h)!
    const alice = agents.get('alice')!
    const roomId = await alice.roomCreate('alice', 'chaos')
    for (const h of HANDLES.slice(1)) {
      await alice.roomInvite('alice', roomId, h)
      await agents.get(h)!.roomJoin(h, roomId)
    }
    await waitFor('every member\'s node to know the three members', async () => {
      const lists = await Promise.all(HANDLES.map(async (h) => agents.get(h)!.roomMembers(h, roomId)))
      return lists.every((l) => l.length === HANDLES.length)
    }, { timeoutMs: scaled(30_000), intervalMs: 200 })
    phases.setup = Date.now() - t0
    log(`users and room ready in ${phases.setup} ms`)

    // the workload: each user sends one operation at a time, paced; a user whose node is restarting waits
    const chatStart = Date.now()
    const deadline = chatStart + o.durationMs
    const paused = new Map<string, Promise<void>>()
    let seq = 0
    const perUserMs = 1000 * HANDLES.length / (o.rate ?? 20)
    const userLoop = async (h: string, r: () => number): Promise<void> => {
      const agent = agents.get(h)!
      let n = 0
      while (Date.now() < deadline) {
        await paused.get(h)
        const x = r()
        const others = HANDLES.filter((u) => u !== h)
        const kind: SendRecord['kind'] = x < 0.4 ? 'dm' : x < 0.75 || !SECRET_PAIR.includes(h) ? 'room' : 'secret'
        const to = kind === 'room'
          ? roomId
          : kind === 'secret' ? SECRET_PAIR.find((u) => u !== h)! : others[Math.floor(r() * others.length)]
        const text = `${kind}:${h}:${n++}`
        const mailboxes = kind === 'room' ? [roomMailbox(roomId)] : kind === 'secret' ? [userId(to)] : [userId(to), userId(h)]
        const s: SendRecord = {
          seq: seq++,
          from: h,
          kind,
          to,
          text,
          start: Date.now(),
          end: 0,
          ok: false,
          owners: mailboxes.map(ownersOf)
        }
        sends.push(s)
        try {
          const res = kind === 'dm'
            ? await agent.send(h, to, text, 60_000)
            : kind === 'room' ? await agent.roomSend(h, roomId, text, 60_000) : await agent.secretSend(h, to, text, 60_000)
          s.ok = true
          s.id = res.id
        } catch (err: any) {
          s.error = `${err.name}: ${err.message}`
        }
        s.end = Date.now()
        const wait = s.start + perUserMs - Date.now()
        if (wait > 0) await sleep(wait)
      }
    }
    const loops = HANDLES.map(async (h, i) => { await userLoop(h, prng(o.seed * 31 + i + 1)) })

    // the nemesis: one fault at a time, until shortly before the end
    const nemesis = (async () => {
      while (Date.now() < deadline - 4000) {
        await sleep(between(1000, 2500))
        if (Date.now() >= deadline - 4000) break
        const x = rand()
        if (x < 0.4) {
          const s = pick(servers)
          const from = Date.now()
          s.proc.kill('SIGKILL')
          await s.proc.exited
          log(`nemesis: SIGKILL ${s.peerId.slice(-8)}`)
          await sleep(between(1500, 4000))
          s.proc = spawnServer(s.dir, s.env)
          await s.proc.ready()
          await healed(`every node to see ${s.peerId.slice(-8)} back`)
          faults.push({ server: s.peerId, kind: 'kill', from, to: Date.now() })
          log(`nemesis: ${s.peerId.slice(-8)} restarted and seen by all after ${Date.now() - from} ms`)
        } else if (x < 0.7) {
          const s = pick(servers)
          const from = Date.now()
          s.proc.kill('SIGSTOP')
          log(`nemesis: pause ${s.peerId.slice(-8)}`)
          await sleep(between(1500, 4000))
          s.proc.kill('SIGCONT')
          await healed(`every node to see ${s.peerId.slice(-8)} again`)
          faults.push({ server: s.peerId, kind: 'pause', from, to: Date.now() })
          log(`nemesis: ${s.peerId.slice(-8)} resumed and seen by all after ${Date.now() - from} ms`)
        } else {
          const h = pick(HANDLES)
          const agent = agents.get(h)!
          const from = Date.now()
          let resume = (): void => {}
          paused.set(h, new Promise((resolve) => { resume = resolve }))
          // let the user's send in flight finish: a stop in the middle of a send is a crash, not a restart
          await waitFor(`${h}'s send in flight`, () => sends.every((s) => s.from !== h || s.end > 0), { timeoutMs: scaled(60_000) })
          await agent.stop(60_000)
          await startUser(h)
          paused.delete(h)
          resume()
          faults.push({ server: '', user: h, kind: 'client-restart', from, to: Date.now() })
          log(`nemesis: ${h}'s node stopped and reopened on its data dir in ${Date.now() - from} ms`)
        }
      }
    })()
    await Promise.all([...loops, nemesis])
    phases.chat = Date.now() - chatStart
    const acked = sends.filter((s) => s.ok)
    log(`chat over: ${sends.length} sends, ${acked.length} acknowledged, ${shown.length} shown so far`)

    // settle: every fault is healed; wait until every acknowledged send has been shown (or give up and report)
    const settleStart = Date.now()
    const expected = (s: SendRecord): string[] => (s.kind === 'room' ? HANDLES.filter((h) => h !== s.from) : [s.to])
    await waitFor('every acknowledged message to be shown', () => {
      const seen = new Set(shown.map((x) => `${x.to}\u0000${x.text}`))
      return acked.every((s) => expected(s).every((r) => seen.has(`${r}\u0000${s.text}`)))
    }, { timeoutMs: scaled(45_000), intervalMs: 250 }).catch(() => { log('settle: some acknowledged messages were still not shown after the settle time') })
    phases.settle = Date.now() - settleStart

    // read back: every history from every side, and which deleted envelopes servers still hold
    const readStart = Date.now()
    const histories: HistoryRead[] = []
    for (const h of HANDLES) {
      const agent = agents.get(h)!
      for (const other of HANDLES.filter((u) => u !== h)) {
        const entries = await agent.history(h, other, 200, 60_000)
        histories.push({ viewer: h, conversation: conversationOf({ kind: 'dm', from: h, to: other }), entries })
      }
      histories.push({ viewer: h, conversation: `room:${roomId}`, entries: await agent.roomHistory(h, roomId, 200, 60_000) })
      if (SECRET_PAIR.includes(h)) {
        const peer = SECRET_PAIR.find((u) => u !== h)!
        histories.push({
          viewer: h,
          conversation: conversationOf({ kind: 'secret', from: h, to: peer }),
          entries: await agent.secretHistory(h, peer, 60_000)
        })
      }
    }
    const resurrected: ChaosRecord['resurrected'] = []
    for (const h of SECRET_PAIR) {
      // secret ciphertext a recipient was shown is deleted at the servers: give the deletes time to land everywhere
      const entries = shown.filter((x) => x.to === h && x.kind === 'secret').map((x) => ({ id: x.id, cursor: x.cursor }))
      if (entries.length === 0) continue
      let left: Array<{ server: string, id: string }> = []
      await waitFor(`deleted secret messages of ${h} to leave every server`, async () => {
        const held = await agents.get(h)!.holders(h, ids, entries, 60_000)
        left = []
        for (const [server, list] of Object.entries(held)) {
          if (typeof list === 'string') continue
          for (const c of list) left.push({ server, id: entries.find((e) => e.cursor === c)?.id ?? c })
        }
        return left.length === 0
      }, { timeoutMs: scaled(30_000), intervalMs: 500 }).catch(() => {})
      resurrected.push(...left)
    }
    phases.readBack = Date.now() - readStart

    const record: ChaosRecord = {
      users,
      room: { id: roomId, members: [...HANDLES] },
      replicas: REPLICAS,
      writeQuorum: WRITE_QUORUM,
      sends,
      shown,
      histories,
      faults,
      resurrected
    }
    return { seed: o.seed, report: check(record), record, phases }
  } finally {
    dumpLogs()
    await forks.cleanup()
    await procs.cleanup()
  }
}
