/** A request refused for a stated reason: answered REJECTED, counted under `reason`. */
export class Rejection extends Error {
  override readonly name: string = 'Rejection'
  constructor (readonly reason: string, message: string) { super(message) }
}

/** A request the asker is not allowed to make: answered FORBIDDEN, counted under `reason`. */
export class Forbidden extends Rejection {
  override readonly name = 'Forbidden'
}
