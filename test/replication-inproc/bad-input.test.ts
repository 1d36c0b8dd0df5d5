/**
 * Issue 3 acceptance, in process: bad input against a live server. Each kind gets its typed error, is
 * counted in /metrics (`chorus_rejected_total{component="store",reason=…}`), leaves nothing bad on
 * disk, and the server goes on serving ordinary sends.
 */

import { strict as assert } from 'node:assert'
import type { Stream } from '@libp2p/interface'
import type { ChorusNode } from '../../node/index.js'
import type { Message, User } from '../../node/session/user.js'
import { Envelope, MAX_BODY_BYTES, envelopeIdHex, generateIdentity, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { STORE_PROTOCOL } from '../../protocol/constants.js'
import { hlcPack } from '../../protocol/hlc.js'
import { StoreRequest, StoreResponse, type Put } from '../../protocol/pb/store.js'
import { MAX_FRAME_BYTES, MAX_PUTS_PER_REQUEST } from '../../node/replication/constants.js'
import { cursorOf } from '../../node/store/mailbox-store.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { entry } from '../helpers/envelopes.js'
import { scaled, waitFor } from '../helpers/wait.js'
import { concat, varint } from '../helpers/frames.js'

/**
 * Envelopes a server takes from one peer per second in this mesh (flood control). Low, so that the debt
 * a full batch leaves (MAX_PUTS_PER_REQUEST - PUT_RATE envelopes) takes seconds to repay, not a moment a
 * busy host may already have spent between two requests.
 */
const PUT_RATE = 20

/** `chorus_rejected_total{component="store",reason}` as the node's /metrics endpoint shows it. */
async function rejected (node: ChorusNode, reason: string): Promise<number> {
  const text = await (await fetch(`http://${node.httpAddress() as string}/metrics`)).text()
  for (const line of text.split('\n')) {
    if (!line.startsWith('chorus_rejected_total{')) continue
    if (line.includes('component="store"') && line.includes(`reason="${reason}"`)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}

/** A signed chat envelope from a fresh identity to `recipient`, and its put for the recipient's mailbox. */
function signedPut (recipient: string, text = 'hello'): { env: Envelope, bytes: Uint8Array<ArrayBuffer>, put: Put } {
  const env = signEnvelope(
    { kind: Envelope.Kind.CHAT, recipient, body: new TextEncoder().encode(text), timestamp: hlcPack(Date.now(), 0) },
    generateIdentity()
  )
  const bytes = Envelope.encode(env)
  return { env, bytes, put: { mailbox: recipient, envelope: bytes, hintFor: [] } }
}

describe('bad input against a live server', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let target: ChorusNode
  let attacker: ChorusNode
  let alice: User
  let bob: User
  const received: Message[] = []
  const streams: Stream[] = []

  /** A STORE request from the attacker straight to the target, over the replication protocol. */
  const store = async (puts: Put[]): Promise<unknown> =>
    attacker.replication.call(target.peerId.toString(), { kind: StoreRequest.Kind.STORE, puts })

  /** Open a raw replication stream from the attacker to the target and write `bytes` as they are. */
  async function sendRaw (bytes: Uint8Array): Promise<Stream> {
    const stream = await attacker.libp2p.dialProtocol(target.peerId, STORE_PROTOCOL, {
      signal: AbortSignal.timeout(scaled(10_000))
    })
    streams.push(stream)
    stream.send(bytes)
    return stream
  }

  /** Send `bytes` raw; resolve once the target has aborted the stream and counted one more malformed frame. */
  async function expectMalformed (what: string, bytes: Uint8Array): Promise<void> {
    const before = await rejected(target, 'malformed-frame')
    const stream = await sendRaw(bytes)
    await waitFor(`${what}: the target to abort the stream`, () => stream.status !== 'open')
    await waitFor(`${what} to be counted`, async () => (await rejected(target, 'malformed-frame')) > before)
    assert.equal(await rejected(target, 'malformed-frame'), before + 1)
  }

  /** The target still serves: a send from alice is stored on it, and bob gets it. */
  async function stillServing (text: string): Promise<void> {
    const sent = await alice.send('bob', text)
    assert.ok(sent.storedOn.length >= 2, 'the send reached the write quorum')
    await waitFor(`the target to store "${text}"`, async () => {
      const page = await target.replication.mailboxes.range(bob.userId, { limit: 100, newestFirst: true })
      return page.entries.some((e) => envelopeIdHex(Envelope.decode(e.bytes)) === sent.id)
    })
    await waitFor(`bob to receive "${text}"`, () => received.some((m) => m.id === sent.id))
  }

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({
      servers: 3,
      clients: 3,
      options: (i) => ({
        replicas: 3,
        writeQuorum: 2,
        replication: { peerPutRate: PUT_RATE },
        ...(i === 1 ? { http: '127.0.0.1:0' } : {})
      })
    })
    await waitForServers(mesh.nodes, mesh.servers)
    target = mesh.servers.find((s) => s.httpAddress() != null) as ChorusNode
    attacker = mesh.clients[2]
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob', { syncIntervalMs: 200 })
    bob.on('message', (m) => received.push(m))
    await stillServing('first')
  })
  afterEach(() => { for (const s of streams.splice(0)) s.abort(new Error('test done')) })
  after(async () => { await mesh?.cleanup() })

  it('refuses a forged signature (a signed envelope with its body changed), storing nothing of the request', async () => {
    const before = await rejected(target, 'err_bad_signature')
    const good = signedPut(bob.userId, 'genuine')
    const forged = signedPut(bob.userId, 'genuine')
    forged.env.body = new TextEncoder().encode('forged!')
    const forgedBytes = Envelope.encode(forged.env)
    await assert.rejects(store([good.put, { mailbox: bob.userId, envelope: forgedBytes, hintFor: [] }]), {
      name: 'RemoteError',
      code: 'ERR_REMOTE',
      status: StoreResponse.Status.REJECTED
    })
    assert.equal(await rejected(target, 'err_bad_signature'), before + 1)
    // all or nothing: the good put of the same request is not stored either
    assert.deepEqual(await target.replication.mailboxes.get(bob.userId, [cursorOf(good.env), cursorOf(forged.env)]), [])
    await stillServing('after a forgery')
  })

  it('stores a replayed envelope once, and shows it once', async () => {
    const sent = await alice.send('bob', 'say it once')
    await waitFor('bob to receive it', () => received.some((m) => m.id === sent.id))
    // acknowledged at W = 2 of 3: the target may be the third owner, whose copy lands a moment later
    const held = async (): Promise<{ bytes: Uint8Array<ArrayBuffer> } | undefined> => {
      const page = await target.replication.mailboxes.range(bob.userId, { limit: 1000, newestFirst: true })
      return page.entries.find((e) => envelopeIdHex(Envelope.decode(e.bytes)) === sent.id)
    }
    await waitFor('the target to hold the envelope', async () => (await held()) != null)
    const original = await held()
    assert.ok(original != null, 'the target holds the envelope')
    const count = await target.replication.mailboxes.count(bob.userId)
    // the same bytes again, twice, straight to the server, and once more through the write path
    await store([{ mailbox: bob.userId, envelope: original.bytes, hintFor: [] }])
    await store([{ mailbox: bob.userId, envelope: original.bytes, hintFor: [] }])
    const env = Envelope.decode(original.bytes)
    await mesh.clients[0].replication.writer.write(env, original.bytes)
    assert.equal(await target.replication.mailboxes.count(bob.userId), count, 'a replay adds nothing')
    await bob.sync()
    assert.equal(received.filter((m) => m.id === sent.id).length, 1, 'bob got it once')
    const history = await bob.history('alice', { limit: 50 })
    assert.equal(history.filter((m) => m.id === sent.id).length, 1, 'the history shows it once')
  })

  it('refuses an oversized body at the sender and at the server', async () => {
    const big = 'x'.repeat(MAX_BODY_BYTES + 1)
    await assert.rejects(alice.send('bob', big), { name: 'EnvelopeTooLargeError', code: 'ERR_ENVELOPE_TOO_LARGE' })
    assert.throws(
      () =>
        signEnvelope(
          {
            kind: Envelope.Kind.CHAT,
            recipient: bob.userId,
            body: new Uint8Array(MAX_BODY_BYTES + 1),
            timestamp: hlcPack(Date.now(), 0)
          },
          generateIdentity()
        ),
      { name: 'EnvelopeTooLargeError', code: 'ERR_ENVELOPE_TOO_LARGE' })
    // built by hand, past the signing check: the server refuses it before it looks at the signature
    const raw = signedPut(bob.userId, 'small')
    raw.env.body = new Uint8Array(MAX_BODY_BYTES + 1)
    const before = await rejected(target, 'err_envelope_too_large')
    await assert.rejects(store([{ mailbox: bob.userId, envelope: Envelope.encode(raw.env), hintFor: [] }]), {
      name: 'RemoteError',
      status: StoreResponse.Status.REJECTED
    })
    assert.equal(await rejected(target, 'err_envelope_too_large'), before + 1)
    assert.deepEqual(await target.replication.mailboxes.get(bob.userId, [cursorOf(raw.env)]), [])
    await stillServing('after an oversized envelope')
  })

  describe('malformed frames on a raw stream', () => {
    const frames: Array<[string, () => Uint8Array]> = [
      ['bytes that are not a protobuf', () => {
        const junk = Uint8Array.from([0x0f, 0xff, 0xff, 0xff])
        return concat(varint(junk.byteLength), junk)
      }],
      ['a truncated protobuf field', () => { const junk = Uint8Array.from([0x12, 0x50, 0x01]); return concat(varint(junk.byteLength), junk) }],
      ['a length prefix just over 8 MiB', () => concat(varint(MAX_FRAME_BYTES + 1), new Uint8Array(64))],
      ['a length prefix of 4 GiB (a varint longer than any allowed)', () => concat(varint(2 ** 32), new Uint8Array(64))]
    ]
    for (const [what, bytes] of frames) {
      it(`aborts the stream and counts ${what}`, async () => {
        await expectMalformed(what, bytes())
      })
    }

    it('goes on serving after them', async () => {
      for (const [what, bytes] of frames) await expectMalformed(what, bytes())
      await stillServing('after malformed frames')
    })
  })

  it('answers BUSY to a peer that floods STORE, while another client\'s sends still succeed', async () => {
    const before = await rejected(target, 'rate-limited')
    const stranger = generateIdentity()
    const mailbox = userIdOf(generateIdentity().publicKey)
    const now = Date.now()
    // a burst of 60 requests of 10 envelopes each: thirty times what the budget allows in a second
    const started = Date.now()
    const burst = Array.from({ length: 60 }, (_, r) => store(Array.from({ length: 10 }, (_, i) => {
      const e = entry(mailbox, stranger, mailbox, now - 1000 + r * 10 + i)
      return { mailbox, envelope: e.bytes, hintFor: [] }
    })))
    const during = bob.send('alice', 'unaffected by the flood')
    const results = await Promise.allSettled(burst)
    const seconds = (Date.now() - started) / 1000
    const busy = results.filter((r) => r.status === 'rejected')
    const ok = results.filter((r) => r.status === 'fulfilled')
    // the bucket holds PUT_RATE envelopes and refills PUT_RATE a second: however long the burst took,
    // no more than that went through
    const allowed = Math.ceil((PUT_RATE + PUT_RATE * seconds) / 10)
    assert.ok(ok.length <= allowed, `${ok.length} requests of 10 went through in ${seconds.toFixed(1)} s; the budget allows ${allowed}`)
    assert.ok(busy.length >= 1, `the burst was refused in part (${busy.length} of ${results.length} in ${seconds.toFixed(1)} s)`)
    assert.ok(ok.length >= 1, 'the budget let the first requests through')
    for (const r of busy) {
      assert.deepEqual(
        { name: (r as PromiseRejectedResult).reason.name, reason: (r as PromiseRejectedResult).reason.reason },
        { name: 'RateLimitedError', reason: 'rate-limited' }
      )
    }
    assert.ok((await rejected(target, 'rate-limited')) >= before + busy.length)
    assert.ok((await target.replication.mailboxes.count(mailbox)) <= ok.length * 10, 'nothing refused was stored')
    const sent = await during
    await waitFor('the flooded server to store the other client\'s send', async () => {
      const page = await target.replication.mailboxes.range(alice.userId, { limit: 100, newestFirst: true })
      return page.entries.some((e) => envelopeIdHex(Envelope.decode(e.bytes)) === sent.id)
    })
    await stillServing('during the flood budget')
  })

  it('takes one batch larger than the per-second budget from a quiet peer, and makes that peer wait after it', async () => {
    // a node that has never stored anything at the target: its budget there is full
    const quiet = await mesh.spawn('client', { replicas: 3, writeQuorum: 2 })
    await waitForServers([quiet], mesh.servers)
    const stranger = generateIdentity()
    const mailbox = userIdOf(generateIdentity().publicKey)
    const now = Date.now()
    const batch = (from: number, n: number): Put[] =>
      Array.from({ length: n },
        (_, i) => ({ mailbox, envelope: entry(mailbox, stranger, mailbox, now - 5000 + from + i).bytes, hintFor: [] }))
    const call = async (puts: Put[]): Promise<unknown> =>
      quiet.replication.call(target.peerId.toString(), { kind: StoreRequest.Kind.STORE, puts })
    assert.ok(MAX_PUTS_PER_REQUEST > PUT_RATE, 'the batch is larger than the budget')
    // a batch the write path may legitimately send (a backlog, a repair push) is not refused forever
    const res = await call(batch(0, MAX_PUTS_PER_REQUEST)) as { stored: number }
    assert.equal(res.stored, MAX_PUTS_PER_REQUEST)
    // but it was paid for: right after it, the same peer must wait
    await assert.rejects(call(batch(1000, 1)), { name: 'RateLimitedError', code: 'ERR_RATE_LIMITED', reason: 'rate-limited' })
  })

  it('refuses a handle taken twice with HandleTakenError', async () => {
    await assert.rejects(attacker.openUser('alice'), { name: 'HandleTakenError', code: 'ERR_HANDLE_TAKEN' })
  })

  it('refuses a send to an unknown handle with UnknownHandleError', async () => {
    await assert.rejects(alice.send('nobody-has-this', 'hello?'), { name: 'UnknownHandleError', code: 'ERR_UNKNOWN_HANDLE' })
    await stillServing('at the end')
  })

  it('refuses a send to a bare userId whose key the session never learnt (UnknownKeyError); a reply to a sender works', async () => {
    const carol = await mesh.clients[1].openUser('carol')
    const carolGot: Message[] = []
    carol.on('message', (m) => carolGot.push(m))
    await assert.rejects(alice.send(carol.userId, 'who are you?'), { name: 'UnknownKeyError', code: 'ERR_UNKNOWN_KEY' })
    // carol writes first: alice learns her key from the message, and can answer her userId
    const hi = await carol.send('alice', 'hi, it is carol')
    const aliceGot: Message[] = []
    alice.on('message', (m) => aliceGot.push(m))
    await waitFor('alice to receive carol\'s message', async () => { await alice.sync(); return aliceGot.some((m) => m.id === hi.id) })
    const reply = await alice.send(carol.userId, 'hello carol')
    await waitFor('carol to read the reply', () => carolGot.some((m) => m.id === reply.id && m.text === 'hello carol'))
    await carol.close()
  })
})
