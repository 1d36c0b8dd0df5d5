/**
 * A function's results kept by key, for values that are costly to make and asked for again and again (key
 * objects, parsed peer ids). Bounded: past `max` entries the oldest made is dropped. A `make` that throws
 * keeps nothing.
 */
export function boundedMemo<A, V> (max: number, keyOf: (arg: A) => string, make: (arg: A) => V): (arg: A) => V {
  const kept = new Map<string, V>()
  return (arg) => {
    const key = keyOf(arg)
    let value = kept.get(key)
    if (value == null) {
      value = make(arg)
      if (kept.size >= max) kept.delete(kept.keys().next().value as string)
      kept.set(key, value)
    }
    return value
  }
}
