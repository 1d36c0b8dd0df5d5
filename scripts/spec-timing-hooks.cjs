// Root hooks for the spec-timing reporter (spec-timing.cjs): in a parallel mocha worker, root hooks run
// once per test file, so they time the file, from before its first hook to after its last, and append
// the time to a file that the reporter, in the main mocha process, reads when the run ends.
'use strict'

const { appendFileSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')

/** Where the workers of the mocha run in process `pid` write their files' times, one JSON line each. */
function workerTimings (pid) {
  return join(tmpdir(), `chorus-test-timings-${pid}.jsonl`)
}

let fileStarted = 0

const mochaHooks = {
  beforeAll () {
    fileStarted = Date.now()
  },
  afterAll () {
    // serially, the reporter times each file from its events, and these hooks run once for the whole run
    if (process.env.MOCHA_WORKER_ID === undefined) return
    const file = this.test?.parent?.suites?.find((s) => s.file)?.file
    if (file === undefined) return
    appendFileSync(workerTimings(process.ppid), JSON.stringify({ file, s: (Date.now() - fileStarted) / 1000 }) + '\n')
  }
}

module.exports = { mochaHooks, workerTimings }
