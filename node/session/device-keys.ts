/**
 * A device's secret-chat keys, on the device (the node's own LevelDB, sublevel `secret`): its X25519
 * identity key, signed prekeys and one-time prekeys, and their publication at the user's owners.
 *
 *   `dh!<me>`                  the X25519 identity key and its signature by the user key (JSON)
 *   `spk!<me>!<id hex8>`       signed prekeys (the current and the previous, for initiations in flight)
 *   `otk!<me>!<id hex8>`       one-time prekeys not yet used (deleted on first use: forward secrecy)
 *   `meta!<me>`                next prekey ids, current signed prekey, last rotation (JSON)
 */

import { StoreRequest, type StoreResponse } from '../../protocol/pb/store.js'
import { signPrekeyUpload } from '../../protocol/prekeys.js'
import {
  createSecretIdentity, encodeBundle, generateOneTimePrekeys, generateSignedPrekey, prekeyBundle,
  type OneTimePrekey, type SecretIdentity, type SignedPrekey
} from '../../protocol/secret/index.js'
import { NoServersError, QuorumError } from '../replication/errors.js'
import type { SessionContext } from './context.js'
import { b64, unb64 } from './base64.js'

/** One-time prekeys uploaded in a batch; a refill happens when fewer than REFILL_BELOW are left at the owners. */
export const ONE_TIME_BATCH = 100
export const REFILL_BELOW = 25
/** A signed prekey is replaced after this long (Signal: weekly to monthly). */
export const SIGNED_PREKEY_ROTATION_MS = 7 * 24 * 3600_000

const hex8 = (n: number): string => n.toString(16).padStart(8, '0')

export class DeviceKeys {
  /** when the owners' supply of one-time prekeys was last checked (ms) */
  checkedAt = 0
  private id?: SecretIdentity
  private readonly me: string
  private readonly sub

  constructor (private readonly ctx: SessionContext) {
    this.me = ctx.userId
    this.sub = ctx.secretLevel()
  }

  /** The device's keys (created on first use). */
  get identity (): SecretIdentity {
    if (this.id == null) throw new Error('device keys not loaded')
    return this.id
  }

  async load (): Promise<void> {
    this.id ??= await this.loadIdentity()
  }

  /** The key under which a one-time prekey is kept (deleted with a session's first save). */
  oneTimeKey (id: number): string {
    return `otk!${this.me}!${hex8(id)}`
  }

  private async loadIdentity (): Promise<SecretIdentity> {
    const raw = await this.sub.get(`dh!${this.me}`)
    if (raw != null) {
      const j = JSON.parse(raw)
      return { identityKey: this.ctx.identity, identityDhKey: { publicKey: unb64(j.pub), privateKey: unb64(j.priv) }, identityDhSignature: unb64(j.sig) }
    }
    const id = createSecretIdentity(this.ctx.identity)
    await this.sub.put(`dh!${this.me}`, JSON.stringify({ pub: b64(id.identityDhKey.publicKey), priv: b64(id.identityDhKey.privateKey), sig: b64(id.identityDhSignature) }))
    return id
  }

  private async meta (): Promise<{ nextSpk: number, nextOtk: number, spk: number, rotatedAt: number, published: number }> {
    const raw = await this.sub.get(`meta!${this.me}`)
    return raw != null ? JSON.parse(raw) : { nextSpk: 1, nextOtk: 1, spk: 0, rotatedAt: 0, published: 0 }
  }

  async loadSignedPrekey (id: number): Promise<SignedPrekey | undefined> {
    const raw = await this.sub.get(`spk!${this.me}!${hex8(id)}`)
    if (raw == null) return undefined
    const j = JSON.parse(raw)
    return { id, keyPair: { publicKey: unb64(j.pub), privateKey: unb64(j.priv) }, signature: unb64(j.sig), createdAt: j.createdAt }
  }

