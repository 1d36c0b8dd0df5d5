/**
 * A browser XMPP client on the gateway's WebSocket endpoint: Converse.js (from npm, its prebuilt files)
 * in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core as the dashboard's test
 * does; no browser is downloaded) logs in as ann over `ws://…/xmpp-websocket`, opens a chat with bob
 * (xmpp.js over TCP with STARTTLS) from its contact list, sends him a message from the page, and shows
 * his answer.
 *
 * ann and bob are contacts before the page logs in: Converse 14 opens a chat with a JID outside the
 * roster only once it has the account's blocklist (XEP-0191), which a server without blocking never
 * gives it, so such a chat would never open.
 *
 * The mesh is in this process: a bootstrap node and three servers, the first with the HTTP listener and
 * the gateway (plaintext logins allowed: the listener has no TLS). The page comes from a local server of
 * the test; the browser may load nothing from any other host (the machine may have no internet, and a
 * test must not depend on it): such requests are aborted and must not happen.
 *
 * A screenshot of the page is written to a temporary directory (kept with CHORUS_KEEP_SCREENSHOT=1, for a
 * look; its path is printed then).
 */

import { strict as assert } from 'node:assert'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import xml from '@xmpp/xml'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { ConversePage } from '../helpers/converse-page.js'
import { DOMAIN, PASSWORD, WEBSOCKET_PATH, chatFrom, jabber, trustSelfSigned, type JabberClient } from '../helpers/xmpp.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'

/** Debian's Chromium (`apt-get install chromium`), with the dashboard test's flags. */
const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']
const POLL = { timeoutMs: scaled(30_000), intervalMs: 100 }
/**
 * The one thing Converse links from elsewhere: its fullscreen footer (drawn while logged out, for a moment
 * before the automatic login) shows sponsors' logos from conversejs.org. Aborted like anything else.
 */
const SPONSOR_LOGOS = /^https:\/\/conversejs\.org\/media\/logos\//

