/**
 * The operator endpoint: `GET /health`, `GET /status` (JSON) and `GET /metrics` (Prometheus text), and
 * the live dashboard: `GET /` (a page, its script and stylesheet) and `GET /dashboard.json` (its data).
 * Bound only to the address the operator names. Read-only; anything else is 404 / 405.
 *
 * It also upgrades WebSockets for the services the node names (`StatusSource.webSocket`): the XMPP
 * gateway's `/xmpp-websocket` (RFC 7395). An upgrade to any other path, or one that does not ask for the
 * service's subprotocol, is refused.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { logger } from '@libp2p/logger'
import { WebSocketServer, type WebSocket } from 'ws'
import { ListenError } from '../errors.js'
import { DashboardAssets, DashboardAssetsError } from './assets.js'

const log = logger('chorus:status')

/** What the endpoint reads from the node. */
export interface StatusSource {
  healthy: () => boolean
  status: () => unknown
  metrics: () => Promise<string>
  metricsContentType: string
  /** the dashboard's data; without it, `/` and `/dashboard.json` are 404 */
  dashboard?: DashboardSource
  /** the WebSocket service at `path`, if there is one now (asked at each upgrade) */
  webSocket?: (path: string) => WebSocketEndpoint | undefined
}

/** A WebSocket service on the listener (the XMPP gateway's `/xmpp-websocket`). */
export interface WebSocketEndpoint {
  /** the subprotocol a client must ask for (RFC 6455 §1.9); without it the upgrade is refused */
  protocol: string
  /** bytes of one message; a longer one closes the socket (1009) */
  maxPayload: number
  /** an upgraded socket, with `protocol` agreed; `remote` is the client's `address:port` */
  accept: (ws: WebSocket, remote: string) => void
}

/** The dashboard behind `/dashboard.json`: started and stopped with the endpoint (it samples on a timer). */
export interface DashboardSource {
  start: () => void
  stop: () => void
  data: () => unknown
}

/**
 * The page and its script come only from this endpoint, and talk only to it: no inline script, no other
 * origin. A blocked load shows up in the browser's console, which the dashboard test watches.
 */
const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The HTTP status server of one node. */
export class StatusServer {
  private server?: Server
  private readonly assets = new DashboardAssets()
  /** one WebSocket server (no listener of its own) per upgraded path */
  private readonly webSockets = new Map<string, WebSocketServer>()

  constructor (private readonly source: StatusSource, private readonly host: string, private readonly port: number) {}

  /** Listen; rejects with `ListenError` when the address cannot be bound. */
  async start (): Promise<void> {
    const server = createServer((req, res) => { void this.route(req, res) })
    server.keepAliveTimeout = 5000
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.upgrade(req, socket, head) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: any) => {
        reject(new ListenError(`--http ${this.host}:${this.port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.code ?? err.message}`))
      })
      server.listen(this.port, this.host, () => { resolve() })
    })
    this.server = server
    this.source.dashboard?.start()
  }

  /** The bound `host:port` (the real port when 0 was asked for). */
  address (): string | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined
    if (a == null) return undefined
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    this.source.dashboard?.stop()
    // upgraded sockets are no longer the HTTP server's to close, and it waits for them
    for (const wss of this.webSockets.values()) {
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    }
    this.webSockets.clear()
    server.closeAllConnections()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  }

  private async route (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'text/plain', 'method not allowed\n')
      if (path === '/health') {
        const ok = this.source.healthy()
        return this.reply(res, ok ? 200 : 503, 'text/plain', ok ? 'ok\n' : 'not started\n')
      }
      if (path === '/status') return this.reply(res, 200, 'application/json', JSON.stringify(this.source.status(), null, 2) + '\n')
      if (path === '/metrics') return this.reply(res, 200, this.source.metricsContentType, await this.source.metrics())
      const dashboard = this.source.dashboard
      if (dashboard != null) {
        if (path === '/dashboard.json') return this.reply(res, 200, 'application/json', JSON.stringify(dashboard.data()))
        const asset = await this.assets.get(path)
        const headers = { 'content-security-policy': DASHBOARD_CSP, 'x-content-type-options': 'nosniff' }
        if (asset != null) return this.reply(res, 200, asset.type, asset.body, headers)
      }
      const paths = `${dashboard != null ? '/ (the dashboard), ' : ''}/health, /status or /metrics`
      return this.reply(res, 404, 'text/plain', `not found: try ${paths}\n`)
    } catch (err: any) {
      log.error('%s failed: %s', path, err.message)
      // a missing dashboard file is the install's fault, and saying which file helps the operator fix it
      this.reply(res, 500, 'text/plain', err instanceof DashboardAssetsError ? `${err.message}\n` : 'internal error\n')
    }
  }

  /** A WebSocket upgrade: to a service the node runs now, with its subprotocol, or refused. */
  private upgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => { socket.destroy() })
    const path = (req.url ?? '/').split('?')[0]
    const endpoint = this.source.webSocket?.(path)
    if (endpoint == null) { refuseUpgrade(socket, 404, `no WebSocket service at ${path}\n`); return }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    const { protocol, maxPayload } = endpoint
    if (!offered.includes(protocol)) { refuseUpgrade(socket, 400, `ask for the WebSocket subprotocol "${protocol}"\n`); return }
    let wss = this.webSockets.get(path)
    if (wss == null) {
      // no compression: a small message must not inflate into a large one
      wss = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        maxPayload,
        handleProtocols: (asked) => asked.has(protocol) ? protocol : false
      })
      this.webSockets.set(path, wss)
    }
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`
    wss.handleUpgrade(req, socket, head, (ws) => { endpoint.accept(ws, remote) })
  }

  private reply (
    res: ServerResponse,
    code: number,
    type: string,
    body: string | Buffer,
    headers: Record<string, string> = {}
  ): void {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers })
    res.end(body)
  }
}

/** Answer an upgrade request with a plain HTTP error and close. */
function refuseUpgrade (socket: Duplex, code: number, body: string): void {
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}
