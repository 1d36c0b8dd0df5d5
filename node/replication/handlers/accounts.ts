/**
 * ACCOUNT_PUT and ACCOUNT_GET: gateway accounts at the owners of their handle. Servers only (the
 * gateways are servers): a record holds SCRAM verifiers, which must not be handed to any client that
 * asks. An owner keeps a record only if it holds the handle's claim and the record is signed by the
 * claimed key with a version not from the future; it answers a GET with the record that passes the same
 * test and with the claim it holds, so that a gateway can count which key a majority of owners name.
 */

import { checkAccountAuthority, verifyAccount, type GatewayAccount } from '../../../protocol/account.js'
import type { HandleClaim } from '../../../protocol/handle.js'
import { StoreResponse } from '../../../protocol/pb/store.js'
import type { ReplicationContext, StoreHandler } from '../context.js'
import { Forbidden, NotNow, Rejection } from './rejection.js'

function serversOnly (from: string, ctx: ReplicationContext): void {
  if (from !== ctx.selfId && !ctx.isServerPeer(from)) throw new Forbidden('not-server', 'gateway accounts are for servers only')
}

/** Refuse `account` unless the claim held here names its key and its version is not from the future. */
function authorise (account: GatewayAccount, claim: HandleClaim | undefined, ctx: ReplicationContext): HandleClaim {
  // without the claim this owner cannot tell whose the account is: repair brings the claim, then the record
  if (claim == null) throw new NotNow('account-unclaimed', `${account.handle} is not claimed at this owner`)
  try {
    checkAccountAuthority(account, claim.publicKey, ctx.now())
  } catch (err: any) {
    if (err.code === 'ERR_ACCOUNT_KEY_MISMATCH') throw new Forbidden('account-not-owner', err.message)
    if (err.code === 'ERR_FUTURE_ACCOUNT_VERSION') throw new Rejection('account-future-version', err.message)
    throw err
  }
  return claim
}

export const handleAccountPut: StoreHandler = async (req, from, ctx) => {
  serversOnly(from, ctx)
  const account = verifyAccount(req.account)
  const claim = authorise(account, await ctx.handles.get(account.handle), ctx)
  const held = await ctx.accounts.put(account, claim.publicKey, ctx.now())
  return { status: StoreResponse.Status.OK, account: held }
}

export const handleAccountGet: StoreHandler = async (req, from, ctx) => {
  serversOnly(from, ctx)
  const claim = await ctx.handles.get(req.handle)
  const held = claim == null ? undefined : await ctx.accounts.valid(req.handle, claim.publicKey, ctx.now())
  if (held == null) return { status: StoreResponse.Status.NOT_FOUND, ...(claim == null ? {} : { claim }) }
  return { status: StoreResponse.Status.OK, account: held, claim }
}
