/**
 * Fuzzing the wire decoders a stranger reaches, one layer down from the node: store frames, envelopes,
 * certificates, revocations, membership frames, handle claims, gateway account records, prekey uploads,
 * secret-chat headers, room and roster bodies, live frames and the relay's gossipsub validator. Each gets
 * valid encodings, the same mutated (bits flipped, cut, fields repeated or inserted), protobuf-shaped junk
 * and random bytes, and for signed objects arbitrary field values signed properly (so the checks behind
 * the signature are reached too). Every input decodes or is refused with a typed error, never a
 * TypeError or RangeError. Runs and seed: test/helpers/fuzz.ts.
 */

import { strict as assert } from 'node:assert'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import fc from 'fast-check'
import {
  checkCertificate, checkRevocation, decodeCertificate, decodeRevocation, meshId
} from '../../protocol/admission.js'
import { signAccount, verifyAccount } from '../../protocol/account.js'
import { Envelope, SenderKeyCache, openEnvelope } from '../../protocol/envelope.js'
import { verifyHandleClaim } from '../../protocol/handle.js'
import { GatewayAccount, HandleClaim, StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { MembershipMessage } from '../../protocol/pb/membership.js'
import { openPrekeyUpload, signPrekeyUpload } from '../../protocol/prekeys.js'
import { verifyReadAuth } from '../../protocol/read-auth.js'
import { decodeRoomEvent, encodeRoomEvent } from '../../protocol/room-events.js'
import { decodePresence, decodeRosterItem } from '../../protocol/roster.js'
import { Presence, RoomEvent, RosterItem } from '../../protocol/pb/chat.js'
import {
  createSecretIdentity, decodeBundle, decodeHeader, decodeInitialHeader, encodeBundle, encodeHeader,
  encodeInitialHeader, generateOneTimePrekeys, generateSignedPrekey, initiate, prekeyBundle
} from '../../protocol/secret/index.js'
import { LiveFrame } from '../../protocol/pb/live.js'
import { inboxTopicOf } from '../../protocol/topics.js'
import { decodeRequest, decodeResponse } from '../../node/replication/rpc.js'
import { decodeLiveFrame } from '../../node/relay/live.js'
import { Relay } from '../../node/relay/relay.js'
import { fromPb } from '../../node/membership/member.js'
import { Admission } from '../../node/membership/admission.js'
import { MeshAccounts } from '../../node/xmpp/accounts.js'
import { MalformedFrameError } from '../../node/errors.js'
import {
  PROTOTYPE_NAMES, decodeOrRefuse, decodeOrRefuseAsync, decoderInput, fuzz, fuzzAsync, fuzzTimeout
} from '../helpers/fuzz.js'
import {
  MEMBERSHIP_LIMITS, NOW, NO_REVOCATIONS, account, bytes, claim, enumOf, identities, mailbox, membershipFrame, mesh,
  now, peerIds, pick, readAuth, sized, signedCertificate, signedEnvelope, signedRevocation, storeRequest,
  storeResponse, text, u64, users, validCertificate, validEnvelope, validRevocation
} from '../helpers/fuzz-wire.js'

// ---- secret chats ------------------------------------------------------------------------------

const secretId = createSecretIdentity(identities[0])
const signedPrekey = generateSignedPrekey(secretId, 7, NOW)
const oneTime = generateOneTimePrekeys(1, 2)
const bundleBytes = encodeBundle(prekeyBundle(secretId, signedPrekey, oneTime[0]))
const initiation = initiate(createSecretIdentity(identities[1]), prekeyBundle(secretId, signedPrekey))
const initialHeader = encodeInitialHeader(initiation.header)
const uploadBytes = signPrekeyUpload(identities[0], encodeBundle(prekeyBundle(secretId, signedPrekey)),
  oneTime.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })), NOW)

