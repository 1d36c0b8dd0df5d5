/**
 * Vaults of the first format (scrypt N = 2^15; every value sealed with one associated data,
 * `chorus/vault/1`, so a value could be moved between keys unnoticed) are rewritten when their user is
 * first opened with its passphrase: the identity record and every value of the user's in the `secret`
 * sublevel are opened under the old key and sealed again under the new one, bound to their key. Values
 * already in the new format are left alone, so a migration cut short (a crash) resumes where it stopped.
 */

import { logger } from '@libp2p/logger'
import { userIdOf } from '../../protocol/envelope.js'
import { aeadOpen } from '../../protocol/secret/primitives.js'
import type { ChorusDb } from '../store/db.js'

/** Where a value lives (vault.ts `VaultSlot`): a value is sealed bound to its slot. */
interface Slot { sublevel: string, key: string }

/** What the migration uses of the user's vault under its new key (a `Vault`). */
export interface MigrationVault {
  readonly handle: string
  seal: (s: string, slot: Slot) => string
  open: (s: string, slot: Slot) => string
}

/** The old record's fields, kept in the new record (`from`) until the migration is done. */
export interface LegacyVault { salt: string, check: string, logN: number }

/** The constant the first format sealed as its passphrase check. */
export const LEGACY_CHECK = 'chorus vault check'

const log = logger('chorus:vault')

/** Values rewritten per batch. */
const MIGRATION_BATCH = 500
const LEGACY_AD = new TextEncoder().encode('chorus/vault/1')
const NONCE_BYTES = 12
const CURRENT_FORMAT = '2.'

/** Open a value of the first format. Throws if it does not authenticate. */
export function openLegacy (key: Uint8Array, s: string): string {
  const b = Buffer.from(s, 'base64')
  return Buffer.from(aeadOpen(key, b.subarray(0, NONCE_BYTES), b.subarray(NONCE_BYTES), LEGACY_AD)).toString('utf8')
}

/** Rewrite `vault.handle`'s first-format values under `vault` (its new key), reading them with `oldKey`. */
export async function migrateVault (db: ChorusDb, vault: MigrationVault, oldKey: Uint8Array): Promise<void> {
  const identities = db.sublevel<string, string>('identities', { valueEncoding: 'utf8' })
  const identitySlot: Slot = { sublevel: 'identities', key: vault.handle }
  const stored = await identities.get(vault.handle)
  if (stored == null) return
  const legacy = !stored.startsWith(CURRENT_FORMAT)
  const identity = legacy ? openLegacy(oldKey, stored) : vault.open(stored, identitySlot)
  const userId = userIdOf(Buffer.from(JSON.parse(identity).publicKey, 'base64'))

  // the user's secret values: every key of theirs is `<kind>!<userId>…`
  const secret = db.sublevel<string, string>('secret', { valueEncoding: 'utf8' })
  let ops: Array<{ type: 'put', key: string, value: string }> = []
  for await (const [key, value] of secret.iterator()) {
    if (key.split('!')[1] !== userId || value.startsWith(CURRENT_FORMAT)) continue
    let plain: string
    try {
      plain = openLegacy(oldKey, value)
    } catch {
      // unreadable before as after: left as it is (its reader refuses it) rather than locking the user out
      log.error('vault of %s: the value at secret/%s does not open, not migrated', vault.handle, key)
      continue
    }
    ops.push({ type: 'put', key, value: vault.seal(plain, { sublevel: 'secret', key }) })
    if (ops.length >= MIGRATION_BATCH) { await secret.batch(ops); ops = [] }
  }
  if (ops.length > 0) await secret.batch(ops)
  // the identity last: until it is rewritten, a resumed migration still finds the user by it
  if (legacy) await identities.put(vault.handle, vault.seal(identity, identitySlot), { sync: true } as any)
}
