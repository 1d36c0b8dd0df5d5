/**
 * One client-to-server XMPP connection (RFC 6120): stream features, STARTTLS, SASL (sasl-exchange.ts),
 * in-band registration before login (XEP-0077, features/register.ts), resource binding, then stanzas,
 * which it hands to the gateway.
 * It runs over a transport (transport.ts): TCP, or a WebSocket (RFC 7395, websocket.ts); the login,
 * stream management, rate limit and login timeout are the same on both. Everything it reads is bounded
 * (xml-stream.ts); a client that breaks the protocol gets a stream error and is disconnected, and nobody
 * else notices.
 */

import { randomBytes } from 'node:crypto'
import type { SecureContext } from 'node:tls'
import xml, { type Element } from '@xmpp/xml'
import { toStreamError } from './conditions.js'
import { errorReply, StanzaError, StreamError } from './errors.js'
import { answerBeforeLogin } from './features/register.js'
import { NS_BIND, NS_REGISTER_FEATURE, NS_SASL, NS_SESSION, NS_SM, NS_STANZA_ERRORS, NS_TLS } from './ns.js'
import { SmState } from './stream-management.js'
import { MECHANISMS, SaslError, type ScramCredential, type ScramHash } from './sasl.js'
import { SaslExchange, type ProvenLogin } from './sasl-exchange.js'
import type { Transport } from './transport.js'
import type { XmlStreamLimits } from './xml-stream.js'
import type { AccountRecord } from './accounts.js'
import type { Refusal } from './budgets.js'

/**
 * SASL attempts (`<auth>`, whatever became of it) a connection takes; the last failing, or one more
 * `<auth>`, ends the stream (RFC 6120 §6.4.5: between 2 and 5 failures).
 */
export const MAX_AUTH_FAILURES = 3

/** Elements a connection may send before it has logged in (a login with STARTTLS and registration takes 6). */
export const MAX_PRE_LOGIN_ELEMENTS = 32

/** What a connection asks of its gateway. */
export interface ConnectionHost {
  readonly domain: string
  readonly allowPlaintext: boolean
  readonly limits: XmlStreamLimits
  /** the TLS context for STARTTLS (absent: STARTTLS is not offered) */
  tls: () => SecureContext | undefined
  account: (handle: string) => Promise<AccountRecord | undefined>
  /** the stand-in credential of an account that does not exist (stable per handle, not computable outside) */
  decoy: (hash: ScramHash, handle: string) => ScramCredential
  /** XEP-0077: create `handle` mesh-wide; throws StanzaError on a taken handle or bad input */
  register: (handle: string, password: string) => Promise<void>
  /** a login succeeded: open the user's session with the key the login proved */
  login: (conn: Connection, record: AccountRecord, hash: ScramHash, clientKey: Buffer) => Promise<void>
  /** pick the resource (the client's wish if free) and attach the connection to the user */
  bind: (conn: Connection, wish: string) => Promise<string>
  /** a stanza from a bound connection */
  stanza: (conn: Connection, el: Element) => Promise<void>
  /** the connection ended (after bind or not) */
  closed: (conn: Connection, why: string) => void
  /** XEP-0198: seconds a dropped stream may be resumed in */
  readonly resumeSeconds: number
  /** XEP-0198: stanzas a stream keeps unacknowledged; past it the stream ends */
  readonly maxUnacked: number
  /** the connection enabled resumable stream management */
  resumable: (conn: Connection) => void
  /** the connection dropped with a resumable stream: keep its resource until it resumes or expires */
  detached: (conn: Connection) => void
  /** a new connection resumes stream `previd` at the client's count `h`: what it takes over, if it may */
  resume: (
    conn: Connection,
    previd: string,
    h: number
  ) => { resource: string, sm: SmState, again: Element[] } | undefined
  /** a rejected input, for the operator's counters */
  reject: (reason: string) => void
  /** an `<auth>` may be tried now (its source address's budget): undefined, or why not */
  mayLogin: (conn: Connection) => Refusal | undefined
  /** a registration may be tried now (its source address's and the gateway's budgets): undefined, or why not */
  mayRegister: (conn: Connection) => Refusal | undefined
  /** the connection logged in (it no longer counts among those logging in) */
  loggedIn: (conn: Connection) => void
  /** a stanza may pass (token bucket per connection) */
  admit: (conn: Connection) => boolean
}

