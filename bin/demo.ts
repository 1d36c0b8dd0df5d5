/**
 * `chorus demo`: the whole system on one machine, narrated. A bootstrap peer and five servers run as
 * separate `chorus` processes (ephemeral ports, a temporary directory); three users run on client nodes
 * in this process. It shows a direct message and its receipts, a room with an invite and a kick, a
 * secret chat with its safety number and a scan of the servers' disks for its text, a server SIGKILLed
 * in the middle of a conversation with nothing lost, and the server restarted and repaired. Then it
 * stops everything and removes the directory, unless `--keep` leaves the mesh running.
 */

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createNode, type ChorusNode, type Message, type User } from '../node/index.js'
import type { Replication } from '../node/replication/replication.js'
import { StoreRequest } from '../protocol/pb/store.js'
import { COARSE_BUCKET_MS } from '../node/replication/constants.js'
import { waitFor } from '../node/timers/wait.js'
import { ClientCommandError, EXIT_USAGE } from './client-session.js'

const SERVERS = 5
/** Membership timings of the demo's nodes: a killed server is noticed within a few seconds. */
const TIMING = ['--probe-interval', '500', '--suspicion-timeout', '3000']
const CLIENT_MEMBERSHIP = {
  probeIntervalMs: 500,
  probeTimeoutMs: 1000,
  suspicionTimeoutMs: 3000,
  syncIntervalMs: 1000,
  rejoinIntervalMs: 1000
}
/** How long any one step may take before the demo gives up (a busy machine is slow, not broken). */
const STEP_TIMEOUT_MS = 60_000

/** One `chorus` process of the demo's mesh. */
interface MeshProcess {
  name: string
  dir: string
  child: ChildProcess
  peerId: string
  addr: string
  statusUrl: string
  args: string[]
}

const started = Date.now()
function say (line: string): void { process.stdout.write(`${line}\n`) }
function step (title: string): void { say(`\n[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${title}`) }
function short (peerId: string): string { return `…${peerId.slice(-6)}` }

/** Run the demo. */
export async function run (argv: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, options: { keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values
  } catch (err: any) {
    throw new ClientCommandError(String(err.message).replace(/\. To specify.*$/s, ''), EXIT_USAGE)
  }
  if (values.help === true) {
    say('Usage: chorus demo [--keep]\n\nStart a bootstrap peer and 5 servers on this machine, chat through them, kill and repair a\nserver, then stop everything. --keep leaves the mesh running and prints how to join it.')
    return 0
  }
  const demo = new Demo(values.keep === true)
  try {
    await demo.play()
    return 0
  } finally {
    await demo.finish()
  }
}

class Demo {
  private readonly root = mkdtempSync(join(tmpdir(), 'chorus-demo-'))
  private readonly procs: MeshProcess[] = []
  private readonly nodes: ChorusNode[] = []
  /** the client node each user runs on */
  private readonly nodeOf = new Map<User, ChorusNode>()
  private bootstrap!: MeshProcess
  private readonly onSignal = (): void => { void this.finish().then(() => process.exit(130)) }

  constructor (private readonly keep: boolean) {
    process.once('SIGINT', this.onSignal)
    process.once('SIGTERM', this.onSignal)
  }

