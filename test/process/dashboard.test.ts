/**
 * The live dashboard of a node's operator endpoint (`GET /`, `GET /dashboard.json`), in a real browser.
 *
 * First its parts on their own: the ring layout (shares that add up, positions thinned, the owner band),
 * the sampler's bounded buffer and rates, the static files (only the three named ones are served).
 *
 * Then a 3-server mesh of `chorus` processes and headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core; no browser is downloaded) on one server's page: the page names the node it is on and
 * draws all three servers on the ring; two users on client nodes in this process chat, and the page's
 * stored/s and relayed/s figures rise (the page is that of the server that relays alice's messages to
 * bob: the primary relay of bob's inbox shard); the server is SIGKILLed and the page says plainly that it is not
 * answering; it is started again on the same HTTP port and the page recovers by itself. Nothing the page
 * does may log an error to the console or throw; the only console errors allowed are the browser's own
 * "connection refused" lines for the page's polls while the node is down.
 *
 * With CHORUS_SCREENSHOT=1 the screenshot taken while the users chat (after the charts have filled for a
 * while) is also written to docs/dashboard.png; it is always written to a temporary directory.
 */

import { strict as assert } from 'node:assert'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core'
import { createNode, type ChorusNode, type User } from '../../node/index.js'
import { DashboardAssets, dashboardDirs } from '../../node/status/assets.js'
import { MAX_DRAWN_POSITIONS, RING_BINS, ringView } from '../../node/status/ring-view.js'
import { Sampler, type Reading } from '../../node/status/sampler.js'
import { InvalidOptionError } from '../../node/errors.js'
import { LOOPBACK_ARGS, REPO_ROOT } from '../helpers/process.js'
import { CLIENT_OPTIONS, MESH_ARGS, ServerMesh, type ServerSlot } from '../helpers/server-mesh.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'
import { inboxTopicOf } from '../../protocol/topics.js'

/** Debian's Chromium (`apt-get install chromium`); the test drives it, it never downloads a browser. */
const CHROMIUM = '/usr/bin/chromium'
/** How the test watches the page: it polls its node every 1.5 s, so 20 s is many polls. */
const POLL = { timeoutMs: scaled(20_000), intervalMs: 100 }

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

