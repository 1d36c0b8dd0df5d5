/**
 * A world for unit tests of a device's secret chats: real `Secrets` over real LevelDB (one database per
 * device, sealed by a vault when given a passphrase), real prekey handlers and stores at in-memory
 * owners, and no network. What a device sends goes to its outbox; the test delivers it (in any order,
 * twice, or not at all) with `deliver`. Clocks are the world's (`advance`). `close()` stops every device
 * and removes every directory.
 */

import { randomBytes } from 'node:crypto'
import { type Envelope, generateIdentity, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { HybridClock, hlcMillis } from '../../protocol/hlc.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import {
  handlePrekeysGet, handlePrekeysPut, handlePrekeyUsed, type PrekeyContext
} from '../../node/replication/handlers/prekeys.js'
import type { SecretsComponents } from '../../node/session/secret.js'
import type { Message } from '../../node/session/events.js'
import { Secrets, type SecretMessage, type SecretsInit } from '../../node/session/secret.js'
import { compactRangeOf } from '../../node/session/secret-store.js'
import { Vault } from '../../node/session/vault.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import { PrekeyStore, type PrekeyStoreInit } from '../../node/store/prekey-store.js'
import { TempDirs } from '../helpers/wait.js'

/** an empty protobuf frame: decoded, every field at its default */
const EMPTY = new Uint8Array(0)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** An owner of every user's prekeys. */
export interface Owner { id: string, db: ChorusDb, prekeys: PrekeyStore, ctx: PrekeyContext }

/** A device with one user open. */
export interface Device {
  handle: string
  userId: string
  identity: IdentityKey
  dir: string
  db: ChorusDb
  secrets: Secrets
  /** sign an envelope as this device's user (a test crafts what a broken or hostile client would send) */
  sign: (kind: Envelope.Kind, recipient: string, body: Uint8Array) => Envelope
  /** SECRET envelopes it sent, not yet delivered */
  outbox: Envelope[]
  /** messages it showed */
  shown: SecretMessage[]
  /** errors it emitted (IdentityChangedError) */
  errors: Error[]
}

export class SecretWorld {
  readonly dirs = new TempDirs()
  readonly owners: Owner[] = []
  readonly devices: Device[] = []
  /** refusals counted, by reason (`chorus_rejected_total` in a node) */
  readonly rejected = new Map<string, number>()
  /** ms added to the real clock */
  offset = 0

  now (): number { return Date.now() + this.offset }

  advance (ms: number): void { this.offset += ms }

  count (reason: string): number { return this.rejected.get(reason) ?? 0 }

  /** Start `n` owners (every user's prekeys are at all of them, the first coordinating). */
  async start (n = 1, init: PrekeyStoreInit = {}): Promise<this> {
    for (let i = 0; i < n; i++) {
      const db = await openDb(this.dirs.make('chorus-owner-'))
      const prekeys = new PrekeyStore(db, new GroupCommit(db), init)
      const id = `owner-${i}`
      const ctx: PrekeyContext = {
        selfId: id,
        prekeys,
        maxDriftMs: 60_000,
        now: () => this.now(),
        placement: { ownersOf: () => this.owners.map((o) => o.id) },
        isServerPeer: (peer) => peer.startsWith('owner-'),
        reject: (reason) => { this.reject(reason) },
        call: async (peer, req) => this.call(id, peer, req)
      }
      this.owners.push({ id, db, prekeys, ctx })
    }
    return this
  }

  /** One request from peer `from` to owner `to`, through the real handlers. */
  async call (from: string, to: string, req: Partial<StoreRequest>): Promise<StoreResponse> {
    const owner = this.owners.find((o) => o.id === to)
    if (owner == null) throw new Error(`no owner ${to}`)
    // every field at its protobuf default (what an empty frame decodes to), then the request's own
    const full: StoreRequest = { ...StoreRequest.decode(EMPTY), ...req }
    const handler = req.kind === StoreRequest.Kind.PREKEYS_PUT
      ? handlePrekeysPut
      : req.kind === StoreRequest.Kind.PREKEYS_GET
        ? handlePrekeysGet
        : req.kind === StoreRequest.Kind.PREKEY_USED ? handlePrekeyUsed : undefined
    if (handler == null) {
      return StoreResponse.decode(EMPTY)
    } // status OK: deletions of delivered ciphertext, nothing to do here
    const res = await handler(full, from, owner.ctx)
    return { ...StoreResponse.decode(EMPTY), ...res }
  }

