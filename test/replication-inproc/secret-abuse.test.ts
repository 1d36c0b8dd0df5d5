/**
 * Issue 5, bad input, in process (real nodes, real LevelDB; the test holds the users' keys, so it can
 * forge what a malicious peer device or server could): tampered ciphertext, a replayed message, a header
 * far ahead, a second initiation naming a one-time prekey already used, a prekey upload or a bundle with
 * a bad signature. Each is refused with a typed reason, and the session stays usable for the next honest
 * message. One-time prekeys are handed out once each, also when the coordinating owner is gone, and no
 * more than a peer's budget of them (issue 9); an old first message replayed to the device is refused; a
 * bundle older than two signed-prekey rotations is refused, and a fresh one taken from another owner.
 */

import { strict as assert } from 'node:assert'
import type { Message, User } from '../../node/session/user.js'
import type { SecretChat } from '../../node/session/secret.js'
import { Envelope, signEnvelope } from '../../protocol/envelope.js'
import { SecretBody } from '../../protocol/pb/secret.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { openPrekeyUpload, signPrekeyUpload } from '../../protocol/prekeys.js'
import {
  createSecretIdentity, decodeBundle, decodeHeader, encodeBundle, encodeHeader, encodeInitialHeader,
  generateSignedPrekey, initiate, prekeyBundle
} from '../../protocol/secret/index.js'
import { DEFAULT_CLAIMS_PER_PEER_BURST } from '../../node/store/prekey-claims.js'
import { DEFAULT_MAX_BUNDLE_AGE_MS } from '../../node/session/secret-constants.js'
import { generateIdentity } from '../../protocol/envelope.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