/** A record of the shape a login reads (node/xmpp/accounts.ts), with one field at any depth replaced. */
function accountShapes (): fc.Arbitrary<Uint8Array> {
  const cred = { salt: 'c2FsdA==', iterations: 4096, storedKey: 'a2V5', serverKey: 'a2V5' }
  const shaped = {
    v: 1,
    createdAt: NOW,
    scram: { sha1: cred, sha256: cred },
    wrapped: { sha1: 'd3JhcA==', sha256: 'd3JhcA==' },
    identity: 'aWQ='
  }
  const paths = [
    ['v'], ['handle'], ['scram'], ['scram', 'sha1'], ['scram', 'sha256', 'iterations'], ['scram', 'sha1', 'salt'],
    ['wrapped'], ['wrapped', 'sha256'], ['identity'], ['__proto__']
  ]
  const change = fc.option(fc.tuple(fc.constantFrom(...paths), fc.anything()), { nil: undefined })
  return fc.tuple(fc.constantFrom('alice', 'alice', 'bob'), change).map(([handle, c]) => {
    const j: any = structuredClone({ ...shaped, handle })
    if (c != null) {
      const [path, value] = c
      let at = j
      for (const k of path.slice(0, -1)) at = at[k]
      at[path[path.length - 1]] = value
    }
    return new TextEncoder().encode(JSON.stringify(j) ?? 'null')
  })
}

