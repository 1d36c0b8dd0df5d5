/**
 * The gateway's features as a registry, the way Prosody modules and xmpp.js packages are built: a feature
 * (one XEP, one file in this folder) registers its iq handlers, by namespace, type and addressee, together
 * with what it adds to the server's disco#info and disco#items. An account session answers every iq get
 * and set through the registry, and disco#info is built from it, so what is advertised and what is
 * answered cannot drift apart. An iq nobody registered is answered `service-unavailable`.
 */

import type { Element } from '@xmpp/xml'
import { FeatureConflictError, StanzaError } from '../errors.js'

export type IqType = 'get' | 'set'

/**
 * Whom an iq is to, as the account session reads its `to`: the account itself (no `to`, or one of the
 * account's own JIDs), the server (the domain), the MUC service or one of its rooms, or anyone else (a
 * contact, another domain).
 */
export type Addressee = 'account' | 'server' | 'rooms' | 'others'

/** Every addressee: what the gateway answers whoever the iq is to (a ping). */
export const ANYONE: readonly Addressee[] = ['account', 'server', 'rooms', 'others']

/** The resource that sent an iq, as a handler sees it. */
export interface Requester {
  /** its full JID */
  readonly jid: string
  /** send it a stanza ahead of the iq's result (an archive query's messages) */
  send: (el: Element) => void
  /** XEP-0280: whether it gets copies of what the account's other resources send */
  carbons: (on: boolean) => void
}

/**
 * One iq get or set, as a handler sees it. `A` is what the handlers use of the account asked: the
 * registry is built once per gateway, and each request brings its account's parts.
 */
export interface IqRequest<A = unknown> {
  /** the account session's parts the features use (features/index.ts `AccountFeatureComponents`) */
  readonly account: A
  readonly type: IqType
  /** the iq's `to`; absent: to the account itself */
  readonly to?: string
  readonly addressee: Addressee
  /** the iq's one child element */
  readonly query: Element
  readonly from: Requester
  /** run `fn` once the result has gone out (the roster push that follows a roster set's result) */
  readonly afterResult: (fn: () => void) => void
}

/** Answers an iq: the result's payload, or undefined for an empty result; throws `StanzaError` to refuse it. */
export type IqHandler<A = unknown> = (req: IqRequest<A>) => Promise<Element | undefined> | Element | undefined

/** The handlers of one namespace, for some addressees. */
export interface IqRoute<A = unknown> {
  ns: string
  to: readonly Addressee[]
  get?: IqHandler<A>
  set?: IqHandler<A>
  /**
   * Listed in the server's disco#info (unless it answers only the MUC service and its rooms, which list
   * theirs in their own: muc.ts); false for what is announced otherwise (a stream feature)
   * @default true
   */
  advertised?: boolean
}

/** An item of the server's disco#items: a service the gateway runs. */
export interface DiscoItem {
  jid: string
  name: string
}

/** One feature of the gateway: the iqs it answers and what it advertises besides. */
export interface Feature<A = unknown> {
  /** the specification it implements, for errors */
  name: string
  /** its iq handlers; their namespaces are advertised in disco#info (`IqRoute.advertised`) */
  iq?: ReadonlyArray<IqRoute<A>>
  /**
   * disco#info features of the server and the account it serves other than by an iq: payloads of
   * messages (chat states, receipts), a service at another JID (rooms), iqs answered before login
   */
  vars?: readonly string[]
  /** what it adds to disco#items of the server */
  items?: readonly DiscoItem[]
}

/** What disco#info and disco#items of the server are built from. */
export interface DiscoCatalog {
  /** disco#info features of the server and the account, in the order the features were added */
  features: () => string[]
  items: () => DiscoItem[]
}

/** One registered handler, for a look at what the registry holds. */
export interface RouteInfo {
  feature: string
  addressee: Addressee
  type: IqType
  ns: string
  advertised: boolean
}

const TYPES: readonly IqType[] = ['get', 'set']

export class FeatureRegistry<A = unknown> implements DiscoCatalog {
  private readonly handlers = new Map<string, { handler: IqHandler<A>, info: RouteInfo }>()
  private readonly vars = new Set<string>()
  private readonly services: DiscoItem[] = []

  /** Add a feature; throws `FeatureConflictError` when it claims an iq another feature answers. */
  add (feature: Feature<A>): this {
    for (const route of feature.iq ?? []) {
      const advertised = route.advertised !== false
      for (const addressee of route.to) {
        for (const type of TYPES) {
          const handler = route[type]
          if (handler == null) continue
          const key = keyOf(addressee, type, route.ns)
          const taken = this.handlers.get(key)
          if (taken != null) {
            throw new FeatureConflictError(`${feature.name} and ${taken.info.feature} both answer ${type} ${route.ns} to ${addressee}`)
          }
          this.handlers.set(key,
            { handler, info: { feature: feature.name, addressee, type, ns: route.ns, advertised } })
        }
      }
      if (advertised && route.to.some((to) => to !== 'rooms')) this.vars.add(route.ns)
    }
    for (const v of feature.vars ?? []) this.vars.add(v)
    this.services.push(...feature.items ?? [])
    return this
  }

  features (): string[] { return [...this.vars] }

  items (): DiscoItem[] { return [...this.services] }

  /** Every handler registered. */
  routes (): RouteInfo[] { return [...this.handlers.values()].map((h) => h.info) }

  /** Whether an iq of `type` in `ns` to `addressee` has a handler. */
  answers (addressee: Addressee, type: IqType, ns: string): boolean {
    return this.handlers.has(keyOf(addressee, type, ns))
  }

  /** Answer an iq: its result's payload (undefined: an empty result); `service-unavailable` when nobody serves it. */
  async answer (req: IqRequest<A>): Promise<Element | undefined> {
    const ns = String(req.query.attrs.xmlns ?? '')
    const route = this.handlers.get(keyOf(req.addressee, req.type, ns))
    if (route == null) throw new StanzaError('service-unavailable', `${ns} is not served here`)
    return await route.handler(req)
  }
}

function keyOf (addressee: Addressee, type: IqType, ns: string): string {
  return `${addressee} ${type} ${ns}`
}
