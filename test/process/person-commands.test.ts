/**
 * The scriptable client commands, as real `chorus` processes against a mesh of three servers (N = 3,
 * W = 2): `chorus send` (direct and `--room`), `chorus read` (history, `--json`, `--from`, `--room`,
 * `--follow` until SIGTERM), `chorus rooms`, and what a person sees when something is wrong: one
 * "chorus: error:" line and exit 1 for a failure (unknown recipient, no servers, handle taken), exit 2
 * for bad usage. Each user has a data dir of its own, which remembers the handle between commands.
 *
 * There is no command to create or join a room, so the room test does that through the library, with a
 * client node on the user's own data dir (between commands: one process at a time owns a data dir).
 */

import { strict as assert } from 'node:assert'
import { createNode, type User } from '../../node/index.js'
import { freePort, type FinishedRun } from '../helpers/process.js'
import { CLIENT_OPTIONS, ServerMesh } from '../helpers/server-mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** A message line of `chorus read --json`. */
interface MessageLine {
  id: string
  from: string
  to: string | null
  room: string | null
  kind: string
  text: string
  timestamp: number
}

/** The line of `chorus send --json`. */
interface SendLine { id: string, to: string | null, room: string | null, timestamp: number, storedOn: string[] }

/** A line of `chorus rooms --json`. */
interface RoomLine { id: string, name: string, role: string, members: number }

const MESSAGE_ID = /^[0-9a-f]{32}$/

/** The run exited with `code`; its output in the message if not. */
function assertExit (r: FinishedRun, code: number, what: string): void {
  const output = `stdout: ${r.stdout.join(' | ')} stderr: ${r.stderr.join(' | ')}`
  assert.equal(r.exit.code, code, `${what}: exit ${r.exit.code ?? r.exit.signal}, ${output}`)
}

/** Exactly one stderr line, "chorus: error: …", matching each of `names`, and no stack trace. */
function assertOneErrorLine (r: FinishedRun, ...names: RegExp[]): void {
  const text = r.stderr.join('\n')
  assert.doesNotMatch(text, /^\s+at /m, `a stack trace on stderr:\n${text}`)
  assert.equal(r.stderr.length, 1, `exactly one line on stderr, got:\n${text}`)
  assert.match(r.stderr[0], /^chorus: error: \S/)
  for (const re of names) assert.match(r.stderr[0], re)
}

function parseLines<T> (lines: string[]): T[] {
  return lines.map((l) => JSON.parse(l) as T)
}