describe('fuzz: wire decoders a stranger reaches', function () {
  this.timeout(fuzzTimeout())

  it('store requests and responses decode or are refused as malformed frames', () => {
    fuzz('store request: decodeRequest', decoderInput(storeRequest), 400, (b, t) => {
      const req = decodeOrRefuse(t, () => decodeRequest(b))
      if (req != null) StoreRequest.encode(req)
    })
    fuzz('store response: decodeResponse', decoderInput(storeResponse), 300, (b, t) => {
      decodeOrRefuse(t, () => decodeResponse(b))
    })
  })

  it('envelopes open or are refused with typed errors, with and without the key cache', () => {
    const keys = new SenderKeyCache(8, 64)
    fuzz('envelope: openEnvelope', decoderInput(fc.oneof(validEnvelope, signedEnvelope)), 400, (b, t) => {
      const a = decodeOrRefuse(t, () => openEnvelope(b))
      const c = decodeOrRefuse(t, () => openEnvelope(b, keys))
      assert.equal(a == null, c == null, 'the cache does not change the verdict')
    })
  })

  it('certificates decode and check, or are refused with an AdmissionError', () => {
    const input = fc.tuple(decoderInput(fc.oneof(validCertificate, signedCertificate)), pick(peerIds), now)
    fuzz('certificate: decodeCertificate + checkCertificate', input, 400, ([b, peer, at], t) => {
      decodeOrRefuse(t, () => checkCertificate(decodeCertificate(b), mesh.publicKey, peer, at, NO_REVOCATIONS))
    })
  })

  it('revocations decode and check, or are refused with an AdmissionError', () => {
    const input = fc.tuple(decoderInput(fc.oneof(validRevocation, signedRevocation)), now)
    fuzz('revocation: decodeRevocation + checkRevocation', input, 400, ([b, at], t) => {
      decodeOrRefuse(t, () => checkRevocation(decodeRevocation(b), mesh.publicKey, at))
    })
  })

  it('membership frames: decode, member records, mesh, certificates and revocations as a node takes them', () => {
    let clock = NOW
    const admission = new Admission({ selfId: peerIds[0], now: () => clock }, { mesh: meshId(mesh.publicKey) })
    const input = fc.tuple(decoderInput(membershipFrame), now)
    fuzz('membership frame: decode + fromPb + admission', input, 400, ([b, at], t) => {
      clock = at
      decodeOrRefuse(t, () => {
        const msg = carried(() => MembershipMessage.decode(b, { limits: MEMBERSHIP_LIMITS }))
        admission.checkMesh(peerIds[1], msg.mesh)
        const sender = fromPb(msg.sender)
        for (const r of msg.revocations) admission.acceptRevocation(r)
        if (sender.role === 'server') admission.admitServer(sender.peerId, sender.certificate ?? new Uint8Array(0))
        msg.updates.map(fromPb)
        return msg
      })
    })
    assert.ok(admission.revocationCount <= 4096)
  })

  it('handle claims and read proofs verify or are refused', () => {
    fuzz('handle claim: verifyHandleClaim', decoderInput(claim.map((c) => HandleClaim.encode(c))), 300, (b, t) => {
      decodeOrRefuse(t, () => verifyHandleClaim(carried(() => HandleClaim.decode(b))))
    })
    const keys = new SenderKeyCache(8, 64)
    fuzz('read proof: verifyReadAuth', fc.tuple(readAuth, mailbox), 300, ([a, m], t) => {
      decodeOrRefuse(t, () => verifyReadAuth(a, m, NOW, keys))
    })
  })

  it('gateway account records verify and parse, or are passed over, as a gateway reads them from owners', async () => {
    fuzz('account record: verifyAccount', decoderInput(account.map((a) => GatewayAccount.encode(a))), 300, (b, t) => {
      decodeOrRefuse(t, () => verifyAccount(carried(() => GatewayAccount.decode(b))))
    })
    // records signed by their own key with any content: what an owner may hand back for a handle
    const anyJson = fc.record({
      v: fc.constantFrom(1, 2, '1'),
      handle: fc.constantFrom('alice', 'bob'),
      scram: fc.anything(),
      wrapped: fc.anything(),
      identity: fc.anything()
    }).map((j) => new TextEncoder().encode(JSON.stringify(j)))
    const record = fc.oneof(fc.json().map((j) => new TextEncoder().encode(j)), anyJson, bytes(100))
      .filter((r) => r.byteLength > 0)
    const signed = (handles: fc.Arbitrary<string>, records: fc.Arbitrary<Uint8Array>): fc.Arbitrary<GatewayAccount> =>
      fc.tuple(handles, fc.nat({ max: 2 }), u64, records).map(([h, who, v, r]) => signAccount(h, identities[who], v, r))
    const decoded = decoderInput(account.map((a) => GatewayAccount.encode(a)))
      .map((b) => { try { return GatewayAccount.decode(b) } catch { return undefined } })
    const answer = fc.oneof(
      signed(fc.constantFrom('alice', 'alice', 'bob'), accountShapes()),
      signed(fc.constantFrom('alice', 'bob'), record),
      decoded
    )
    const asked = fc.oneof(fc.constant('alice'), fc.constantFrom('bob', ...PROTOTYPE_NAMES))
    const input = fc.tuple(fc.array(answer, { minLength: 1, maxLength: 3 }), asked)
    await fuzzAsync('account record: MeshAccounts.get from owners', input, 300, async ([answers, handle], t) => {
      const replication = {
        placement: { ownersOfHandle: () => answers.map((_, i) => `owner-${i}`) },
        call: async (owner: string) => ({ status: StoreResponse.Status.OK, account: answers[Number(owner.slice(6))] })
      }
      const accounts = new MeshAccounts(() => replication as any)
      // a gateway passes over what does not verify or parse: undefined is its refusal
      const got = await decodeOrRefuseAsync({ refused: 0, accepted: 0 }, async () => await accounts.get(handle))
      if (got == null) t.refused++
      else t.accepted++
    })
  })

  it('prekey uploads, bundles and secret-chat headers decode or are refused', () => {
    const header = encodeHeader({ dh: oneTime[1].keyPair.publicKey, pn: 3, n: 9 })
    const cases: Array<[string, Uint8Array, (b: Uint8Array) => unknown, number]> = [
      ['prekey upload: openPrekeyUpload', uploadBytes, openPrekeyUpload, 300],
      ['secret: decodeBundle', bundleBytes, decodeBundle, 300],
      ['secret: decodeInitialHeader', initialHeader, decodeInitialHeader, 300],
      ['secret: decodeHeader', header, decodeHeader, 200]
    ]
    for (const [name, valid, decode, runs] of cases) {
      fuzz(name, decoderInput(fc.constant(valid)), runs, (b, t) => { decodeOrRefuse(t, () => decode(b)) })
    }
  })

  it('room events, presence and roster bodies decode or are refused', () => {
    const roomEvent = fc.record({
      action: enumOf<RoomEvent.Action>(RoomEvent.Action),
      name: text,
      subject: text,
      target: fc.oneof(pick(users), text),
      targetHandle: text,
      nonce: sized,
      role: enumOf<RoomEvent.Role>(RoomEvent.Role),
      public: fc.boolean()
    }).map((e) => RoomEvent.encode(e))
    const create = encodeRoomEvent({ action: RoomEvent.Action.CREATE, nonce: new Uint8Array(16), name: 'r' })
    fuzz('room event: decodeRoomEvent', decoderInput(fc.oneof(roomEvent, fc.constant(create))), 300, (b, t) => {
      decodeOrRefuse(t, () => decodeRoomEvent(b))
    })
    const presence = fc.record({
      state: enumOf<Presence.State>(Presence.State),
      status: fc.string({ maxLength: 300 }),
      type: enumOf<Presence.Type>(Presence.Type),
      lastSeen: u64
    }).map((p) => Presence.encode(p))
    fuzz('presence: decodePresence', decoderInput(presence), 300, (b, t) => {
      decodeOrRefuse(t, () => decodePresence(b))
    })
    const item = fc.record({
      contact: fc.oneof(pick(users), text),
      handle: text,
      subscription: enumOf<RosterItem.Subscription>(RosterItem.Subscription),
      pendingOut: fc.boolean(),
      pendingIn: fc.boolean(),
      removed: fc.boolean()
    }).map((i) => RosterItem.encode(i))
    fuzz('roster item: decodeRosterItem', decoderInput(item), 300, (b, t) => {
      decodeOrRefuse(t, () => decodeRosterItem(b))
    })
  })

  it('live frames decode or are refused, and the relay validator judges every envelope without throwing', async () => {
    const liveFrame = fc.tuple(fc.oneof(validEnvelope, signedEnvelope), fc.boolean())
      .map(([envelope, relay]) => LiveFrame.encode({ envelope, relay }))
    fuzz('live frame: decodeLiveFrame', decoderInput(liveFrame), 300, (b, t) => {
      decodeOrRefuse(t, () => decodeLiveFrame(b))
    })

    const { relay, validators, rejected } = await stubRelay()
    for (const u of users) relay.subscribeInbox(u, () => {})
    const topics = [...validators.keys()]
    assert.ok(topics.includes(inboxTopicOf(users[0])))
    // the topic is the envelope's own shard half the time (what an honest relay forwards), any other otherwise
    const envelopes = decoderInput(fc.oneof(validEnvelope, signedEnvelope))
    const input = fc.tuple(fc.boolean(), pick(topics), envelopes).map(([own, other, data]) => {
      let topic = other
      try { if (own) topic = inboxTopicOf(Envelope.decode(data).recipient) } catch {}
      return [topics.includes(topic) ? topic : other, data] as const
    })
    const verdicts = [TopicValidatorResult.Accept, TopicValidatorResult.Reject, TopicValidatorResult.Ignore]
    await fuzzAsync('relay: gossipsub topic validator', input, 400, async ([topic, data], t) => {
      const before = rejected.length
      const verdict = await (validators.get(topic) as Validator)(peerIds[1], { topic, data })
      assert.ok(verdicts.includes(verdict))
      if (verdict === TopicValidatorResult.Accept) {
        t.accepted++
        assert.equal(rejected.length, before)
      } else {
        t.refused++
        assert.equal(rejected.length, before + 1, 'each refusal is counted once')
      }
    })
    await relay.stop()
  })
})

