// A mocha reporter: the spec reporter's output, then the slowest test files and the time each took.
// With CHORUS_TEST_TIMINGS=FILE it also writes every file's time (seconds) as JSON to FILE, so two runs can
// be compared. Used by `npm test`; the README lists what it found.
'use strict'

const { writeFileSync } = require('node:fs')
const { relative } = require('node:path')
const Mocha = require('mocha')

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_RUN_END } = Mocha.Runner.constants
const SHOWN = 12

class SpecTiming extends Mocha.reporters.Spec {
  constructor (runner, options) {
    super(runner, options)
    const started = new Map()
    const took = new Map()
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && !started.has(suite.file)) started.set(suite.file, Date.now())
    })
    runner.on(EVENT_SUITE_END, (suite) => {
      if (suite.file === undefined || !started.has(suite.file)) return
      // a file's time runs from its first suite's start to its last suite's end
      took.set(suite.file, (Date.now() - started.get(suite.file)) / 1000)
    })
    runner.once(EVENT_RUN_END, () => {
      const files = [...took].map(([file, s]) => [relative(process.cwd(), file), s]).sort((a, b) => b[1] - a[1])
      const total = files.reduce((sum, [, s]) => sum + s, 0)
      console.log(`\n  slowest test files (of ${files.length}, ${total.toFixed(0)} s in all):`)
      for (const [file, s] of files.slice(0, SHOWN)) console.log(`  ${s.toFixed(1).padStart(7)} s  ${file}`)
      const out = process.env.CHORUS_TEST_TIMINGS
      if (out) writeFileSync(out, JSON.stringify(Object.fromEntries(files), null, 2) + '\n')
    })
  }
}

module.exports = SpecTiming
