/**
 * A session's side of sealed direct messages (protocol/seal.ts): the texts of its chats and headlines to
 * users are sealed to the two users, and the Ed25519 keys of the users it met (resolved handles, senders
 * of messages that opened) are kept, so that it can also write to a bare userId.
 */

import type { Envelope, IdentityKey } from '../../protocol/envelope.js'
import { userIdOf } from '../../protocol/envelope.js'
import { SealError, Sealer } from '../../protocol/seal.js'
import { UnknownKeyError } from '../replication/errors.js'
import type { UserRef } from './directory.js'

/** Public keys of other users a session remembers; the oldest is forgotten first. */
const PEER_KEYS_MAX = 10_000

export class DirectSeal {
  private readonly sealer: Sealer
  private readonly keys = new Map<string, Uint8Array>()

  constructor (identity: IdentityKey) {
    this.sealer = new Sealer(identity)
  }

  /** The key learnt for `userId`, if any. */
  keyOf (userId: string): Uint8Array | undefined {
    return this.keys.get(userId)
  }

  /** Remember `userId`'s key (a resolved handle's, or a verified sender's). */
  learn (userId: string, publicKey: Uint8Array): void {
    if (publicKey.byteLength !== 32 || this.keys.has(userId)) return
    if (this.keys.size >= PEER_KEYS_MAX) this.keys.delete(this.keys.keys().next().value as string)
    this.keys.set(userId, publicKey)
  }

  /** The body of a chat or headline to `to`. Throws `UnknownKeyError` for a bare userId never met. */
  seal (to: UserRef, text: string): Uint8Array {
    const key = to.publicKey.byteLength > 0 ? to.publicKey : this.keys.get(to.userId)
    if (key == null) throw new UnknownKeyError(to.userId)
    return this.sealer.seal(key, new TextEncoder().encode(text))
  }

  /**
   * The text of a sealed chat or headline this session sent or received (its sender's key learnt on the
   * way); `undefined`, with the reason handed to `reject`, when it does not open.
   */
  open (env: Envelope, reject: (reason: string) => void): string | undefined {
    let text: string
    try {
      text = new TextDecoder().decode(this.sealer.open(env))
    } catch (err: any) {
      reject(err instanceof SealError ? `seal-${err.reason}` : 'bad-seal')
      return undefined
    }
    this.learn(userIdOf(env.senderKey), env.senderKey)
    return text
  }
}
