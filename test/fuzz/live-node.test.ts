/**
 * End-to-end fuzz: a real in-process mesh (libp2p over loopback, LevelDB on disk) and a real XMPP gateway
 * socket take a few hundred generated frames and streams from strangers (test/helpers/fuzz-wire.ts and
 * fuzz-xmpp.ts: valid, mutated and junk), on the store protocol, the membership protocol and the
 * gateway's TCP port. Then: nothing crashed and nothing failed untyped (no `internal` refusal, no
 * `internal-server-error` stream error), every refusal was counted (the node's counters went up by what
 * the stranger saw refused), and the node still serves a well-formed request from another peer and a
 * Jabber client. Run counts and seed: test/helpers/fuzz.ts.
 */

import { strict as assert } from 'node:assert'
import { connect } from 'node:net'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import fc from 'fast-check'
import type { ChorusNode } from '../../node/index.js'
import type { User } from '../../node/session/user.js'
import { MEMBERSHIP_PROTOCOL, STORE_PROTOCOL } from '../../protocol/constants.js'
import { Envelope, envelopeIdHex } from '../../protocol/envelope.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { MembershipMessage, Member as PbMember } from '../../protocol/pb/membership.js'
import { MAX_FRAME_BYTES as MAX_MEMBERSHIP_FRAME_BYTES } from '../../node/membership/constants.js'
import { MAX_FRAME_BYTES } from '../../node/replication/constants.js'
import { decodeRequest } from '../../node/replication/rpc.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'
import { jabber, trustSelfSigned } from '../helpers/xmpp.js'
import { LONG_RUNS, LONG_SECONDS, RUNS, SEED, decoderInput, fuzzTimeout } from '../helpers/fuzz.js'
import { membershipMessage, newPeerId, storeRequest } from '../helpers/fuzz-wire.js'
import { HEADER, element, streamText, textPiece } from '../helpers/fuzz-xmpp.js'

/** Inputs per protocol: a few hundred in `npm test`; the long run's count (or ten times the bounded one per minute). */
function inputs (bounded: number): number {
  if (LONG_RUNS != null) return LONG_RUNS
  return LONG_SECONDS != null ? Math.ceil(bounded * 10 * LONG_SECONDS / 60) : bounded
}

/** `n` values of `arb` from this run's seed (offset per use, so two protocols do not share a stream). */
function sample<T> (arb: fc.Arbitrary<T>, n: number, offset: number): T[] {
  return fc.sample(arb, { numRuns: n, seed: SEED + offset })
}

/** `chorus_rejected_total` of `component` by reason, from the node's /metrics. */
async function rejections (node: ChorusNode, component: string): Promise<Map<string, number>> {
  const url = `http://${node.httpAddress() as string}/metrics`
  const res = await fetch(url, { signal: AbortSignal.timeout(scaled(10_000)) })
  const text = await res.text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^chorus_rejected_total\{(.*)\} (\d+(?:\.\d+)?)$/.exec(line)
    if (m == null || !m[1].includes(`component="${component}"`)) continue
    const reason = /reason="([^"]*)"/.exec(m[1])?.[1] ?? ''
    out.set(reason, Number(m[2]))
  }
  return out
}

/** What went up between two counter readings, by reason. */
function delta (before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of after) if (v !== (before.get(k) ?? 0)) out.set(k, v - (before.get(k) ?? 0))
  return out
}

const sum = (m: Map<string, number> | Record<string, number>, keep: (k: string) => boolean = () => true): number =>
  [...(m instanceof Map ? m.entries() : Object.entries(m))].filter(([k]) => keep(k)).reduce((n, [, v]) => n + v, 0)

const S = StoreResponse.Status
const REFUSED = new Set([S.REJECTED, S.FORBIDDEN, S.BUSY, S.ERROR])

/** The target's gateway: plaintext logins (the raw sockets speak no TLS), a short login timeout. */
/**
 * The fuzzed gateway: every generated stream comes from 127.0.0.1, so the per-address budgets (tested in
 * test/chat/xmpp-abuse.test.ts) are raised for the streams to reach the parser and the login.
 */
const GATEWAY = {
  listen: '127.0.0.1:0',
  allowPlaintext: true,
  authTimeoutMs: scaled(1500),
  maxConnectionsPerAddress: 10_000,
  maxPreLoginPerAddress: 10_000,
  loginsPerAddress: 1_000_000
}

/** Refusals the gateway answers with a stream error, beside the `stream-*` ones: its budgets before login. */
const BUDGET_STREAM_ERRORS = new Set([
  'xmpp-address-limit', 'xmpp-pre-login-address-limit', 'xmpp-pre-login-limit', 'xmpp-login-throttled', 'xmpp-connection-limit'
])

