/**
 * Token buckets by key (a peer, a sender): `rate` tokens a second, up to `burst`. A key's bucket starts
 * full. The table is bounded: past `maxKeys` the least recently created bucket is forgotten (a
 * forgotten key starts full again, which errs toward serving).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()

  constructor (readonly rate: number, readonly burst = rate, private readonly maxKeys = 10_000) {}

  /**
   * Take `n` tokens from `key`'s bucket; false (and nothing taken) when it has too few. A request larger
   * than the whole bucket is taken when the bucket is full and leaves it in debt: refusing it would
   * refuse it forever.
   */
  take (key: string, n = 1, now = Date.now()): boolean {
    let b = this.buckets.get(key)
    if (b == null) {
      b = { tokens: this.burst, at: now }
      this.buckets.set(key, b)
      if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
    }
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate / 1000)
    b.at = now
    if (b.tokens < Math.min(n, this.burst)) return false
    b.tokens -= n
    return true
  }
}

/**
 * What an owner charges each sender: one token per envelope, once — the envelope's other mailbox at the
 * same owner, in this request or a later one, is free. Only charged envelopes are remembered: one refused
 * for want of tokens is charged afresh when it comes again, once the bucket has refilled.
 */
export class SenderBudget {
  private readonly charged = new Set<string>()

  constructor (private readonly buckets: TokenBuckets, private readonly maxRemembered = 20_000) {}

  /** Charge `sender` for envelope `envelopeId` (hex); false when the sender is over its rate. */
  charge (sender: string, envelopeId: string): boolean {
    if (this.charged.has(envelopeId)) return true
    if (!this.buckets.take(sender)) return false
    this.charged.add(envelopeId)
    if (this.charged.size > this.maxRemembered) this.charged.delete(this.charged.values().next().value as string)
    return true
  }
}
