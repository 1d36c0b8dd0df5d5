/**
 * How `chorus chat` writes things: short time stamps, conversation labels, and text from other people
 * made safe for a terminal. Everything another user chose (a message, a handle, a room name, a status)
 * goes through `clean` before it is printed: a control character or an escape sequence in it could
 * otherwise move the cursor, rewrite earlier lines or change the terminal's settings.
 */

import type { SafetyNumber } from '../../node/index.js'

/** Characters of one message shown at most; the rest is counted, not printed. */
export const MAX_SHOWN_CHARS = 2000

/** Characters of a sent message quoted beside its ticks. */
export const EXCERPT_CHARS = 40

/** C0 and C1 controls (newlines are handled before) and the bidirectional overrides that can disguise text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are removed
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** `text` on one line, without control characters, at most `max` characters (then how many more). */
export function clean (text: string, max = MAX_SHOWN_CHARS): string {
  let t = text.replace(/\r\n|\r|\n/g, ' ↵ ').replace(/\t/g, '  ').replace(UNSAFE, '\ufffd')
  if (t.length > max) t = `${t.slice(0, max)}… (${t.length - max} more characters)`
  return t
}

/** A short quote of a message, for the ticks that follow it. */
export function excerpt (text: string): string {
  return `"${clean(text, EXCERPT_CHARS)}"`
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** A short time stamp: HH:MM today, else YYYY-MM-DD HH:MM (local time). */
export function clock (ms = Date.now(), now = Date.now()): string {
  const d = new Date(ms)
  const today = new Date(now)
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`
  if (d.toDateString() === today.toDateString()) return hm
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`
}

/** "last seen" for people: "now" within a minute, else the time stamp. */
export function lastSeen (ms: number, now = Date.now()): string {
  if (ms <= 0) return 'never'
  if (now - ms < 60_000) return 'now'
  return clock(ms, now)
}

/** The safety number as people compare it: three rows of four groups, then the key picture. */
export function safetyLines (sn: SafetyNumber): string[] {
  const rows: string[] = []
  for (let i = 0; i < sn.groups.length; i += 4) rows.push(`  ${sn.groups.slice(i, i + 4).join(' ')}`)
  return [...rows, ...sn.pictureText.split('\n').map((line) => `  ${line}`)]
}

/** One line describing an error: its message, without a stack. */
export function describe (err: unknown): string {
  if (err instanceof Error) return clean(err.message, 300)
  return clean(String(err), 300)
}