describe('fuzz: a live node and gateway take generated input from strangers', function () {
  this.timeout(fuzzTimeout(scaled(120_000)))
  let mesh: Mesh
  let target: ChorusNode
  let attacker: ChorusNode
  let alice: User
  let bob: User
  const streams: Stream[] = []
  let restoreTls: () => void

  /** The target still serves: alice's send to bob reaches the write quorum and is stored on the target. */
  async function stillServing (what: string): Promise<void> {
    const sent = await alice.send('bob', `still serving after ${what}`)
    assert.ok(sent.storedOn.length >= 2, 'the send reached the write quorum')
    await waitFor(`the target to store the send after ${what}`, async () =>
      (await target.replication.mailboxes.range(bob.userId, { limit: 100, newestFirst: true })).entries
        .some((e) => envelopeIdHex(Envelope.decode(e.bytes)) === sent.id))
  }

  async function open (protocol: string): Promise<Stream> {
    const signal = AbortSignal.timeout(scaled(10_000))
    const stream = await attacker.libp2p.dialProtocol(target.peerId, protocol, { signal })
    streams.push(stream)
    return stream
  }

  before(async function () {
    this.timeout(scaled(120_000))
    restoreTls = trustSelfSigned()
    mesh = await startMesh({
      servers: 3,
      clients: 3,
      options: (i) => ({
        replicas: 3,
        writeQuorum: 2,
        ...(i === 1 ? { http: '127.0.0.1:0', xmpp: GATEWAY } : {})
      })
    })
    await waitForServers(mesh.nodes, mesh.servers)
    target = mesh.servers.find((s) => s.httpAddress() != null) as ChorusNode
    attacker = mesh.clients[2]
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
    await stillServing('start')
  })
  afterEach(() => { for (const s of streams.splice(0)) s.abort(new Error('test done')) })
  after(async () => {
    await mesh?.cleanup()
    restoreTls?.()
  })

  it('store protocol: each request answered or its stream aborted, each refusal counted, none internal', async () => {
    const frames = sample(decoderInput(storeRequest), inputs(300), 1)
    const before = await rejections(target, 'store')
    const started = Date.now()
    const wellFormed: Uint8Array[] = []
    let malformed = 0
    for (const f of frames) {
      let ok = true
      try { decodeRequest(f) } catch { ok = false }
      if (ok) { wellFormed.push(f); continue }
      // a frame that does not decode ends its stream (and only its stream): one stream each
      malformed++
      const stream = await open(STORE_PROTOCOL)
      await lpStream(stream, { maxDataLength: MAX_FRAME_BYTES }).write(f)
      await waitFor('the target to abort a malformed store frame\'s stream', () => stream.status !== 'open')
    }
    // the decodable ones pipelined on one stream, as a client does, each with a request id of ours
    const stream = await open(STORE_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    const answers = new Map<number, StoreResponse>()
    for (let i = 0; i < wellFormed.length; i++) {
      await lp.write(StoreRequest.encode({ ...decodeRequest(wellFormed[i]), requestId: i + 1 }))
    }
    while (answers.size < wellFormed.length) {
      const res = StoreResponse.decode((await lp.read({ signal: AbortSignal.timeout(scaled(20_000)) })).subarray())
      answers.set(res.requestId, res)
    }
    const refused = [...answers.values()].filter((r) => REFUSED.has(r.status)).length
    const refusedPuts = [...answers.values()].reduce((n, r) => n + r.refused.length, 0)
    let after = await rejections(target, 'store')
    await waitFor('every malformed store frame to be counted', async () => {
      after = await rejections(target, 'store')
      return (after.get('malformed-frame') ?? 0) - (before.get('malformed-frame') ?? 0) >= malformed
    })
    const d = delta(before, after)
    RUNS.push({
      name: 'live node: store frames',
      runs: frames.length,
      ms: Date.now() - started,
      refused: refused + refusedPuts + malformed,
      accepted: wellFormed.length - refused
    })
    assert.equal(d.get('internal') ?? 0, 0, `no request failed untyped (${JSON.stringify(Object.fromEntries(d))})`)
    assert.equal(d.get('malformed-frame') ?? 0, malformed, 'each malformed frame counted once')
    assert.equal(d.get('read-failed') ?? 0, 0, 'no stream failed otherwise')
    const counted = sum(d, (k) => k !== 'malformed-frame')
    assert.ok(counted >= refused + refusedPuts,
      `${refused} requests, ${refusedPuts} puts refused; ${counted} counted: ${JSON.stringify(Object.fromEntries(d))}`)
    await stillServing('generated store frames')
  })

  it('membership protocol: every frame is answered or refused, and each refusal counted', async () => {
    const self = attacker.peerId.toString()
    // frames from the attacker as itself (a client: in an open mesh a server record would be believed),
    // as someone else (spoofed), and mutated; hearsay only about peers that do not exist
    const strangers = Array.from({ length: 4 }, () => newPeerId())
    const role = fc.constantFrom(PbMember.Role.CLIENT, PbMember.Role.BOOTSTRAP)
    const asSelf = fc.tuple(membershipMessage, role, fc.constantFrom(...strangers))
      .map(([m, r, stranger]) => MembershipMessage.encode({
        ...m,
        mesh: new Uint8Array(0),
        sender: m.sender == null
          ? undefined
          : { ...m.sender, peerId: self, role: r, incarnation: m.sender.incarnation % 1000n, addrs: [], version: 'v' },
        updates: m.updates.map((u) => ({ ...u, peerId: stranger, addrs: [], version: 'fuzz' })),
        target: m.kind === MembershipMessage.Kind.PING_REQ ? stranger : m.target
      }))
    const anyFrame = membershipMessage.map((m) => MembershipMessage.encode(m))
    const frames = sample(fc.oneof(asSelf, decoderInput(asSelf), decoderInput(anyFrame)), inputs(200), 2)
    const stats = target.membership.stats
    const counted = (): number => stats.malformedFrames + stats.refusals
    const before = counted()
    const started = Date.now()
    let refused = 0
    for (const f of frames) {
      const stream = await open(MEMBERSHIP_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: MAX_MEMBERSHIP_FRAME_BYTES })
      await lp.write(f)
      try {
        MembershipMessage.decode((await lp.read({ signal: AbortSignal.timeout(scaled(10_000)) })).subarray())
      } catch {
        refused++
      }
      stream.abort(new Error('done'))
    }
    RUNS.push({
      name: 'live node: membership frames',
      runs: frames.length,
      ms: Date.now() - started,
      refused,
      accepted: frames.length - refused
    })
    await waitFor(`${refused} refused membership frames to be counted`, () => counted() - before >= refused)
    assert.equal(counted() - before, refused, 'each refused frame counted once (malformed or admission refusal)')
    await waitForServers([target], mesh.servers)
    await stillServing('generated membership frames')
  })

  it('XMPP gateway: streams end in a typed stream error or politely, counted; a Jabber client logs in', async () => {
    const gateway = target.gateway
    assert.ok(gateway != null)
    const [host, port] = (target.xmppAddress() as string).split(':')
    const preLogin = fc.oneof(
      fc.tuple(fc.constantFrom('PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256', '__proto__', 'toString', 'X'),
        fc.base64String({ maxLength: 40 }))
        .map(([m, p]) => `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='${m}'>${p}</auth>`),
      fc.tuple(fc.constantFrom('get', 'set', 'x'), fc.string({ maxLength: 10 }), fc.string({ maxLength: 12 }))
        .map(([t, u, p]) => `<iq type='${t}' id='r'><query xmlns='jabber:iq:register'>` +
          `<username>${u}</username><password>${p}</password></query></iq>`),
      // no STARTTLS: after <proceed/> the gateway speaks TLS, and this plaintext client could not see what it counts
      fc.constantFrom("<enable xmlns='urn:xmpp:sm:3'/>", "<r xmlns='urn:xmpp:sm:3'/>",
        "<resume xmlns='urn:xmpp:sm:3' h='1' previd='x'/>")
    )
    const afterHeader = fc.array(fc.oneof(preLogin, element, textPiece), { maxLength: 5 })
      .map((xs) => HEADER + xs.join(''))
    const stream = fc.oneof(streamText, afterHeader)
    const texts = sample(stream, inputs(60), 3)
    const before = { ...gateway.stats().rejected }
    const started = Date.now()
    const seen = await Promise.all(texts.map(async (t) => await rawStream(host, Number(port), t)))
    const after = gateway.stats().rejected
    const d = delta(new Map(Object.entries(before)), new Map(Object.entries(after)))
    const streamErrors = seen.filter((s) => s.includes('<stream:error>')).length
    const failures = /<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/g
    const saslFailures = seen.reduce((n, s) => n + (s.match(failures)?.length ?? 0), 0)
    RUNS.push({
      name: 'live gateway: XMPP streams',
      runs: texts.length,
      ms: Date.now() - started,
      refused: streamErrors,
      accepted: texts.length - streamErrors
    })
    const counts = JSON.stringify(Object.fromEntries(d))
    assert.equal(d.get('stream-internal-server-error') ?? 0, 0, `no stream failed untyped: ${counts}`)
    assert.equal(sum(d, (k) => k.startsWith('stream-') || BUDGET_STREAM_ERRORS.has(k)), streamErrors, `each stream error counted once: ${counts}`)
    assert.ok(sum(d, (k) => k.startsWith('sasl-')) >= saslFailures, 'each SASL failure counted')
    await waitFor('every fuzzed connection to be gone', () => gateway.stats().connections === 0)
    const carol = await jabber(target.xmppAddress() as string, 'carol', { register: true })
    try {
      assert.ok(carol.jid.startsWith('carol@'))
    } finally {
      await carol.stop()
    }
    await stillServing('generated XMPP streams')
  })
})

/**
 * Send `text` on a fresh TCP connection to the gateway and keep the socket open until the gateway closes
 * it (a stream error, the login timeout, or the client's own close tag); what the gateway sent.
 */
async function rawStream (host: string, port: number, text: string): Promise<string> {
  const socket = connect(port, host)
  let got = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => { got += d })
  const closed = new Promise<void>((resolve) => { socket.on('close', () => { resolve() }) })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.write(text)
  // the gateway closes every connection within its login timeout: no deadline of our own is needed
  // beyond mocha's, and a connection it never closed would fail the test by timing out
  await closed
  return got
}
