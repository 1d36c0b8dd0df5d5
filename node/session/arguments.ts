/**
 * The checks at the library surface. A JavaScript caller gets no help from the types: a number where a
 * handle goes, a string where an options object goes. Each public method of a session checks its
 * arguments here first, so such a call fails at once with an `InvalidOptionError` naming the argument,
 * before anything is signed, stored or queued, and the session goes on as if it had not been made.
 *
 * The bounds are the protocol's own (handles, room names and subjects, cursors); where the protocol
 * already refuses an argument with a typed error that callers branch on (a text too large for an
 * envelope, a presence status too long), that error stays the answer.
 */

import { MAX_BODY_BYTES, Envelope } from '../../protocol/envelope.js'
import { EnvelopeTooLargeError } from '../../protocol/errors.js'
import { HANDLE_PATTERN } from '../../protocol/handle.js'
import { CURSOR_BYTES } from '../../protocol/mailbox.js'
import {
  MAX_ROOM_DESCRIPTION_LENGTH, MAX_ROOM_NAME_LENGTH, MAX_ROOM_SUBJECT_LENGTH, type RoomInvites, type RoomRole
} from '../../protocol/room.js'
import { Presence, stateName } from '../../protocol/roster.js'
import { InvalidOptionError } from '../errors.js'

/** A check of one value: throws `InvalidOptionError` naming `name` when `value` breaks it. */
export type Rule = (name: string, value: unknown) => void

/** The fields an options object may have, each with its rule; a field absent (or null) is not checked. */
export type OptionShape = Record<string, Rule | { rule: Rule, required: true }>

/** Bounds of a string argument, in UTF-16 units (`.length`), as the protocol counts them. */
export interface StringBounds { min?: number, max?: number }

/** Bounds of a whole-number argument, both inclusive. */
export interface IntegerBounds { min: number, max: number }

/** The hex of a mailbox cursor, or '' (the cursor of a message that has none, such as a local bounce). */
const CURSOR_HEX = new RegExp(`^(?:[0-9a-fA-F]{${CURSOR_BYTES * 2}})?$`)

/** The hex of an envelope id (16 bytes: protocol/envelope.ts), or '' (a local bounce has none). */
const ENVELOPE_ID_HEX = /^(?:[0-9a-fA-F]{32})?$/

const ENVELOPE_KINDS = new Set<unknown>(enumValues(Envelope.Kind))

/** The longest delay Node's timers take (ms): a longer one fires after 1 ms, a busy loop for an interval. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Rules for `requireOptions` shapes; each `require*` below is one of them applied at once. */
export const rule = {
  string: (bounds: StringBounds = {}): Rule => (name, value) => {
    if (typeof value !== 'string') refuse(name, 'a string', value)
    if (bounds.max != null && value.length > bounds.max) refuse(name, `at most ${bounds.max} characters`, value)
    if (bounds.min != null && value.length < bounds.min) refuse(name, `at least ${bounds.min} characters`, value)
  },
  integer: (bounds: IntegerBounds): Rule => (name, value) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) refuse(name, 'a whole number', value)
    if (value < bounds.min || value > bounds.max) refuse(name, `between ${bounds.min} and ${bounds.max}`, value)
  },
  boolean: (): Rule => (name, value) => {
    if (typeof value !== 'boolean') refuse(name, 'true or false', value)
  },
  oneOf: (allowed: readonly string[]): Rule => (name, value) => {
    if (typeof value !== 'string' || !allowed.includes(value)) refuse(name, `one of ${allowed.join(', ')}`, value)
  },
  /** A handle, or a userId (which has a handle's form too). */
  handle: (): Rule => (name, value) => {
    if (typeof value !== 'string' || !HANDLE_PATTERN.test(value)) {
      refuse(name, `a handle or user id matching ${String(HANDLE_PATTERN)}`, value)
    }
  },
  /** A position in a log: a message's `cursor`, or the message itself. */
  cursor: (): Rule => (name, value) => {
    const cursor = isObject(value) ? value.cursor : value
    if (typeof cursor !== 'string' || !CURSOR_HEX.test(cursor)) {
      refuse(name, `a message or its cursor (${CURSOR_BYTES * 2} hex digits)`, value)
    }
  },
  /** A function (a callback). */
  fn: (): Rule => (name, value) => {
    if (typeof value !== 'function') refuse(name, 'a function', value)
  },
  /** Anything: a field checked elsewhere (its own typed error), listed so that it is not unknown. */
  any: (): Rule => () => {},
  required: (r: Rule): { rule: Rule, required: true } => ({ rule: r, required: true })
}

