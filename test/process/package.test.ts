/**
 * The package as a user gets it: `npm pack` the repository, install the tarball into an empty project
 * (dependencies from the registry, or npm's cache), and chat through what was installed: a server
 * started with the installed `chorus` binary, two users on client nodes of the installed library
 * (`import { createNode } from 'chorus-mesh'`), and the installed `chorus send` / `chorus read`. The
 * tarball ships only what runs: no tests, no benchmarks, no TypeScript sources.
 */

import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from '../helpers/process.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'

const exec = promisify(execFile)
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

describe('process: the npm package, installed into an empty project', function () {
  this.timeout(scaled(600_000))
  const dirs = new TempDirs()
  const children: Array<{ kill: (s: NodeJS.Signals) => boolean }> = []
  let project: string
  let files: string[]

  /** The environment of the installed project's processes: none of the test's CHORUS_* or loaders. */
  const env = (home: string): NodeJS.ProcessEnv => {
    const out: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHORUS_') && k !== 'NODE_OPTIONS') out[k] = v
    return { ...out, CHORUS_HOME: home }
  }

  before(async function () {
    const packDir = dirs.make('chorus-pack-')
    // the suite has built dist/ already (npm test builds first): pack it as it is
    const { stdout } = await exec(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 })
    const [info] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
    files = info.files.map((f) => f.path)
    project = dirs.make('chorus-user-project-')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-chat-app', version: '1.0.0', private: true, type: 'module' }))
    await exec(NPM,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error', join(packDir, info.filename)],
      { cwd: project, maxBuffer: 16 * 1024 * 1024, timeout: scaled(480_000) })
  })

  after(() => {
    for (const c of children) c.kill('SIGKILL')
    dirs.cleanup()
  })

  it('ships the compiled library, the binary and the dashboard, and nothing else', () => {
    for (const want of ['bin/chorus', 'dist/bin/cli.js', 'dist/node/index.js', 'dist/node/index.d.ts', 'dist/protocol/index.js', 'dist/node/status/dashboard/index.html', 'package.json', 'README.md']) {
      assert.ok(files.includes(want), `the tarball lacks ${want}`)
    }
    for (const f of files) assert.ok(!/^(dist\/bench|dist\/test|test|bench|node|bin\/.*\.ts$)/.test(f) || f === 'bin/chorus', `the tarball ships ${f}`)
  })

  it('chats through the installed binary and library', async () => {
    const bin = join(project, 'node_modules', '.bin', 'chorus')
    const home = dirs.make('chorus-home-')
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string
    assert.equal((await exec(bin, ['--version'], { env: env(home) })).stdout.trim(), version)
    const { spawn } = await import('node:child_process')
    const server = spawn(bin, ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(home, 'server')], { env: env(home), stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(server)
    let out = ''
    server.stdout.on('data', (b: Buffer) => { out += b.toString() })
    const addr = await waitFor<string | undefined>('the installed server to print its address', () => /^listening: (\S+\/tcp\/\d+\/p2p\/\S+)$/m.exec(out)?.[1], { timeoutMs: scaled(30_000) }) as string

    // the library, as an app imports it
    writeFileSync(join(project, 'chat.mjs'), `
import { createNode } from 'chorus-mesh'
const [addr, dir] = process.argv.slice(2)
const start = async (name) => {
  const node = await createNode({ role: 'client', dataDir: dir + '/' + name, bootstrap: [addr], listen: ['/ip4/127.0.0.1/tcp/0'] })
  await node.start()
  return { node, user: await node.openUser(name, { timeoutMs: 30000 }) }
}
const alice = await start('alice')
const bob = await start('bob')
const got = new Promise((resolve) => bob.user.on('message', (m) => { if (m.text === 'hello from the package') resolve(m) }))
const sent = await alice.user.send('bob', 'hello from the package')
const m = await got
console.log(JSON.stringify({ id: sent.id, from: m.from, text: m.text }))
await alice.node.stop()
await bob.node.stop()
`)
    const lib = await exec(process.execPath, ['chat.mjs', addr, join(home, 'lib')], {
      cwd: project,
      env: env(home),
      timeout: scaled(120_000)
    })
    const result = JSON.parse(lib.stdout.trim().split('\n').pop() as string)
    assert.deepEqual([result.from, result.text], ['alice', 'hello from the package'])

    // the binary's person commands, for two more users
    const carol = ['--data-dir', join(home, 'carol'), '--bootstrap', addr]
    const dave = ['--data-dir', join(home, 'dave'), '--bootstrap', addr]
    await exec(bin, ['read', '--as', 'dave', ...dave], { env: env(home), timeout: scaled(120_000) })
    const sent = await exec(bin, ['send', '--as', 'carol', ...carol, '--json', 'dave', 'hello from the binary'], { env: env(home), timeout: scaled(120_000) })
    const id = JSON.parse(sent.stdout.trim()).id as string
    const read = await exec(bin, ['read', ...dave, '--json'], { env: env(home), timeout: scaled(120_000) })
    const lines = read.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.ok(lines.some((l) => l.id === id && l.from === 'carol' && l.text === 'hello from the binary'), `dave's read: ${read.stdout}`)
    server.kill('SIGTERM')
  })
})
