/**
 * What one logged-in Jabber client (or one open native session) costs the process that hosts it, to the
 * byte: `node --expose-gc dist/bench/memory.js [--mode xmpp|native] [--clients K] [--servers S]
 * [--snapshot 0|1] [--json FILE]` (`npm run build` first).
 *
 * One process (this one) runs a bootstrap node and S servers (the first one with the XMPP gateway; N =
 * min(3, S), so at the default S = 1 the gateway also owns every account). The accounts are registered
 * (xmpp) or opened once and closed (native) first, so that what a first login leaves for good (the
 * identity, the handle claim, the account record) is not counted; then the heap and RSS are read after
 * full garbage collections, K accounts log in (xmpp: xmpp.js clients in a child process of their own,
 * each bound with initial presence; native: `node.openUser`), and after `settle` seconds of quiet the
 * same readings are taken again. The difference over K is the cost of one client. The process's CPU is
 * read over `--idle` seconds twice, before the logins and after the second reading (every client logged in
 * and quiet): the difference is what K idle clients cost the gateway and the servers (the clients' own
 * process is not counted; it stands for the users' devices). With `--snapshot 1`
 * a heap snapshot is taken at both readings and the difference is broken down by constructor (objects
 * by class name, closures by function name, arrays, strings, maps' backing stores): what a session
 * retains.
 */

import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { createNode, type ChorusNode } from '../node/index.js'
import type { XmppAccount } from './lib/agent-protocol.js'
import { XmppClients } from './lib/xmpp-clients.js'
import { GATEWAY_STANZA_BURST, GATEWAY_STANZA_RATE, GATEWAY_UNBOUNDED_SOURCES } from './lib/xmpp-targets.js'

const DOMAIN = 'chorus.localhost'
const PASSWORD = 'bench password'
const CONCURRENCY = 16
/** Accounts (xmpp mode) that log in and out once before the first reading */
const WARMUP = 16

interface Args {
  mode: 'xmpp' | 'native'
  clients: number
  servers: number
  settle: number
  idle: number
  /** a CPU profile of the idle window with every client logged in goes to this file */
  profile?: string
  snapshot: boolean
  json?: string
  role?: string
}

