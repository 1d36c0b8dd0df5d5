/**
 * `chorus chat` through a real terminal: two users, alice and bob, each running `node bin/chorus chat`
 * in a tmux session of its own against a mesh of three `chorus start` servers. The test types with
 * `send-keys` and reads the screen with `capture-pane`, as a person would: a direct message and its
 * ticks, a line half typed while a message arrives, a room, a secret chat and its safety number on both
 * screens, and a clean exit on /quit and on Ctrl-C.
 *
 * The tests run in order and share the two sessions (each step builds on the one before, as a person's
 * session would). The tmux server has a socket of its own and is killed in `after`, and the chat
 * processes are waited for (SIGKILLed if they linger) before the mesh and the directories go.
 */

import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CHORUS_BIN, REPO_ROOT } from '../helpers/process.js'
import { ServerMesh } from '../helpers/server-mesh.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'

const TMUX = '/usr/bin/tmux'
const USERS = ['alice', 'bob'] as const
type Name = typeof USERS[number]

/**
 * How long a screen may take to show what a step expects (a send goes through W owners, a
 * room join reads the state log).
 */
const SCREEN_WAIT_MS = scaled(45_000)

describe('chorus chat: an interactive client in a real terminal (tmux)', function () {
  this.timeout(scaled(180_000))
  const mesh = new ServerMesh()
  const dirs = new TempDirs()
  const socket = `chorus-chat-test-${process.pid}-${randomBytes(4).toString('hex')}`
  const pids = new Map<Name, number>()
  let env: NodeJS.ProcessEnv = {}
  let serverStarted = false

  /** Run a tmux command on this test's server; its stdout. */
  function tmux (...args: string[]): string {
    return execFileSync(TMUX, ['-L', socket, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  }

  /** The whole screen of `who`, scrollback included (wrapped lines joined). */
  function screen (who: Name): string {
    return tmux('capture-pane', '-p', '-J', '-S', '-3000', '-t', who)
  }

  /** What is on `who`'s screen now (for failure messages): the visible part, without trailing blank lines. */
  function visible (who: Name): string {
    try {
      return tmux('capture-pane', '-p', '-t', who).replace(/\s+$/, '')
    } catch (err: any) {
      return `(no screen: ${String(err.message)})`
    }
  }

  /** The last non-empty line on `who`'s screen: the prompt and what is typed on it. */
  function promptLine (who: Name): string {
    return visible(who).split('\n').filter((l) => l.trim() !== '').at(-1) ?? ''
  }

  /** Type `text` into `who`'s terminal, then Enter unless told not to. */
  function type (who: Name, text: string, enter = true): void {
    tmux('send-keys', '-t', who, '-l', text)
    if (enter) tmux('send-keys', '-t', who, 'Enter')
  }

  /** Wait until `who`'s screen matches `re`; the screen is in the message should it never. */
  async function see (who: Name, re: RegExp, what = `${String(re)} on ${who}'s screen`): Promise<RegExpExecArray> {
    return await waitFor(what, () => {
      const m = re.exec(screen(who))
      if (m != null) return m
      throw new Error(`${who}'s screen:\n${visible(who)}\n`)
    }, { timeoutMs: SCREEN_WAIT_MS, intervalMs: 200 })
  }

  /** The pane of `who` has exited: how (`status 0`, `status 1`, `signal 6`). */
  /**
   * How the chat ended, from the line the pane's shell prints after it (the shell reaps the chat and
   * knows its status; tmux alone sometimes leaves a process that ended a zombie and never learns it).
   */
  async function exited (who: Name): Promise<string> {
    return await waitFor(`${who}'s chat to exit`, () => {
      const m = /chat exited with status (\d+)/.exec(screen(who))
      if (m != null) return `status ${m[1]}`
      throw new Error(`${who}'s screen:\n${visible(who)}\n`)
    }, { timeoutMs: scaled(30_000), intervalMs: 200 })
  }

  before(async function () {
    this.timeout(scaled(180_000))
    await mesh.start(3)
    // the tmux server (and so each chat) sees only what the test gives it: no CHORUS_* of the shell
    // running the tests, no tsx loader, no tmux of its own; UTF-8 for the ticks and the key picture
    env = {}
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('CHORUS_') && !k.startsWith('TMUX') && k !== 'NODE_OPTIONS' && k !== 'DEBUG' && !k.startsWith('LC_')) env[k] = v
    }
    Object.assign(env, { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TERM: 'xterm-256color' })
    const home = dirs.make('chorus-chat-home-')
    // kept after exit, so that the test can read the exit status and the last screen
    const conf = join(home, 'tmux.conf')
    writeFileSync(conf, 'set -g remain-on-exit on\nset -g history-limit 5000\n')
    for (const [i, who] of USERS.entries()) {
      const dataDir = dirs.make(`chorus-chat-${who}-`)
      const chat = [process.execPath, CHORUS_BIN, 'chat', '--as', who, '--data-dir', dataDir, '--bootstrap', mesh.bootstrap.bootstrapAddr]
      const shell = ['/bin/sh', '-c', '"$@"; echo "chat exited with status $?"', 'sh', ...chat]
      const args = ['new-session', '-d', '-s', who, '-x', '160', '-y', '50', '-c', REPO_ROOT, '-e', `CHORUS_HOME=${home}`, ...shell]
      tmux(...(i === 0 ? ['-f', conf, ...args] : args))
      serverStarted = true
      pids.set(who, Number(tmux('display-message', '-p', '-t', who, '#{pane_pid}').trim()))
    }
    await Promise.all(USERS.map(async (who) => await see(who, new RegExp(`signed in as ${who} \\(`))))
  })

  after(async function () {
    this.timeout(scaled(60_000))
    if (serverStarted) {
      try { tmux('kill-server') } catch { /* already gone */ }
      // the chats got SIGHUP and stop their nodes; give them the time to, then make sure
      for (const pid of pids.values()) {
        await waitFor(`chat process ${pid} to exit`, () => !alive(pid), { timeoutMs: scaled(15_000), intervalMs: 100 }).catch(() => {
          try { process.kill(pid, 'SIGKILL') } catch { /* gone meanwhile */ }
        })
      }
      // tmux leaves its socket behind (it sees no TMUX_TMPDIR: the default folder)
      rmSync(join('/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true })
    }
    await mesh.cleanup()
    dirs.cleanup()
  })

  it('shows a direct message on the recipient\'s screen, and ✓ then ✓✓ on the sender\'s', async function () {
    type('alice', '/msg bob hello from alice')
    await see('bob', /\[alice\] alice: hello from alice/)
    await see('alice', /✓ sent "hello from alice"/)
    await see('alice', /✓✓ (delivered to|read by) bob: "hello from alice"/)
    const lines = screen('alice').split('\n')
    const sent = lines.findIndex((l) => l.includes('✓ sent "hello from alice"'))
    const delivered = lines.findIndex((l) => /✓✓ .*"hello from alice"/.test(l))
    assert.ok(sent >= 0 && sent < delivered, `✓ before ✓✓ on alice's screen:\n${visible('alice')}`)
    // the first message opened the conversation on bob's side: his prompt says where plain lines go
    await waitFor('bob\'s prompt to show the conversation with alice', () => promptLine('bob').startsWith('[alice] >') || undefined,
      { timeoutMs: SCREEN_WAIT_MS, intervalMs: 200 }).catch(() => { assert.fail(`bob's prompt: ${promptLine('bob')}\n${visible('bob')}`) })
  })

  it('keeps a half-typed line intact while a message arrives', async function () {
    type('bob', 'hello wor', false)
    await waitFor('bob\'s prompt to show the half-typed line', () => promptLine('bob') === '[alice] > hello wor' || undefined,
      { timeoutMs: SCREEN_WAIT_MS, intervalMs: 200 }).catch(() => { assert.fail(`bob's prompt: ${promptLine('bob')}\n${visible('bob')}`) })
    type('alice', 'a message while bob types')
    await see('bob', /\[alice\] alice: a message while bob types/)
    assert.equal(promptLine('bob'), '[alice] > hello wor', `the half-typed line survives:\n${visible('bob')}`)
    type('bob', 'ld')
    await see('alice', /\[bob\] bob: hello world\n/)
    await see('bob', /✓ sent "hello world"/)
  })

  it('carries a room: alice creates it and invites bob, bob joins, and posts arrive on both sides', async function () {
    type('alice', '/create team')
    await see('alice', /you created #team/)
    type('alice', '/invite bob')
    await see('alice', /you invited bob to #team/)
    await see('bob', /alice invites you to #team: \/join team/)
    type('bob', '/join team')
    await see('bob', /── #team: plain lines go here now ──/)
    await see('alice', /bob joined #team/)
    type('alice', 'hello team')
    await see('bob', /\[#team\] alice: hello team/)
    type('bob', 'hi alice, from the room')
    await see('alice', /\[#team\] bob: hi alice, from the room/)
  })

  it('carries a secret chat (/secret bob): the message arrives on bob\'s screen', async function () {
    type('alice', '/secret bob')
    await see('alice', /── secret bob: plain lines go here now ──/)
    type('alice', 'the door code is 4711')
    await see('bob', /\[secret alice\] alice: the door code is 4711/)
    await see('alice', /✓ sent "the door code is 4711"/)
  })

  it('shows the same safety number on both screens (/verify)', async function () {
    type('alice', '/verify bob')
    type('bob', '/verify alice')
    // the header, three rows of four groups of digits, then the 8×8 key picture (two characters a cell)
    const number = (peer: string): RegExp =>
      new RegExp(`safety number with ${peer}[^\\n]*\\n((?:\\s+\\d{5} \\d{5} \\d{5} \\d{5}\\n){3})((?:\\s+[░▒▓█]{16}\\n){8})`)
    const a = await see('alice', number('bob'))
    const b = await see('bob', number('alice'))
    const digits = (m: RegExpExecArray): string => m[1].replace(/\s/g, '')
    assert.equal(digits(a).length, 60)
    assert.equal(digits(a), digits(b), `alice:\n${visible('alice')}\nbob:\n${visible('bob')}`)
    assert.equal(a[2].replace(/ /g, ''), b[2].replace(/ /g, ''), 'the key pictures match too')
  })

  it('exits cleanly, status 0, on /quit and on Ctrl-C', async function () {
    // one after the other: when two panes' processes end at once, tmux can miss the second SIGCHLD and
    // leave that process a zombie whose exit status it never learns (seen with tmux 3.3)
    type('alice', '/quit')
    assert.equal(await exited('alice'), 'status 0', visible('alice'))
    tmux('send-keys', '-t', 'bob', 'C-c')
    assert.equal(await exited('bob'), 'status 0', visible('bob'))
    for (const who of USERS) assert.match(screen(who), /\nstopped\n/, `${who} stopped its node:\n${visible(who)}`)
  })
})

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
