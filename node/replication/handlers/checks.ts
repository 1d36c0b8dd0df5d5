/** Bounds on request fields shared by several handlers. */

import { parseMailbox } from '../../../protocol/mailbox.js'
import { CURSOR_BYTES, type Cursor } from '../../store/mailbox-store.js'
import { Rejection } from './rejection.js'

/** A mailbox name (protocol/mailbox.ts). */
export function checkMailbox (mailbox: string): string {
  if (parseMailbox(mailbox) == null) throw new Rejection('bad-mailbox', `not a mailbox name: ${JSON.stringify(mailbox.slice(0, 80))}`)
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
