/**
 * The node's one LevelDB, opened in the data directory. Later components take sublevels of it
 * (users, handles, logs, hints, cursors); membership keeps the peers it last saw here.
 */

import { join } from 'node:path'
import { Level } from 'level'
import { DataDirError } from '../errors.js'
import type { PeerMemory, RevocationStore } from '../membership/index.js'

/** The database type every component receives. Keys and values are strings unless a sublevel says otherwise. */
export type ChorusDb = Level<string, string>

/** Open (or create) the LevelDB under `dataDir/db`. A second process on the same dir gets a clear error. */
export async function openDb (dataDir: string): Promise<ChorusDb> {
  const db = new Level<string, string>(join(dataDir, 'db'))
  shareSublevels(db)
  try {
    await db.open()
  } catch (err: any) {
    const cause = String(err.cause?.message ?? err.message)
    if (err.cause?.code === 'LEVEL_LOCKED') throw new DataDirError(`data dir ${dataDir} is in use by another chorus process (LevelDB lock held)`)
    throw new DataDirError(`cannot open the database in ${dataDir}: ${cause}`)
  }
  return db
}

/**
 * Make `db.sublevel(name, { keyEncoding, valueEncoding })` return one object per name and (named)
 * encodings, made on the first call: every session asks for its feeds' `cursors` and `seen`, its roster,
 * rooms, deletions, identities and vault sublevels, and each `AbstractSublevel` (its prefixes in three
 * formats, hooks, transcoders, a deferred queue: about 4.5 KiB of heap) stays attached to the database
 * as a resource until the database closes, so a sublevel made per session is kept for the node's life,
 * once per login. A sublevel with an encoding object (the `secret` sublevel, sealed by each user's vault)
 * or with other options is made each time, as before.
 */
export function shareSublevels (db: ChorusDb): void {
  const made = new Map<string, ReturnType<ChorusDb['sublevel']>>()
  const make = db.sublevel.bind(db)
  const shared = (name: string | string[], options?: Record<string, unknown>): ReturnType<ChorusDb['sublevel']> => {
    const keys = options == null ? [] : Object.keys(options)
    const named = typeof name === 'string' &&
      keys.every((k) => (k === 'keyEncoding' || k === 'valueEncoding') && typeof options?.[k] === 'string')
    if (!named) return make(name as string, options as any)
    const id = `${name}\u0000${String(options?.keyEncoding ?? '')}\u0000${String(options?.valueEncoding ?? '')}`
    let sub = made.get(id)
    if (sub == null) { sub = make(name, options as any); made.set(id, sub); sharedSublevels.add(sub) }
    return sub
  }
  db.sublevel = shared as ChorusDb['sublevel']
}

/** The sublevels `shareSublevels` hands to every caller: the node's, not one caller's to close. */
const sharedSublevels = new WeakSet<object>()

/**
 * Close a sublevel its caller made for itself (it stays attached to the database until closed); a shared
 * one (`shareSublevels`) is left open for the others that use it.
 */
export async function closeOwnSublevel (sub: { close: () => Promise<void> }): Promise<void> {
  if (!sharedSublevels.has(sub)) await sub.close()
}

/** Writes to one database since it was opened: calls (put, del, batch) and the operations in them. */
export interface WriteCounts { writes: number, ops: number }

/** Count every write to `db` and its sublevels (LevelDB's `write` event), for metrics and the benchmarks. */
export function countWrites (db: ChorusDb): WriteCounts {
  const counts: WriteCounts = { writes: 0, ops: 0 }
  db.on('write', (ops: unknown[]) => { counts.writes++; counts.ops += ops.length })
  return counts
}

/** Remembered peers in the `membership` sublevel: one JSON list, replaced whole. */
export function peerMemory (db: ChorusDb): PeerMemory {
  const sub = db.sublevel<string, string>('membership', { valueEncoding: 'utf8' })
  return {
    async load () {
      const raw = await sub.get('peers')
      if (raw == null) return []
      try {
        const list = JSON.parse(raw)
        return Array.isArray(list)
          ? list.filter((p) => typeof p?.peerId === 'string' && Array.isArray(p.addrs)).slice(0, 64)
          : []
      } catch {
        return []
      }
    },
    async save (peers) {
      if (db.status !== 'open') return
      await sub.put('peers', JSON.stringify(peers))
    }
  }
}

/**
 * Revocations of a closed mesh in the `admission` sublevel, one entry each: the revocation in base64,
 * then, for a peer's, a space and the certificate it withdraws (bounded per signer in memory).
 */
export function revocationStore (db: ChorusDb): RevocationStore {
  const sub = db.sublevel<string, string>('admission', { valueEncoding: 'utf8' })
  return {
    async load () {
      const out: Array<{ revocation: Uint8Array, certificate?: Uint8Array }> = []
      for await (const value of sub.values({ gte: 'rev/', lt: 'rev0', limit: 65_536 })) {
        const [revocation, certificate] = value.split(' ')
        const withdrawn = certificate != null ? Buffer.from(certificate, 'base64') : undefined
        out.push({ revocation: Buffer.from(revocation, 'base64'), certificate: withdrawn })
      }
      return out
    },
    async add (id, kept) {
      if (db.status !== 'open') return
      const certificate = kept.certificate != null ? ` ${Buffer.from(kept.certificate).toString('base64')}` : ''
      await sub.put(`rev/${id}`, Buffer.from(kept.revocation).toString('base64') + certificate)
    },
    async remove (id) {
      if (db.status !== 'open') return
      await sub.del(`rev/${id}`)
    }
  }
}
