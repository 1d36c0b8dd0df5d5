/**
 * Benchmark message payloads: a 16-byte header (run id, sequence number, send time) padded to the requested
 * size. Run id + sequence make every message unique, which gossipsub needs (message id = sha256 of data).
 */

/** Bytes of the header; the smallest payload. */
export const PAYLOAD_HEADER_BYTES = 16

/** The header of a benchmark payload. */
export interface PayloadHeader {
  runId: number
  seq: number
  /** wall-clock send time, ms (see `wallClock`) */
  sentAt: number
}

/** A `size`-byte payload carrying `header`. */
export function encodePayload (header: PayloadHeader, size: number): Uint8Array {
  if (size < PAYLOAD_HEADER_BYTES) throw new RangeError(`payload size must be at least ${PAYLOAD_HEADER_BYTES} bytes (got ${size})`)
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  view.setUint32(0, header.runId)
  view.setUint32(4, header.seq)
  view.setFloat64(8, header.sentAt)
  return bytes
}

/** The header of `bytes`, or `undefined` if it is too short to be a benchmark payload. */
export function decodePayload (bytes: Uint8Array): PayloadHeader | undefined {
  if (bytes.byteLength < PAYLOAD_HEADER_BYTES) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { runId: view.getUint32(0), seq: view.getUint32(4), sentAt: view.getFloat64(8) }
}

/** A `size`-character chat text carrying `header` (as text: the chat API carries strings). */
export function encodeTextPayload (header: PayloadHeader, size: number): string {
  const head = `~b${header.runId}:${header.seq}:${header.sentAt}~`
  return head + 'x'.repeat(Math.max(0, size - head.length))
}

/** The header of a chat text, or `undefined` if it is not a benchmark text. */
export function decodeTextPayload (text: string): PayloadHeader | undefined {
  const m = /^~b(\d+):(\d+):([\d.]+)~/.exec(text)
  if (m == null) return undefined
  return { runId: Number(m[1]), seq: Number(m[2]), sentAt: Number(m[3]) }
}
