/**
 * Safety numbers: what two people compare, out of band, to know that no one sits between their devices.
 *
 * The digits follow Signal's NumericFingerprint (version 0). For each party:
 * h = version u16 ‖ identity key ‖ stable id, then `SAFETY_NUMBER_ITERATIONS` times h = SHA-512(h ‖ identity key).
 * The first 30 bytes give 30 digits (six 5-byte big-endian chunks, each mod 100000). The two halves are
 * sorted, so both sides show the same 60 digits. The identity key is the raw 32-byte Ed25519 key, not
 * Signal's 33-byte form, so the numbers do not match Signal's. It also covers the X25519 identity DH key,
 * which that key signs (x3dh.ts).
 *
 * The picture is an 8×8 grid of 4 shades, in the spirit of Telegram's key visualisation: it is easier to
 * compare at a glance than digits. It comes from SHA-256 over both halves in the same order, two bits a cell.
 */

import { createHash } from 'node:crypto'
import { concatBytes } from './codec.js'
import { MAX_STABLE_ID_BYTES, SAFETY_NUMBER_ITERATIONS } from './constants.js'

const VERSION = new Uint8Array([0, 0])
const PICTURE_DOMAIN = new TextEncoder().encode('chorus/safety/picture/v1\0')
const PICTURE_SIZE = 8
const SHADES = ['░░', '▒▒', '▓▓', '██']

/** One side of a conversation: its Ed25519 identity key and a stable id (the Chorus userId). */
export interface SafetyParty {
  identityKey: Uint8Array
  id: string
}

/** What both people see, identical on both devices. */
export interface SafetyNumber {
  /** 60 decimal digits. */
  digits: string
  /** The same digits as 12 groups of 5, for display. */
  groups: string[]
  /** 8 rows of 8 cells, each 0–3. */
  picture: number[][]
  /** The picture as 8 lines of block characters (two per cell, for a square look). */
  pictureText: string
}

/** The safety number of a conversation; `safetyNumber(a, b)` equals `safetyNumber(b, a)`. */
export function safetyNumber (a: SafetyParty, b: SafetyParty): SafetyNumber {
  const fa = fingerprint(a)
  const fb = fingerprint(b)
  const da = fingerprintDigits(fa)
  const db = fingerprintDigits(fb)
  const aFirst = da < db || (da === db && Buffer.compare(fa, fb) <= 0)
  const digits = aFirst ? da + db : db + da
  const picture = keyPicture(aFirst ? concatBytes(fa, fb) : concatBytes(fb, fa))
  return {
    digits,
    groups: digits.match(/\d{5}/g) ?? [],
    picture,
    pictureText: picture.map((row) => row.map((v) => SHADES[v]).join('')).join('\n')
  }
}

/** The 30-byte fingerprint of one party (the iterated SHA-512, truncated). */
export function fingerprint (party: SafetyParty): Uint8Array {
  if (party.identityKey.byteLength !== 32) throw new RangeError('an identity key is 32 bytes')
  const id = new TextEncoder().encode(party.id)
  if (id.byteLength === 0 || id.byteLength > MAX_STABLE_ID_BYTES) throw new RangeError(`a stable id is 1..${MAX_STABLE_ID_BYTES} bytes`)
  let hash: Uint8Array = concatBytes(VERSION, party.identityKey, id)
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) {
    hash = createHash('sha512').update(hash).update(party.identityKey).digest()
  }
  return new Uint8Array(hash.subarray(0, 30))
}

function fingerprintDigits (fp: Uint8Array): string {
  let out = ''
  for (let i = 0; i < 30; i += 5) {
    const chunk = fp[i] * 2 ** 32 + ((fp[i + 1] << 24) >>> 0) + (fp[i + 2] << 16) + (fp[i + 3] << 8) + fp[i + 4]
    out += String(chunk % 100000).padStart(5, '0')
  }
  return out
}

function keyPicture (ordered: Uint8Array): number[][] {
  const hash = createHash('sha256').update(PICTURE_DOMAIN).update(ordered).digest()
  const rows: number[][] = []
  for (let r = 0; r < PICTURE_SIZE; r++) {
    const row: number[] = []
    for (let c = 0; c < PICTURE_SIZE; c++) {
      const cell = r * PICTURE_SIZE + c
      row.push((hash[cell >> 2] >> (6 - 2 * (cell & 3))) & 3)
    }
    rows.push(row)
  }
  return rows
}