type Phase = 'open' | 'tls' | 'auth' | 'bind' | 'ready' | 'detached' | 'closed'

const STANZAS = new Set(['message', 'presence', 'iq'])

export class Connection {
  readonly id = randomBytes(8).toString('hex')
  handle?: string
  resource?: string
  /** XEP-0280: this resource gets copies of what the account's other resources send */
  carbons = false
  /** XEP-0198, once the client enabled it */
  sm?: SmState
  private phase: Phase = 'open'
  private authed = false
  /** `<auth>` elements taken */
  private attempts = 0
  /** elements taken before login */
  private preLogin = 0
  private readonly exchange: SaslExchange
  private queue: Promise<void> = Promise.resolve()
  private authTimer?: NodeJS.Timeout
  /** the plaintext stream's generation: STARTTLS ends it, and what it still had queued is dropped */
  private plaintext = 0
  private injected = false

  constructor (private readonly transport: Transport, private readonly host: ConnectionHost, authTimeoutMs: number) {
    this.exchange = new SaslExchange({
      domain: host.domain,
      secure: () => transport.secure,
      account: async (handle) => await host.account(handle),
      decoy: (hash, handle) => host.decoy(hash, handle)
    })
    transport.start({
      open: (attrs) => { this.opened(attrs) },
      element: (el) => { this.queued(el) },
      close: () => { this.close() },
      error: (err) => { this.fail(err) },
      gone: () => { this.gone() }
    })
    this.authTimer = setTimeout(() => { this.fail(new StreamError('connection-timeout', 'no login in time')) }, authTimeoutMs)
    this.authTimer.unref()
  }

  /**
   * Elements are handled one at a time, in order. Those read before STARTTLS's `<proceed/>` and queued
   * behind `<starttls/>` belong to the plaintext stream: they are dropped, never run over TLS (what a man
   * in the middle adds to the client's `<starttls/>`, CVE-2011-0411).
   */
  private queued (el: Element): void {
    const plaintext = this.plaintext
    this.queue = this.queue.then(async () => {
      if (plaintext !== this.plaintext) { this.dropped(); return }
      await this.element(el)
    }).catch((err: unknown) => { this.fail(toStreamError(err)) })
  }

  /**
   * Resolves once every element read so far has been handled (or dropped). Never rejects: a failure ends
   * the stream instead. What a caller that fed elements in waits on before it looks at the outcome.
   */
  async idle (): Promise<void> {
    await this.queue
  }

  /** Counted once per connection: input that came in plaintext behind `<starttls/>`, dropped. */
  private dropped (): void {
    if (this.injected) return
    this.injected = true
    this.host.reject('starttls-injection')
  }

  get jid (): string { return `${this.handle ?? ''}@${this.host.domain}/${this.resource ?? ''}` }
  get bareJid (): string { return `${this.handle ?? ''}@${this.host.domain}` }
  get isOpen (): boolean { return this.phase !== 'closed' }
  get remote (): string { return this.transport.remote }

  /** `tcp` or `websocket`. */
  get transportKind (): string { return this.transport.kind }

  /** Whether the connection dropped and its stream waits to be resumed (XEP-0198). */
  get detached (): boolean { return this.phase === 'detached' }