/**
 * Decode a message the way the frame that carries it is decoded (node/replication/rpc.ts, membership.ts):
 * protons' own failure becomes a `MalformedFrameError`.
 */
function carried<T> (decode: () => T): T {
  try {
    return decode()
  } catch (err: any) {
    throw new MalformedFrameError(`does not decode: ${String(err.message)}`)
  }
}

type Validator = (from: string, msg: { topic: string, data: Uint8Array }) => Promise<TopicValidatorResult>

/** A Relay over a stub libp2p: its topic validators are what gossipsub would call. */
async function stubRelay (): Promise<{ relay: Relay, validators: Map<string, Validator>, rejected: string[] }> {
  const validators = new Map<string, Validator>()
  const rejected: string[] = []
  const no = async (): Promise<never> => { throw new Error('no network here') }
  const pubsub = {
    topicValidators: validators,
    score: { params: { topics: {} } },
    subscribe () {},
    unsubscribe () {},
    getSubscribers: () => [],
    addEventListener () {},
    removeEventListener () {},
    publish: async () => ({ recipients: [] })
  }
  const libp2p = {
    services: { pubsub },
    peerId: { toString: () => peerIds[0] },
    getConnections: () => [],
    handle: async () => {},
    unhandle: async () => {},
    dialProtocol: no,
    dial: no
  }
  const relay = new Relay({
    libp2p: libp2p as any,
    placement: { ownersOfTopic: () => [] } as any,
    isServer: true,
    keys: new SenderKeyCache(16, 256),
    maxDriftMs: 60_000,
    reject: (r) => { rejected.push(r) }
  })
  await relay.start()
  return { relay, validators, rejected }
}
