/**
 * A test page for Converse.js (the browser XMPP client, from npm as `converse.js`): a local HTTP server on
 * 127.0.0.1 that serves one page and the package's prebuilt files under `/dist/` (Converse's default
 * `assets_path`: its chunks, stylesheet, fonts, images and emoji data come from there, not from a CDN).
 * The page loads `converse.min.js` (an ES module), adds a small plugin that keeps Converse's connection
 * state on `window.chorus` for the test to read, and calls `converse.initialize`.
 */

import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, extname, join, normalize, sep } from 'node:path'

declare global {
  /** The page's window, as the test reads it in `page.evaluate`. */
  interface Window {
    /** set by the page's script: whether Converse is connected (its `connected` and `disconnected` events) */
    chorus?: { connected: boolean }
  }
}

/** The package's `dist/` directory, where npm installed it. */
export const CONVERSE_DIST = dirname(createRequire(import.meta.url).resolve('converse.js/dist/converse.min.js'))

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.map': 'application/json'
}

/** The page's script: Converse with `settings`, and the hook the test reads. */
function page (settings: Record<string, unknown>): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Chorus: Converse.js over XMPP WebSocket</title>
  <link rel="stylesheet" href="/dist/converse.min.css">
</head>
<body class="converse-fullscreen">
<script type="module">
  import converse from '/dist/converse.min.js'
  window.chorus = { connected: false }
  converse.plugins.add('chorus-test', {
    initialize () {
      const api = this._converse.api
      api.listen.on('connected', () => { window.chorus.connected = true })
      api.listen.on('reconnected', () => { window.chorus.connected = true })
      api.listen.on('disconnected', () => { window.chorus.connected = false })
    }
  })
  converse.initialize(${JSON.stringify({ ...settings, whitelisted_plugins: ['chorus-test'] })})
</script>
</body>
</html>
`
}

/** The page server of one test; every request it served, for failure messages. */
export class ConversePage {
  readonly served: string[] = []
  private server?: Server

  constructor (private readonly settings: Record<string, unknown>) {}

  /** Listen on 127.0.0.1, an ephemeral port; resolves to the page's URL. */
  async start (): Promise<string> {
    const server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0])
      this.served.push(path)
      void this.body(path).then((found) => {
        if (found == null) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'); return }
        res.writeHead(200, { 'content-type': found.type, 'cache-control': 'no-store' }).end(found.body)
      })
    })
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
    this.server = server
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server == null) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }

  /** `/` is the page; `/dist/…` a file of the package, never one outside it. */
  private async body (path: string): Promise<{ type: string, body: string | Buffer } | undefined> {
    if (path === '/') return { type: 'text/html; charset=utf-8', body: page(this.settings) }
    if (!path.startsWith('/dist/')) return undefined
    const file = normalize(join(CONVERSE_DIST, path.slice('/dist/'.length)))
    if (!file.startsWith(CONVERSE_DIST + sep)) return undefined
    try {
      return { type: TYPES[extname(file)] ?? 'application/octet-stream', body: await readFile(file) }
    } catch {
      return undefined
    }
  }
}