/** A string within `bounds`. */
export function requireString (name: string, value: unknown, bounds: StringBounds = {}): string {
  rule.string(bounds)(name, value)
  return value as string
}

/** `true` or `false`. */
export function requireBoolean (name: string, value: unknown): boolean {
  rule.boolean()(name, value)
  return value as boolean
}

/** One of `allowed`. */
export function requireOneOf<T extends string> (name: string, value: unknown, allowed: readonly T[]): T {
  rule.oneOf(allowed)(name, value)
  return value as T
}

/** A handle or a userId. */
export function requireHandle (name: string, value: unknown): string {
  rule.handle()(name, value)
  return value as string
}

/**
 * The text of a message. Too large for an envelope's body is the envelope's own `EnvelopeTooLargeError`
 * (what callers already branch on), raised here before a huge text is encoded and sealed: every UTF-16
 * unit is at least one byte.
 */
export function requireText (name: string, value: unknown): string {
  rule.string()(name, value)
  const text = value as string
  if (text.length > MAX_BODY_BYTES) {
    throw new EnvelopeTooLargeError(`${name} of ${text.length} characters exceeds ${MAX_BODY_BYTES} bytes`)
  }
  return text
}

/** A signed envelope as a session builds it (the low-level form of `send`). Its bounds are the owners' to check. */
export function requireEnvelope (name: string, value: unknown): Envelope {
  const ok = isObject(value) && ENVELOPE_KINDS.has(value.kind) && typeof value.timestamp === 'bigint' &&
    typeof value.recipient === 'string' && typeof value.senderHandle === 'string' &&
    [value.id, value.senderKey, value.body, value.signature].every((b) => b instanceof Uint8Array)
  if (!ok) refuse(name, 'a handle or user id', value)
  return value as unknown as Envelope
}

/**
 * Messages as the session handed them out (one, or a list): what `markRead` acknowledges. The id must be
 * an envelope id, since a receipt with a malformed one is dropped whole by its receiver, good ids and all.
 */
export function requireMessages (name: string, value: unknown): void {
  const list = Array.isArray(value) ? value : [value]
  list.forEach((m: unknown, i) => {
    const at = Array.isArray(value) ? `${name}[${i}]` : name
    if (!isObject(m)) refuse(at, 'a message', m)
    if (typeof m.id !== 'string' || !ENVELOPE_ID_HEX.test(m.id)) refuse(`${at}.id`, 'a message id', m.id)
    rule.string()(`${at}.fromId`, m.fromId)
    rule.string()(`${at}.kind`, m.kind)
    if (m.room != null) rule.string()(`${at}.room`, m.room)
  })
}

/**
 * An options object: absent (`undefined`), or a plain object whose fields each pass their rule. A field
 * that is not in `shape` is refused: a misspelt option (`passPhrase`) must not be silently ignored.
 */
export function requireOptions (name: string, value: unknown, shape: OptionShape): void {
  if (value === undefined) value = {}
  if (!isObject(value)) refuse(name, 'an object', value)
  const known = Object.keys(shape)
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(shape, key)) throw new InvalidOptionError(key, `unknown option (known: ${known.join(', ')})`)
  }
  for (const [key, field] of Object.entries(shape)) {
    const check = typeof field === 'function' ? field : field.rule
    if (value[key] != null) check(key, value[key])
    else if (typeof field !== 'function') throw new InvalidOptionError(key, 'is required')
  }
}

