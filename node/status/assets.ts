/**
 * The dashboard's static files (node/status/dashboard/: a page, a script, a stylesheet; no build step,
 * no CDN). `npm run build` copies them beside the compiled module (dist/node/status/dashboard/); when
 * they are not there (running from source with tsx, or a build without the copy step) the ones in the
 * repository's node/status/dashboard/ are served. Only the files named here are ever read: a request
 * path never reaches the file system.
 */

import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ChorusError } from '../errors.js'

/** The dashboard's files could not be found or read. */
export class DashboardAssetsError extends ChorusError {
  static readonly code = 'ERR_DASHBOARD_ASSETS'
  override readonly name = 'DashboardAssetsError'
  constructor (message: string) { super(message, DashboardAssetsError.code) }
}

/** URL path → file name and content type: everything the endpoint serves from disk. */
export const DASHBOARD_FILES: ReadonlyMap<string, { file: string, type: string }> = new Map([
  ['/', { file: 'index.html', type: 'text/html; charset=utf-8' }],
  ['/dashboard.js', { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' }],
  ['/dashboard.css', { file: 'dashboard.css', type: 'text/css; charset=utf-8' }]
])

/**
 * Where the files may be, first found wins: beside this module (a build, or the source tree), then the repository's.
 */
export function dashboardDirs (): string[] {
  return [
    fileURLToPath(new URL('./dashboard/', import.meta.url)),
    // dist/node/status/assets.js → <repo>/node/status/dashboard/
    fileURLToPath(new URL('../../../node/status/dashboard/', import.meta.url))
  ]
}

/** The dashboard's files, read once on first use and kept in memory (a few kilobytes). */
export class DashboardAssets {
  private readonly loaded = new Map<string, Buffer>()

  constructor (private readonly dirs: string[] = dashboardDirs()) {}

  /** The file served at `path` with its content type, or undefined when `path` is not a dashboard file. */
  async get (path: string): Promise<{ body: Buffer, type: string } | undefined> {
    const entry = DASHBOARD_FILES.get(path)
    if (entry == null) return undefined
    let body = this.loaded.get(entry.file)
    if (body == null) {
      const dir = this.dirs.find((d) => existsSync(d + entry.file))
      if (dir == null) throw new DashboardAssetsError(`dashboard file ${entry.file} not found in ${this.dirs.join(' or ')}`)
      body = await readFile(dir + entry.file)
      this.loaded.set(entry.file, body)
    }
    return { body, type: entry.type }
  }
}