describe('secret chats: bad input is refused and the session stays usable', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  let alice: User
  let bob: User
  let chat: SecretChat
  const got: Message[] = []

  /** Rejections counted on bob's node, by reason. */
  async function rejected (reason: string): Promise<number> {
    const text = await mesh.clients[1].registry.metrics()
    const m = new RegExp(`chorus_rejected_total\\{component="store",reason="secret-${reason}"\\} (\\d+)`).exec(text)
    return m == null ? 0 : Number(m[1])
  }

  /**
   * A copy of a real secret envelope of alice's with `change` applied to its body, re-signed
   * by alice (a misbehaving device).
   */
  function forge (env: Envelope, change: (b: SecretBody) => void): Envelope {
    const body = SecretBody.decode(env.body)
    change(body)
    return signEnvelope(
      {
        kind: Envelope.Kind.SECRET,
        recipient: env.recipient,
        body: SecretBody.encode(body),
        timestamp: alice.clock.now(),
        senderHandle: 'alice'
      },
      alice.identity
    )
  }

  /** Send an honest message and wait for bob to show it. */
  async function honest (text: string): Promise<void> {
    await chat.send(text)
    await waitFor(`bob to show ${text}`, () => got.some((m) => m.text === text), { timeoutMs: scaled(10_000) })
  }

  /** Send an honest message, wait for bob to show it, and return its envelope as a server saw it. */
  async function sendCaptured (text: string): Promise<Envelope> {
    const r = await chat.send(text)
    await waitFor(`bob to show ${text}`, () => got.some((m) => m.text === text), { timeoutMs: scaled(10_000) })
    return captured.get(r.id) as Envelope
  }
  const captured = new Map<string, Envelope>()
  /** while set, alice's secret envelopes are captured and not sent (a delayed delivery) */
  let hold = false

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    alice = await mesh.clients[0].openUser('alice')
    bob = await mesh.clients[1].openUser('bob')
    bob.on('message', (m) => { if (m.kind === 'secret') got.push(m) })
    // keep a copy of every secret envelope alice stores (what a server sees): every part of her session
    // sends through the one private `store` (its outbox), so that is where a test stands in the way
    const store = (alice as any).store.bind(alice) as (e: Envelope) => Promise<unknown>
    ;(alice as any).store = async (env: Envelope) => {
      if (env.kind === Envelope.Kind.SECRET) {
        captured.set(Buffer.from(env.id).toString('hex'), env)
        if (hold) return { id: Buffer.from(env.id).toString('hex'), timestamp: 0, storedOn: [] }
      }
      return await store(env)
    }
    chat = await alice.secret.open('bob')
    await honest('first')
  })
  after(async () => { await mesh?.cleanup() })

  it('refuses tampered ciphertext (DecryptError), then decrypts the untampered original', async () => {
    // alice's device encrypts; the envelope is held back, and a tampered copy goes first
    hold = true
    const r = await chat.send('to tamper with')
    hold = false
    const original = captured.get(r.id) as Envelope
    const before = await rejected('decrypt-failed')
    await alice.send(forge(original, (b) => {
      b.ciphertext = new Uint8Array(b.ciphertext)
      b.ciphertext[b.ciphertext.length - 1] ^= 1
    }))
    await waitFor('the tampered message to be refused', async () => (await rejected('decrypt-failed')) > before, { timeoutMs: scaled(10_000) })
    assert.ok(!got.some((m) => m.text === 'to tamper with'))
    await alice.send(original)
    await waitFor('the original to be shown', () => got.some((m) => m.text === 'to tamper with'), { timeoutMs: scaled(10_000) })
    await honest('after tampering')
  })

  it('refuses a replayed message (ReplayError) and decrypts the next honest message', async () => {
    const env = await sendCaptured('to replay')
    const before = await rejected('replay')
    const shown = got.filter((m) => m.text === 'to replay').length
    await alice.send(forge(env, () => {}))
    await waitFor('the replay to be refused', async () => (await rejected('replay')) > before, { timeoutMs: scaled(10_000) })
    assert.equal(got.filter((m) => m.text === 'to replay').length, shown, 'shown once')
    await honest('after the replay')
  })

  it('refuses a header far ahead (TooFarAheadError) without moving the session', async () => {
    const env = await sendCaptured('to push ahead')
    const before = await rejected('too-far-ahead')
    await alice.send(forge(env, (b) => {
      const h = decodeHeader(b.header)
      b.header = encodeHeader({ ...h, n: h.n + 50_000 }) as Uint8Array<ArrayBuffer>
    }))
    await waitFor('the far-ahead header to be refused', async () => (await rejected('too-far-ahead')) > before, { timeoutMs: scaled(10_000) })
    await honest('after the jump')
  })

  it('refuses a second initiation with a one-time prekey already used (PrekeyUsedError)', async () => {
    // a fresh initiation by alice that names the one-time prekey her first one used
    const first = [...captured.values()][0]
    const firstBody = SecretBody.decode(first.body)
    const primary = mesh.clients[0].replication.placement.ownersOf(bob.userId)[0]
    const owner = mesh.servers.find((s) => s.peerId.toString() === primary) ?? mesh.servers[0]
    const res = await owner.replication.call(owner.peerId.toString(), {
      kind: StoreRequest.Kind.PREKEYS_GET,
      user: bob.userId
    })
    const bundle = decodeBundle(res.bundle)
    const { decodeInitialHeader } = await import('../../protocol/secret/index.js')
    const usedId = decodeInitialHeader(firstBody.initial).oneTimePrekeyId
    assert.ok(usedId != null, 'the first initiation used a one-time prekey')
    // its public key no longer matters: bob lacks the private one
    bundle.oneTimePrekey = { id: usedId, publicKey: bundle.signedPrekey.publicKey }
    const x = initiate(createSecretIdentity(alice.identity), bundle)
    const before = await rejected('prekey-used')
    await alice.send(forge(first, (b) => { b.initial = encodeInitialHeader(x.header) as Uint8Array<ArrayBuffer> }))
    await waitFor('the reused prekey to be refused', async () => (await rejected('prekey-used')) > before, { timeoutMs: scaled(10_000) })
    await honest('after the reused prekey')
  })

  it('refuses the first message replayed to the device after the session moved on, and the chat goes on', async () => {
    // a malicious owner hands the device the chat's very first envelope again, as it was signed
    const first = [...captured.values()][0]
    assert.ok(SecretBody.decode(first.body).initial.byteLength > 0, 'it carries the initiation')
    const before = (await rejected('replay')) + (await rejected('initiation-replay'))
    assert.equal(await bob.secret.handle(first), false)
    assert.equal((await rejected('replay')) + (await rejected('initiation-replay')), before + 1, 'counted as a replay')
    await honest('after the replayed first message')
    await (await bob.secret.open('alice')).send('bob answers')
    await waitFor('alice to read bob\'s answer', async () => (await chat.history()).some((m) => m.text === 'bob answers'), { timeoutMs: scaled(10_000) })
  })

  it('owners refuse a prekey upload that is not signed by its identity', async () => {
    const mallory = generateIdentity()
    const id = createSecretIdentity(bob.identity)
    const upload = signPrekeyUpload(mallory, encodeBundle(prekeyBundle(id, generateSignedPrekey(id, 99, Date.now()))),
      [])
    assert.throws(() => openPrekeyUpload(upload), { name: 'BadSignatureError' })
    const owner = mesh.servers[0]
    await assert.rejects(
      mesh.clients[0].replication.call(owner.peerId.toString(), {
        kind: StoreRequest.Kind.PREKEYS_PUT,
        prekeys: upload as Uint8Array<ArrayBuffer>
      }),
      { name: 'RemoteError', status: StoreResponse.Status.REJECTED, reason: 'ERR_BAD_SIGNATURE' }
    )
  })

  it('a client refuses a bundle whose signature does not hold (a server substituting keys)', async () => {
    const carol = await mesh.clients[1].openUser('carol')
    // every owner of carol's prekeys now holds a bundle with its signed prekey swapped for another key
    for (const s of mesh.servers) {
      const stored = await s.replication.context.prekeys.bundle(carol.userId)
      if (stored == null) continue
      const b = decodeBundle(stored.bundle)
      b.signedPrekey.publicKey = createSecretIdentity(generateIdentity()).identityDhKey.publicKey
      await s.replication.context.prekeys.put(carol.userId, rawBundle(b), stored.timestamp + 1, [])
    }
    await assert.rejects(alice.secret.open('carol'), { name: 'BadBundleSignatureError' })
  })

  it(`owners hand one peer at most ${DEFAULT_CLAIMS_PER_PEER_BURST} one-time prekeys at once; past that the bundle alone, counted`, async () => {
    const erin = await mesh.clients[0].openUser('erin')
    // the claims come from bob's node, which has claimed nothing yet
    const asker = mesh.clients[1]
    const owner = asker.replication.placement.ownersOf(erin.userId)[0]
    const counted = async (): Promise<number> => {
      let n = 0
      for (const s of mesh.servers) {
        const m = /chorus_rejected_total\{component="store",reason="prekey-claim-peer-rate"\} (\d+)/.exec(await s.registry.metrics())
        n += m == null ? 0 : Number(m[1])
      }
      return n
    }
    const before = await counted()
    const ids: Array<number | undefined> = []
    for (let i = 0; i < DEFAULT_CLAIMS_PER_PEER_BURST + 3; i++) {
      const res = await asker.replication.call(owner, {
        kind: StoreRequest.Kind.PREKEYS_GET,
        user: erin.userId,
        claimOneTime: true,
        coordinate: true
      })
      ids.push(decodeBundle(res.bundle).oneTimePrekey?.id)
    }
    assert.equal(ids.filter((x) => x != null).length, DEFAULT_CLAIMS_PER_PEER_BURST)
    assert.equal(await counted(), before + 3)
  })

  it('a client refuses a bundle older than two signed-prekey rotations (StaleBundleError), and takes a fresh one from another owner', async () => {
    const frank = await mesh.clients[1].openUser('frank')
    const owners = mesh.clients[0].replication.placement.ownersOf(frank.userId)
    const stale = async (owner: string): Promise<void> => {
      const s = mesh.servers.find((x) => x.peerId.toString() === owner)!
      const stored = await s.replication.context.prekeys.bundle(frank.userId)
      const identity = (frank.secret as any).keys.identity
      const old = generateSignedPrekey(identity, 999, Date.now() - DEFAULT_MAX_BUNDLE_AGE_MS - 3600_000)
      await s.replication.context.prekeys.put(frank.userId, encodeBundle(prekeyBundle(identity, old)),
        (stored?.timestamp ?? 0) + 1, [])
    }
    await stale(owners[0])
    await (await alice.secret.open('frank')).send('through a fresh bundle')
    await waitFor('frank to read it',
      async () => (await (await frank.secret.open('alice')).history()).some((m) => m.text === 'through a fresh bundle'),
      { timeoutMs: scaled(10_000) })
    for (const o of owners) await stale(o)
    const grace = await mesh.clients[0].openUser('grace')
    await assert.rejects(grace.secret.open('frank'), { name: 'StaleBundleError', code: 'ERR_STALE_BUNDLE' })
  })

  it('hands out each one-time prekey once, also after the coordinating owner is gone', async () => {
    const dave = await mesh.clients[1].openUser('dave')
    const claim = async (): Promise<number | undefined> => {
      for (const owner of mesh.clients[0].replication.placement.ownersOf(dave.userId)) {
        try {
          const res = await mesh.clients[0].replication.call(owner, {
            kind: StoreRequest.Kind.PREKEYS_GET,
            user: dave.userId,
            claimOneTime: true,
            coordinate: true
          })
          return decodeBundle(res.bundle).oneTimePrekey?.id
        } catch {}
      }
      return undefined
    }
    // within one peer's claim budget at each owner (DEFAULT_CLAIMS_PER_PEER_BURST), with room for the claims of earlier
    // tests
    const ids = await Promise.all(Array.from({ length: 6 }, claim))
    const primary = mesh.servers.find(
      (s) => s.peerId.toString() === mesh.clients[0].replication.placement.ownersOf(dave.userId)[0]
    )!
    await primary.stop()
    for (let i = 0; i < 4; i++) ids.push(await claim())
    const handed = ids.filter((x) => x != null)
    assert.equal(handed.length, 10, 'every claim got a one-time prekey')
    assert.equal(new Set(handed).size, handed.length, `no one-time prekey was handed out twice: ${handed.join(',')}`)
  })
})

/** Encode a bundle without checking its signatures (what a lying server could store). */
function rawBundle (b: ReturnType<typeof decodeBundle>): Uint8Array {
  const out = Buffer.alloc(1 + 32 + 32 + 64 + 4 + 8 + 32 + 64 + 1)
  let o = 0
  out[o++] = 1
  out.set(b.identityKey, o); o += 32
  out.set(b.identityDhKey, o); o += 32
  out.set(b.identityDhSignature, o); o += 64
  out.writeUInt32BE(b.signedPrekey.id, o); o += 4
  out.writeBigUInt64BE(BigInt(b.signedPrekey.createdAt), o); o += 8
  out.set(b.signedPrekey.publicKey, o); o += 32
  out.set(b.signedPrekey.signature, o); o += 64
  out[o] = 0
  return new Uint8Array(out)
}