  /** Take every one-time prekey of `userId` the owners hold: initiations then run X3DH without one. */
  async drainOneTime (userId: string): Promise<void> {
    for (const o of this.owners) while (await o.prekeys.take(userId) != null);
  }

  /** A device with user `handle` open (its prekeys published), on a fresh or the given data directory. */
  async device (
    handle: string,
    o: { passphrase?: string, dir?: string, identity?: IdentityKey, init?: SecretsInit } = {}
  ): Promise<Device> {
    const dir = o.dir ?? this.dirs.make(`chorus-${handle}-`)
    const db = await openDb(dir)
    const identity = o.identity ?? generateIdentity()
    const vault = await Vault.open(db, handle, o.passphrase, o.dir != null)
    const secretLevel = db.sublevel<string, string>('secret', { valueEncoding: vault.encoding as any })
    const clock = new HybridClock(() => this.now())
    const node = `node-${handle}-${hex(randomBytes(4))}`
    const userId = userIdOf(identity.publicKey)
    const outbox: Envelope[] = []
    const shown: SecretMessage[] = []
    const errors: Error[] = []
    const sign = (kind: Envelope.Kind, recipient: string, body: Uint8Array): Envelope =>
      signEnvelope({ kind, recipient, body, timestamp: clock.now(), senderHandle: handle }, identity)
    const ports: SecretsComponents = {
      signer: { handle, userId, identity, sign },
      outbox: {
        send: async (env) => {
          outbox.push(env)
          return { id: hex(env.id), timestamp: hlcMillis(env.timestamp), storedOn: [] }
        }
      },
      lookups: {
        resolve: async (who) => {
          const d = this.devices.find((x) => x.handle === who || x.userId === who)
          if (d == null) throw new Error(`unknown ${who}`)
          return { handle: d.handle, userId: d.userId, publicKey: d.identity.publicKey }
        },
        toMessage: async (env): Promise<Message> => {
          const fromId = userIdOf(env.senderKey)
          return {
            id: hex(env.id),
            from: this.devices.find((x) => x.userId === fromId)?.handle ?? fromId,
            fromId,
            to: env.recipient,
            text: '',
            timestamp: hlcMillis(env.timestamp),
            kind: 'secret',
            cursor: hex(cursorOf(env))
          }
        }
      },
      rejections: { reject: (reason) => { this.reject(reason) } },
      storage: { sublevel: db.sublevel.bind(db), secretLevel: () => secretLevel, compactRange: compactRangeOf(db) },
      owners: {
        ownersOf: () => this.owners.map((x) => x.id),
        call: async (owner, req) => await this.call(node, owner, req),
        writeQuorum: 1,
        now: () => this.now()
      },
      events: {
        emit: (event, ...args) => {
          if (event === 'message') shown.push(args[0] as SecretMessage)
          if (event === 'error') errors.push(args[0] as Error)
        }
      },
      session: { closed: false }
    }
    const secrets = new Secrets(ports, { now: () => this.now(), ...o.init })
    const device: Device = { handle, userId, identity, dir, db, secrets, sign, outbox, shown, errors }
    await device.secrets.start()
    this.devices.push(device)
    return device
  }

  /** Hand `env` (or every envelope in `from`'s outbox, emptied) to its recipient; true for each one it decrypted. */
  async deliver (env: Envelope): Promise<boolean> {
    const to = this.devices.find((d) => d.userId === env.recipient)
    if (to == null) throw new Error(`no device for ${env.recipient}`)
    return to.secrets.handle(env)
  }

  async flush (from: Device): Promise<boolean[]> {
    const out: boolean[] = []
    for (const env of from.outbox.splice(0)) out.push(await this.deliver(env))
    return out
  }

  /** Stop a device (its database closed), leaving its directory. */
  async stop (d: Device): Promise<void> {
    this.devices.splice(this.devices.indexOf(d), 1)
    await d.secrets.close()
    await d.db.close()
  }

  async close (): Promise<void> {
    for (const d of [...this.devices]) await this.stop(d)
    for (const o of this.owners.splice(0)) await o.db.close()
    this.dirs.cleanup()
  }

  private reject (reason: string): void {
    this.rejected.set(reason, this.count(reason) + 1)
  }
}
