/**
 * The bucket digests of whole mailboxes, kept between anti-entropy rounds and read again only where
 * writes landed since. Without it every round read every key of every mailbox written since the last
 * (both owners, each round: the work grew with the mailbox's history, not with what changed; ~5 % of a
 * server's CPU in `store` after a few thousand sends, and more with every message a mailbox keeps).
 *
 * The store tells the cache which buckets its writes touched (`touch`, right after each write lands and
 * before its change counters move), so a digest answered after a write was counted covers it. Digests
 * of one mailbox and width are answered one at a time: one that finds a bucket touched reads it again
 * before answering, and a touch during that read leaves the bucket to be read again next time.
 * Bounded: at most `max` mailboxes, the least recently asked dropped first (read whole again when asked).
 */

/** One bucket of a mailbox's digest: entries whose timestamps fall in [start, start + width). */
export interface BucketDigest {
  start: bigint
  count: number
  hash: Uint8Array
}

/** Reads the digest of a mailbox's range from disk: [from, to) in packed HLC time, or everything. */
export type DigestScan = (mailbox: string, bucketMs: number, from?: bigint, to?: bigint) => Promise<BucketDigest[]>

/** Mailboxes whose digests are kept, at most. @default 4096 */
export const DEFAULT_DIGEST_CACHE_MAILBOXES = 4096

/**
 * Only digests in buckets this wide or wider are kept (anti-entropy's coarse step, 2^26 ms, is): a year of
 * a mailbox is at most ~1,900 such buckets. Narrower ones are asked within a range and read each time.
 */
export const MIN_KEPT_BUCKET_MS = 2 ** 24

interface Kept {
  /** undefined until the first whole read is done */
  buckets?: Map<bigint, BucketDigest>
  /** buckets written since they were last read */
  touched: Set<bigint>
  /** the digest being answered now (the next one waits for it) */
  busy: Promise<unknown>
}

/** Counters for tests and /metrics. */
export interface DigestCacheStats {
  /** whole mailboxes read (first ask, or dropped by the bound) */
  whole: number
  /** single buckets read again after a write */
  buckets: number
  /** digests answered without reading anything */
  unchanged: number
}

export class DigestCache {
  /** by mailbox, then by bucket width in packed HLC units */
  private readonly kept = new Map<string, Map<bigint, Kept>>()
  readonly stats: DigestCacheStats = { whole: 0, buckets: 0, unchanged: 0 }

  constructor (private readonly scan: DigestScan, private readonly max = DEFAULT_DIGEST_CACHE_MAILBOXES) {}

  /** Whether digests in buckets of `bucketMs` are kept here. */
  keeps (bucketMs: number): boolean {
    return bucketMs >= MIN_KEPT_BUCKET_MS
  }

  /** Writes to `mailbox` at these packed HLC timestamps have landed: their buckets are read again. */
  touch (mailbox: string, timestamps: Iterable<bigint>): void {
    const widths = this.kept.get(mailbox)
    if (widths == null) return
    for (const [width, k] of widths) {
      for (const t of timestamps) k.touched.add((t / width) * width)
    }
  }

  /** The digest of all of `mailbox` in buckets of `bucketMs`, oldest first. */
  async digest (mailbox: string, bucketMs: number): Promise<BucketDigest[]> {
    if (!this.keeps(bucketMs)) return await this.scan(mailbox, bucketMs)
    const width = BigInt(bucketMs) << 16n
    let widths = this.kept.get(mailbox)
    if (widths == null) {
      widths = new Map()
      if (this.kept.size >= this.max) this.kept.delete(this.kept.keys().next().value as string)
    } else {
      this.kept.delete(mailbox)
    }
    // the most recently asked last: the bound drops from the front
    this.kept.set(mailbox, widths)
    let k = widths.get(width)
    if (k == null) { k = { touched: new Set(), busy: Promise.resolve() }; widths.set(width, k) }
    const kept = k
    const answer = kept.busy.then(async () => await this.refresh(mailbox, bucketMs, width, kept))
    kept.busy = answer.catch(() => {})
    return await answer
  }

  private async refresh (mailbox: string, bucketMs: number, width: bigint, k: Kept): Promise<BucketDigest[]> {
    if (k.buckets == null) {
      // touches from now on are read again next time: this read may or may not have seen their writes
      k.touched.clear()
      const all = await this.scan(mailbox, bucketMs)
      this.stats.whole++
      k.buckets = new Map(all.map((b) => [b.start, b]))
      return all.map(copy)
    }
    if (k.touched.size === 0) {
      this.stats.unchanged++
    } else {
      const todo = [...k.touched]
      k.touched.clear()
      for (const start of todo) {
        const [b] = await this.scan(mailbox, bucketMs, start, start + width)
        this.stats.buckets++
        if (b == null) k.buckets.delete(start)
        else k.buckets.set(start, b)
      }
    }
    return [...k.buckets.values()].sort((a, b) => (a.start < b.start ? -1 : 1)).map(copy)
  }
}

function copy (b: BucketDigest): BucketDigest {
  return { start: b.start, count: b.count, hash: new Uint8Array(b.hash) }
}
