/** Raw frame bytes for tests that speak a protocol badly on purpose. */

/** An unsigned varint (the length prefix of libp2p's length-prefixed streams). */
export function varint (n: number): Uint8Array {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Uint8Array.from(out)
}

/** The concatenation of `parts`. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}
