/**
 * What a store handler, the room guard or the access rules throw to refuse a request (or one put) for a
 * stated reason. Each class is answered with its own status and `reason: message` (../status.ts), counted
 * under `reason`; the asker gets the matching typed error (../errors.ts) with the same reason.
 */
import { ChorusError } from '../../errors.js'

/** A request refused for a stated reason: answered REJECTED. */
export class Rejection extends ChorusError {
  static readonly code: string = 'ERR_REJECTION'
  override readonly name: string = 'Rejection'
  declare readonly reason: string
  constructor (reason: string, message: string, code = Rejection.code) { super(message, code, { reason }) }
}

/** A request the asker is not allowed to make: answered FORBIDDEN. */
export class Forbidden extends Rejection {
  static override readonly code = 'ERR_FORBIDDEN_REQUEST'
  override readonly name = 'Forbidden'
  constructor (reason: string, message: string) { super(reason, message, Forbidden.code) }
}

/**
 * A put this owner cannot judge now, whatever the envelope: it has no state for the room yet, or its own
 * clock disagrees with the sender's. Answered ERROR (not REJECTED), so the writer counts this owner as
 * failed and goes on to the next server, as for an owner that is down.
 */
export class NotNow extends Rejection {
  static override readonly code = 'ERR_NOT_NOW'
  override readonly name = 'NotNow'
  constructor (reason: string, message: string) { super(reason, message, NotNow.code) }
}

/** A sender, or a peer, over its rate: answered BUSY (the asker gets `RateLimitedError`). */
export class SlowDown extends Rejection {
  static override readonly code = 'ERR_SLOW_DOWN'
  override readonly name = 'SlowDown'
  constructor (reason: string, message: string) { super(reason, message, SlowDown.code) }
}