describe('process: chorus send, read and rooms against 3 servers', function () {
  this.timeout(scaled(120_000))
  const mesh = new ServerMesh()
  const procs = mesh.procs
  const dirs: Record<string, string> = {}
  /** ids of the messages sent so far, by name */
  const sent: Record<string, string> = {}
  let roomId: string

  /** `--as handle --data-dir <its dir> --bootstrap <the mesh>`, the dir made on first use. */
  function as (handle: string): string[] {
    dirs[handle] ??= procs.dir(`chorus-${handle}-`)
    return ['--as', handle, '--data-dir', dirs[handle], '--bootstrap', mesh.bootstrap.bootstrapAddr]
  }

  async function chorus (args: string[]): Promise<FinishedRun> {
    return await procs.run(args, { timeoutMs: scaled(60_000) })
  }

  /** `chorus read --json` as `handle` with `extra` flags: exit 0, nothing on stderr, the messages. */
  async function readJson (handle: string, ...extra: string[]): Promise<MessageLine[]> {
    const r = await chorus(['read', ...as(handle), '--json', ...extra])
    assertExit(r, 0, `read as ${handle} ${extra.join(' ')}`)
    assert.deepEqual(r.stderr, [])
    return parseLines<MessageLine>(r.stdout)
  }

  /** `chorus send --json`: exit 0, the result line. */
  async function sendJson (handle: string, ...args: string[]): Promise<SendLine> {
    const r = await chorus(['send', ...as(handle), '--json', ...args])
    assertExit(r, 0, `send as ${handle} ${args.join(' ')}`)
    assert.equal(r.stdout.length, 1, r.stdout.join('\n'))
    return JSON.parse(r.stdout[0])
  }

  /** Run `fn` with `handle`'s session on a library client node over its data dir, then stop the node. */
  async function withUser<T> (handle: string, fn: (user: User) => Promise<T>): Promise<T> {
    const node = await createNode({
      role: 'client',
      dataDir: dirs[handle],
      bootstrap: [mesh.bootstrap.bootstrapAddr],
      ...CLIENT_OPTIONS
    })
    try {
      await node.start()
      const want = JSON.stringify(mesh.ids().sort())
      await waitFor(`${handle}'s library node to see the 3 servers`, () => JSON.stringify([...node.status().servers].sort()) === want, {
        timeoutMs: scaled(60_000), intervalMs: 50
      })
      return await fn(await node.openUser(handle))
    } finally {
      await node.stop()
    }
  }

  before(async function () {
    this.timeout(scaled(120_000))
    await mesh.start(3)
  })

  after(async () => { await mesh.cleanup() })

  it('--help of each command and of chorus lists them, exit 0', async () => {
    const top = await chorus(['--help'])
    assertExit(top, 0, 'chorus --help')
    for (const cmd of ['send', 'read', 'rooms']) {
      assert.ok(top.stdout.some((l) => new RegExp(`^\\s+${cmd}\\s`).test(l)), `chorus --help lists ${cmd}`)
      const r = await chorus([cmd, '--help'])
      assertExit(r, 0, `${cmd} --help`)
      assert.match(r.stdout[0], new RegExp(`^Usage: chorus ${cmd}`))
      assert.deepEqual(r.stderr, [])
    }
  })

  it('a first read makes the user (bob, carol) and prints nothing', async () => {
    assert.deepEqual(await readJson('bob'), [])
    assert.deepEqual(await readJson('carol'), [])
  })

  it('alice sends to bob: exit 0, the message id and the servers that stored it', async () => {
    const r = await chorus(['send', ...as('alice'), 'bob', 'hello bob'])
    assertExit(r, 0, 'send')
    assert.deepEqual(r.stderr, [])
    assert.equal(r.stdout.length, 2, r.stdout.join('\n'))
    const m = /^sent ([0-9a-f]{32}) to bob at (\S+)$/.exec(r.stdout[0])
    assert.ok(m != null, r.stdout[0])
    assert.ok(Number.isFinite(Date.parse(m[2])), m[2])
    sent.hello = m[1]
    const s = /^stored on (\d+) servers?: (.+)$/.exec(r.stdout[1])
    assert.ok(s != null, r.stdout[1])
    const owners = s[2].split(' ')
    assert.equal(owners.length, Number(s[1]))
    assert.ok(owners.length >= 1, 'stored somewhere')
    for (const o of owners) assert.ok(mesh.ids().includes(o), `${o} is one of the servers`)

    const j = await sendJson('alice', 'bob', '--', '-second, with a dash')
    assert.match(j.id, MESSAGE_ID)
    assert.equal(j.to, 'bob')
    assert.equal(j.room, null)
    assert.ok(Math.abs(j.timestamp - Date.now()) < scaled(120_000), 'a timestamp of about now')
    assert.ok(j.storedOn.length >= 1 && j.storedOn.every((o) => mesh.ids().includes(o)), JSON.stringify(j.storedOn))
    sent.second = j.id
  })

  it('bob reads them, as JSON lines and as readable lines; alice sees her own', async () => {
    const lines = await readJson('bob')
    assert.deepEqual(lines.map((l) => l.id), [sent.hello, sent.second])
    assert.deepEqual(lines[0], {
      id: sent.hello, from: 'alice', to: 'bob', room: null, kind: 'chat', text: 'hello bob', timestamp: lines[0].timestamp
    })
    assert.equal(lines[1].text, '-second, with a dash')
    assert.ok(lines[0].timestamp <= lines[1].timestamp)

    // the second run of a data dir needs no --as: it remembers the handle
    const r = await chorus(['read', '--data-dir', dirs.bob, '--bootstrap', mesh.bootstrap.bootstrapAddr, '--limit', '1'])
    assertExit(r, 0, 'read')
    assert.equal(r.stdout.length, 1, r.stdout.join('\n'))
    assert.match(r.stdout[0], /^\d{4}-\d\d-\d\dT\S+Z alice: -second, with a dash$/)

    const mine = await readJson('alice')
    assert.deepEqual(mine.map((l) => [l.id, l.from]), [[sent.hello, 'alice'], [sent.second, 'alice']])
  })

  it('read --follow prints the history, then a message sent afterwards; SIGTERM stops it with exit 0', async () => {
    const follow = procs.spawn(['read', ...as('bob'), '--follow', '--json'])
    await follow.waitForLine(new RegExp(`"id":"${sent.second}"`), scaled(60_000))
    const j = await sendJson('alice', 'bob', 'are you there?')
    await follow.waitForLine(new RegExp(`"id":"${j.id}"`), scaled(60_000))
    follow.kill('SIGTERM')
    const exit = await follow.waitForExit(scaled(30_000))
    assert.deepEqual(exit, { code: 0, signal: null }, follow.describe())
    assert.deepEqual(follow.stderr, [])
    const lines = parseLines<MessageLine>(follow.stdout)
    assert.deepEqual(lines.map((l) => l.id), [sent.hello, sent.second, j.id], 'each message once, in order')
    assert.equal(lines[2].text, 'are you there?')
    assert.equal(lines[2].from, 'alice')
    sent.there = j.id
  })

  it('--from keeps one sender\'s messages', async () => {
    const c = await sendJson('carol', 'bob', 'carol here')
    const fromCarol = await readJson('bob', '--from', 'carol')
    assert.deepEqual(fromCarol.map((l) => [l.id, l.from, l.text]), [[c.id, 'carol', 'carol here']])
    const fromAlice = await readJson('bob', '--from', 'alice')
    assert.deepEqual(fromAlice.map((l) => l.id), [sent.hello, sent.second, sent.there])
    const all = await readJson('bob', '--limit', '2')
    assert.deepEqual(all.map((l) => l.id), [sent.there, c.id], 'the newest two of both senders')
  })

  it('a room (made through the library): send --room, read --room, rooms', async function () {
    // two library nodes and eight commands, one after another
    this.timeout(scaled(240_000))
    roomId = await withUser('alice', async (alice) => {
      const room = await alice.rooms.create({ name: 'team' })
      await room.invite('bob')
      return room.id
    })
    await withUser('bob', async (bob) => { await bob.rooms.join(roomId) })

    const j = await sendJson('alice', '--room', roomId, 'hello team')
    assert.equal(j.room, roomId)
    assert.equal(j.to, null)
    assert.ok(j.storedOn.length >= 1 && j.storedOn.every((o) => mesh.ids().includes(o)), JSON.stringify(j.storedOn))

    const inRoom = await readJson('bob', '--room', roomId)
    assert.deepEqual(inRoom, [{
      id: j.id, from: 'alice', to: null, room: roomId, kind: 'groupchat', text: 'hello team', timestamp: inRoom[0]?.timestamp
    }])
    const everything = await readJson('bob')
    assert.equal(everything.at(-1)?.id, j.id, 'read without a filter shows room posts too, newest last')

    const r = await chorus(['read', ...as('bob'), '--room', roomId])
    assertExit(r, 0, 'read --room')
    assert.match(r.stdout.at(-1) ?? '', /^\S+Z \[team\] alice: hello team$/)

    for (const [who, role] of [['alice', 'owner'], ['bob', 'member']]) {
      const rr = await chorus(['rooms', ...as(who), '--json'])
      assertExit(rr, 0, `rooms as ${who}`)
      const rooms = parseLines<RoomLine>(rr.stdout)
      const got = rooms.map((x) => ({ id: x.id, name: x.name, role: x.role, members: x.members }))
      assert.deepEqual(got, [{ id: roomId, name: 'team', role, members: 2 }])
    }
    const table = await chorus(['rooms', ...as('bob')])
    assertExit(table, 0, 'rooms')
    assert.match(table.stdout[0], /^ID\s+NAME\s+ROLE\s+MEMBERS$/)
    assert.match(table.stdout[1], new RegExp(`^${roomId}\\s+team\\s+member\\s+2$`))
    const none = await chorus(['rooms', ...as('carol')])
    assertExit(none, 0, 'rooms of carol')
    assert.deepEqual(none.stdout, ['no rooms on this device'])

    const notIn = await chorus(['send', ...as('carol'), '--room', roomId, 'let me in'])
    assertExit(notIn, 1, 'send --room to a room carol is not in')
    assertOneErrorLine(notIn, new RegExp(`not in room ${roomId}`))
  })

  describe('errors', () => {
    it('an unknown recipient: exit 1, one line naming it', async () => {
      const r = await chorus(['send', ...as('alice'), 'nobody-here', 'hello?'])
      assertExit(r, 1, 'send to nobody')
      assertOneErrorLine(r, /nobody-here/)
      assert.deepEqual(r.stdout, [])
    })

    it('no --as on a fresh data dir: exit 2', async () => {
      const r = await chorus(['read', '--data-dir', procs.dir('chorus-nobody-'), '--bootstrap', mesh.bootstrap.bootstrapAddr])
      assertExit(r, 2, 'read without --as')
      assertOneErrorLine(r, /--as/)
    })

    it('no servers reachable (a bootstrap address where nothing listens, --timeout 2): exit 1', async () => {
      const dead = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${mesh.bootstrap.peerId!}`
      const dir = procs.dir('chorus-dave-')
      const r = await chorus(['send', '--as', 'dave', '--data-dir', dir, '--bootstrap', dead, '--timeout', '2', 'bob', 'hi'])
      assertExit(r, 1, 'send through a dead bootstrap')
      assertOneErrorLine(r, /no servers reachable/)
    })

    it('a handle another data dir holds: exit 1', async () => {
      const dir = procs.dir('chorus-alice2-')
      const r = await chorus(['read', '--as', 'alice', '--data-dir', dir, '--bootstrap', mesh.bootstrap.bootstrapAddr])
      assertExit(r, 1, 'read as a taken handle')
      assertOneErrorLine(r, /alice/, /taken/)
    })

    it('bad usage: exit 2, one line', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['send', ...as('alice'), '--bogus', 'bob', 'x'], /--bogus/],
        [['read', ...as('bob'), '--limit', '0'], /--limit/],
        [['send', ...as('alice'), 'bob'], /HANDLE|TEXT/],
        [['send', ...as('alice'), 'Not A Handle', 'x'], /handle/],
        [['rooms', ...as('alice'), 'extra'], /extra/]
      ]
      for (const [args, names] of cases) {
        const r = await chorus(args)
        assertExit(r, 2, args.join(' '))
        assertOneErrorLine(r, names)
      }
    })
  })
})