function parseArgs (argv: string[]): Args {
  const a: Args = { mode: 'xmpp', clients: 200, servers: 1, settle: 5, idle: 10, snapshot: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = argv[i + 1]
    if (k === '--help') {
      process.stdout.write('usage: node --expose-gc dist/bench/memory.js [--mode xmpp|native] [--clients 200] [--servers 1] [--settle 5] [--idle 10] [--profile FILE] [--snapshot 0|1] [--json FILE]\n')
      process.exit(0)
    }
    if (v == null) throw new Error(`${k} needs a value`)
    i++
    if (k === '--mode' && (v === 'xmpp' || v === 'native')) a.mode = v
    else if (k === '--clients') a.clients = Number(v)
    else if (k === '--servers') a.servers = Number(v)
    else if (k === '--settle') a.settle = Number(v)
    else if (k === '--idle') a.idle = Number(v)
    else if (k === '--profile') a.profile = v
    else if (k === '--snapshot') a.snapshot = v === '1'
    else if (k === '--json') a.json = v
    else if (k === '--role') a.role = v
    else throw new Error(`unknown flag ${k}`)
  }
  return a
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * This process's CPU (user and system) over `seconds` of doing nothing here, in ms per second; with
 * `profile`, a CPU profile of the window is written there (the profiler's own cost is in the figure).
 */
async function idleCpu (seconds: number, profile?: string): Promise<number> {
  const session = profile != null ? new Session() : undefined
  session?.connect()
  await session?.post('Profiler.enable')
  await session?.post('Profiler.start')
  const from = process.cpuUsage()
  const at = performance.now()
  await sleep(seconds * 1000)
  const used = process.cpuUsage(from)
  if (session != null && profile != null) {
    const { profile: taken } = await session.post('Profiler.stop')
    writeFileSync(profile, JSON.stringify(taken))
    session.disconnect()
  }
  return (used.user + used.system) / 1000 / ((performance.now() - at) / 1000)
}

interface Reading { rss: number, heapUsed: number, external: number, arrayBuffers: number }

async function reading (): Promise<Reading> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc == null) throw new Error('run with node --expose-gc')
  for (let i = 0; i < 4; i++) { gc(); await sleep(50) }
  const m = process.memoryUsage()
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

/** Self sizes and counts of a heap snapshot, by kind and constructor. */
type Census = Map<string, { count: number, bytes: number }>

/** Constructors that say nothing of whom they belong to. */
const GENERIC = new Set(['Object', 'Array', 'Map', 'Set', 'Promise', 'Uint8Array', 'ArrayBuffer', 'Buffer', 'Function', 'WeakMap', 'WeakRef', '(object properties)'])

/** Objects labelled by where they hang rather than by their constructor. */
const PLAIN = new Set(['Object', 'Array', 'system / Context'])
/** Kinds of heap node labelled by their constructor or function name. */
const NAMED_KINDS = new Set(['object', 'closure', 'native', 'code'])

/** A heap snapshot's self sizes by kind (`kinds`), and by the nearest named owner (`owners`). */
async function census (): Promise<{ kinds: Census, owners: Census }> {
  const session = new Session()
  session.connect()
  const chunks: string[] = []
  session.on('HeapProfiler.addHeapSnapshotChunk', (m) => { chunks.push(m.params.chunk) })
  await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  session.disconnect()
  const snap = JSON.parse(chunks.join('')) as {
    snapshot: { meta: { node_fields: string[], node_types: [string[]], edge_fields: string[], edge_types: [string[]] } }
    nodes: number[]
    edges: number[]
    strings: string[]
  }
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const iEdges = fields.indexOf('edge_count')
  const eFields = snap.snapshot.meta.edge_fields
  const eTypes = snap.snapshot.meta.edge_types[0]
  const eWidth = eFields.length
  const eType = eFields.indexOf('type')
  const eName = eFields.indexOf('name_or_index')
  const eTo = eFields.indexOf('to_node')
  // the first strong retainer of each node, for the kinds that say nothing by themselves (arrays, plain
  // objects, strings, contexts): where they hang
  const retainer = new Int32Array(snap.nodes.length / width).fill(-1)
  const retainerEdge = new Array<string>(snap.nodes.length / width)
  let e = 0
  for (let i = 0; i < snap.nodes.length; i += width) {
    for (let k = 0; k < snap.nodes[i + iEdges]; k++, e += eWidth) {
      const et = eTypes[snap.edges[e + eType]]
      if (et === 'weak' || et === 'shortcut') continue
      const to = snap.edges[e + eTo] / width
      if (retainer[to] !== -1) continue
      retainer[to] = i / width
      const en = et === 'element' || et === 'hidden' ? '' : String(snap.strings[snap.edges[e + eName]])
      retainerEdge[to] = en === '' || /^\d+$/.test(en) ? '[]' : en.slice(0, 30)
    }
  }
  const label = (n: number): string => {
    const t = types[snap.nodes[n * width + iType]]
    const name = snap.strings[snap.nodes[n * width + iName]]
    return t === 'object' || t === 'closure' ? name.slice(0, 40) : `(${t} ${name.slice(0, 20)})`
  }
  const out: Census = new Map()
  const owners: Census = new Map()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]]
    const name = snap.strings[snap.nodes[i + iName]]
    const n = i / width
    // a string inside a rope hangs where the rope's top does
    let r = n
    while (retainer[r] !== -1 && types[snap.nodes[retainer[r] * width + iType]].endsWith('string')) r = retainer[r]
    // and a member of a map, a set, an array or a plain object where that container hangs: up to the
    // first object of a named class (`Feed.seen ← [] ← Map.table`)
    let by = ''
    for (let depth = 0; depth < 8 && retainer[r] !== -1; depth++) {
      const p = retainer[r]
      by += ` ← ${label(p)}.${retainerEdge[r]}`
      const pt = types[snap.nodes[p * width + iType]]
      const pn = snap.strings[snap.nodes[p * width + iName]]
      if (pt === 'object' && !GENERIC.has(pn) && !pn.startsWith('system /')) break
      if (pt !== 'array' && pt !== 'hidden' && pt !== 'object') break
      r = p
    }
    let key: string
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') key = `strings${by}`
    else if (type === 'array' || type === 'hidden' || (type === 'object' && PLAIN.has(name))) key = `${type} ${name.slice(0, 40)}${by}`
    else if (NAMED_KINDS.has(type)) key = `${type} ${name.slice(0, 60)}`
    else key = type
    // the nearest named owner up the chain of first retainers: which class's instance this hangs off
    let o = n
    let owner = `(none: ${type})`
    for (let depth = 0; depth < 64 && o !== -1; depth++, o = retainer[o]) {
      if (retainer[o] === -1) owner = `(none: ${type} ← ${label(o)})`
      const ot = types[snap.nodes[o * width + iType]]
      const on = snap.strings[snap.nodes[o * width + iName]]
      if (ot === 'object' && !GENERIC.has(on) && !on.startsWith('system /')) { owner = on.slice(0, 40); break }
    }
    const ow = owners.get(owner) ?? { count: 0, bytes: 0 }
    if (o === n) ow.count++
    ow.bytes += snap.nodes[i + iSize]
    owners.set(owner, ow)
    const e = out.get(key) ?? { count: 0, bytes: 0 }
    e.count++
    e.bytes += snap.nodes[i + iSize]
    out.set(key, e)
  }
  return { kinds: out, owners }
}