  async loadOneTimePrekey (id: number): Promise<OneTimePrekey | undefined> {
    const raw = await this.sub.get(`otk!${this.me}!${hex8(id)}`)
    if (raw == null) return undefined
    const j = JSON.parse(raw)
    return { id, keyPair: { publicKey: unb64(j.pub), privateKey: unb64(j.priv) } }
  }

  /**
   * Rotate the signed prekey when due (keeping the previous one for initiations still in flight), and
   * publish the bundle with fresh one-time prekeys when the owners run low (or `force`).
   */
  async maintain (force: boolean): Promise<void> {
    const identity = this.identity
    const m = await this.meta()
    const ops: any[] = []
    const now = Date.now()
    let fresh: OneTimePrekey[] = []
    if (m.spk === 0 || now - m.rotatedAt > SIGNED_PREKEY_ROTATION_MS) {
      const spk = generateSignedPrekey(identity, m.nextSpk, now)
      ops.push({ type: 'put', key: `spk!${this.me}!${hex8(spk.id)}`, value: JSON.stringify({ pub: b64(spk.keyPair.publicKey), priv: b64(spk.keyPair.privateKey), sig: b64(spk.signature), createdAt: spk.createdAt }) })
      // the one before the previous is no longer named by any bundle the owners hand out
      if (m.spk > 1) ops.push({ type: 'del', key: `spk!${this.me}!${hex8(m.spk - 1)}` })
      m.spk = spk.id
      m.nextSpk = spk.id + 1
      m.rotatedAt = now
      force = true
    }
    const spk = ops.length > 0 ? JSON.parse(ops[0].value) : undefined
    const current = spk != null ? { id: m.spk, keyPair: { publicKey: unb64(spk.pub), privateKey: unb64(spk.priv) }, signature: unb64(spk.sig), createdAt: spk.createdAt } : await this.loadSignedPrekey(m.spk)
    if (current == null) throw new Error('the current signed prekey is missing')
    if (m.published === 0 || force) {
      fresh = generateOneTimePrekeys(m.nextOtk, ONE_TIME_BATCH)
      m.nextOtk += ONE_TIME_BATCH
      for (const k of fresh) ops.push({ type: 'put', key: `otk!${this.me}!${hex8(k.id)}`, value: JSON.stringify({ pub: b64(k.keyPair.publicKey), priv: b64(k.keyPair.privateKey) }) })
    }
    // the private keys are on disk before anyone can be handed the public ones
    ops.push({ type: 'put', key: `meta!${this.me}`, value: JSON.stringify(m) })
    await this.sub.batch(ops)
    const remaining = await this.publish(prekeyBundle(identity, current), fresh)
    if (remaining < REFILL_BELOW && fresh.length === 0) await this.maintain(true)
    m.published = Date.now()
    await this.sub.put(`meta!${this.me}`, JSON.stringify({ ...(await this.meta()), published: m.published }))
    this.checkedAt = Date.now()
  }

  /** Upload to every owner of this user; resolves with the fewest one-time prekeys an owner reported. */
  private async publish (bundle: ReturnType<typeof prekeyBundle>, oneTime: OneTimePrekey[]): Promise<number> {
    const upload = signPrekeyUpload(this.ctx.identity, encodeBundle(bundle), oneTime.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })))
    const owners = this.ctx.replication.placement.ownersOf(this.me)
    if (owners.length === 0) throw new NoServersError()
    const answers = await Promise.allSettled(owners.map(async (o) => this.ctx.replication.call(o, { kind: StoreRequest.Kind.PREKEYS_PUT, prekeys: upload as Uint8Array<ArrayBuffer> })))
    const ok = answers.filter((a) => a.status === 'fulfilled').map((a) => (a as PromiseFulfilledResult<StoreResponse>).value.remaining)
    if (ok.length === 0) throw new QuorumError(`no owner of ${this.me} took the prekeys`)
    return Math.min(...ok)
  }
}