  async play (): Promise<void> {
    step(`Starting a bootstrap peer and ${SERVERS} servers (separate processes, data in ${this.root})`)
    this.bootstrap = await this.start('bootstrap', ['bootstrap'])
    say(`  bootstrap ${short(this.bootstrap.peerId)} at ${this.bootstrap.addr}`)
    const servers = await Promise.all(
      Array.from({ length: SERVERS }, async (_, i) => await this.start(`server-${i + 1}`, ['start', '--bootstrap', this.bootstrap.addr]))
    )
    for (const s of servers) say(`  ${s.name} ${short(s.peerId)}`)
    await until('every server to see all five', async () => {
      const views = await Promise.all(servers.map(async (s) => (await status(s)).servers.length))
      return views.every((n) => n === SERVERS)
    })
    say(`  the ring is whole: every server sees ${SERVERS} servers; each key lives on 3 of them (N = 3, W = 2)`)

    step('Three users on client nodes: alice, bob, carol (each claims its handle mesh-wide)')
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (h) => await this.user(h)))
    const inbox = new Map<User, Message[]>([[alice, []], [bob, []], [carol, []]])
    for (const [u, list] of inbox) u.on('message', (m) => { list.push(m) })
    const seen = async (u: User, pred: (m: Message) => boolean, what: string): Promise<Message> => {
      return await until(what, () => inbox.get(u)?.find(pred)) as Message
    }

    step('A direct message, and its receipts')
    const receipts: Array<{ id: string, status: string }> = []
    alice.on('receipt', (r: { id: string, status: string }) => { receipts.push(r) })
    const sent = await alice.send('bob', 'hi bob, lunch at noon?')
    say(`  alice → bob  ✓ sent: on disk at ${sent.storedOn.length} servers, owners of bob's and alice's mailboxes (${sent.storedOn.map(short).join(', ')})`)
    const m = await seen(bob, (x) => x.id === sent.id, 'bob to get the message')
    say(`  bob sees: "${m.text}" from ${m.from}`)
    await until('the delivered receipt', () => receipts.some((r) => r.id === sent.id && r.status === 'delivered'))
    say('  alice      ✓✓ delivered (bob\'s node has it)')
    bob.markRead(m)
    await until('the read receipt', () => receipts.some((r) => r.id === sent.id && r.status === 'read'))
    say('  alice      ✓✓ read')

    step('A private room: an invite, a post, a kick')
    const room = await alice.rooms.create({ name: 'team', public: false, subject: 'the demo' })
    await room.invite('bob')
    await room.invite('carol')
    await bob.rooms.join(room.id)
    const carolsRoom = await carol.rooms.join(room.id)
    say(`  alice created "team" (${room.id.slice(0, 12)}…) and invited bob and carol; both joined`)
    await room.send('welcome, both of you')
    await seen(bob, (x) => x.text === 'welcome, both of you', 'bob to see the room post')
    await seen(carol, (x) => x.text === 'welcome, both of you', 'carol to see the room post')
    say('  "welcome, both of you" reached bob and carol')
    await room.kick('carol')
    // carol's node stops listening once it learns of the kick (from the room's state log)
    await until('carol\'s node to learn of the kick', () => carolsRoom.role === 'none')
    await room.send('carol is gone now')
    await seen(bob, (x) => x.text === 'carol is gone now', 'bob to see the post after the kick')
    // bob has the later post; carol's node stopped listening at the kick and her reads are refused
    const carolGot = (inbox.get(carol) ?? []).some((x) => x.text === 'carol is gone now')
    say(`  alice kicked carol; "carol is gone now" reached bob${carolGot ? ' and, wrongly, carol' : ', not carol'}`)

    step('A secret chat (X3DH + Double Ratchet): servers hold only ciphertext')
    const secret = 'the door code is 4711-SECRET'
    const chat = await alice.secret.open('bob')
    await chat.send(secret)
    await seen(bob, (x) => x.kind === 'secret' && x.text === secret, 'bob to read the secret message')
    say(`  bob reads: "${secret}"`)
    const mine = await chat.safetyNumber()
    const theirs = await (await bob.secret.open('alice')).safetyNumber()
    say(`  safety number, alice's screen: ${mine.digits.match(/.{1,5}/g)?.join(' ')}`)
    say(`  safety number, bob's screen:   ${theirs.digits.match(/.{1,5}/g)?.join(' ')}  (${mine.digits === theirs.digits ? 'the same: no one in between' : 'DIFFERENT'})`)
    const scan = scanFor(servers.map((s) => s.dir), [secret, 'hi bob, lunch at noon?'])
    say(`  scanned ${servers.length} server data dirs (${(scan.bytes / 1e6).toFixed(1)} MB, byte by byte): the secret text found ${scan.hits[0]} times, the DM text ${scan.hits[1]} times`)

    step('A server SIGKILLed in the middle of a conversation')
    // where bob's mailbox lives, as alice's node sees the ring
    const ring = this.replicationOf(alice)
    const owners = ring.placement.ownersOf(bob.userId)
    const victim = servers.find((s) => s.peerId === owners[0]) as MeshProcess
    say(`  bob's mailbox lives on ${owners.map(short).join(', ')}; killing ${victim.name} ${short(victim.peerId)} after message 5 of 20`)
    const texts: string[] = []
    for (let i = 1; i <= 20; i++) {
      if (i === 6) { victim.child.kill('SIGKILL'); say(`  SIGKILL ${victim.name}`) }
      const r = await alice.send('bob', `message ${i} of 20`)
      texts.push(`message ${i} of 20`)
      if (i === 5 || i === 6 || i === 20) say(`  alice → bob "message ${i} of 20"  ✓ on ${r.storedOn.map(short).join(', ')}`)
    }
    await until('bob to have all 20', () => texts.every((t) => (inbox.get(bob) ?? []).some((x) => x.text === t)))
    say('  all 20 acknowledged and shown to bob, once each, in order: nothing lost')

    step(`Restarting ${victim.name} on its data dir: repair brings its copies back`)
    const restarted = await this.restart(victim)
    const countOn = async (peer: string): Promise<number> => {
      const res = await ring.call(peer, {
        kind: StoreRequest.Kind.DIGEST,
        mailbox: bob.userId,
        bucketMs: BigInt(COARSE_BUCKET_MS)
      })
      return res.buckets.reduce((n, b) => n + b.count, 0)
    }
    await until('the restarted server to be back in the ring', () => ring.placement.ownersOf(bob.userId).includes(restarted.peerId))
    let last = ''
    await until('the three owners to hold bob\'s mailbox whole', async () => {
      const counts = await Promise.all(owners.map(async (p) => await countOn(p).catch(() => -1)))
      const line = `  copies of bob's mailbox: ${owners.map((p, i) => `${short(p)} ${counts[i] < 0 ? '?' : counts[i]}`).join(', ')}`
      if (line !== last) { say(line); last = line }
      return counts.every((n) => n > 0 && n === counts[0])
    })
    say('  repaired: every owner has every message again')

    if (this.keep) {
      step('The mesh keeps running (--keep)')
      say(`  join it:  chorus chat --as dave --data-dir ${join(this.root, 'dave')} --bootstrap ${this.bootstrap.addr}`)
      say(`  watch it: ${this.bootstrap.statusUrl.replace(/\/status$/, '/')}  (and each server's --http)`)
      say(`  stop it:  kill ${this.procs.map((p) => p.child.pid).join(' ')}; rm -rf ${this.root}`)
    }
  }

  /** Stop the users, and (unless --keep) the mesh; remove the directory. Safe to call twice. */
  async finish (): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    await Promise.allSettled(this.nodes.splice(0).map(async (n) => { await n.stop() }))
    if (this.keep) {
      for (const p of this.procs) p.child.unref()
      return
    }
    step('Stopping everything')
    await Promise.all(this.procs.splice(0).map(async (p) => await stopProcess(p.child)))
    rmSync(this.root, { recursive: true, force: true })
    say('  done: processes stopped, temporary directory removed')
  }

  private async user (handle: string): Promise<User> {
    const node = await createNode({
      role: 'client',
      dataDir: join(this.root, handle),
      bootstrap: [this.bootstrap.addr],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      membership: CLIENT_MEMBERSHIP
    })
    this.nodes.push(node)
    await node.start()
    const user = await node.openUser(handle, { timeoutMs: STEP_TIMEOUT_MS })
    this.nodeOf.set(user, node)
    return user
  }

  /** The replication of the node `user` runs on: the demo asks owners directly (who they are, what they hold). */
  private replicationOf (user: User): Replication {
    const node = this.nodeOf.get(user)
    if (node == null) throw new Error(`no node for ${user.handle}`)
    return node.replication
  }

  private async start (name: string, command: string[], dir = join(this.root, name)): Promise<MeshProcess> {
    mkdirSync(dir, { recursive: true })
    const args = [...command, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--data-dir', dir, ...TIMING]
    // --keep: the processes outlive the demo, so their output goes to a log file rather than our pipes
    const log = openSync(join(dir, 'chorus.log'), 'a')
    const child = spawn(process.execPath, [process.argv[1], ...args], {
      stdio: ['ignore', 'pipe', log],
      detached: this.keep,
      env: { ...process.env, CHORUS_HOME: dir }
    })
    const p = await new Promise<MeshProcess>((resolve, reject) => {
      let peerId = ''
      let addr = ''
      const lines = createInterface({ input: child.stdout! })
      const timer = setTimeout(() => { reject(new Error(`${name} did not start within ${STEP_TIMEOUT_MS / 1000} s (see ${join(dir, 'chorus.log')})`)) }, STEP_TIMEOUT_MS)
      lines.on('line', (line) => {
        let m: RegExpExecArray | null
        if ((m = /^peer id: (\S+)$/.exec(line)) != null) peerId = m[1]
        else if ((m = /^listening: (\S+\/tcp\/\d+\/p2p\/\S+)$/.exec(line)) != null && addr === '') addr = m[1]
        else if ((m = /^http: (\S+)$/.exec(line)) != null) {
          clearTimeout(timer)
          resolve({ name, dir, child, peerId, addr, statusUrl: m[1], args: command })
        }
      })
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited ${code ?? ''} while starting (see ${join(dir, 'chorus.log')})`)) })
    })
    child.stdout?.resume()
    this.procs.push(p)
    return p
  }

  private async restart (p: MeshProcess): Promise<MeshProcess> {
    this.procs.splice(this.procs.indexOf(p), 1)
    const again = await this.start(p.name, p.args, p.dir)
    say(`  ${again.name} is back with the same peer id ${short(again.peerId)}`)
    return again
  }
}

async function status (p: MeshProcess): Promise<{ servers: string[] }> {
  const res = await fetch(p.statusUrl, { signal: AbortSignal.timeout(5000) })
  return await res.json() as { servers: string[] }
}

/**
 * Poll `cond` every 100 ms until it holds (a look that throws is "not yet": a node may be restarting);
 * fail after STEP_TIMEOUT_MS naming `what`. Returns what `cond` returned.
 */
async function until<T> (what: string, cond: () => T | Promise<T>): Promise<T> {
  return await waitFor(what, cond, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 100 })
}

/** How often each text occurs in the files under `dirs`, read byte by byte; and the bytes read. */
function scanFor (dirs: string[], texts: string[]): { hits: number[], bytes: number } {
  const needles = texts.map((t) => Buffer.from(t))
  const hits = texts.map(() => 0)
  let bytes = 0
  for (const dir of dirs) {
    for (const file of readdirSync(dir, { recursive: true }) as string[]) {
      let content: Buffer
      try { content = readFileSync(join(dir, file)) } catch { continue } // a directory, or gone meanwhile
      bytes += content.byteLength
      needles.forEach((n, i) => {
        for (let at = content.indexOf(n); at !== -1; at = content.indexOf(n, at + 1)) hits[i]++
      })
    }
  }
  return { hits, bytes }
}

async function stopProcess (child: ChildProcess): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
  await exited
  clearTimeout(timer)
}
