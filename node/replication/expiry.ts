/**
 * When owners delete an envelope by themselves: self-destructing secret messages carry an
 * expiry outside the ciphertext.
 */

import { Envelope } from '../../protocol/envelope.js'
import { SecretBody } from '../../protocol/pb/secret.js'

/** The envelope's expiry (ms since the epoch), or 0 when it has none. */
export function expiryOf (env: Envelope): number {
  if (env.kind !== Envelope.Kind.SECRET) return 0
  try {
    return Number(SecretBody.decode(env.body).expiresAt)
  } catch {
    return 0
  }
}
