/** The part of xmpp.js's client (`@xmpp/client`, which ships no types) the tests use. */
declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml'
  export { default as xml } from '@xmpp/xml'

  export interface Client {
    jid: { toString: () => string } | null
    socket: { secure?: boolean, socket?: { destroy: () => void } } | null
    streamManagement: { enabled: boolean, id: string, on: (event: 'resumed' | 'ack' | 'fail', fn: (arg: any) => void) => void }
    iqCaller: { request: (el: Element, timeoutMs?: number) => Promise<Element> }
    reconnect: { stop: () => void }
    start: () => Promise<unknown>
    stop: () => Promise<unknown>
    send: (...els: Element[]) => Promise<void>
    on: (event: 'stanza' | 'error' | 'online' | 'offline' | 'disconnect', fn: (arg: any) => void) => void
  }

  export function client (options: Record<string, unknown>): Client
}
