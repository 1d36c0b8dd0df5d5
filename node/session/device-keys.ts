/**
 * A device's secret-chat keys, on the device (the node's own LevelDB, sublevel `secret`): its X25519
 * identity key, signed prekeys and one-time prekeys, and their publication at the user's owners.
 *
 *   `dh!<me>`                       the X25519 identity key and its signature by the user key (JSON)
 *   `spk!<me>!<id hex8>`            signed prekeys (the current and the previous, for initiations in flight)
 *   `otk!<me>!<id hex8>`            one-time prekeys not yet used, with when they were made (JSON);
 *                                   deleted on first use (forward secrecy) or DEFAULT_ONE_TIME_PREKEY_KEEP_MS
 *                                   after they were made
 *   `x3dh!<me>!<spk hex8>!<ek hex>` initiations accepted under a signed prekey (secret-initiation.ts),
 *                                   deleted with it
 *   `meta!<me>`                     next prekey ids, current signed prekey, last rotation (JSON)
 */

import type { IdentityKey } from '../../protocol/envelope.js'
import { StoreRequest, type StoreResponse } from '../../protocol/pb/store.js'
import { signPrekeyUpload } from '../../protocol/prekeys.js'
import {
  createSecretIdentity, encodeBundle, generateOneTimePrekeys, generateSignedPrekey, prekeyBundle,
  type OneTimePrekey, type SecretIdentity, type SignedPrekey, type X25519KeyPair
} from '../../protocol/secret/index.js'
import { NoServersError, QuorumError } from '../replication/errors.js'
import { b64, unb64 } from './base64.js'
import type { Owners } from './ports.js'
import {
  DEFAULT_ONE_TIME_BATCH, DEFAULT_ONE_TIME_PREKEY_KEEP_MS, DEFAULT_REFILL_BELOW, DEFAULT_SIGNED_PREKEY_ROTATION_MS
} from './secret-constants.js'
import type { SecretOp, SecretStore } from './secret-store.js'

const hex8 = (n: number): string => n.toString(16).padStart(8, '0')

/** What the device's keys use: the user, its secret store, and its owners (to publish at). */
export interface DeviceKeysComponents {
  userId: string
  identity: IdentityKey
  store: SecretStore
  owners: Pick<Owners, 'ownersOf' | 'call'>
  /** ms since the epoch */
  now: () => number
}

interface Meta { nextSpk: number, nextOtk: number, spk: number, rotatedAt: number, published: number }

export class DeviceKeys {
  /** when the owners' supply of one-time prekeys was last checked (ms) */
  checkedAt = 0
  private id?: SecretIdentity
  private readonly me: string
  private readonly store: SecretStore

