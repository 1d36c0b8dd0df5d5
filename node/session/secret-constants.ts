/** Defaults of a device's secret chats (docs/security.md says why each is what it is). */

import { DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS } from '../store/prekey-store.js'

/** How long a self-destructing message waits at the servers for delivery before they delete it anyway. */
export const UNDELIVERED_TTL_MS = 7 * 24 * 3600_000

/** Longest self-destruct timer. */
export const MAX_TTL_MS = 7 * 24 * 3600_000

/** How often self-destruct timers (and, past DEFAULT_PREKEY_CHECK_INTERVAL_MS, prekeys) are checked. @default 1000 */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 1000

/** How often the owners' supply of one-time prekeys is checked. @default 10 minutes */
export const DEFAULT_PREKEY_CHECK_INTERVAL_MS = 10 * 60_000

/** Deletions of delivered ciphertext at the servers are coalesced for this long. @default 100 */
export const DEFAULT_DELETE_FLUSH_MS = 100

/** One-time prekeys uploaded in a batch (Signal uploads 100). @default 100 */
export const DEFAULT_ONE_TIME_BATCH = 100

/** A refill is uploaded when an owner holds fewer one-time prekeys than this. @default 25 */
export const DEFAULT_REFILL_BELOW = 25

/** A signed prekey is replaced after this long (Signal: weekly to monthly). @default 7 days */
export const DEFAULT_SIGNED_PREKEY_ROTATION_MS = 7 * 24 * 3600_000

/**
 * The oldest signed prekey a client accepts in a bundle it fetched: two rotations. The device keeps its
 * current signed prekey and the one before, so an older one may be deleted already (the initiation
 * would fail), or be one a server kept to hand out after its private half leaked. @default 14 days
 */
export const DEFAULT_MAX_BUNDLE_AGE_MS = 2 * DEFAULT_SIGNED_PREKEY_ROTATION_MS

/**
 * How long a device keeps the private half of an unused one-time prekey: the owners' lifetime, then two
 * signed-prekey rotations more. An initiation claimed at the end of the lifetime names a signed prekey
 * that is itself deleted two rotations later, so nothing that could still be accepted needs the key.
 * @default 44 days
 */
export const DEFAULT_ONE_TIME_PREKEY_KEEP_MS = DEFAULT_ONE_TIME_PREKEY_LIFETIME_MS +
  2 * DEFAULT_SIGNED_PREKEY_ROTATION_MS

/**
 * Sessions with one peer kept besides the one this device sends with: they only decrypt, for messages
 * sent under them before both devices settled on one (two initiations that crossed, a peer that started
 * again). The oldest goes first. @default 4
 */
export const DEFAULT_MAX_PREVIOUS_SESSIONS = 4