describe('dashboard parts', function () {
  it('lays out the ring: shares add up, positions are thinned, the owner band names primaries', function () {
    const members = [{ peerId: 'peer-a' }, { peerId: 'peer-b', capacity: 2 }, { peerId: 'peer-c' }, { peerId: 'peer-d' }]
    const view = ringView(members, 3)
    assert.deepEqual(view.servers.map((s) => s.peerId), ['peer-a', 'peer-b', 'peer-c', 'peer-d'])
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)
    assert.ok(Math.abs(sum(view.servers.map((s) => s.primaryShare)) - 1) < 1e-4, 'primary shares add up to the whole ring')
    assert.ok(Math.abs(sum(view.servers.map((s) => s.replicaShare)) - 3) < 1e-4, 'replica shares add up to N')
    for (const s of view.servers) {
      assert.ok(s.positions.length <= MAX_DRAWN_POSITIONS)
      assert.ok(s.positions.every((p, i) => p >= 0 && p < 1 && (i === 0 || p >= s.positions[i - 1])), 'positions are ascending fractions')
      assert.ok(s.replicaShare >= s.primaryShare && s.replicaShare <= 1)
    }
    assert.equal(view.servers[1].vnodes, 256, 'capacity 2: twice the positions')
    assert.ok(view.servers[1].primaryShare > view.servers[0].primaryShare, 'and about twice the keys')
    assert.equal(view.bins.length, RING_BINS)
    assert.ok(view.bins.every((b) => b >= 0 && b < 4))
    // the band agrees with the shares: each server's bins are close to its primary share
    for (const [i, s] of view.servers.entries()) {
      assert.ok(Math.abs(view.bins.filter((b) => b === i).length / RING_BINS - s.primaryShare) < 0.1, s.peerId)
    }
    const one = ringView([{ peerId: 'alone' }], 3)
    assert.equal(one.servers[0].primaryShare, 1)
    assert.equal(one.servers[0].replicaShare, 1)
    assert.deepEqual(ringView([], 3).servers, [])
  })

  it('keeps a bounded series and derives rates from consecutive readings', async function () {
    let t = 1_000_000
    let stored = 0
    const read = (): Reading => ({ counters: { stored }, gauges: { hints: stored / 10 } })
    const sampler = new Sampler({ intervalMs: 1000, capacity: 5, now: () => t, read })
    for (let i = 0; i < 12; i++) {
      await sampler.sample()
      t += 2000
      stored += 10
    }
    const s = sampler.series()
    assert.equal(s.t.length, 5, 'capacity points, no more')
    assert.deepEqual(s.rates.stored, [5, 5, 5, 5, 5], '10 per 2 s')
    assert.deepEqual(s.gauges.hints, [7, 8, 9, 10, 11])
    assert.equal(s.totals.stored, 110)
    stored = 0
    await sampler.sample()
    assert.equal(sampler.series().rates.stored.at(-1), 0, 'a counter going backwards is no negative rate')
    assert.throws(() => new Sampler({ capacity: 1, read: () => ({ counters: {}, gauges: {} }) }), InvalidOptionError)
  })

  it('serves the three dashboard files and nothing else', async function () {
    const assets = new DashboardAssets()
    assert.ok(dashboardDirs().some((d) => existsSync(join(d, 'index.html'))))
    assert.match(String((await assets.get('/'))?.body), /<script type="module" src="dashboard.js">/)
    assert.equal((await assets.get('/dashboard.js'))?.type, 'text/javascript; charset=utf-8')
    assert.equal((await assets.get('/dashboard.css'))?.type, 'text/css; charset=utf-8')
    for (const path of ['/index.html', '/../package.json', '/dashboard/../../../package.json', '/etc/passwd']) {
      assert.equal(await assets.get(path), undefined, path)
    }
  })
})

/** A user on a client node of its own. */
interface Person { node: ChorusNode, user: User }

