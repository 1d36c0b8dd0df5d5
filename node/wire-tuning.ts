/**
 * Two fixes to libp2p 3's transport stack, each measured in `npm run bench -- floor` and `scale`
 * (docs/benchmarks.md), applied by node/libp2p.ts to every Chorus node.
 *
 * **One socket write per connection per turn of the event loop.**
 *
 * libp2p 3's TCP connection writes every buffer it is handed with its own `socket.write`
 * (`@libp2p/tcp` `sendData`), and noise hands it two per message: the 2-byte length, then the
 * ciphertext. With `TCP_NODELAY` (libp2p's default, and right for a chat) each write is its own
 * syscall and its own TCP segment, so one yamux frame costs two of each, and a turn that sends a
 * frame on three streams costs six. On loopback a write syscall also runs the receiver's TCP input
 * path; it was the largest single entry of every process's profile in `npm run bench -- scale`.
 *
 * `corkConnections` wraps the connection encrypter: before the handshake it finds the TCP socket
 * under the connection and, from then on, corks it at the first write of a turn and uncorks it once
 * the turn's I/O callbacks have run (`setImmediate`), so Node flushes everything the turn wrote in one
 * `writev`. Nothing waits for a timer: a write leaves at the end of the turn that made it, and a turn
 * that writes nothing costs nothing. A connection of another transport (WebSocket) is left as it is.
 */

import { Socket } from 'node:net'
import type { ConnectionEncrypter, MessageStream, SecureConnectionOptions, SecuredConnection } from '@libp2p/interface'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

/** What `corkConnections` reads of a connection: `@libp2p/tcp`'s connection keeps its socket here. */
interface SocketConnection {
  socket?: unknown
  sendData?: (data: unknown) => unknown
}

/**
 * Cork `connection`'s TCP socket per turn of the event loop. Returns false (and changes nothing) when
 * the connection has no Node socket under it or has been wrapped already.
 */
export function corkPerTurn (connection: object): boolean {
  const conn: SocketConnection = connection
  const socket = conn.socket
  const sendData = conn.sendData
  if (!(socket instanceof Socket) || typeof sendData !== 'function' || corked.has(socket)) return false
  corked.add(socket)
  let pending = false
  const flush = (): void => {
    pending = false
    if (!socket.destroyed) socket.uncork()
  }
  conn.sendData = function (this: unknown, data: unknown) {
    if (!pending && !socket.destroyed) {
      pending = true
      socket.cork()
      setImmediate(flush)
    }
    return sendData.call(this, data)
  }
  return true
}

const corked = new WeakSet<Socket>()

/** Wrap a connection encrypter factory so every connection it secures is corked per turn first. */
export function corkConnections<C> (
  factory: (components: C) => ConnectionEncrypter
): (components: C) => ConnectionEncrypter {
  return (components) => {
    const inner = factory(components)
    return {
      protocol: inner.protocol,
      async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        corkPerTurn(connection)
        return await inner.secureInbound(connection, options)
      },
      async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
        corkPerTurn(connection)
        return await inner.secureOutbound(connection, options)
      }
    }
  }
}

/**
 * **A yamux window update when half the window is used, not after every frame.** `@libp2p/yamux` 8
 * answers every data frame it receives with a WINDOW_UPDATE frame returning the bytes it just took,
 * so every one-way message costs a second one back: its own noise seal, socket write, wake-up and
 * read on the other side. Go's and Rust's yamux send the update only once the unused part of the
 * window falls below half of it; so does this, for an established stream. The handshake's updates (SYN,
 * ACK flags), a paused stream and a window used past half are left to yamux as they are. Flow control
 * is kept: the sender never has less than half a window (128 KiB by default) in hand.
 *
 * Installed once per process, on the prototype (yamux builds its streams itself and takes no stream
 * class); returns false when this version of yamux has no such method to tune.
 */
export function lazyWindowUpdates (): boolean {
  const proto = YamuxStream.prototype as unknown as TunableStream
  if (typeof proto.sendWindowUpdate !== 'function') return false
  if (proto.sendWindowUpdate === lazyUpdate) return true
  eagerUpdate = proto.sendWindowUpdate
  proto.sendWindowUpdate = lazyUpdate
  return true
}

/** What the tuning reads of a yamux stream (private to yamux's types, present at run time). */
interface TunableStream {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: (this: TunableStream) => void
}

/** yamux's own `sendWindowUpdate`, called when an update is due. */
let eagerUpdate: TunableStream['sendWindowUpdate'] | undefined

/** Window updates skipped (the tests read it). */
export const windowStats = { skipped: 0 }

function lazyUpdate (this: TunableStream): void {
  if (this.state === StreamState.Established && this.recvWindowCapacity * 2 > this.recvWindow) {
    windowStats.skipped++
    return
  }
  eagerUpdate?.call(this)
}
