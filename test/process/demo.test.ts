/**
 * `chorus demo` as a person runs it: one command, a narrated tour of the whole system, exit 0, and
 * nothing left behind (no process, no temporary directory). How long it took is in the title.
 */

import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { ChorusProcesses } from '../helpers/process.js'
import { scaled } from '../helpers/wait.js'

describe('process: chorus demo', function () {
  this.timeout(scaled(240_000))
  const procs = new ChorusProcesses()
  after(async () => { await procs.cleanup() })

  it('tells the whole story, exits 0 and cleans up after itself', async function () {
    const { exit, stdout, stderr, ms } = await procs.run(['demo'], { timeoutMs: scaled(180_000) })
    const text = stdout.join('\n')
    assert.equal(exit.code, 0, `exit ${exit.code ?? exit.signal}; stderr: ${stderr.join('\n')}\n${text}`)
    for (const want of [
      /the ring is whole: every server sees 5 servers/,
      /✓ sent: on disk at \d servers, owners of bob's and alice's mailboxes/,
      /✓✓ delivered/,
      /✓✓ read/,
      /"carol is gone now" reached bob, not carol/,
      /safety number, bob's screen: .*\(the same: no one in between\)/,
      /the secret text found 0 times, the DM text 0 times/,
      /SIGKILL server-\d/,
      /all 20 acknowledged and shown to bob, once each, in order: nothing lost/,
      /is back with the same peer id/,
      /repaired: every owner has every message again/,
      /done: processes stopped, temporary directory removed/
    ]) assert.match(text, want)
    const dir = /data in (\S+)\)/.exec(text)?.[1]
    assert.ok(dir != null && !existsSync(dir), `the demo left ${dir ?? '(no directory named)'} behind`)
    this.test!.title += ` (${(ms / 1000).toFixed(0)} s)`
  })
})
