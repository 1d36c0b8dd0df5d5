/**
 * ACCOUNT_PUT and ACCOUNT_GET: gateway accounts at the owners of their handle. Servers only (the
 * gateways are servers): a record holds SCRAM verifiers, which must not be handed to any client that
 * asks. The record's signature is checked here, and against the handle's claim when this owner holds
 * one: an account is only ever its handle's owner's.
 */

import { verifyAccount } from '../../../protocol/account.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import type { ReplicationContext, StoreHandler } from '../context.js'
import { Forbidden } from './rejection.js'

function serversOnly (from: string, ctx: ReplicationContext): void {
  if (from !== ctx.selfId && !ctx.isServerPeer(from)) throw new Forbidden('not-server', 'gateway accounts are for servers only')
}

export const handleAccountPut: StoreHandler = async (req, from, ctx) => {
  serversOnly(from, ctx)
  const account = verifyAccount(req.account)
  const claim = await ctx.handles.get(account.handle)
  if (claim != null && !Buffer.from(claim.publicKey).equals(Buffer.from(account.publicKey))) {
    throw new Forbidden('not-owner', `${account.handle} is claimed by another key`)
  }
  const held = await ctx.accounts.put(account)
  return { status: StoreResponse.Status.OK, account: held }
}

export const handleAccountGet: StoreHandler = async (req, from, ctx) => {
  serversOnly(from, ctx)
  const held = await ctx.accounts.get(req.handle)
  return held == null ? { status: StoreResponse.Status.NOT_FOUND } : { status: StoreResponse.Status.OK, account: held }
}
