/**
 * One connection's SASL exchange (RFC 6120 §6.4): PLAIN, over TLS only, proves a login in one step;
 * SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802) answer `<auth>` with a challenge, and the client's response
 * proves the login. An account that does not exist is answered as one that does, from the decoy
 * credential of its handle (sasl.ts `Decoys`) and with the same key-derivation work, so neither the
 * answers nor their timing tell whether it exists. A failure is a `SaslError`; the connection answers it
 * and counts the attempts.
 */

import xml, { type Element } from '@xmpp/xml'
import type { AccountRecord } from './accounts.js'
import { NS_SASL } from './ns.js'
import {
  MECHANISMS, parsePlain, SaslError, ScramServer, clientKeyFor, prep,
  type ScramCredential, type ScramHash, type ScramMechanism
} from './sasl.js'

/** What the exchange needs of its connection and gateway. */
export interface SaslExchangeComponents {
  domain: string
  /** the connection is encrypted now (PLAIN is taken only then) */
  secure: () => boolean
  account: (handle: string) => Promise<AccountRecord | undefined>
  /** the stand-in credential of an account that does not exist */
  decoy: (hash: ScramHash, handle: string) => ScramCredential
}

/** A login the exchange proved: the account, and the key the login proved, which opens it. */
export interface ProvenLogin {
  record: AccountRecord
  hash: ScramHash
  clientKey: Buffer
  /** SCRAM's server-final message, for `<success>` (none for PLAIN) */
  serverFinal?: Buffer
}

/** What an `<auth>` leads to: a login proved at once (PLAIN), or a challenge to send (SCRAM). */
export type AuthStep = { login: ProvenLogin } | { challenge: Element }

export class SaslExchange {
  /** a SCRAM exchange waiting for the client's response */
  private scram?: { server: ScramServer, record?: AccountRecord }

  constructor (private readonly c: SaslExchangeComponents) {}

  /** Whether a SCRAM challenge waits for its response. */
  get challenged (): boolean { return this.scram != null }

  /** Forget an exchange under way (it failed, or was aborted). */
  reset (): void { this.scram = undefined }

  async auth (el: Element): Promise<AuthStep> {
    const mechanism = el.attrs.mechanism as string
    const payload = decodeSasl(el.getText())
    if (mechanism === 'PLAIN') return { login: await this.plain(payload) }
    // own keys only: a mechanism named `__proto__` or `toString` must not find Object's
    const hash = Object.hasOwn(MECHANISMS, mechanism) ? MECHANISMS[mechanism as ScramMechanism] : undefined
    if (hash == null) throw new SaslError('invalid-mechanism', `unsupported mechanism ${String(mechanism)}`)
    const server = new ScramServer(hash)
    const handle = prep(server.username(payload))
    const record = await this.lookup(handle)
    this.scram = { server, record }
    const cred = record?.scram[hash] ?? this.c.decoy(hash, handle)
    return { challenge: xml('challenge', { xmlns: NS_SASL }, server.challenge(cred).toString('base64')) }
  }

  /** The client's `<response>` to the SCRAM challenge: the login it proves. */
  response (el: Element): ProvenLogin {
    if (this.scram == null) throw new SaslError('malformed-request', 'unexpected <response>')
    const { server, record } = this.scram
    this.scram = undefined
    const serverFinal = server.final(decodeSasl(el.getText()), record != null)
    // final() throws for an account that does not exist, however right the proof
    return { record: record as AccountRecord, hash: server.hash, clientKey: server.clientKey as Buffer, serverFinal }
  }

  private async plain (payload: Buffer): Promise<ProvenLogin> {
    if (!this.c.secure()) throw new SaslError('encryption-required', 'PLAIN only over TLS')
    const { authzid, username, password } = parsePlain(payload)
    const handle = prep(username)
    if (authzid !== '' && authzid !== handle && authzid !== `${handle}@${this.c.domain}`) {
      throw new SaslError('not-authorized', 'acting as another user is not allowed')
    }
    const record = await this.lookup(handle)
    // the same PBKDF2 work whether the account exists or not: the time taken tells nothing
    const clientKey = clientKeyFor(record?.scram.sha256 ?? this.c.decoy('sha256', handle), 'sha256', password)
    if (record == null || clientKey == null) throw new SaslError('not-authorized', 'wrong username or password')
    return { record, hash: 'sha256', clientKey }
  }

  /** The account, from the mesh; owners that cannot be reached are a temporary failure, not a wrong password. */
  private async lookup (handle: string): Promise<AccountRecord | undefined> {
    try {
      return await this.c.account(handle)
    } catch (err: any) {
      throw new SaslError('temporary-auth-failure', `the account cannot be read now: ${String(err.message)}`)
    }
  }
}

/** A SASL payload: base64, `=` for empty. */
function decodeSasl (text: string): Buffer {
  const t = text.trim()
  if (t === '' || t === '=') return Buffer.alloc(0)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) throw new SaslError('incorrect-encoding', 'not base64')
  return Buffer.from(t, 'base64')
}
