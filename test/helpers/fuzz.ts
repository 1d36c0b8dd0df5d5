/**
 * Generated-input fuzzing (fast-check) of what a stranger can send: how many runs a property gets, the
 * seed a failure replays with, what counts as a *typed* refusal, and structure-aware mutations of valid
 * encodings (random bytes alone rarely pass a decoder's first check).
 *
 * Runs: each property names its bounded count (what `npm test` runs, fixed seed, well under a minute in
 * all). `npm run fuzz` sets CHORUS_FUZZ_RUNS (runs per property) or CHORUS_FUZZ_SECONDS (time per
 * property), a random seed unless CHORUS_FUZZ_SEED is given, and prints the report at the end.
 * A failure's message carries fast-check's seed and path: `CHORUS_FUZZ_SEED=<seed>` replays the run.
 */

import { strict as assert } from 'node:assert'
import fc from 'fast-check'

/** Seed of the bounded run: fixed, so `npm test` tries the same inputs every time. */
export const BOUNDED_SEED = 20261207

function envNumber (name: string): number | undefined {
  const v = process.env[name]
  if (v == null || v.trim() === '') return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(v)}`)
  return n
}

/** Runs per property in the long run (CHORUS_FUZZ_RUNS); unset in `npm test`. */
export const LONG_RUNS = envNumber('CHORUS_FUZZ_RUNS')
/** Seconds per property in the long run (CHORUS_FUZZ_SECONDS); unset in `npm test`. */
export const LONG_SECONDS = envNumber('CHORUS_FUZZ_SECONDS')
/** Is this the long run (`npm run fuzz`)? */
export const LONG = LONG_RUNS != null || LONG_SECONDS != null
/** The seed of this run: CHORUS_FUZZ_SEED, else fixed in `npm test` and random in the long run. */
export const SEED = envNumber('CHORUS_FUZZ_SEED') ?? (LONG ? Math.floor(Math.random() * 2 ** 31) : BOUNDED_SEED)

/** A mocha timeout for one property: generous in the long run, mocha's default otherwise. */
export function fuzzTimeout (boundedMs = 60_000): number {
  if (LONG_SECONDS != null) return LONG_SECONDS * 1000 * 2 + 120_000
  return LONG ? 24 * 3600_000 : boundedMs
}

/** What one property did: for the long run's report. */
export interface PropertyRun { name: string, runs: number, ms: number, refused: number, accepted: number }

/**
 * Every property run in this process, in order. Kept on the global object: mocha may load this module
 * twice (once for the report hook, once for the tests, by require and by import).
 */
export const RUNS: PropertyRun[] = ((globalThis as { chorusFuzzRuns?: PropertyRun[] }).chorusFuzzRuns ??= [])

/** Outcome counts a property's predicate reports through `tally`. */
export interface Tally { refused: number, accepted: number }

function parameters<T> (bounded: number): fc.Parameters<T> {
  const numRuns = LONG_SECONDS != null ? Number.MAX_SAFE_INTEGER : (LONG_RUNS ?? bounded)
  return {
    seed: SEED,
    numRuns,
    ...(LONG_SECONDS != null ? { interruptAfterTimeLimit: LONG_SECONDS * 1000, markInterruptAsFailure: false } : {})
  }
}

function finish<T> (name: string, details: fc.RunDetails<T>, started: number, tally: Tally): void {
  RUNS.push({ name, runs: details.numRuns, ms: Date.now() - started, ...tally })
  if (!details.failed) return
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  const report = fc.defaultReportMessage(details) ?? ''
  throw new Error(`fuzz property "${name}" failed (replay: CHORUS_FUZZ_SEED=${details.seed})\n${report}\n${cause}`)
}

/**
 * Check `predicate` over `arb`: `bounded` runs in `npm test`, the long run's count otherwise. The
 * predicate throws (an assertion) to fail, and counts what was refused or accepted in `tally`.
 */
export function fuzz<T> (
  name: string, arb: fc.Arbitrary<T>, bounded: number, predicate: (v: T, tally: Tally) => void
): void {
  const tally: Tally = { refused: 0, accepted: 0 }
  const started = Date.now()
  finish(name, fc.check(fc.property(arb, (v) => { predicate(v, tally) }), parameters(bounded)), started, tally)
}

/** `fuzz` for a predicate that awaits. */
export async function fuzzAsync<T> (
  name: string, arb: fc.Arbitrary<T>, bounded: number, predicate: (v: T, tally: Tally) => Promise<void>
): Promise<void> {
  const tally: Tally = { refused: 0, accepted: 0 }
  const started = Date.now()
  const details = await fc.check(fc.asyncProperty(arb, async (v) => { await predicate(v, tally) }), parameters(bounded))
  finish(name, details, started, tally)
}

/** Error names that say a decoder tripped over its input instead of refusing it. */
const UNTYPED = new Set([
  'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError'
])

/** An error class a decoder may refuse with although it has no `code` (XMPP's condition-bearing errors). */
export type ErrorClass = abstract new (...args: any[]) => Error

/**
 * Is `err` a typed refusal: an instance of one of `classes`, or an Error with a name of its own and a
 * stable `code` string (ChorusError, AdmissionError, MalformedEnvelopeError …)? A TypeError or RangeError
 * (even node's own, which carry a `code`) is a decoder that did not check its input.
 */
export function isTyped (err: unknown, classes: ErrorClass[] = []): boolean {
  if (!(err instanceof Error)) return false
  if (classes.some((c) => err instanceof c)) return true
  const code = (err as { code?: unknown }).code
  return !UNTYPED.has(err.name) && typeof code === 'string' && code !== ''
}

/**
 * Run one decode: its value, or `undefined` when it refused with a typed error (counted in `tally`).
 * Anything else fails the property with the error's stack.
 */
export function decodeOrRefuse<R> (tally: Tally, decode: () => R, classes: ErrorClass[] = []): R | undefined {
  try {
    const v = decode()
    tally.accepted++
    return v
  } catch (err: any) {
    assert.ok(isTyped(err, classes), `untyped failure: ${String(err?.stack ?? err)}`)
    tally.refused++
    return undefined
  }
}

/** `decodeOrRefuse` for a decode that awaits. */
export async function decodeOrRefuseAsync<R> (
  tally: Tally, decode: () => Promise<R>, classes: ErrorClass[] = []
): Promise<R | undefined> {
  try {
    const v = await decode()
    tally.accepted++
    return v
  } catch (err: any) {
    assert.ok(isTyped(err, classes), `untyped failure: ${String(err?.stack ?? err)}`)
    tally.refused++
    return undefined
  }
}

// ---- structure-aware bytes ---------------------------------------------------------------------

type Mutation = (b: Uint8Array) => Uint8Array

/** Bytes decoders tend to special-case. */
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12]

const at = (b: Uint8Array, i: number): number => b.byteLength === 0 ? 0 : i % b.byteLength

/** A protobuf key for field 1-31 with any wire type (0-7: the invalid 6 and 7 too). */
const protobufKey = fc.tuple(fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 7 }))
  .map(([f, w]) => (f << 3) | w)

/** A varint as protobuf encodes it, including ones of 10 bytes and over (overlong). */
export const varintBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => {
    const out: number[] = []
    do { let b = Number(n & 0x7fn); n >>= 7n; if (n > 0n) b |= 0x80; out.push(b) } while (n > 0n)
    return Uint8Array.from(out)
  }),
  fc.integer({ min: 10, max: 16 }).map((n) => Uint8Array.from([...new Array<number>(n - 1).fill(0xff), 0x01]))
)

/** One protobuf field: a key and a payload that may or may not match its wire type. */
export const protobufField: fc.Arbitrary<Uint8Array> = fc.tuple(protobufKey, fc.oneof(
  varintBytes,
  fc.uint8Array({ maxLength: 8 }),
  fc.tuple(varintBytes, fc.uint8Array({ maxLength: 40 })).map(([len, body]) => concatBytes(len, body))
)).map(([key, payload]) => concatBytes(Uint8Array.of(key), payload))

/** A sequence of protobuf-looking fields: what a confused or hostile encoder might send. */
export const protobufJunk: fc.Arbitrary<Uint8Array> = fc.array(protobufField, { maxLength: 8 })
  .map((fs) => concatBytes(...fs))

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]): Mutation => (b) => {
    const out = Uint8Array.from(b)
    if (out.byteLength > 0) out[at(out, i)] ^= 1 << bit
    return out
  }),
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...EDGE_BYTES), fc.integer({ min: 0, max: 255 })))
    .map(([i, v]): Mutation => (b) => {
      const out = Uint8Array.from(b)
      if (out.byteLength > 0) out[at(out, i)] = v
      return out
    }),
  fc.nat().map((i): Mutation => (b) => b.subarray(0, i % (b.byteLength + 1))),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 16 })).map(([i, n]): Mutation => (b) => {
    const s = at(b, i)
    return concatBytes(b.subarray(0, s), b.subarray(s + n))
  }),
  fc.tuple(fc.nat(), fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), protobufField, varintBytes))
    .map(([i, ins]): Mutation => (b) => {
      const s = b.byteLength === 0 ? 0 : i % (b.byteLength + 1)
      return concatBytes(b.subarray(0, s), ins, b.subarray(s))
    }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 2, max: 40 }))
    .map(([i, n, times]): Mutation => (b) => {
      // a slice repeated: a field sent many times over, or a length pushed past a bound
      const s = at(b, i)
      const slice = b.subarray(s, s + n)
      return concatBytes(b.subarray(0, s), ...new Array<Uint8Array>(times).fill(slice), b.subarray(s))
    }),
  protobufField.map((f): Mutation => (b) => concatBytes(b, f))
)

/** Valid encodings from `valid`, each changed by one to four mutations (flips, cuts, insertions, repeats). */
export function mutated (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([b, ms]) => ms.reduce((acc, m) => m(acc), b))
}

/**
 * What to feed a decoder: valid encodings (a few), mutated ones (most), protobuf-shaped junk and plain
 * random bytes. A property over this covers "decodes or refuses" for every kind of input at once.
 */
export function decoderInput (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: valid, weight: 2 },
    { arbitrary: mutated(valid), weight: 5 },
    { arbitrary: protobufJunk, weight: 2 },
    { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 1 }
  )
}

/** The concatenation of `parts`. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let i = 0
  for (const p of parts) { out.set(p, i); i += p.byteLength }
  return out
}

/**
 * Property names JavaScript objects inherit, and other strings that reach lookups keyed by input: a
 * table indexed by a stranger's string must not find `toString` in it.
 */
export const PROTOTYPE_NAMES = [
  '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'length', 'then'
]

/** A long-run report line per property (printed by `npm run fuzz` only). */
export function reportLines (): string[] {
  const row = (name: string, ...cells: string[]): string =>
    name.slice(0, 57).padEnd(58) + cells.map((c, i) => c.padStart(i === 3 ? 9 : 10)).join('')
  const lines = [`seed ${SEED}`, row('property', 'runs', 'refused', 'accepted', 'seconds')]
  for (const r of RUNS) {
    lines.push(row(r.name, String(r.runs), String(r.refused), String(r.accepted), (r.ms / 1000).toFixed(1)))
  }
  return lines
}
