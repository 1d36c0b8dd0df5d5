/**
 * The write path. An envelope goes to the N owners of the recipient's mailbox and the N owners of the
 * sender's; the write is acknowledged when, for each of the two mailboxes, W of them have it on disk.
 *
 * An owner that fails gets the copy later: a successful owner is asked to keep a hint for it (hinted
 * handoff). When fewer than W owners answer, the next servers on the ring stand in (sloppy quorum):
 * they store the envelope with a hint naming the missing owners and count toward W. Only when even
 * they cannot make W does the send fail with `QuorumError`; a retry with the same envelope is harmless
 * (mailboxes are sets).
 */

import { logger } from '@libp2p/logger'
import { userIdOf, type Envelope } from '../../protocol/envelope.js'
import { conversationPeer, mailboxesOf } from '../../protocol/mailbox.js'
import { cursorOf, type Bytes } from '../store/mailbox-store.js'
import type { ReplicationContext } from './context.js'
import { ForbiddenError, NoServersError, QuorumError, RateLimitedError, RemoteError } from './errors.js'
import { StoreResponse } from '../../protocol/pb/store.js'
import { expiryOf } from './expiry.js'
import type { PutBatcher } from './put-batcher.js'
import { asAnswered } from './status.js'

const log = logger('chorus:replication:write')

/** Stand-ins tried beyond the N owners when W is not reached. */
const STAND_INS = 2

/** Where a write landed. */
export interface WriteResult {
  /** peers (owners and stand-ins) that have the envelope on disk, in no particular order */
  storedOn: string[]
}

export class Replicator {
  /** Envelopes this node has replicated, by kind (`CHAT`, `RECEIPT`, …): one per send, whatever the copies. */
  readonly written = new Map<string, number>()

  constructor (
    private readonly ctx: ReplicationContext,
    private readonly batcher: PutBatcher,
    private readonly storesLocally: boolean
  ) {}

  /** Replicate one signed envelope (already encoded as `bytes`). */
  async write (env: Envelope, bytes: Bytes): Promise<WriteResult> {
    this.written.set(env.kind, (this.written.get(env.kind) ?? 0) + 1)
    const sender = userIdOf(env.senderKey)
    const mailboxes = mailboxesOf(env)
    const storedOn = new Set<string>()
    await Promise.all(mailboxes.map(async (mailbox) => {
      const peer = conversationPeer(env, mailbox) ?? (mailbox === sender ? env.recipient : sender)
      for (const p of await this.writeMailbox(mailbox, peer, env, bytes)) storedOn.add(p)
    }))
    return { storedOn: [...storedOn] }
  }

  private async writeMailbox (mailbox: string, peer: string, env: Envelope, bytes: Bytes): Promise<string[]> {
    const chain = this.ctx.placement.successorsOf(mailbox, this.ctx.placement.replicas + STAND_INS)
    if (chain.length === 0) throw new NoServersError()
    const owners = chain.slice(0, this.ctx.placement.replicas)
    const need = Math.min(this.ctx.writeQuorum, owners.length)
    const acked: string[] = []
    const failed: string[] = []
    const refusals: Error[] = []
    /** why each server that did not store it did not, for the QuorumError */
    const why: string[] = []
    const errors: Error[] = []
    const attempts = owners.map(async (owner) => this.store(owner, mailbox, peer, env, bytes, []).then(
      () => { acked.push(owner) },
      (err: Error) => {
        failed.push(owner)
        if (isRefusal(err)) refusals.push(err)
        errors.push(err)
        why.push(`owner ${owner.slice(-8)}: ${err.message}`)
        log('owner %s missed %s: %s', owner, mailbox, err.message)
      }
    ))
    await quorumOrAll(attempts, () => acked.length >= need)
    // the owners refused the envelope itself (not a member, over the rate): stand-ins would too
    if (acked.length < need && refusals.length > 0 && refusals.length + acked.length === owners.length) {
      throw refusals[0]
    }
    if (acked.length >= need) {
      // the rest are still in flight; whoever of them fails gets a hint, off the acknowledgement path
      void Promise.all(attempts).then(async () => this.hint(owners, acked, mailbox, peer, env, bytes))
      return [...acked]
    }
    // sloppy quorum: stand-ins beyond the owners keep it for the missing ones
    for (const standIn of chain.slice(owners.length)) {
      if (acked.length >= need) break
      try {
        await this.store(standIn, mailbox, peer, env, bytes, failed)
        acked.push(standIn)
      } catch (err: any) {
        errors.push(err)
        why.push(`stand-in ${standIn.slice(-8)}: ${err.message}`)
        log('stand-in %s failed for %s: %s', standIn, mailbox, err.message)
      }
    }
    if (acked.length < need) {
      throw new QuorumError(`mailbox ${mailbox}: ${acked.length} of the required ${need} owners stored the envelope (${why.join('; ')})`, errors)
    }
    return [...acked]
  }

  /** Every owner has answered: leave a hint for the ones that failed at one that did not. */
  private async hint (
    owners: string[],
    acked: string[],
    mailbox: string,
    peer: string,
    env: Envelope,
    bytes: Bytes
  ): Promise<void> {
    const missing = owners.filter((o) => !acked.includes(o))
    if (missing.length === 0) return
    for (const holder of acked) {
      try {
        await this.store(holder, mailbox, peer, env, bytes, missing)
        return
      } catch (err: any) {
        log('could not leave a hint at %s: %s', holder, err.message)
      }
    }
  }

  private async store (
    target: string,
    mailbox: string,
    peer: string,
    env: Envelope,
    bytes: Bytes,
    hintFor: string[]
  ): Promise<void> {
    if (target === this.ctx.selfId && this.storesLocally) {
      // refused by its own guard, this owner fails the write as a remote owner would (status.ts)
      try {
        await this.ctx.guard.checkPut(env, mailbox, this.ctx.selfId)
      } catch (err) {
        throw asAnswered(err, this.ctx.selfId)
      }
      await this.ctx.mailboxes.put([{ mailbox, peer, cursor: cursorOf(env), bytes, expiresAt: expiryOf(env) }])
      await this.ctx.hints.add(hintFor.map((p) => ({ peer: p, mailbox })))
      return
    }
    await this.batcher.put(target, { mailbox, envelope: bytes, hintFor })
  }
}

/** An owner's answer about the envelope, not about the owner's health: retrying elsewhere would not help. */
function isRefusal (err: Error): boolean {
  return err instanceof ForbiddenError || err instanceof RateLimitedError ||
    (err instanceof RemoteError && err.status === StoreResponse.Status.REJECTED)
}

/** Resolve when `done()` holds after one of `attempts` settles, or when all have settled. */
async function quorumOrAll (attempts: Array<Promise<void>>, done: () => boolean): Promise<void> {
  await new Promise<void>((resolve) => {
    let settled = 0
    for (const a of attempts) {
      void a.finally(() => {
        settled++
        if (done() || settled === attempts.length) resolve()
      })
    }
  })
}
