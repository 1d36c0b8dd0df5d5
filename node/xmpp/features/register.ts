/**
 * In-Band Registration (XEP-0077), before login only: a connection that has not logged in may ask for the
 * form and register a username and password (connection.ts hands it its iqs); the account is then made
 * on the mesh (`registerAccount`). After login an iq in `jabber:iq:register` is `service-unavailable`: no
 * password change or account removal yet (docs/xmpp.md, "Not yet").
 */

import xml, { type Element } from '@xmpp/xml'
import { HANDLE_PATTERN } from '../../../protocol/handle.js'
import type { IdentityKey } from '../../../protocol/envelope.js'
import { MeshAccounts, sealIdentity } from '../accounts.js'
import type { Refusal } from '../budgets.js'
import { toStanzaError } from '../conditions.js'
import { errorReply, StanzaError } from '../errors.js'
import { NS_REGISTER } from '../ns.js'
import { prep } from '../sasl.js'
import type { Feature } from './registry.js'

export function registration (): Feature {
  return { name: 'XEP-0077 in-band registration', vars: [NS_REGISTER] }
}

/** What registering before login needs of the connection and its gateway. */
export interface RegistrationComponents {
  domain: string
  /** a registration may be tried now (its source address's and the gateway's budgets): undefined, or why not */
  mayRegister: () => Refusal | undefined
  /** make the account (`registerAccount`) */
  register: (handle: string, password: string) => Promise<void>
  /** a refused input, for the operator's counters */
  reject: (reason: string) => void
}

/**
 * The answer to an iq before login: the form (get), a registration (set), `not-authorized` for anything
 * but registration; undefined for an iq that wants none (a result or an error).
 */
export async function answerBeforeLogin (el: Element, c: RegistrationComponents): Promise<Element | undefined> {
  const query = el.getChild('query', NS_REGISTER)
  if (query == null) return errorReply(el, new StanzaError('not-authorized', 'log in first'), c.domain)
  if (el.attrs.type === 'get') return registrationForm(el, c.domain)
  if (el.attrs.type !== 'set') return undefined
  try {
    const handle = prep(query.getChildText('username') ?? '')
    if (!HANDLE_PATTERN.test(handle)) throw new StanzaError('not-acceptable', 'a username is 1–64 of a–z, 0–9, ".", "_", "-"')
    const refusal = c.mayRegister()
    if (refusal != null) {
      // counted under its own reason, not again below
      c.reject(refusal.reason)
      return errorReply(el, new StanzaError(refusal.condition, refusal.text), c.domain)
    }
    await c.register(handle, query.getChildText('password') ?? '')
    return xml('iq', { type: 'result', id: el.attrs.id })
  } catch (err) {
    const e = toStanzaError(err)
    c.reject(`register-${e.condition}`)
    return errorReply(el, e, c.domain)
  }
}

function registrationForm (el: Element, domain: string): Element {
  return xml('iq', { type: 'result', id: el.attrs.id }, xml('query', { xmlns: NS_REGISTER },
    xml('instructions', {}, `Choose a username and a password to register on ${domain}.`), xml('username'), xml('password')))
}

/** What making an account needs of the gateway and its node. */
export interface AccountRegistrationComponents {
  accounts: Pick<MeshAccounts, 'get' | 'put'>
  /** open a new user on this node: claims the handle mesh-wide, the identity sealed under `vaultKey` */
  openUser: (handle: string, o: { vaultKey: Uint8Array }) => Promise<{ identity: IdentityKey }>
  closeUser: (handle: string) => Promise<void>
}

/**
 * Make `handle`'s account: claim the handle on the mesh, make its identity (kept on this node), and store
 * the account at the handle's owners. A handle with an account, a handle taken on the mesh or by a user of
 * this node, a bad username or password: `conflict` or `not-acceptable` (conditions.ts).
 */
export async function registerAccount (
  c: AccountRegistrationComponents,
  handle: string,
  password: string
): Promise<void> {
  if (await c.accounts.get(handle) != null) throw new StanzaError('conflict', `${handle} is registered`)
  const created = MeshAccounts.create(handle, password)
  // claims the handle mesh-wide and seals the new identity here under the account key
  const user = await c.openUser(handle, { vaultKey: created.accountKey })
  try {
    await c.accounts.put({ ...created.record, identity: sealIdentity(created.accountKey, user.identity) },
      user.identity)
  } finally {
    await c.closeUser(handle)
  }
}
