/**
 * Look for secrets in a node's data directory: in its files byte by byte (LevelDB's write-ahead log holds
 * recent writes as they are) and in every key and value read through LevelDB itself (table files are
 * compressed). Used by the tests that promise a plaintext or a key is not stored somewhere.
 */

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Level } from 'level'

/** Files under `dir` holding any of `needles`, as `file: needle`; and how many bytes were read. */
export function filesHolding (dir: string, needles: Uint8Array[]): { found: string[], bytes: number } {
  const found: string[] = []
  let bytes = 0
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    let content: Buffer
    try { content = readFileSync(join(dir, file)) } catch { continue } // a directory, or gone meanwhile
    bytes += content.byteLength
    for (const n of needles) if (content.indexOf(n) !== -1) found.push(`${file}: ${Buffer.from(n).toString().slice(0, 40)}`)
  }
  return { found, bytes }
}

/**
 * Keys and values of the (closed) LevelDB at `dbDir` holding any of `needles`; and how many entries were
 * read. The database must not be open elsewhere (LevelDB's lock).
 */
export async function valuesHolding (
  dbDir: string,
  needles: Uint8Array[]
): Promise<{ found: string[], entries: number }> {
  const db = new Level<Buffer, Buffer>(dbDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  const found: string[] = []
  let entries = 0
  try {
    for await (const [k, v] of db.iterator()) {
      entries++
      for (const n of needles) {
        if (k.indexOf(n) !== -1 || v.indexOf(n) !== -1) {
          found.push(`${k.toString().slice(0, 40)}: ${Buffer.from(n).toString().slice(0, 40)}`)
        }
      }
    }
  } finally {
    await db.close()
  }
  return { found, entries }
}
