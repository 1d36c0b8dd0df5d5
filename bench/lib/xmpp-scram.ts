/**
 * SCRAM-SHA-1 (RFC 5802) for the benchmark's xmpp.js clients, on Node's native PBKDF2. xmpp.js's own
 * mechanism derives the salted password with 4,096 WebCrypto HMAC calls in a row, about a second of
 * client CPU per login on this machine: with tens of accounts per target that would be most of a run.
 * Same protocol, same messages; only the client's arithmetic is faster. The server's proof is not
 * checked (a benchmark client trusts the loopback server it started).
 */

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto'

/** The name under which the clients register it with xmpp.js (its SASL name stays `SCRAM-SHA-1`). */
export const FAST_SCRAM = 'BENCH-SCRAM-SHA-1'

/** What xmpp.js passes to a mechanism. */
interface Credentials { username?: string | null, password?: string | null }

/** An xmpp.js (saslmechanisms) client mechanism: a first message, then one answer to the challenge. */
export class FastScramSha1 {
  readonly name = 'SCRAM-SHA-1'
  readonly clientFirst = true
  private stage: 'initial' | 'challenge' | 'final' = 'initial'
  private readonly cnonce = randomBytes(18).toString('base64')
  private clientFirstBare = ''
  private serverFirst = ''

  /** The server's challenge (server-first-message), before the next `response`. */
  challenge (text: string): this {
    this.serverFirst = text
    return this
  }

  response (cred: Credentials): string {
    if (this.stage === 'initial') {
      this.stage = 'challenge'
      const user = (cred.username ?? '').replace(/=/g, '=3D').replace(/,/g, '=2C')
      this.clientFirstBare = `n=${user},r=${this.cnonce}`
      return `n,,${this.clientFirstBare}`
    }
    if (this.stage === 'challenge') {
      this.stage = 'final'
      const attrs = new Map(this.serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)]))
      const nonce = attrs.get('r') ?? ''
      const salt = Buffer.from(attrs.get('s') ?? '', 'base64')
      const iterations = Number(attrs.get('i'))
      if (!nonce.startsWith(this.cnonce) || !Number.isSafeInteger(iterations) || iterations < 1) throw new Error('SCRAM: a malformed server-first-message')
      const salted = pbkdf2Sync(cred.password ?? '', salt, iterations, 20, 'sha1')
      const clientKey = createHmac('sha1', salted).update('Client Key').digest()
      const storedKey = createHash('sha1').update(clientKey).digest()
      const withoutProof = `c=biws,r=${nonce}`
      const signature = createHmac('sha1', storedKey).update(`${this.clientFirstBare},${this.serverFirst},${withoutProof}`).digest()
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]))
      return `${withoutProof},p=${proof.toString('base64')}`
    }
    return ''
  }
}
