/**
 * Node 20 gaps that libp2p 3 falls into: `Promise.withResolvers` (Node 22+) and a
 * global `WebSocket` (Node 22+). Imported first by the package entry, before anything loads libp2p.
 */
import { WebSocket as WsWebSocket } from 'ws'

if (typeof (Promise as any).withResolvers !== 'function') {
  (Promise as any).withResolvers = function withResolvers<T> () {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((_resolve, _reject) => {
      resolve = _resolve
      reject = _reject
    })
    return { promise, resolve, reject }
  }
}

if (typeof (globalThis as any).WebSocket === 'undefined') {
  (globalThis as any).WebSocket = WsWebSocket
}
