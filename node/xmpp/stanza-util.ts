/** Small helpers of the account session (router.ts): bounded maps, element copies. */

import xml, { type Element } from '@xmpp/xml'

/** Sent messages whose receipts are mapped back to the client's ids, and received ones a marker may name. */
export const MAX_TRACKED = 10_000

/** Remember `key → value` in a bounded map (the oldest goes first). */
export function remember (map: Map<string, string>, key: string, value: string): void {
  map.set(key, value)
  if (map.size > MAX_TRACKED) map.delete(map.keys().next().value as string)
}

/** A deep copy of an element (ltx's own clone is not part of @xmpp/xml's interface). */
export function cloneElement (el: Element): Element {
  return xml(el.name, { ...el.attrs }, ...el.children.map((c) => typeof c === 'string' ? c : cloneElement(c as Element)))
}

/** The child elements of `el`, text left out. */
export function childElements (el: Element): Element[] {
  return el.children.filter((c): c is Element => typeof c !== 'string')
}
