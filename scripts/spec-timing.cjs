// A mocha reporter: the spec reporter's output, then the slowest test files and the time each took (from
// its first hook to its last, so a file's shared mesh counts). With CHORUS_TEST_TIMINGS=FILE it also writes
// every file's time (seconds) as JSON to FILE, so two runs can be compared. The README lists what it found.
//
// Serially the reporter times each file from its suites' events. In parallel mode (`npm test` runs two
// workers) the events of a file reach the reporter only once the file is done, so each worker times its
// files itself, in the root hooks of spec-timing-hooks.cjs (.mocharc.json requires it), and appends them to
// a file the reporter reads at the end.
'use strict'

const { readFileSync, rmSync, writeFileSync } = require('node:fs')
const { relative } = require('node:path')
const Mocha = require('mocha')
const { workerTimings } = require('./spec-timing-hooks.cjs')

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
      if (took.size === 0) readWorkerTimings(took)
      const files = [...took].map(([file, s]) => [relative(process.cwd(), file), s]).sort((a, b) => b[1] - a[1])
      const total = files.reduce((sum, [, s]) => sum + s, 0)
      console.log(`\n  slowest test files (of ${files.length}, ${total.toFixed(0)} s in all):`)
      for (const [file, s] of files.slice(0, SHOWN)) console.log(`  ${s.toFixed(1).padStart(7)} s  ${file}`)
      const out = process.env.CHORUS_TEST_TIMINGS
      if (out) writeFileSync(out, JSON.stringify(Object.fromEntries(files), null, 2) + '\n')
    })
  }
}

function readWorkerTimings (took) {
  const path = workerTimings(process.pid)
  let text = ''
  try { text = readFileSync(path, 'utf8') } catch { return }
  rmSync(path, { force: true })
  for (const line of text.split('\n').filter(Boolean)) {
    const { file, s } = JSON.parse(line)
    took.set(file, s)
  }
}

module.exports = SpecTiming
