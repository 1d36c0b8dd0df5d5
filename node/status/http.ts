/**
 * The operator endpoint: `GET /health`, `GET /status` (JSON) and `GET /metrics` (Prometheus text), and
 * the live dashboard: `GET /` (a page, its script and stylesheet) and `GET /dashboard.json` (its data).
 * Bound only to the address the operator names. Read-only; anything else is 404 / 405.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { logger } from '@libp2p/logger'
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

  constructor (private readonly source: StatusSource, private readonly host: string, private readonly port: number) {}

  /** Listen; rejects with `ListenError` when the address cannot be bound. */
  async start (): Promise<void> {
    const server = createServer((req, res) => { void this.route(req, res) })
    server.keepAliveTimeout = 5000
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: any) => { reject(new ListenError(`--http ${this.host}:${this.port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.code ?? err.message}`)) })
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

  private reply (res: ServerResponse, code: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers })
    res.end(body)
  }
}
