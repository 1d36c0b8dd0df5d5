/**
 * An adversary harness: a real node of a test mesh (real libp2p, real LevelDB, a certified server's place
 * on the ring) made to misbehave. It answers store requests as a liar would (its own handler for one
 * request kind, the honest one for the rest), sends requests an honest node never sends, and forges the
 * records a server could forge (gateway accounts signed by a key it holds). Every attack test runs against
 * what the honest nodes of the same mesh do with that.
 */

import { generateKeyPairSync } from 'node:crypto'
import type { ChorusNode } from '../../node/index.js'
import type { StoreHandler } from '../../node/replication/context.js'
import { MeshAccounts, sealIdentity, type AccountRecord } from '../../node/xmpp/accounts.js'
import { signAccount, type GatewayAccount } from '../../protocol/account.js'
import type { IdentityKey } from '../../protocol/envelope.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'

/** A fresh Ed25519 key pair, as raw 32-byte keys (what a forger holds). */
export function freshIdentity (): IdentityKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  const priv = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32)
  return { publicKey: new Uint8Array(pub), privateKey: new Uint8Array(priv) }
}

/** A gateway account record for `handle` with `password`, holding `identity` and signed by `signer` at `version`. */
export function forgeAccount (
  handle: string,
  password: string,
  o: { signer: IdentityKey, identity?: IdentityKey, version: bigint }
): GatewayAccount {
  const created = MeshAccounts.create(handle, password)
  const record: AccountRecord = {
    ...created.record,
    identity: sealIdentity(created.accountKey, o.identity ?? o.signer)
  }
  return signAccount(handle, o.signer, o.version, Buffer.from(JSON.stringify(record)))
}

/** The largest version a record can carry (a uint64). */
export const MAX_VERSION = 2n ** 64n - 1n

/** One node of a mesh, turned. */
export class Adversary {
  private readonly replaced = new Map<StoreRequest.Kind, StoreHandler | undefined>()

  constructor (readonly node: ChorusNode) {}

  get peerId (): string { return this.node.peerId.toString() }

  /** Answer `kind` with `handler` from now on (the honest handler is kept for `restore`). */
  answer (kind: StoreRequest.Kind, handler: StoreHandler): void {
    const server = this.node.replication.server
    if (server == null) throw new Error('only a server node answers store requests')
    if (!this.replaced.has(kind)) this.replaced.set(kind, server.handlers[kind])
    server.handlers[kind] = handler
  }

  /** Answer `ACCOUNT_GET` for `handle` with `account` (and the honest answer for other handles). */
  lieAboutAccount (handle: string, account: GatewayAccount): void {
    const honest = this.node.replication.server?.handlers[StoreRequest.Kind.ACCOUNT_GET]
    if (honest == null) throw new Error('no ACCOUNT_GET handler')
    this.answer(StoreRequest.Kind.ACCOUNT_GET, async (req, from, ctx) => {
      if (req.handle !== handle) return await honest(req, from, ctx)
      const truth = await honest(req, from, ctx)
      return { ...truth, status: StoreResponse.Status.OK, account }
    })
  }

  /** Send any request to `peer` from this node, as its own: the honest peer's answer (or its refusal, thrown). */
  async send (peer: string, req: Partial<StoreRequest>): Promise<StoreResponse> {
    return await this.node.replication.call(peer, req)
  }

  /** Put every replaced handler back. */
  restore (): void {
    const server = this.node.replication.server
    for (const [kind, handler] of this.replaced) if (server != null) server.handlers[kind] = handler
    this.replaced.clear()
  }
}