  /**
   * Send a stanza (or any element) to the client. With stream management, stanzas are kept until the
   * client acknowledges them, and queue while the connection is detached; past `maxUnacked` either way
   * the stream ends (a detached one as if it expired: what it held goes to the account's next resource).
   */
  send (el: Element | string): void {
    if (this.phase === 'closed') return
    const ask = this.sm != null && typeof el !== 'string' && STANZAS.has(el.name) ? this.sm.outbound(el) : undefined
    const overfull = this.sm != null && this.sm.pending > this.host.maxUnacked
    if (this.phase === 'detached') {
      if (!overfull) return
      this.host.reject('stream-policy-violation-detached')
      this.close()
      return
    }
    this.transport.send(el)
    if (ask != null) this.transport.send(ask)
    if (overfull) this.fail(new StreamError('policy-violation', `more than ${this.host.maxUnacked} unacknowledged`))
  }

  /** A resumed stream takes over this one's resource and stream state; this one ends quietly. */
  handOver (): { resource: string, sm: SmState } {
    const taken = { resource: this.resource as string, sm: this.sm as SmState }
    this.sm = undefined
    this.phase = 'closed'
    this.transport.destroy()
    return taken
  }

  /** A detached stream that was not resumed in time ends for good. */
  expire (): void {
    if (this.phase !== 'detached') return
    this.phase = 'closed'
    this.host.closed(this, 'not resumed in time')
  }

  /** End the stream politely (or with a stream error) and close the socket. */
  close (err?: StreamError): void {
    if (this.phase === 'closed') return
    const detached = this.phase === 'detached'
    this.phase = 'closed'
    clearTimeout(this.authTimer)
    // a detached stream's transport is gone already
    if (detached) this.transport.destroy()
    else this.transport.end(err)
    this.host.closed(this, err?.message ?? 'closed')
  }

  private fail (err: StreamError): void {
    // a stream already ended is not refused twice (the parser may still hold bytes read with the first error)
    if (this.phase === 'closed') return
    this.host.reject(`stream-${err.condition}`)
    this.close(err)
  }

  /** The transport is gone: a stream that may be resumed waits for it, any other ends. */
  private gone (): void {
    if (this.phase === 'closed') return
    clearTimeout(this.authTimer)
    if (this.phase === 'ready' && this.sm?.resumable === true) {
      // the stream may be resumed: the resource stays, what is sent to it waits
      this.phase = 'detached'
      this.host.detached(this)
      return
    }
    this.phase = 'closed'
    this.host.closed(this, 'disconnected')
  }

  /** A stream header came: answer with ours and the features of this phase. */
  private opened (attrs: Record<string, string>): void {
    if (this.phase === 'closed') return
    this.transport.header()
    if (attrs.to !== this.host.domain) { this.fail(new StreamError('host-unknown', `this service is ${this.host.domain}`)); return }
    if (attrs.version !== '1.0') { this.fail(new StreamError('unsupported-version', 'XMPP 1.0 streams only')); return }
    const features = xml('stream:features')
    if (!this.authed) {
      const { secure, canStartTls } = this.transport
      const tls = canStartTls && this.host.tls() != null
      if (!secure && !tls && !this.host.allowPlaintext) {
        // nothing would make this connection one a login may use (a WebSocket on a gateway without allowPlaintext)
        this.fail(new StreamError('policy-violation', 'logins need TLS, and this connection is not encrypted'))
        return
      }
      if (tls) features.append(xml('starttls', { xmlns: NS_TLS }, this.host.allowPlaintext ? undefined as any : xml('required')))
      if (secure || this.host.allowPlaintext) {
        const mechs = xml('mechanisms', { xmlns: NS_SASL }, ...Object.keys(MECHANISMS).map((m) => xml('mechanism', {}, m)))
        if (secure) mechs.append(xml('mechanism', {}, 'PLAIN'))
        features.append(mechs)
        features.append(xml('register', { xmlns: NS_REGISTER_FEATURE }))
      }
      this.phase = 'auth'
    } else {
      features.append(xml('bind', { xmlns: NS_BIND }))
      features.append(xml('session', { xmlns: NS_SESSION }, xml('optional')))
      features.append(xml('sm', { xmlns: NS_SM }))
      this.phase = 'bind'
    }
    this.send(features)
  }

