/**
 * The gateway's feature registry (node/xmpp/features/): an account advertises in disco#info exactly what
 * its features serve, an iq nobody serves is answered `service-unavailable`, and two features cannot claim
 * one iq. The features run over stand-ins of what they use: no account session, no mesh.
 */

import { strict as assert } from 'node:assert'
import xml, { type Element } from '@xmpp/xml'
import { FeatureConflictError, StanzaError } from '../../node/xmpp/errors.js'
import {
  FeatureRegistry, accountFeatures, accountRegistry,
  type AccountFeatureComponents, type Addressee, type IqRequest, type IqType
} from '../../node/xmpp/features/index.js'
import { ping } from '../../node/xmpp/features/ping.js'
import {
  NS_CARBONS, NS_CHATSTATES, NS_DELAY, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_LAST, NS_MAM, NS_MARKERS, NS_MUC,
  NS_MUC_OWNER, NS_PING, NS_RECEIPTS, NS_REGISTER, NS_ROSTER, NS_SESSION, NS_SID
} from '../../node/xmpp/ns.js'

const DOMAIN = 'chorus.localhost'
const SERVICE = `conference.${DOMAIN}`
const ANN = `ann@${DOMAIN}`

/** What the gateway advertised before its features were a registry (router.ts's `FEATURES`). */
const ADVERTISED = [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_LAST, NS_ROSTER, NS_CHATSTATES, NS_SID, NS_REGISTER,
  NS_DELAY, NS_MAM, NS_RECEIPTS, NS_MARKERS, NS_CARBONS, NS_MUC]

/** Stand-ins for what the features use; `log` records what they were asked. */
function components (log: string[] = []): AccountFeatureComponents {
  return {
    roster: {
      items: () => xml('query', { xmlns: NS_ROSTER }),
      set: async () => { log.push('roster set') },
      changed: () => { log.push('roster pushed') }
    },
    contact: () => undefined,
    handleOf: (jid) => jid.split('@')[0],
    archive: { query: async () => xml('fin', { xmlns: NS_MAM, complete: 'true' }) },
    rooms: {
      info: async () => xml('query', { xmlns: NS_DISCO_INFO }),
      items: async () => xml('query', { xmlns: NS_DISCO_ITEMS }),
      admin: async () => {},
      owner: async () => undefined
    }
  }
}

function iq (
  type: IqType,
  addressee: Addressee,
  query: Element,
  to?: string,
  afterResult: IqRequest['afterResult'] = () => {},
  account: AccountFeatureComponents = components()
): Request {
  return { account, type, to, addressee, query, from: { jid: `${ANN}/laptop`, send: () => {}, carbons: () => {} }, afterResult }
}

/** The condition an answer was refused with, or 'answered'. */
/** The gateway's registry, and a request to it, carrying its account's parts. */
type Registry = FeatureRegistry<AccountFeatureComponents>
type Request = IqRequest<AccountFeatureComponents>

async function outcome (registry: Registry, req: Request): Promise<string> {
  try {
    await registry.answer(req)
    return 'answered'
  } catch (err) {
    assert.ok(err instanceof StanzaError, `a StanzaError, not ${String(err)}`)
    return err.condition
  }
}

/** The payload of an answer that has one. */
async function payload (registry: Registry, req: Request): Promise<Element> {
  const got = await registry.answer(req)
  assert.ok(got != null, 'a payload')
  return got
}

const sorted = (list: Iterable<string>): string[] => [...list].sort()

