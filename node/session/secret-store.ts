/**
 * The device's store of one user's secret-chat data: the `secret` sublevel of the node's LevelDB, as
 * the session's storage port gives it (`Storage.secretLevel`, ports.ts). When the user has a passphrase
 * that sublevel's value encoding is the vault's, which seals each value bound to its key (vault.ts); a
 * value encoding is handed values only, so this store hands each one over with its key (`bindKey`), and
 * reads raw values to open them the same way. Without a passphrase values are stored as they are. Every
 * secret part reads and writes through one instance of this.
 *
 * It can also delete for good (`destroy`): LevelDB's `del` leaves a value in the table files (and the
 * write-ahead log) until a compaction happens to rewrite them, and what self-destructs must be gone from
 * the files.
 */

import type { ChorusDb } from '../store/db.js'
import type { SecretLevel, Storage } from './ports.js'
import { bindKey, VAULT_ENCODING_NAME } from './vault.js'

/** A write of a secret batch. */
export type SecretOp = { type: 'put', key: string, value: string } | { type: 'del', key: string }

/** A key range: `gt` and `lt` bound it (both exclusive); `limit` caps what is listed. */
export interface SecretRange { gt: string, lt: string, limit?: number }

/** How values reach the sublevel: sealed with their key by the vault, or as they are. */
interface ValueCodec { encode: (bound: string) => string, decode: (bound: string) => string }

/** classic-level's compaction of [start, end) (full keys); the `level` types leave it out (browsers have none). */
type CompactRange = Storage['compactRange']

/** The database's `compactRange`, bound to it; throws when it has none (classic-level has). */
export function compactRangeOf (db: ChorusDb): CompactRange {
  const compactRange = (db as unknown as { compactRange?: CompactRange }).compactRange
  if (typeof compactRange !== 'function') throw new Error('the database cannot compact a range (classic-level can)')
  return compactRange.bind(db)
}

export class SecretStore {
  /** the vault's key-bound codec, or none when values are stored as they are */
  private readonly codec?: ValueCodec

  /** @param compactRange the database's (`compactRangeOf`): what self-destructs must leave its files */
  constructor (private readonly level: SecretLevel, private readonly compactRange: CompactRange) {
    const encoding = level.valueEncoding()
    if (encoding.name === VAULT_ENCODING_NAME) this.codec = encoding as unknown as ValueCodec
    // anything else would seal values where this store cannot see it, or not at all: fail closed
    else if (encoding.commonName !== 'utf8') throw new Error(`the secret sublevel has an unknown value encoding ${encoding.name}`)
  }

  async get (key: string): Promise<string | undefined> {
    const raw = await this.level.get(key, { valueEncoding: 'utf8' })
    return raw == null ? undefined : this.open(key, raw)
  }

  async getMany (keys: string[]): Promise<Array<string | undefined>> {
    const raw = await this.level.getMany(keys, { valueEncoding: 'utf8' })
    return raw.map((v, i) => v == null ? undefined : this.open(keys[i], v))
  }

  async put (key: string, value: string): Promise<void> {
    await this.batch([{ type: 'put', key, value }])
  }

  async del (key: string): Promise<void> {
    await this.batch([{ type: 'del', key }])
  }

  /** Write `ops` atomically. */
  async batch (ops: SecretOp[]): Promise<void> {
    if (ops.length === 0) return
    await this.level.batch(ops.map((op) => op.type === 'put'
      ? { type: 'put' as const, key: op.key, value: this.codec == null ? op.value : bindKey(op.key, op.value) }
      : op))
  }

  /** Keys and values in `range`, in key order. */
  async * entries (range: SecretRange): AsyncGenerator<[string, string]> {
    for await (const [key, raw] of this.level.iterator({ ...range, valueEncoding: 'utf8' })) yield [key, this.open(key, raw)]
  }

  /** Keys in `range`, in key order. */
  async * keys (range: SecretRange): AsyncGenerator<string> {
    for await (const key of this.level.keys(range)) yield key
  }

  /**
   * Delete for good: write `ops` (deletions of keys in `range`) so that what they delete is gone from the
   * database's files, not only from its view. LevelDB's `del` writes a tombstone; the value stays in the
   * write-ahead log and in table files until a compaction merges the two. `compactRange` flushes the log
   * into a table, then compacts each level overlapping the range into the next, but never the deepest
   * such level (LevelDB 1.20, db_impl.cc): a value and its tombstone flushed together into a bottom table
   * would both stay. So the range is compacted first (the values leave the log for tables), then the
   * tombstones are written, and compacted again: their flush lands above the tables holding the values
   * (a memtable is pushed down only past levels it does not overlap), and each step down merges them.
   */
  async destroy (ops: SecretOp[], range: Pick<SecretRange, 'gt' | 'lt'>): Promise<void> {
    await this.compact(range)
    await this.batch(ops)
    await this.compact(range)
  }

  /** Compact `range` (keys of this sublevel): flush the write-ahead log, rewrite the tables overlapping it. */
  async compact (range: Pick<SecretRange, 'gt' | 'lt'>): Promise<void> {
    await this.compactRange(this.level.prefixKey(range.gt, 'utf8'), this.level.prefixKey(range.lt, 'utf8'))
  }

  private open (key: string, raw: string): string {
    return this.codec == null ? raw : this.codec.decode(bindKey(key, raw))
  }
}
