/**
 * Fixed-layout binary codec for secret-chat wire data and stored sessions: big-endian integers and
 * raw byte fields. Decoding is bounded (every read is checked against the input) and fails with a
 * caller-chosen typed error, never a RangeError from a DataView.
 */

/** Concatenate byte arrays into one new array. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0
  for (const p of parts) length += p.byteLength
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}

/** Byte equality (for public values only: it is not constant-time). */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Appends fields into a buffer sized up front. */
export class Writer {
  readonly bytes: Uint8Array<ArrayBuffer>
  private readonly view: DataView
  private at = 0

  constructor (length: number) {
    this.bytes = new Uint8Array(length)
    this.view = new DataView(this.bytes.buffer)
  }

  u8 (v: number): this { this.view.setUint8(this.at, v); this.at += 1; return this }
  u16 (v: number): this { this.view.setUint16(this.at, v); this.at += 2; return this }
  u32 (v: number): this { this.view.setUint32(this.at, v); this.at += 4; return this }
  /** An integer up to 2^53 - 1, as 8 bytes. */
  u64 (v: number): this { this.view.setBigUint64(this.at, BigInt(v)); this.at += 8; return this }
  raw (b: Uint8Array): this { this.bytes.set(b, this.at); this.at += b.byteLength; return this }

  /** The filled buffer; throws if the size given up front was wrong (a bug, not bad input). */
  finish (): Uint8Array<ArrayBuffer> {
    if (this.at !== this.bytes.byteLength) throw new Error(`codec wrote ${this.at} of ${this.bytes.byteLength} bytes`)
    return this.bytes
  }
}

/** Reads fields in order; any overrun, or leftover bytes at `end()`, throws `fail(reason)`. */
export class Reader {
  private readonly view: DataView
  private at = 0

  constructor (private readonly bytes: Uint8Array, private readonly fail: (reason: string) => Error) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private need (n: number, what: string): void {
    if (this.at + n > this.bytes.byteLength) throw this.fail(`truncated at ${what}`)
  }

  u8 (what: string): number { this.need(1, what); return this.view.getUint8(this.at++) }
  u16 (what: string): number { this.need(2, what); const v = this.view.getUint16(this.at); this.at += 2; return v }
  u32 (what: string): number { this.need(4, what); const v = this.view.getUint32(this.at); this.at += 4; return v }
  u64 (what: string): number {
    this.need(8, what)
    const v = this.view.getBigUint64(this.at)
    this.at += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${what} out of range`)
    return Number(v)
  }

  /** A copy of the next `n` bytes. */
  raw (n: number, what: string): Uint8Array<ArrayBuffer> {
    this.need(n, what)
    const out = this.bytes.slice(this.at, this.at + n)
    this.at += n
    return out
  }

  /** Assert that the input is used up. */
  end (): void {
    if (this.at !== this.bytes.byteLength) throw this.fail(`${this.bytes.byteLength - this.at} trailing bytes`)
  }
}
