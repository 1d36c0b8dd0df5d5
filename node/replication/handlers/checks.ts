/** Bounds on request fields shared by several handlers. */

import { CURSOR_BYTES, type Cursor } from '../../store/mailbox-store.js'
import { Rejection } from './rejection.js'

const MAILBOX = /^(?:[a-z2-7]{32}|room\.[a-z0-9._-]{1,64})$/

/** A mailbox name: a userId, or `room.<id>`. */
export function checkMailbox (mailbox: string): string {
  if (!MAILBOX.test(mailbox)) throw new Rejection('bad-mailbox', `not a mailbox name: ${JSON.stringify(mailbox.slice(0, 80))}`)
  return mailbox
}

/** An optional cursor: empty, or exactly CURSOR_BYTES. */
export function checkCursor (c: Cursor): Cursor | undefined {
  if (c.byteLength === 0) return undefined
  if (c.byteLength !== CURSOR_BYTES) throw new Rejection('bad-cursor', `a cursor is ${CURSOR_BYTES} bytes`)
  return c
}

/** Bucket widths this protocol uses. */
export function checkBucketMs (ms: bigint, allowed: number[]): number {
  const n = Number(ms)
  if (!allowed.includes(n)) throw new Rejection('bad-bucket', `bucket width ${n} ms is not one of ${allowed.join(', ')}`)
  return n
}
