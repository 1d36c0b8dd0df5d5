/**
 * The Double Ratchet message header: the sender's current ratchet public key, the length of its previous
 * sending chain (`pn`) and the message's number in the current chain (`n`). It travels in the clear and
 * is authenticated as part of the AEAD's associated data.
 *
 *   v=1 ‖ dh 32 ‖ pn u32 ‖ n u32   (41 bytes)
 */

import { Reader, Writer } from './codec.js'
import { MalformedSecretMessageError } from './errors.js'

const VERSION = 1

/** Length of an encoded header. */
export const HEADER_BYTES = 1 + 32 + 4 + 4

/** A decoded header. */
export interface RatchetHeader {
  /** The sender's ratchet public key. */
  dh: Uint8Array
  /** Number of messages in the sender's previous sending chain. */
  pn: number
  /** Number of this message in the sender's current sending chain. */
  n: number
}

/** Encode a header. */
export function encodeHeader (header: RatchetHeader): Uint8Array<ArrayBuffer> {
  return new Writer(HEADER_BYTES).u8(VERSION).raw(header.dh).u32(header.pn).u32(header.n).finish()
}

/** Decode a header. Throws `MalformedSecretMessageError`. */
export function decodeHeader (bytes: Uint8Array): RatchetHeader {
  if (bytes.byteLength !== HEADER_BYTES) throw new MalformedSecretMessageError(`header must be ${HEADER_BYTES} bytes, got ${bytes.byteLength}`)
  const r = new Reader(bytes, (reason) => new MalformedSecretMessageError(`header: ${reason}`))
  const version = r.u8('version')
  if (version !== VERSION) throw new MalformedSecretMessageError(`header version ${version} is not ${VERSION}`)
  const header = { dh: r.raw(32, 'dh'), pn: r.u32('pn'), n: r.u32('n') }
  r.end()
  return header
}