/** Refuse `value` as `name`: what it must be, and (briefly) what it was. */
function refuse (name: string, what: string, value: unknown): never {
  throw new InvalidOptionError(name, `must be ${what} (got ${describeValue(value)})`)
}

/** The values of a generated enum (protons adds a `codec` function beside them). */
function enumValues<T> (e: object): T[] {
  return Object.values(e).filter((v) => typeof v === 'string') as T[]
}

/** A plain object (not null, not an array). */
function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Strings up to this long are quoted whole in an error message; longer ones by their length alone. */
const SHOWN_CHARS = 32

/** A short description of a value for an error message: never the whole of a long string. */
export function describeValue (value: unknown): string {
  if (typeof value === 'string') {
    return value.length > SHOWN_CHARS ? `a string of ${value.length} characters` : JSON.stringify(value)
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return `an array of ${value.length}`
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

// the arguments of the library's methods

/** Presence states, as `setPresence` takes them (the protocol's names). */
export const PRESENCE_STATES = enumValues<Presence.State>(Presence.State).map(stateName)

/** Room roles, as `setRole` takes them (every RoomRole: the compiler checks the list). */
const ROLE_SET = { owner: true, admin: true, member: true } satisfies Record<RoomRole, true>
export const ROOM_ROLES = Object.keys(ROLE_SET) as RoomRole[]

/** `node.openUser(handle, options)`. The passphrase is the vault's to check (`PassphraseError`). */
export const OPEN_USER_OPTIONS: OptionShape = {
  timeoutMs: rule.integer({ min: 0, max: MAX_TIMER_MS }),
  syncIntervalMs: rule.integer({ min: 1, max: MAX_TIMER_MS }),
  passphrase: rule.any(),
  vaultKey: rule.any(),
  identity: rule.any()
}

/** `user.send(to, text, options)`. */
export const SEND_OPTIONS: OptionShape = { type: rule.oneOf(['chat', 'headline']), signed: rule.fn() }

/**
 * `user.history(with, options)` and `room.history(options)`. A limit above MAX_FETCH_LIMIT
 * (node/replication/constants.ts) is not refused: the reader has always served it as a page of that many,
 * and callers page on with `before`.
 */
export const HISTORY_OPTIONS: OptionShape = {
  limit: rule.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  before: rule.cursor()
}

/** `user.inbox(options)`: a page of the mailbox (a limit above MAX_FETCH_LIMIT is served as that many). */
export const INBOX_OPTIONS: OptionShape = {
  with: rule.handle(),
  after: rule.cursor(),
  before: rule.cursor(),
  limit: rule.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  newestFirst: rule.boolean()
}

/** Who may invite to a room. */
export const ROOM_INVITES: readonly RoomInvites[] = ['admins', 'members']

/** The settings a room is created with or configured to. */
const ROOM_SETTINGS: OptionShape = {
  public: rule.boolean(),
  listed: rule.boolean(),
  moderated: rule.boolean(),
  invites: rule.oneOf(ROOM_INVITES),
  description: rule.string({ max: MAX_ROOM_DESCRIPTION_LENGTH })
}

/** `user.rooms.create(options)` (the address is checked by the protocol's own `checkRoomAddress`). */
export const CREATE_ROOM_OPTIONS: OptionShape = {
  ...ROOM_SETTINGS,
  name: rule.required(rule.string({ max: MAX_ROOM_NAME_LENGTH })),
  subject: rule.string({ max: MAX_ROOM_SUBJECT_LENGTH }),
  address: rule.string({ min: 1, max: 64 })
}

/** `room.configure(options)`: the settings given change, the others stay. */
export const CONFIGURE_ROOM_OPTIONS: OptionShape = {
  ...ROOM_SETTINGS,
  name: rule.string({ min: 1, max: MAX_ROOM_NAME_LENGTH })
}
