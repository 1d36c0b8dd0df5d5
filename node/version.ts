/**
 * The package version, read once from the nearest package.json named PACKAGE_NAME (works from source and from dist/).
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The npm package's name (`chorus` on npm is another project); the command it installs is `chorus`. */
export const PACKAGE_NAME = 'chorus-mesh'

function findVersion (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      if (pkg.name === PACKAGE_NAME) return String(pkg.version)
    } catch {}
    dir = dirname(dir)
  }
  return '0.0.0'
}

/** The running Chorus version. */
export const VERSION = findVersion()
