/** The part of xmpp.js's client (`@xmpp/client`, which ships no types) the tests use. */
declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml'
  export { default as xml } from '@xmpp/xml'

  /** `@xmpp/connection-tcp`'s socket, a `net.Socket`: a plain TCP stream, before STARTTLS */
  export interface TcpSocket {
    secure: boolean
    destroy: () => void
  }

  /** `@xmpp/tls`'s socket, after STARTTLS: a wrapper around the TLS socket */
  export interface TlsSocket {
    secure: boolean
    socket: { destroy: () => void } | null
  }

  /**
   * `@xmpp/websocket`'s socket: the service's URL and a wrapper around the WebSocket (the global one, or on
   * Node.js before 22 the `ws` package's client, which can also `terminate`)
   */
  export interface WebSocketSocket {
    secure: boolean
    url: string | null
    socket: { close: () => void, terminate?: () => void } | null
  }

  export interface Client {
    jid: { toString: () => string } | null
    /** the transport's socket while connected: tell them apart with `'url' in socket` and `'destroy' in socket` */
    socket: TcpSocket | TlsSocket | WebSocketSocket | null
    streamManagement: { enabled: boolean, id: string, on: (event: 'resumed' | 'ack' | 'fail', fn: (arg: any) => void) => void }
    iqCaller: { request: (el: Element, timeoutMs?: number) => Promise<Element> }
    reconnect: { stop: () => void }
    start: () => Promise<unknown>
    stop: () => Promise<unknown>
    send: (...els: Element[]) => Promise<void>
    on: (event: 'stanza' | 'error' | 'online' | 'offline' | 'disconnect', fn: (arg: any) => void) => void
  }

  /**
   * `options` as xmpp.js documents them (`service`, `domain`, `resource`, `credentials` …); `timeout` is
   * the ms each step of the login may take (its connection's default is 2000).
   */
  export function client (options: Record<string, unknown>): Client
}