  private async element (el: Element): Promise<void> {
    if (this.phase === 'closed') return
    if (!this.authed && ++this.preLogin > MAX_PRE_LOGIN_ELEMENTS) {
      this.fail(new StreamError('policy-violation', `more than ${MAX_PRE_LOGIN_ELEMENTS} elements before logging in`))
      return
    }
    if (el.name === 'stream:error') {
      // the client ends the stream with an error of its own (RFC 6120 §4.9): close ours, answer nothing
      this.host.reject('client-stream-error')
      this.close()
      return
    }
    if (el.name === 'starttls' && el.attrs.xmlns === NS_TLS) { this.startTls(); return }
    const mayAuth = this.transport.secure || this.host.allowPlaintext
    if (this.phase === 'auth' && !mayAuth) {
      this.fail(new StreamError('policy-violation', 'STARTTLS is required before anything else'))
      return
    }
    if (el.attrs.xmlns === NS_SM) { await this.streamManagement(el); return }
    if (el.attrs.xmlns === NS_SASL && this.phase === 'auth') { await this.sasl(el); return }
    if (el.name === 'iq' && this.phase === 'auth') { await this.preAuthIq(el); return }
    if (el.name === 'iq' && this.phase === 'bind') { await this.bindIq(el); return }
    if (this.phase === 'ready' && (el.name === 'message' || el.name === 'presence' || el.name === 'iq')) {
      if (!this.host.admit(this)) {
        this.host.reject('xmpp-flood')
        if (el.attrs.type !== 'error' && el.attrs.type !== 'result') this.send(errorReply(el, new StanzaError('policy-violation', 'too many stanzas: slow down'), this.host.domain))
        return
      }
      el.attrs.from = this.jid
      await this.host.stanza(this, el)
      if (this.sm != null) this.sm.inbound++
      return
    }
    if (this.phase !== 'ready' && (el.name === 'message' || el.name === 'presence' || el.name === 'iq')) {
      this.fail(new StreamError('not-authorized', 'log in and bind a resource first'))
      return
    }
    this.fail(new StreamError('unsupported-stanza-type', `<${el.name}> is not a stanza`))
  }

  /** XEP-0198's nonzas: enable (after bind), resume (after login, instead of bind), r and a. */
  private async streamManagement (el: Element): Promise<void> {
    const failed = (condition: string, text: string): void => {
      this.send(
        xml('failed', { xmlns: NS_SM }, xml(condition, { xmlns: NS_STANZA_ERRORS }), xml('text', { xmlns: NS_STANZA_ERRORS }, text))
      )
    }
    if (el.name === 'enable') {
      if (this.phase !== 'ready' || this.sm != null) { failed('unexpected-request', 'enable once, after binding a resource'); return }
      const resume = el.attrs.resume === 'true' || el.attrs.resume === '1'
      this.sm = new SmState(resume, this.host.resumeSeconds)
      this.send(this.sm.enabled())
      if (resume) this.host.resumable(this)
      return
    }
    if (el.name === 'resume') {
      if (this.phase !== 'bind') { failed('unexpected-request', 'resume after logging in, before binding'); return }
      const h = Number(el.attrs.h)
      const taken = Number.isInteger(h) && h >= 0 ? this.host.resume(this, String(el.attrs.previd ?? ''), h) : undefined
      if (taken == null) { failed('item-not-found', 'no stream to resume'); return }
      this.resource = taken.resource
      this.sm = taken.sm
      this.phase = 'ready'
      this.send(xml('resumed', { xmlns: NS_SM, h: String(this.sm.inbound), previd: this.sm.id }))
      for (const again of taken.again) this.send(again)
      return
    }
    if (this.sm == null) { failed('unexpected-request', 'stream management is not enabled'); return }
    if (el.name === 'r') { this.send(xml('a', { xmlns: NS_SM, h: String(this.sm.inbound) })); return }
    if (el.name === 'a') {
      try {
        this.sm.ack(Number(el.attrs.h))
      } catch (err: any) {
        this.fail(new StreamError('undefined-condition', String(err.message)))
      }
    }
  }

