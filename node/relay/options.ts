/**
 * Settings of the relay: what `createNode({ relay })` takes. A file of its own so that config.ts needs nothing
 * of the relay's implementation.
 */

/** Relay settings. */
export interface RelayInit {
  /** live envelopes a second one sender may have relayed through this node @default 200 */
  senderRate?: number
  /** @default 1000 */
  senderBurst?: number
}
