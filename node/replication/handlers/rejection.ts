/** A request refused for a stated reason: answered REJECTED, counted under `reason`. */
export class Rejection extends Error {
  override readonly name: string = 'Rejection'
  constructor (readonly reason: string, message: string) { super(message) }
}

/** A request the asker is not allowed to make: answered FORBIDDEN, counted under `reason`. */
export class Forbidden extends Rejection {
  override readonly name = 'Forbidden'
}

/**
 * A put this owner cannot judge now, whatever the envelope: it has no state for the room yet, or its own
 * clock disagrees with the sender's. Answered ERROR (not REJECTED), so the writer counts this owner as
 * failed and goes on to the next server, as for an owner that is down; counted under `reason`.
 */
export class NotNow extends Rejection {
  override readonly name = 'NotNow'
}

/** The status a refusal is answered with. */
export function statusOf (err: Rejection): 'forbidden' | 'error' | 'rejected' {
  return err instanceof Forbidden ? 'forbidden' : err instanceof NotNow ? 'error' : 'rejected'
}
