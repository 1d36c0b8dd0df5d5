/**
 * `waitFor` (node/timers/wait.ts), what the demo and every test wait with: it returns the first truthy
 * value and, on timeout, names what it waited for and the last value or error.
 */

import { strict as assert } from 'node:assert'
import { WaitTimeoutError, waitFor } from '../../node/timers/wait.js'

describe('waitFor (node/timers/wait.ts)', () => {
  it('returns the first truthy value of the condition', async () => {
    let n = 0
    assert.equal(await waitFor('n to reach 3', () => ++n >= 3 && n, { intervalMs: 1 }), 3)
  })

  it('times out with a WaitTimeoutError naming what it waited for and the last value or error', async () => {
    await assert.rejects(waitFor('never', () => 0, { timeoutMs: 30, intervalMs: 5 }), (err: any) => {
      assert.equal(err.name, 'WaitTimeoutError')
      assert.equal(err.code, 'ERR_WAIT_TIMEOUT')
      assert.ok(err instanceof WaitTimeoutError)
      assert.match(err.message, /waiting for never \(last: 0\)/)
      return true
    })
    await assert.rejects(waitFor('a reason', () => { throw new Error('not yet: 2 of 3') }, { timeoutMs: 30, intervalMs: 5 }), /last: not yet: 2 of 3/)
  })
})
