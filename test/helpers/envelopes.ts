/** Signed envelopes and mailbox entries for tests. */
import { Envelope, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { cursorOf, type MailboxEntry } from '../../node/store/mailbox-store.js'

/** An entry for `mailbox` of a message from `from` to `toId` at time `ms`. */
export function entry (
  mailbox: string,
  from: IdentityKey,
  toId: string,
  ms: number,
  text = `t${ms}`
): MailboxEntry & { env: Envelope } {
  const env = signEnvelope(
    { kind: Envelope.Kind.CHAT, recipient: toId, body: new TextEncoder().encode(text), timestamp: hlcPack(ms, 0) },
    from
  )
  const sender = userIdOf(from.publicKey)
  return { mailbox, peer: mailbox === sender ? toId : sender, cursor: cursorOf(env), bytes: Envelope.encode(env), env }
}