describe('xmpp features (unit)', () => {
  it('advertises exactly what its features serve: the namespaces they answer iqs in, and what they declare besides', async () => {
    const registry = accountRegistry(SERVICE)
    const advertised = registry.features()
    assert.deepEqual(sorted(advertised), sorted(ADVERTISED), 'what disco#info lists')
    assert.equal(new Set(advertised).size, advertised.length, 'each once')

    const routes = registry.routes()
    // every namespace answered (but at the rooms only, which list theirs, or announced otherwise) is advertised
    for (const r of routes) {
      if (r.addressee === 'rooms' || !r.advertised) continue
      assert.ok(advertised.includes(r.ns), `${r.feature} answers ${r.type} ${r.ns} to ${r.addressee}, unadvertised`)
    }
    // what is advertised without an iq behind it is what the features declare: message payloads, the MUC
    // service, registration before login
    const answered = new Set(routes.filter((r) => r.addressee !== 'rooms').map((r) => r.ns))
    const declared = accountFeatures(SERVICE, registry).flatMap((f) => f.vars ?? [])
    assert.deepEqual(sorted(advertised.filter((ns) => !answered.has(ns))), sorted(declared))
    assert.deepEqual(sorted(declared),
      sorted([NS_CHATSTATES, NS_SID, NS_DELAY, NS_RECEIPTS, NS_MARKERS, NS_MUC, NS_REGISTER]))

    // and each advertised iq is answered by its feature, never service-unavailable
    for (const ns of answered) {
      const r = routes.find((x) => x.ns === ns && x.addressee !== 'rooms')
      assert.ok(r != null)
      const to = r.addressee === 'server' ? DOMAIN : r.addressee === 'others' ? `bob@${DOMAIN}` : undefined
      const got = await outcome(registry, iq(r.type, r.addressee, xml('query', { xmlns: ns }), to))
      assert.notEqual(got, 'service-unavailable', `${r.type} ${ns} to ${r.addressee}`)
    }
  })

  it('answers service-unavailable to an iq in a namespace nobody serves, or to whom or of a type it is not served for', async () => {
    const registry = accountRegistry(SERVICE)
    const refused = async (type: IqType, addressee: Addressee, ns: string | undefined, to?: string): Promise<string> =>
      await outcome(registry, iq(type, addressee, xml('query', ns == null ? {} : { xmlns: ns }), to))
    assert.equal(await refused('get', 'server', 'urn:example:nothing', DOMAIN), 'service-unavailable')
    assert.equal(await refused('get', 'account', undefined), 'service-unavailable', 'no namespace')
    assert.equal(await refused('get', 'others', NS_ROSTER, `bob@${DOMAIN}`), 'service-unavailable', 'another user\'s roster')
    assert.equal(await refused('set', 'server', NS_DISCO_INFO, DOMAIN), 'service-unavailable', 'disco#info is a get')
    assert.equal(await refused('get', 'account', NS_MUC_OWNER), 'service-unavailable', 'muc#owner is a room\'s')
    assert.equal(await refused('set', 'account', NS_REGISTER), 'service-unavailable', 'registration is before login only')
    assert.equal(await refused('get', 'rooms', NS_MUC_OWNER, SERVICE), 'service-unavailable', 'the room service has no owner form')
    assert.equal(await refused('get', 'rooms', NS_MUC_OWNER, `team@${SERVICE}`), 'answered', 'a room has')
    assert.equal(await refused('get', 'rooms', NS_PING, `team@${SERVICE}`), 'answered', 'a ping to a room (XEP-0410)')
  })

  it('builds disco#info and disco#items of the server and the account from the registry', async () => {
    const registry = accountRegistry(SERVICE)
    const info = async (addressee: Addressee, to?: string): Promise<Element> =>
      await payload(registry, iq('get', addressee, xml('query', { xmlns: NS_DISCO_INFO }), to))
    const server = await info('server', DOMAIN)
    assert.equal(server.getChild('identity')?.attrs.category, 'server')
    assert.deepEqual(server.getChildren('feature').map((f) => f.attrs.var), registry.features())
    assert.equal((await info('account')).getChild('identity')?.attrs.category, 'server', 'no `to`: the client asks its server')
    const account = await info('account', ANN)
    assert.equal(account.getChild('identity')?.attrs.category, 'account')
    assert.deepEqual(account.getChildren('feature').map((f) => f.attrs.var), registry.features())

    const items = async (addressee: Addressee, to?: string): Promise<string[]> =>
      (await payload(registry, iq('get', addressee, xml('query', { xmlns: NS_DISCO_ITEMS }), to))).getChildren('item').map(
        (i) => String(i.attrs.jid)
      )
    assert.deepEqual(await items('server', DOMAIN), [SERVICE], 'the MUC service')
    assert.deepEqual(await items('account', ANN), [])
    assert.deepEqual(await items('others', `bob@${DOMAIN}`), [])
  })

  it('refuses a feature that claims an iq another one answers', () => {
    const pong = (): undefined => undefined
    const claim = (type: IqType): FeatureRegistry => new FeatureRegistry().add(ping())
      .add({ name: 'another ping', iq: [type === 'get' ? { ns: NS_PING, to: ['server'], get: pong } : { ns: NS_PING, to: ['server'], set: pong }] })
    assert.throws(() => claim('get'), (err: unknown) => err instanceof FeatureConflictError && err.code === 'ERR_XMPP_FEATURE_CONFLICT')
    assert.doesNotThrow(() => claim('set'), 'another type')
  })

  it('pushes a roster set after its result', async () => {
    const log: string[] = []
    const registry = accountRegistry(SERVICE)
    const after: Array<() => void> = []
    const set = xml('query', { xmlns: NS_ROSTER }, xml('item', { jid: `bob@${DOMAIN}` }))
    await registry.answer(iq('set', 'account', set, undefined, (fn) => { after.push(fn) }, components(log)))
    assert.deepEqual(log, ['roster set'], 'nothing pushed before the result')
    for (const fn of after) fn()
    assert.deepEqual(log, ['roster set', 'roster pushed'])
  })

  it('leaves the legacy session iq out of disco#info (it is a stream feature) and answers it', async () => {
    const registry = accountRegistry(SERVICE)
    assert.ok(!registry.features().includes(NS_SESSION))
    assert.equal(await outcome(registry, iq('set', 'account', xml('session', { xmlns: NS_SESSION }))), 'answered')
  })
})
