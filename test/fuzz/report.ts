/**
 * A mocha root hook for `npm run fuzz` only (loaded with --require): after every property has run, print
 * the seed and, per property, its runs, what it refused and accepted, and its time.
 */

import { LONG, reportLines } from '../helpers/fuzz.js'

/** The hooks mocha picks up from a --require'd module. */
export const mochaHooks = {
  afterAll (): void {
    // the long run's report is its output: mocha's own lines say only pass or fail
    if (LONG) process.stdout.write(`\n${reportLines().join('\n')}\n`)
  }
}