  constructor (private readonly c: DeviceKeysComponents) {
    this.me = c.userId
    this.store = c.store
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

  /** The key that records an initiation accepted under signed prekey `spkId` with ephemeral key `ephemeral`. */
  usedInitiationKey (spkId: number, ephemeral: Uint8Array): string {
    return `x3dh!${this.me}!${hex8(spkId)}!${Buffer.from(ephemeral).toString('hex')}`
  }

  private async loadIdentity (): Promise<SecretIdentity> {
    const raw = await this.store.get(`dh!${this.me}`)
    if (raw != null) {
      const j = JSON.parse(raw)
      return { identityKey: this.c.identity, identityDhKey: keyPairOf(j), identityDhSignature: unb64(j.sig) }
    }
    const id = createSecretIdentity(this.c.identity)
    await this.store.put(`dh!${this.me}`,
      JSON.stringify({ ...keyPairJson(id.identityDhKey), sig: b64(id.identityDhSignature) }))
    return id
  }

  private async meta (): Promise<Meta> {
    const raw = await this.store.get(`meta!${this.me}`)
    return raw != null ? JSON.parse(raw) : { nextSpk: 1, nextOtk: 1, spk: 0, rotatedAt: 0, published: 0 }
  }

  async loadSignedPrekey (id: number): Promise<SignedPrekey | undefined> {
    const raw = await this.store.get(`spk!${this.me}!${hex8(id)}`)
    return raw == null ? undefined : signedPrekeyOf(id, JSON.parse(raw))
  }

  async loadOneTimePrekey (id: number): Promise<OneTimePrekey | undefined> {
    const raw = await this.store.get(this.oneTimeKey(id))
    if (raw == null) return undefined
    return { id, keyPair: keyPairOf(JSON.parse(raw)) }
  }

  /**
   * Rotate the signed prekey when due (keeping the previous one for initiations still in flight), delete
   * one-time prekeys kept past their time, and publish the bundle with fresh one-time prekeys when the
   * owners run low (or `force`).
   */
  async maintain (force: boolean): Promise<void> {
    const identity = this.identity
    const m = await this.meta()
    const now = this.c.now()
    const ops: SecretOp[] = []
    let current: SignedPrekey | undefined
    if (m.spk === 0 || now - m.rotatedAt > DEFAULT_SIGNED_PREKEY_ROTATION_MS) {
      current = generateSignedPrekey(identity, m.nextSpk, now)
      const value = JSON.stringify({
        ...keyPairJson(current.keyPair),
        sig: b64(current.signature),
        createdAt: current.createdAt
      })
      ops.push({ type: 'put', key: `spk!${this.me}!${hex8(current.id)}`, value })
      // the one before the previous is no longer named by any bundle a client accepts; nor are the
      // initiations remembered under it needed: one naming it fails for want of the key
      if (m.spk > 1) ops.push({ type: 'del', key: `spk!${this.me}!${hex8(m.spk - 1)}` }, ...await this.forgetInitiations(m.spk - 1))
      m.spk = current.id
      m.nextSpk = current.id + 1
      m.rotatedAt = now
      force = true
    }
    current ??= await this.loadSignedPrekey(m.spk)
    if (current == null) throw new Error('the current signed prekey is missing')
    ops.push(...await this.expireOneTimePrekeys(now))
    let fresh: OneTimePrekey[] = []
    if (m.published === 0 || force) {
      fresh = generateOneTimePrekeys(m.nextOtk, DEFAULT_ONE_TIME_BATCH)
      m.nextOtk += DEFAULT_ONE_TIME_BATCH
      for (const k of fresh) {
        ops.push({
          type: 'put',
          key: this.oneTimeKey(k.id),
          value: JSON.stringify({ ...keyPairJson(k.keyPair), createdAt: now })
        })
      }
    }
    // the private keys are on disk before anyone can be handed the public ones
    ops.push({ type: 'put', key: `meta!${this.me}`, value: JSON.stringify(m) })
    await this.store.batch(ops)
    const remaining = await this.publish(prekeyBundle(identity, current), fresh)
    if (remaining < DEFAULT_REFILL_BELOW && fresh.length === 0) await this.maintain(true)
    m.published = this.c.now()
    await this.store.put(`meta!${this.me}`, JSON.stringify({ ...(await this.meta()), published: m.published }))
    this.checkedAt = this.c.now()
  }

  /**
   * Deletions of one-time prekeys made more than DEFAULT_ONE_TIME_PREKEY_KEEP_MS ago (ones kept before times
   * were recorded are stamped now).
   */
  private async expireOneTimePrekeys (now: number): Promise<SecretOp[]> {
    const ops: SecretOp[] = []
    for await (const [key, value] of this.store.entries({ gt: `otk!${this.me}!`, lt: `otk!${this.me}!\xff` })) {
      const j = JSON.parse(value)
      if (typeof j.createdAt !== 'number') ops.push({ type: 'put', key, value: JSON.stringify({ ...j, createdAt: now }) })
      else if (now - j.createdAt > DEFAULT_ONE_TIME_PREKEY_KEEP_MS) ops.push({ type: 'del', key })
    }
    return ops
  }

  private async forgetInitiations (spkId: number): Promise<SecretOp[]> {
    const prefix = `x3dh!${this.me}!${hex8(spkId)}!`
    const ops: SecretOp[] = []
    for await (const key of this.store.keys({ gt: prefix, lt: `${prefix}\xff` })) ops.push({ type: 'del', key })
    return ops
  }

  /** Upload to every owner of this user; resolves with the fewest one-time prekeys an owner reported. */
  private async publish (bundle: ReturnType<typeof prekeyBundle>, oneTime: OneTimePrekey[]): Promise<number> {
    const keys = oneTime.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey }))
    const upload = signPrekeyUpload(
      this.c.identity, encodeBundle(bundle), keys, this.c.now()
    ) as Uint8Array<ArrayBuffer>
    const owners = this.c.owners.ownersOf(this.me)
    if (owners.length === 0) throw new NoServersError()
    const answers = await Promise.allSettled(owners.map(async (o) =>
      this.c.owners.call(o, { kind: StoreRequest.Kind.PREKEYS_PUT, prekeys: upload })
    ))
    const ok = answers
      .filter((a) => a.status === 'fulfilled')
      .map((a) => (a as PromiseFulfilledResult<StoreResponse>).value.remaining)
    if (ok.length === 0) throw new QuorumError(`no owner of ${this.me} took the prekeys`)
    return Math.min(...ok)
  }
}

function signedPrekeyOf (id: number, j: { pub: string, priv: string, sig: string, createdAt: number }): SignedPrekey {
  return { id, keyPair: keyPairOf(j), signature: unb64(j.sig), createdAt: j.createdAt }
}

/** A stored X25519 key pair (JSON `pub`, `priv`, base64). */
function keyPairOf (j: { pub: string, priv: string }): X25519KeyPair {
  return { publicKey: unb64(j.pub), privateKey: unb64(j.priv) }
}

function keyPairJson (k: X25519KeyPair): { pub: string, priv: string } {
  return { pub: b64(k.publicKey), priv: b64(k.privateKey) }
}
