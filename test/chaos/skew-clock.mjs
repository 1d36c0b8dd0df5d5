// Preloaded into a chaos server (NODE_OPTIONS=--import …/skew-clock.mjs) to set its wall clock
// CHAOS_CLOCK_SKEW_MS off the machine's, the way a host whose NTP broke is off: Date.now() and
// new Date() move, monotonic timers (setTimeout, performance.now) do not.
const skew = Number(process.env.CHAOS_CLOCK_SKEW_MS ?? '0')
if (Number.isFinite(skew) && skew !== 0) {
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  class SkewedDate extends RealDate {
    constructor (...args) {
      if (args.length === 0) super(realNow() + skew)
      else super(...args)
    }

    static now () { return realNow() + skew }
  }
  globalThis.Date = SkewedDate
}