  private startTls (): void {
    const ctx = this.host.tls()
    if (!this.transport.canStartTls || this.transport.startTls == null || this.phase !== 'auth' || ctx == null) {
      this.send(xml('failure', { xmlns: NS_TLS }))
      this.close()
      return
    }
    this.send(xml('proceed', { xmlns: NS_TLS }))
    this.plaintext++
    this.transport.startTls(ctx)
  }

  private async sasl (el: Element): Promise<void> {
    if (el.name === 'auth' && ++this.attempts > MAX_AUTH_FAILURES) {
      // one more attempt after the last allowed one (an exchange left unfinished counts as failed)
      this.fail(new StreamError('not-authorized', `${MAX_AUTH_FAILURES} login attempts`))
      return
    }
    const refusal = el.name === 'auth' ? this.host.mayLogin(this) : undefined
    if (refusal != null) {
      this.host.reject(refusal.reason)
      this.close(new StreamError(refusal.condition, refusal.text))
      return
    }
    try {
      if (el.name === 'auth') await this.auth(el)
      else if (el.name === 'response' && this.exchange.challenged) await this.succeed(this.exchange.response(el))
      else if (el.name === 'abort') throw new SaslError('aborted', 'aborted')
      else throw new SaslError('malformed-request', `unexpected <${el.name}>`)
    } catch (err: any) {
      this.exchange.reset()
      if (!(err instanceof SaslError)) throw err
      this.host.reject(`sasl-${err.condition}`)
      this.send(xml('failure', { xmlns: NS_SASL }, xml(err.condition), xml('text', {}, err.message)))
      if (this.attempts >= MAX_AUTH_FAILURES) this.close(new StreamError('not-authorized', 'too many failed logins'))
    }
  }

  /** PLAIN logs in at once; SCRAM is challenged (sasl-exchange.ts). */
  private async auth (el: Element): Promise<void> {
    const step = await this.exchange.auth(el)
    if ('challenge' in step) this.send(step.challenge)
    else await this.succeed(step.login)
  }

  private async succeed ({ record, hash, clientKey, serverFinal }: ProvenLogin): Promise<void> {
    try {
      await this.host.login(this, record, hash, clientKey)
    } catch (err: any) {
      if (err instanceof SaslError) throw err
      throw new SaslError('temporary-auth-failure', `the session cannot be opened now: ${String(err.message)}`)
    }
    this.handle = record.handle
    this.authed = true
    this.host.loggedIn(this)
    clearTimeout(this.authTimer)
    this.send(xml('success', { xmlns: NS_SASL }, serverFinal?.toString('base64') ?? ''))
    // the client restarts the stream (RFC 6120 §6.4.6)
    this.transport.restart()
    this.phase = 'open'
  }

  /** Before login only registration is answered (XEP-0077, features/register.ts). */
  private async preAuthIq (el: Element): Promise<void> {
    const reply = await answerBeforeLogin(el, {
      domain: this.host.domain,
      mayRegister: () => this.host.mayRegister(this),
      register: async (handle, password) => { await this.host.register(handle, password) },
      reject: (reason) => { this.host.reject(reason) }
    })
    if (reply != null) this.send(reply)
  }

  private async bindIq (el: Element): Promise<void> {
    const bind = el.getChild('bind', NS_BIND)
    if (el.attrs.type === 'set' && bind != null) {
      const wish = (bind.getChildText('resource') ?? '').trim().slice(0, 256)
      this.resource = await this.host.bind(this, wish)
      this.phase = 'ready'
      this.send(xml('iq', { type: 'result', id: el.attrs.id }, xml('bind', { xmlns: NS_BIND }, xml('jid', {}, this.jid))))
      return
    }
    this.send(errorReply(el, new StanzaError('not-authorized', 'bind a resource first'), this.host.domain))
  }
}