type CensusJson = Record<'kinds' | 'owners', Array<[string, { count: number, bytes: number }]>>
const toJson = (c: { kinds: Census, owners: Census }): CensusJson => ({ kinds: [...c.kinds], owners: [...c.owners] })
const fromJson = (j: CensusJson): { kinds: Census, owners: Census } =>
  ({ kinds: new Map(j.kinds), owners: new Map(j.owners) })

function total (c: Census): number {
  let t = 0
  for (const e of c.values()) t += e.bytes
  return t
}

/** One line of a census difference: per client, the count and self size of one kind. */
interface CensusRow { what: string, count: number, bytes: number }

function censusDiff (before: Census, after: Census, per: number): CensusRow[] {
  const keys = new Set([...before.keys(), ...after.keys()])
  const rows = [...keys].map((k) => ({
    what: k,
    count: ((after.get(k)?.count ?? 0) - (before.get(k)?.count ?? 0)) / per,
    bytes: ((after.get(k)?.bytes ?? 0) - (before.get(k)?.bytes ?? 0)) / per
  }))
  return rows.sort((a, b) => b.bytes - a.bytes)
}

/** The child process of the xmpp mode: xmpp.js clients, driven over IPC. */
async function clientsMain (): Promise<void> {
  const clients = new XmppClients()
  process.on('message', (msg: { op: string, accounts: XmppAccount[] }) => {
    void (async () => {
      if (msg.op === 'register') process.send?.({ op: 'done', report: await clients.register(msg.accounts, CONCURRENCY) })
      if (msg.op === 'connect') process.send?.({ op: 'done', report: await clients.connect(msg.accounts, CONCURRENCY) })
      if (msg.op === 'disconnect') { await clients.close(); process.send?.({ op: 'done', report: {} }) }
      if (msg.op === 'close') { await clients.close(); process.send?.({ op: 'done', report: {} }); process.exit(0) }
    })().catch((err: Error) => { process.send?.({ op: 'error', error: err.stack ?? err.message }) })
  })
  process.send?.({ op: 'ready' })
  // runs until the parent says close
  await new Promise(() => {})
}

async function ask (child: ChildProcess, op: string, accounts: XmppAccount[] = []): Promise<any> {
  return await new Promise((resolve, reject) => {
    const on = (m: { op: string, report?: unknown, error?: string }): void => {
      if (m.op === 'ready') return
      child.off('message', on)
      if (m.op === 'error') reject(new Error(m.error)); else resolve(m.report)
    }
    child.on('message', on)
    child.send({ op, accounts })
  })
}

/**
 * A census now, against the one in `file`: per client, by kind and by owner, and in all (KiB). Only the
 * rows are kept, so that the readings that follow do not count the censuses.
 */
interface SnapshotDiff { kinds: CensusRow[], owners: CensusRow[], kib: number }