describe('process: the dashboard of a server, in a browser', function () {
  this.timeout(scaled(240_000))
  const mesh = new ServerMesh()
  const dirs = new TempDirs()
  const people: Person[] = []
  /** every client node started, stopped in `after` */
  const nodes: ChorusNode[] = []
  /** console errors and page errors the page must not have */
  const problems: string[] = []
  /** every console line, for failure messages */
  const consoleLines: string[] = []
  let context: BrowserContext | undefined
  let page: Page
  let slot: ServerSlot
  let base: string
  /** while set, the browser's own "connection refused" lines for the page's polls are expected */
  let nodeDown = false
  let chatting = false
  let chatLoop: Promise<void> | undefined
  let sent = 0
  let alice: Person
  let bob: Person

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)`)
    await mesh.start(3)
    alice = await person('alice')
    bob = await person('bob')
    await waitFor('both clients to see the three servers', () => people.every((p) => p.node.membership.servers().length === 3),
      { timeoutMs: scaled(30_000), intervalMs: 100 })
    // the live hop takes alice's messages to the first of the relays of bob's shard (all three servers here)
    const relay = alice.node.replication.placement.ownersOfTopic(inboxTopicOf(bob.user.userId))[0]
    slot = mesh.servers.find((s) => s.peerId === relay)!
    assert.ok(slot != null, `the primary relay of bob's shard, ${relay}, is one of the servers`)
    base = slot.proc.statusUrl!.replace(/\/status$/, '/')
    context = await chromium.launchPersistentContext(dirs.make('chorus-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 },
      timeout: scaled(60_000)
    })
    page = context.pages()[0] ?? await context.newPage()
    page.on('console', (m) => { onConsole(m) })
    page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
  })

  after(async function () {
    chatting = false
    await chatLoop?.catch(() => {})
    await context?.close().catch(() => {})
    for (const n of nodes) await n.stop().catch(() => {})
    await mesh.cleanup()
    dirs.cleanup()
  })

  function onConsole (m: ConsoleMessage): void {
    const line = `${m.type()}: ${m.text()} (${m.location().url})`
    consoleLines.push(line)
    if (m.type() !== 'error' && m.type() !== 'assert') return
    // a poll that fails because the node is down: Chromium itself logs it, the page only shows its banner
    const pollFailed = /net::ERR_/.test(m.text()) && /\/(status|dashboard\.json)$/.test(m.location().url)
    if (nodeDown && pollFailed) return
    problems.push(line)
  }

  async function person (handle: string): Promise<Person> {
    const node = await createNode({
      role: 'client',
      dataDir: dirs.make('chorus-client-'),
      bootstrap: [mesh.bootstrap.bootstrapAddr],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      ...CLIENT_OPTIONS
    })
    nodes.push(node)
    await node.start()
    const p = { node, user: await node.openUser(handle, { timeoutMs: scaled(30_000) }) }
    people.push(p)
    return p
  }

  /** The text of an element of the page. */
  async function text (selector: string): Promise<string> {
    return (await page.textContent(selector)) ?? ''
  }

  /** A figure of the page (e.g. "12.5", "1,024"), as a number. */
  async function figure (selector: string): Promise<number> {
    return Number((await text(selector)).replace(/[^\d.]/g, '') || NaN)
  }

  /** The total of store requests served, from the line under stored/s ("… · 1,234 in all"). */
  async function storedInAll (): Promise<number> {
    const m = /([\d,]+) in all/.exec(await text('#stat-stored-sub'))
    assert.ok(m != null, await text('#stat-stored-sub'))
    return Number(m[1].replace(/,/g, ''))
  }

  /** No value the page drew came out as null, undefined or NaN. */
  async function noBrokenValues (): Promise<void> {
    const body = (await page.textContent('body')) ?? ''
    assert.doesNotMatch(body, /\bnull\b|\bundefined\b|\bNaN\b|\[object /)
  }

  it('names the node it is on and draws all three servers on the ring', async function () {
    await page.goto(base, { timeout: scaled(30_000) })
    await waitFor('the page to name the node', async () => (await text('#node-peer')) === slot.peerId, POLL)
    assert.equal(await text('#node-role'), 'server')
    assert.match(await text('#node-meta'), new RegExp(`http ${base.slice('http://'.length, -1).replace(/\./g, '\\.')}`))
    const ids = mesh.ids().sort()
    await waitFor('the three servers on the ring', async () => {
      const onRing = await page.$$eval('#ring-legend li[data-peer]', (lis) => lis.map((li) => li.getAttribute('data-peer')))
      if (JSON.stringify(onRing.sort()) === JSON.stringify(ids)) return true
      throw new Error(`ring shows ${onRing.join(', ')}`)
    }, { timeoutMs: scaled(20_000), intervalMs: 100 })
    for (const id of ids) {
      // drawn: its positions as ticks on the circle, its id and its share in the legend
      const ticks = await page.$$eval(`#ring g[data-peer="${id}"] line`, (ls) => ls.length)
      assert.equal(ticks, MAX_DRAWN_POSITIONS, `${id} has its positions drawn`)
      const legend = await text(`#ring-legend li[data-peer="${id}"]`)
      assert.ok(legend.includes(id), legend)
      assert.match(legend, /primary \d+(\.\d+)?% · replica 100\.0%/, 'three servers, N = 3: each holds a replica of every key')
    }
    assert.match(await text(`#ring-legend li[data-peer="${slot.peerId}"]`), /this node/)
    await noBrokenValues()
    // the peers table: the two other servers, alive and connected
    for (const id of ids.filter((i) => i !== slot.peerId)) {
      const row = await page.$$eval(`#peers tr[data-peer="${id}"] td`, (tds) => tds.map((td) => td.textContent ?? ''))
      assert.equal(row[1], 'server')
      assert.equal(row[2], 'alive')
      assert.ok(Number(row[3]) >= 1, `connected to ${id}: ${row.join(' | ')}`)
    }
  })

  it('shows stored/s and relayed/s rising while two users chat through the mesh', async function () {
    const before = await storedInAll()
    chatting = true
    chatLoop = (async () => {
      // paced by the sends themselves: each resolves once W owners have the message on disk
      // eslint-disable-next-line no-unmodified-loop-condition -- the test's end sets chatting to false during an await
      while (chatting) {
        await alice.user.send('bob', `hello bob #${sent}`)
        await bob.user.send('alice', `hello alice #${sent}`)
        sent += 2
      }
    })()
    await waitFor('stored/s and relayed/s above 0 on the page', async () => {
      const stored = await figure('#stat-stored')
      const relayed = await figure('#stat-relayed')
      if (stored > 0 && relayed > 0) return true
      throw new Error(`stored/s ${stored}, relayed/s ${relayed}, ${sent} sent`)
    }, { timeoutMs: scaled(30_000), intervalMs: 200 })
    assert.ok(await storedInAll() > before, 'the total of store requests grew too')
    await waitFor('the stored/s chart to draw a line', async () => (await page.$$('#chart-stored polyline')).length > 0, POLL)
    if (process.env.CHORUS_SCREENSHOT === '1') {
      // a picture worth looking at: a minute of traffic in the charts
      const points = async (): Promise<number> =>
        page.$$eval('#chart-stored polyline', (p) => (p[0]?.getAttribute('points') ?? '').split(' ').length)
      await waitFor('a minute of samples', async () => await points() >= 60, { timeoutMs: scaled(120_000), intervalMs: 1000 })
    }
    await noBrokenValues()
    const shot = join(dirs.make('chorus-shot-'), 'dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    if (process.env.CHORUS_SCREENSHOT === '1') {
      mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true })
      await page.screenshot({ path: join(REPO_ROOT, 'docs', 'dashboard.png'), fullPage: true })
    }
    chatting = false
    await chatLoop
    assert.ok(sent >= 2)
    rmSync(shot, { force: true })
  })

  it('says plainly when the node stops answering, and recovers when it answers again', async function () {
    assert.equal(await page.isVisible('#banner'), false, 'no banner while the node answers')
    nodeDown = true
    slot.proc.kill('SIGKILL')
    await slot.proc.waitForExit()
    const banner = async (): Promise<boolean> => await page.isVisible('#banner') && /not answering/i.test(await text('#banner'))
    await waitFor('the "not answering" banner', banner, POLL)
    assert.match(await text('#banner'), new RegExp(base.slice('http://'.length, -1).replace(/\./g, '\\.')), 'the banner names the address')
    assert.equal(await text('#live'), 'not answering')
    // the same server again on the same HTTP port: the page, still open, finds it by itself
    const port = new URL(base).port
    const args = ['start', ...LOOPBACK_ARGS.slice(0, 2), '--http', `127.0.0.1:${port}`,
      '--bootstrap', mesh.bootstrap.bootstrapAddr, '--data-dir', slot.dir, ...MESH_ARGS]
    slot.proc = mesh.procs.spawn(args)
    await slot.proc.ready()
    await waitFor('the banner to go once the node answers', async () => !(await page.isVisible('#banner')), POLL)
    nodeDown = false
    assert.equal(await text('#node-peer'), slot.peerId)
    assert.match(await text('#live'), /^live/)
  })

  it('logged no error to the console and threw none', function () {
    assert.deepEqual(problems, [], `console:\n${consoleLines.join('\n')}`)
  })
})