describe('XMPP over WebSocket in a browser: Converse.js chats with an xmpp.js user', function () {
  this.timeout(scaled(180_000))
  const dirs = new TempDirs()
  let mesh: Mesh | undefined
  let untrust: (() => void) | undefined
  let site: ConversePage | undefined
  let context: BrowserContext | undefined
  let page: Page
  let bob: JabberClient | undefined
  /**
   * requests to any host but 127.0.0.1 (aborted), console lines and uncaught errors, for
   * the checks and failure messages
   */
  const elsewhere: string[] = []
  const consoleLines: string[] = []
  const pageErrors: string[] = []

  /** What the page shows, for failure messages. */
  const pageState = async (): Promise<string> => {
    const text = (await page.textContent('body').catch(() => '')) ?? ''
    return `page: ${text.replace(/\s+/g, ' ').slice(0, 400)}\nconsole:\n${consoleLines.slice(-30).join('\n')}`
  }

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium)`)
    untrust = trustSelfSigned()
    mesh = await startMesh({
      servers: 3,
      options: (i, role) => role === 'server' && i === 1 ? { http: '127.0.0.1:0', xmpp: { listen: '127.0.0.1:0', allowPlaintext: true } } : {}
    })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    const http = mesh.servers[0].httpAddress() as string
    const tcp = mesh.servers[0].xmppAddress() as string
    // ann's account, registered beforehand in band over the WebSocket, with bob (xmpp.js over TCP, online) as a contact
    bob = await jabber(tcp, 'bob', { register: true })
    await bob.xmpp.send(xml('presence'))
    const ann = await jabber(http, 'ann', { register: true, websocket: true })
    await ann.xmpp.send(xml('presence', { type: 'subscribe', to: `bob@${DOMAIN}` }))
    await bob.next('ann\'s subscription request', (el) => el.name === 'presence' && el.attrs.type === 'subscribe' && el.attrs.from === `ann@${DOMAIN}`)
    await bob.xmpp.send(xml('presence', { type: 'subscribed', to: `ann@${DOMAIN}` }))
    await waitFor('bob in ann\'s roster', async () => {
      const roster = await ann.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })))
      return roster.getChild('query')?.getChildren('item').some((i) => i.attrs.jid === `bob@${DOMAIN}` && i.attrs.subscription === 'to')
    }, { intervalMs: 250 })
    await ann.stop()

    site = new ConversePage({
      websocket_url: `ws://${http}${WEBSOCKET_PATH}`,
      discover_connection_methods: false,
      jid: `ann@${DOMAIN}`,
      password: PASSWORD,
      auto_login: true,
      auto_reconnect: false,
      view_mode: 'fullscreen',
      assets_path: '/dist',
      i18n: 'en',
      allow_non_roster_messaging: true,
      play_sounds: false,
      show_desktop_notifications: false,
      loglevel: 'info',
      // end-to-end encryption needs PEP (XEP-0163), which the gateway does not serve
      blacklisted_plugins: ['converse-omemo', 'converse-omemo-views']
    })
    const url = await site.start()
    context = await chromium.launchPersistentContext(dirs.make('chorus-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      timeout: scaled(60_000)
    })
    // the page, the package's files and the gateway are all on 127.0.0.1; nothing else is fetched
    await context.route((u) => u.hostname !== '127.0.0.1', async (route) => {
      elsewhere.push(route.request().url())
      await route.abort('blockedbyclient')
    })
    page = context.pages()[0] ?? await context.newPage()
    page.on('console', (m) => { consoleLines.push(`${m.type()}: ${m.text()}`) })
    page.on('pageerror', (err) => { pageErrors.push(err.message) })
    await page.goto(url, { timeout: scaled(60_000) })
  })

  after(async function () {
    await context?.close().catch(() => {})
    await site?.stop()
    await bob?.stop()
    await mesh?.cleanup()
    untrust?.()
    dirs.cleanup()
  })

  it('logs in over the WebSocket and shows the chat client', async function () {
    await waitFor('Converse to be logged in', async () => {
      if (await page.evaluate(() => window.chorus?.connected === true)) {
        return true
      }
      throw new Error(await pageState())
    }, POLL)
    assert.equal(mesh?.servers[0].gateway?.stats().webSockets, 1, 'one WebSocket: the page\'s')
    await page.waitForSelector('converse-root', { timeout: scaled(30_000) })
  })

  it('opens a chat with a contact, sends a message from the page to the xmpp.js user, and shows the answer', async function () {
    const contact = page.locator('converse-roster a.open-chat', { hasText: `bob@${DOMAIN}` })
    await contact.waitFor({ timeout: scaled(30_000) }).catch(async (err) => {
      throw new Error(`${String(err.message)}\n${await pageState()}`)
    })
    await contact.click()
    const textarea = page.locator('converse-chat textarea.chat-textarea')
    await textarea.waitFor({ timeout: scaled(30_000) })
    await textarea.fill('hello bob, from a browser')
    await textarea.press('Enter')
    const got = await bob!.next('the message from the page', (el) => chatFrom(el, `ann@${DOMAIN}`) === 'hello bob, from a browser', scaled(30_000))
    assert.equal(got.attrs.type, 'chat')

    await bob!.xmpp.send(xml('message', { type: 'chat', to: `ann@${DOMAIN}` }, xml('body', {}, 'hello ann, from xmpp.js')))
    await waitFor('the answer on the page', async () => {
      const shown = await page.locator('converse-chat .chat-msg__text').allTextContents()
      if (shown.some((t) => t.includes('hello ann, from xmpp.js'))) return true
      throw new Error(`shown: ${JSON.stringify(shown)}\n${await pageState()}`)
    }, POLL)

    // the conversation, for a look: removed with the test's directories unless kept
    const keep = process.env.CHORUS_KEEP_SCREENSHOT === '1'
    const shot = join(keep ? mkdtempSync(join(tmpdir(), 'chorus-converse-')) : dirs.make('chorus-converse-'), 'converse.png')
    await page.screenshot({ path: shot })
    if (keep) process.stderr.write(`screenshot: ${shot}\n`)
  })

  it('fetched nothing from any other host and threw no error', function () {
    assert.deepEqual(elsewhere.filter((u) => !SPONSOR_LOGOS.test(u)), [], 'requests to other hosts')
    assert.deepEqual(pageErrors, [], `uncaught errors\n${consoleLines.join('\n')}`)
  })
})
