/** A request refused for a stated reason: answered REJECTED, counted under `reason`. */
export class Rejection extends Error {
  override readonly name = 'Rejection'
  constructor (readonly reason: string, message: string) { super(message) }
}