async function snapshotDiff (file: string, per: number): Promise<SnapshotDiff> {
  const after = await census()
  const before = fromJson(JSON.parse(readFileSync(file, 'utf8')))
  return {
    kinds: censusDiff(before.kinds, after.kinds, per).filter((r) => Math.abs(r.bytes) >= 16).slice(0, 200),
    owners: censusDiff(before.owners, after.owners, per).slice(0, 60),
    kib: (total(after.kinds) - total(before.kinds)) / per / 1024
  }
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  if (args.role === 'clients') { await clientsMain(); return }
  const root = mkdtempSync(join(tmpdir(), 'chorus-memory-'))
  const nodes: ChorusNode[] = []
  let child: ChildProcess | undefined
  try {
    const start = async (role: 'bootstrap' | 'server', i: number, bootstrap: string[], xmpp: boolean): Promise<ChorusNode> => {
      const node = await createNode({
        role,
        dataDir: join(root, `${role}-${i}`),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap,
        replicas: Math.min(3, args.servers),
        ...(xmpp
          ? {
              xmpp: {
                listen: '127.0.0.1:0',
                domain: DOMAIN,
                allowPlaintext: true,
                lingerMs: 200,
                stanzaRate: GATEWAY_STANZA_RATE,
                stanzaBurst: GATEWAY_STANZA_BURST,
                ...GATEWAY_UNBOUNDED_SOURCES
              }
            }
          : {})
      })
      nodes.push(node)
      await node.start()
      return node
    }
    const boot = await start('bootstrap', 0, [], false)
    const gateway = await start('server', 0, boot.multiaddrs(), true)
    for (let i = 1; i < args.servers; i++) await start('server', i, boot.multiaddrs(), false)
    while (gateway.replication.placement.serverCount() < args.servers) await sleep(100)
    const address = gateway.xmppAddress() as string
    const names = Array.from({ length: args.clients }, (_, i) => `m${i}`)
    const keys = new Map(names.map((n) => [n, randomBytes(32)]))
    const account = (username: string): XmppAccount =>
      ({ username, password: PASSWORD, address, domain: DOMAIN, tls: false })
    const warmup = Array.from({ length: WARMUP }, (_, i) => account(`w${i}`))
    const accounts = names.map(account)
    const eachLimited = async (fn: (name: string) => Promise<void>): Promise<number> => {
      const t0 = performance.now()
      let next = 0
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < names.length) await fn(names[next++])
      }))
      return performance.now() - t0
    }

    // first logins: what they leave for good is not a connected client's cost
    if (args.mode === 'xmpp') {
      child = fork(fileURLToPath(import.meta.url), ['--role', 'clients'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
      await new Promise<void>((resolve) => { child?.once('message', () => { resolve() }) })
      const r = await ask(child, 'register', [...accounts, ...warmup])
      process.stderr.write(`registered ${r.opened} accounts (${r.failed} failed) in ${Math.round(r.ms)} ms\n`)
      // a few full logins (bound, with presence) and logouts: the code they load and compile is not a client's cost
      await ask(child, 'connect', warmup)
      await sleep(1000)
      await ask(child, 'disconnect')
    } else {
      await eachLimited(async (n) => { await gateway.openUser(n, { vaultKey: keys.get(n) }) })
      await eachLimited(async (n) => { await gateway.closeUser(n) })
    }
    await sleep(args.settle * 1000)
    const before = await reading()
    // the first census waits in a file: held in memory, it would be counted in the second reading
    const censusFile = join(root, 'census-before.json')
    if (args.snapshot) writeFileSync(censusFile, JSON.stringify(toJson(await census())))
    if (args.snapshot) await reading()
    const rssBefore = (await reading()).rss
    const cpuWithout = await idleCpu(args.idle)

    let loginMs: number
    if (args.mode === 'xmpp' && child != null) {
      const r = await ask(child, 'connect', accounts)
      loginMs = r.ms
      process.stderr.write(`logged in ${r.opened} clients (${r.failed} failed) in ${Math.round(r.ms)} ms\n`)
      if (r.failed > 0) process.stderr.write(`errors: ${JSON.stringify(r.errors)}\n`)
    } else {
      loginMs = await eachLimited(async (n) => { await gateway.openUser(n, { vaultKey: keys.get(n) }) })
    }
    await sleep(args.settle * 1000)
    const after = await reading()
    const K = args.clients
    const cpuWith = await idleCpu(args.idle, args.profile)
    const diff = args.snapshot ? await snapshotDiff(censusFile, K) : undefined
    const result = {
      at: new Date().toISOString(),
      mode: args.mode,
      clients: K,
      servers: args.servers,
      node: process.version,
      perClient: {
        rssKiB: (after.rss - rssBefore) / K / 1024,
        heapKiB: (after.heapUsed - before.heapUsed) / K / 1024,
        externalKiB: (after.external - before.external) / K / 1024,
        arrayBuffersKiB: (after.arrayBuffers - before.arrayBuffers) / K / 1024
      },
      idleCpu: {
        withoutMsPerS: cpuWithout,
        withMsPerS: cpuWith,
        perClientUsPerS: (cpuWith - cpuWithout) * 1000 / K,
        shareOfCorePercent: (cpuWith - cpuWithout) / 10
      },
      loginMsEach: loginMs / K * CONCURRENCY,
      loginsPerSecond: K / (loginMs / 1000),
      before,
      after,
      breakdown: diff?.kinds,
      owners: diff?.owners,
      snapshotKiB: diff?.kib,
      leftPerLogin: { heapKiB: 0, rssKiB: 0 }
    }
    // every client leaves; once the sessions closed, what is still held was kept by a login for good
    if (args.mode === 'xmpp' && child != null) await ask(child, 'disconnect')
    else await eachLimited(async (n) => { await gateway.closeUser(n) })
    await sleep(args.settle * 1000)
    const left = await reading()
    result.leftPerLogin.heapKiB = (left.heapUsed - before.heapUsed) / K / 1024
    result.leftPerLogin.rssKiB = (left.rss - rssBefore) / K / 1024
    const p = result.perClient
    process.stdout.write(`${args.mode}: ${K} clients on 1 gateway of ${args.servers} servers\n`)
    const f = (n: number): string => n.toFixed(1)
    process.stdout.write(`per client: RSS ${f(p.rssKiB)} KiB, heap ${f(p.heapKiB)} KiB, external ${f(p.externalKiB)} KiB` +
      ` (array buffers ${f(p.arrayBuffersKiB)} KiB)\n`)
    process.stdout.write(`logins: ${result.loginsPerSecond.toFixed(0)}/s, ${CONCURRENCY} at a time (≈ ${f(result.loginMsEach)} ms each)\n`)
    const c = result.idleCpu
    process.stdout.write(`idle CPU of this process (gateway and servers): ${f(c.withoutMsPerS)} ms/s without clients, ` +
      `${f(c.withMsPerS)} ms/s with ${K}: they add ${c.shareOfCorePercent.toFixed(2)} % of a core (${f(c.perClientUsPerS)} µs/s each)\n`)
    process.stdout.write(`still held once every client left, per login: heap ${f(result.leftPerLogin.heapKiB)} KiB,` +
      ` RSS ${f(result.leftPerLogin.rssKiB)} KiB\n`)
    if (result.breakdown != null) {
      process.stdout.write(`heap snapshot difference per client (self sizes; ${result.snapshotKiB?.toFixed(1)} KiB in all), largest first:\n`)
      const row = (r: CensusRow): string =>
        `  ${kib(r.bytes).padStart(10)}  ${r.count.toFixed(2).padStart(7)} ×  ${r.what}\n`
      for (const r of result.breakdown.slice(0, 25)) process.stdout.write(row(r))
      process.stdout.write('the same, by the nearest named owner (the class of the first object up the retainers that has one):\n')
      for (const r of (result.owners ?? []).slice(0, 25)) process.stdout.write(row(r))
    }
    if (args.json != null) writeFileSync(args.json, JSON.stringify(result, null, 2))
    if (child != null) await ask(child, 'close').catch(() => {})
  } finally {
    child?.kill()
    await Promise.allSettled(nodes.reverse().map(async (n) => { await n.stop() }))
    rmSync(root, { recursive: true, force: true })
  }
}

main().then(() => { process.exit(0) }, (err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`)
  process.exit(1)
})
