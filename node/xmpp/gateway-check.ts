/**
 * Before a full gateway sends a client to another gateway's address (see-other-host), it goes there itself:
 * it connects, opens a stream to the domain, does STARTTLS, and checks that the certificate presented is the
 * very one it serves (certificate.ts). Only the holders of the domain's key can present it, so no server of
 * the mesh can have clients sent to a host of its own, where a client that skips certificate checks would
 * give away its password or SCRAM proof. A verdict is kept a while, so a full gateway does not dial a peer
 * for every client it turns away.
 */

import { connect, type Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { ChorusError } from '../errors.js'
import { NS_CLIENT, NS_STREAMS, NS_TLS } from './ns.js'

/** ms a gateway may take to reach TLS and present its certificate. @default 3000 */
export const DEFAULT_CHECK_TIMEOUT_MS = 3000
/** ms an address seen presenting the domain certificate stays trusted. @default 60000 */
export const DEFAULT_TRUSTED_MS = 60_000
/** ms an address that failed stays refused before it is tried again. @default 30000 */
export const DEFAULT_REFUSED_MS = 30_000
/** Verdicts remembered at most (the oldest go first). @default 1024 */
export const DEFAULT_MAX_VERDICTS = 1024
/** Bytes a gateway may send before `<proceed/>`: a stream header and its features are far less. */
const MAX_PLAIN_BYTES = 16 * 1024

/** Why a gateway's address is not one to send clients to. */
export type GatewayCheckCode =
  | 'ERR_GATEWAY_UNREACHABLE' | 'ERR_GATEWAY_NO_STARTTLS' | 'ERR_GATEWAY_CERTIFICATE' | 'ERR_GATEWAY_CHECK_TIMEOUT'

/** An address failed the check: nothing listens, it offers no STARTTLS, or it presents another certificate. */
export class GatewayCheckError extends ChorusError {
  override readonly name = 'GatewayCheckError'
  declare readonly code: GatewayCheckCode
  constructor (code: GatewayCheckCode, message: string) { super(message, code) }
}

/** What the check needs: the domain, and the certificate (DER) this gateway serves. */
export interface GatewayCheckInit {
  domain: string
  der: Buffer
  timeoutMs?: number
  trustedMs?: number
  refusedMs?: number
  maxVerdicts?: number
}

/** Checked addresses, with their verdicts kept for a while. */
export class GatewayChecks {
  private readonly verdicts = new Map<string, { error?: GatewayCheckError, until: number }>()
  private readonly pending = new Map<string, Promise<void>>()

  constructor (private readonly init: GatewayCheckInit) {}

  /** Resolves if `address` presents this gateway's certificate; throws its `GatewayCheckError` otherwise. */
  async check (address: string): Promise<void> {
    const known = this.verdicts.get(address)
    if (known != null && known.until > Date.now()) {
      if (known.error != null) throw known.error
      return
    }
    let p = this.pending.get(address)
    if (p == null) {
      p = this.decide(address).finally(() => { this.pending.delete(address) })
      this.pending.set(address, p)
    }
    await p
  }

  private async decide (address: string): Promise<void> {
    const { domain, der, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS } = this.init
    let error: GatewayCheckError | undefined
    try {
      await presentsCertificate(address, domain, der, timeoutMs)
    } catch (err: unknown) {
      error = err instanceof GatewayCheckError ? err : new GatewayCheckError('ERR_GATEWAY_UNREACHABLE', String(err))
    }
    const keep = error == null
      ? this.init.trustedMs ?? DEFAULT_TRUSTED_MS
      : this.init.refusedMs ?? DEFAULT_REFUSED_MS
    this.verdicts.delete(address)
    this.verdicts.set(address, { error, until: Date.now() + keep })
    const max = this.init.maxVerdicts ?? DEFAULT_MAX_VERDICTS
    for (const oldest of this.verdicts.keys()) {
      if (this.verdicts.size <= max) break
      this.verdicts.delete(oldest)
    }
    if (error != null) throw error
  }
}

/**
 * Connect to `address` (`host:port`), open a client stream to `domain`, STARTTLS, and resolve once the TLS
 * handshake is done and the certificate presented is `der`. The handshake proves the peer holds that
 * certificate's key; whether a CA signed it does not matter, as only the same certificate is accepted.
 */
export async function presentsCertificate (
  address: string, domain: string, der: Buffer, timeoutMs: number
): Promise<void> {
  const cut = address.lastIndexOf(':')
  const host = address.slice(0, cut).replace(/^\[(.*)\]$/, '$1')
  const socket = connect({ host, port: Number(address.slice(cut + 1)) })
  let secure: TLSSocket | undefined
  const fail = (code: GatewayCheckCode, why: string): GatewayCheckError => {
    return new GatewayCheckError(code, `${address}: ${why}`)
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(fail('ERR_GATEWAY_CHECK_TIMEOUT', `no TLS within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (err?: GatewayCheckError): void => {
        clearTimeout(timer)
        if (err == null) resolve()
        else reject(err)
      }
      const upgrade = (): void => {
        secure = tlsConnect({ socket, servername: domain, rejectUnauthorized: false })
        secure.on('error', (err) => { done(fail('ERR_GATEWAY_CERTIFICATE', `TLS failed: ${err.message}`)) })
        secure.once('secureConnect', () => {
          const presented = (secure as TLSSocket).getPeerCertificate().raw
          const same = presented != null && presented.equals(der)
          done(same ? undefined : fail('ERR_GATEWAY_CERTIFICATE', 'presents another certificate than this gateway\'s'))
        })
      }
      socket.on('error', (err) => { done(fail('ERR_GATEWAY_UNREACHABLE', err.message)) })
      socket.once('close', () => { done(fail('ERR_GATEWAY_NO_STARTTLS', 'closed before TLS')) })
      socket.once('connect', () => { socket.write(streamHeader(domain)) })
      let text = ''
      let asked = false
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('latin1')
        if (text.length > MAX_PLAIN_BYTES) {
          done(fail('ERR_GATEWAY_NO_STARTTLS', 'too much before TLS'))
        } else if (!asked && STARTTLS.test(text)) {
          asked = true
          text = ''
          socket.write(`<starttls xmlns='${NS_TLS}'/>`)
        } else if (asked && PROCEED.test(text)) {
          socket.off('data', onData)
          socket.removeAllListeners('close')
          upgrade()
        } else if (NO_TLS.test(text)) {
          done(fail('ERR_GATEWAY_NO_STARTTLS', 'offers no STARTTLS'))
        }
      }
      socket.on('data', onData)
    })
  } finally {
    secure?.destroy()
    destroy(socket)
  }
}

/** What a gateway sends to offer STARTTLS, to agree to it, and to end without it. */
const STARTTLS = new RegExp(`<starttls[^>]*xmlns=['"]${NS_TLS}['"]`)
const PROCEED = new RegExp(`<proceed[^>]*xmlns=['"]${NS_TLS}['"]`)
const NO_TLS = /<\/stream:features>|<stream:error|<\/stream:stream>|<failure/

function streamHeader (domain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}' version='1.0'>`
}

function destroy (socket: Socket): void {
  socket.removeAllListeners('data')
  socket.on('error', () => {})
  socket.destroy()
}
