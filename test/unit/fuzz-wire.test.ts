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
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import fc from 'fast-check'
import {
  Certificate, Delegation, Revocation, checkCertificate, checkRevocation, decodeCertificate, decodeRevocation, meshId, signCertificate,
  signDelegation, signRevocation, type RevocationList
} from '../../protocol/admission.js'
import { signAccount, verifyAccount } from '../../protocol/account.js'
import { ed25519Generate, ed25519Sign } from '../../protocol/ed25519.js'
import { Envelope, SenderKeyCache, domainSeparated, generateIdentity, openEnvelope, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { signHandleClaim, verifyHandleClaim } from '../../protocol/handle.js'
import { hlcPack } from '../../protocol/hlc.js'
import { GatewayAccount, HandleClaim, StoreRequest, StoreResponse, type ReadAuth } from '../../protocol/pb/store.js'
import { MembershipMessage, Member as PbMember } from '../../protocol/pb/membership.js'
import { openPrekeyUpload, signPrekeyUpload } from '../../protocol/prekeys.js'
import { verifyReadAuth, signReadAuth } from '../../protocol/read-auth.js'
import { decodeRoomEvent, encodeRoomEvent } from '../../protocol/room-events.js'
import { decodePresence, decodeRosterItem } from '../../protocol/roster.js'
import { Presence, RoomEvent, RosterItem } from '../../protocol/pb/chat.js'
import {
  createSecretIdentity, decodeBundle, decodeHeader, decodeInitialHeader, encodeBundle, encodeHeader, encodeInitialHeader,
  generateOneTimePrekeys, generateSignedPrekey, initiate, prekeyBundle
} from '../../protocol/secret/index.js'
import { LiveFrame } from '../../protocol/pb/live.js'
import { inboxTopicOf } from '../../protocol/topics.js'
import { decodeRequest, decodeResponse } from '../../node/replication/rpc.js'
import { decodeLiveFrame } from '../../node/relay/live.js'
import { Relay } from '../../node/relay/relay.js'
import { fromPb } from '../../node/membership/member.js'
import { Admission } from '../../node/membership/admission.js'
import * as C from '../../node/membership/constants.js'
import { MeshAccounts } from '../../node/xmpp/accounts.js'
import { MalformedFrameError } from '../../node/errors.js'
import { decodeOrRefuse, decodeOrRefuseAsync, decoderInput, fuzz, fuzzAsync, fuzzTimeout, PROTOTYPE_NAMES } from '../helpers/fuzz.js'

const NOW = Date.now()
/** An Ed25519 key pair whose bytes are plain ArrayBuffer-backed (what generated pb types hold). */
const keyPair = (): { publicKey: Uint8Array<ArrayBuffer>, privateKey: Uint8Array<ArrayBuffer> } => {
  const k = ed25519Generate()
  return { publicKey: new Uint8Array(k.publicKey), privateKey: new Uint8Array(k.privateKey) }
}
const DAY = 24 * 3600 * 1000

// ---- fixed material: keys are made once, values are generated --------------------------------------

const mesh = keyPair()
const operator = keyPair()
const delegation = signDelegation(mesh.privateKey, operator.publicKey, { name: 'ops', now: NOW - DAY, days: 365 })
const identities = Array.from({ length: 3 }, () => generateIdentity())
const users = identities.map((k) => userIdOf(k.publicKey))
const peerIds = Array.from({ length: 3 }, () => peerIdFromPublicKey(publicKeyFromRaw(ed25519Generate().publicKey)).toString())
const NO_REVOCATIONS: RevocationList = { peerRevokedAt: () => undefined, operatorRevokedAt: () => undefined }

const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs)
type Bytes = Uint8Array<ArrayBuffer>
const own = (b: Uint8Array): Bytes => new Uint8Array(b)
const bytes = (max: number): fc.Arbitrary<Bytes> => fc.uint8Array({ maxLength: max }).map(own)
/** Lengths that sit on and around the bounds decoders check (keys 32, signatures 64, cursors 24 …). */
const sized: fc.Arbitrary<Bytes> = fc.oneof(bytes(80), fc.constantFrom(16, 24, 32, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map(own)))
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, BigInt(NOW), BigInt(NOW + DAY), 8_640_000_000_000_001n))
const text = fc.oneof(fc.string({ maxLength: 80 }), pick(PROTOTYPE_NAMES), pick(users), pick(peerIds), fc.constant('room.general'))
const mailbox = fc.oneof(pick(users), pick(users).map((u) => `${u}.roster`), pick(['room.general', 'room.general.state', '', 'room.', 'x'.repeat(200)]), text)
const now = fc.oneof(fc.constant(NOW), fc.integer({ min: 0, max: 2 ** 47 }))

// ---- envelopes ---------------------------------------------------------------------------------

/** Any value of a protons enum (its names: numbers outside it come from the mutations). */
const enumOf = <E extends string>(e: Record<string, E | unknown>): fc.Arbitrary<E> => fc.constantFrom(...Object.values(e).filter((v): v is E => typeof v === 'string'))
const envelopeKind = enumOf<Envelope.Kind>(Envelope.Kind)

/** Envelopes with any field values, signed by a real identity (so what lies past the signature is reached). */
const signedEnvelope: fc.Arbitrary<Bytes> = fc.record({
  who: fc.nat({ max: identities.length - 1 }), kind: envelopeKind, recipient: fc.oneof(pick(users), text),
  body: bytes(300), timestamp: fc.oneof(fc.constant(hlcPack(NOW, 0)), u64), id: sized, senderHandle: text
}).map((f) => {
  const k = identities[f.who]
  const env: Envelope = { id: f.id, timestamp: f.timestamp, kind: f.kind, senderKey: own(k.publicKey), recipient: f.recipient, body: f.body, signature: new Uint8Array(0), senderHandle: f.senderHandle }
  env.signature = ed25519Sign(k.privateKey, domainSeparated(new TextEncoder().encode('chorus/envelope/v1'), Envelope.encode(env)))
  return own(Envelope.encode(env))
})

/** Envelopes as a client sends them: valid. */
const validEnvelope: fc.Arbitrary<Bytes> = fc.record({ who: fc.nat({ max: 2 }), to: fc.nat({ max: 2 }), body: bytes(200) }).map((f) =>
  own(Envelope.encode(signEnvelope({ kind: Envelope.Kind.CHAT, recipient: users[f.to], body: f.body, timestamp: hlcPack(NOW, 0) }, identities[f.who]))))

// ---- store frames ------------------------------------------------------------------------------

const readAuth: fc.Arbitrary<ReadAuth> = fc.oneof(
  fc.tuple(mailbox, fc.nat({ max: 2 })).map(([m, who]) => signReadAuth(m, identities[who], NOW)),
  fc.record({ publicKey: sized, timestamp: u64, signature: sized })
)
const claim: fc.Arbitrary<HandleClaim> = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,64}$/), fc.nat({ max: 2 }), u64).map(([h, who, t]) => signHandleClaim(h, identities[who], t)),
  fc.record({ handle: text, publicKey: sized, timestamp: u64, signature: sized })
)
const account: fc.Arbitrary<GatewayAccount> = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z0-9]{1,16}$/), fc.nat({ max: 2 }), u64, fc.uint8Array({ minLength: 1, maxLength: 300 }))
    .map(([h, who, v, r]) => signAccount(h, identities[who], v, r)),
  fc.record({ handle: text, publicKey: sized, version: u64, record: bytes(100), signature: sized })
)
const storeKind = enumOf<StoreRequest.Kind>(StoreRequest.Kind)

/** Store requests of every kind, with fields a handler reads filled from plausible and hostile values. */
const storeRequest: fc.Arbitrary<Bytes> = fc.record({
  kind: storeKind,
  puts: fc.array(fc.record({ mailbox, envelope: fc.oneof(validEnvelope, signedEnvelope), hintFor: fc.array(text, { maxLength: 3 }) }), { maxLength: 3 }),
  mailbox, after: sized, before: sized, limit: fc.nat(), peer: text, newestFirst: fc.boolean(), bucketMs: u64,
  buckets: fc.array(fc.record({ start: u64, count: fc.nat(), hash: sized }), { maxLength: 4 }),
  cursors: fc.array(sized, { maxLength: 4 }), claim, handle: text, coordinate: fc.boolean(), requestId: fc.nat(),
  auth: readAuth, prekeys: bytes(200), user: fc.oneof(pick(users), text), prekeyId: fc.nat(), claimOneTime: fc.boolean(),
  cursorsOnly: fc.boolean(), probes: fc.array(fc.record({ mailbox, auth: readAuth }), { maxLength: 3 }), account
}).map((r) => own(StoreRequest.encode(r)))

const storeResponse: fc.Arbitrary<Bytes> = fc.record({
  status: enumOf<StoreResponse.Status>(StoreResponse.Status), error: text, stored: fc.nat(), envelopes: fc.array(validEnvelope, { maxLength: 2 }),
  cursors: fc.array(sized, { maxLength: 3 }), claim, requestId: fc.nat(), versions: fc.array(u64, { maxLength: 3 }), account
}).map((r) => own(StoreResponse.encode(r)))

// ---- admission ---------------------------------------------------------------------------------

/** Certificates with any field values, signed by the mesh key or a delegated operator. */
const signedCertificate: fc.Arbitrary<Bytes> = fc.record({
  meshOk: fc.boolean(), peerId: fc.oneof(pick(peerIds), text), role: fc.oneof(fc.constant('server'), text), capacity: fc.nat(),
  seed: sized, issuedAt: u64, expiresAt: u64, delegated: fc.boolean(), delegation: fc.option(fc.record({
    mesh: fc.oneof(fc.constant(mesh.publicKey), sized), operator: fc.oneof(fc.constant(operator.publicKey), sized), name: text, issuedAt: u64, expiresAt: u64
  }), { nil: undefined })
}).map((f) => {
  const d: Delegation | undefined = f.delegation == null ? (f.delegated ? delegation : undefined) : { ...f.delegation, signature: new Uint8Array(0) }
  if (d != null && f.delegation != null) d.signature = ed25519Sign(mesh.privateKey, Buffer.concat([Buffer.from('chorus/admission/delegation/v1\0'), Delegation.encode(d)]))
  const cert: Certificate = {
    mesh: f.meshOk ? mesh.publicKey : operator.publicKey, peerId: f.peerId, role: f.role, capacity: f.capacity, seed: f.seed,
    issuedAt: f.issuedAt, expiresAt: f.expiresAt, delegation: d, signature: new Uint8Array(0)
  }
  const key = d != null ? operator.privateKey : mesh.privateKey
  cert.signature = ed25519Sign(key, Buffer.concat([Buffer.from('chorus/admission/certificate/v1\0'), Certificate.encode(cert)]))
  return own(Certificate.encode(cert))
})

const validCertificate: fc.Arbitrary<Bytes> = fc.record({ peer: fc.nat({ max: 2 }), capacity: fc.integer({ min: 1, max: 1000 }), delegated: fc.boolean() })
  .map((f) => own(Certificate.encode(signCertificate(f.delegated ? { privateKey: operator.privateKey, delegation } : { privateKey: mesh.privateKey },
    { peerId: peerIds[f.peer], capacity: f.capacity, now: NOW - DAY, days: 90 }))))

const signedRevocation: fc.Arbitrary<Bytes> = fc.record({
  peerId: fc.oneof(pick(peerIds), text, fc.constant('')), operator: fc.oneof(fc.constant(new Uint8Array(0) as Bytes), fc.constant(operator.publicKey), sized),
  issuedAt: u64, delegated: fc.boolean(), meshOk: fc.boolean()
}).map((f) => {
  const rev: Revocation = {
    mesh: f.meshOk ? mesh.publicKey : operator.publicKey, peerId: f.peerId, operator: f.operator, issuedAt: f.issuedAt,
    delegation: f.delegated ? delegation : undefined, signature: new Uint8Array(0)
  }
  rev.signature = ed25519Sign(f.delegated ? operator.privateKey : mesh.privateKey, Buffer.concat([Buffer.from('chorus/admission/revocation/v1\0'), Revocation.encode(rev)]))
  return own(Revocation.encode(rev))
})

const validRevocation: fc.Arbitrary<Bytes> = fc.record({ peer: fc.nat({ max: 2 }), delegated: fc.boolean(), at: fc.integer({ min: NOW - DAY, max: NOW }) })
  .map((f) => own(Revocation.encode(signRevocation(f.delegated ? { privateKey: operator.privateKey, delegation } : { privateKey: mesh.privateKey }, { peerId: peerIds[f.peer] }, f.at))))

// ---- membership --------------------------------------------------------------------------------

const member: fc.Arbitrary<PbMember> = fc.record({
  peerId: fc.oneof(pick(peerIds), text), role: enumOf<PbMember.Role>(PbMember.Role), capacity: fc.nat(),
  addrs: fc.array(fc.oneof(fc.constant(own(Uint8Array.of(0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa0))), bytes(20)), { maxLength: 3 }),
  incarnation: u64, state: enumOf<PbMember.State>(PbMember.State), version: text, certificate: fc.oneof(validCertificate, signedCertificate, bytes(40))
})
const membershipFrame: fc.Arbitrary<Bytes> = fc.record({
  kind: enumOf<MembershipMessage.Kind>(MembershipMessage.Kind), sender: member, updates: fc.array(member, { maxLength: 3 }), target: fc.oneof(pick(peerIds), text),
  wallTime: u64, mesh: fc.oneof(fc.constant(mesh.publicKey), sized), revocations: fc.array(fc.oneof(validRevocation, signedRevocation, bytes(40)), { maxLength: 2 })
}).map((m) => own(MembershipMessage.encode(m)))
/** The limits node/membership/membership.ts decodes frames with. */
const MEMBERSHIP_LIMITS = { updates: C.MAX_UPDATES_PER_FRAME, updates$: { addrs: C.MAX_ADDRS_PER_MEMBER }, sender: { addrs: C.MAX_ADDRS_PER_MEMBER }, revocations: C.MAX_REVOCATIONS_PER_FRAME }

// ---- secret chats ------------------------------------------------------------------------------

const secretId = createSecretIdentity(identities[0])
const signedPrekey = generateSignedPrekey(secretId, 7, NOW)
const oneTime = generateOneTimePrekeys(1, 2)
const bundleBytes = encodeBundle(prekeyBundle(secretId, signedPrekey, oneTime[0]))
const initialHeader = encodeInitialHeader(initiate(createSecretIdentity(identities[1]), prekeyBundle(secretId, signedPrekey)).header)
const uploadBytes = signPrekeyUpload(identities[0], encodeBundle(prekeyBundle(secretId, signedPrekey)), oneTime.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })), NOW)

describe('fuzz: wire decoders a stranger reaches', function () {
  this.timeout(fuzzTimeout())

  it('store requests and responses decode or are refused as malformed frames', () => {
    fuzz('store request: decodeRequest', decoderInput(storeRequest), 400, (b, t) => {
      const req = decodeOrRefuse(t, () => decodeRequest(b))
      if (req != null) StoreRequest.encode(req)
    })
    fuzz('store response: decodeResponse', decoderInput(storeResponse), 300, (b, t) => { decodeOrRefuse(t, () => decodeResponse(b)) })
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
    fuzz('revocation: decodeRevocation + checkRevocation', fc.tuple(decoderInput(fc.oneof(validRevocation, signedRevocation)), now), 400, ([b, at], t) => {
      decodeOrRefuse(t, () => checkRevocation(decodeRevocation(b), mesh.publicKey, at))
    })
  })

  it('membership frames: decode, member records, mesh, certificates and revocations as a node takes them', () => {
    let clock = NOW
    const admission = new Admission({ selfId: peerIds[0], now: () => clock }, { mesh: meshId(mesh.publicKey) })
    fuzz('membership frame: decode + fromPb + admission', fc.tuple(decoderInput(membershipFrame), now), 400, ([b, at], t) => {
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
      decodeOrRefuse(t, () => verifyHandleClaim(carried(() => HandleClaim.decode(b))), [])
    })
    const keys = new SenderKeyCache(8, 64)
    fuzz('read proof: verifyReadAuth', fc.tuple(readAuth, mailbox), 300, ([a, m], t) => {
      decodeOrRefuse(t, () => verifyReadAuth(a, m, NOW, keys))
    })
  })

  it('gateway account records verify and parse, or are passed over, as a gateway reads them from owners', async () => {
    // a record signed by its own key with any content: what an owner may hand back for a handle
    const record = fc.oneof(
      fc.json().map((j) => new TextEncoder().encode(j)),
      fc.record({ v: fc.constantFrom(1, 2, '1'), handle: fc.constantFrom('alice', 'bob'), scram: fc.anything(), wrapped: fc.anything(), identity: fc.anything() })
        .map((j) => new TextEncoder().encode(JSON.stringify(j))),
      bytes(100)
    ).filter((r) => r.byteLength > 0)
    const answer = fc.oneof(
      fc.tuple(fc.constantFrom('alice', 'bob'), fc.nat({ max: 2 }), u64, record).map(([h, who, v, r]) => signAccount(h, identities[who], v, r)),
      decoderInput(account.map((a) => GatewayAccount.encode(a))).map((b) => { try { return GatewayAccount.decode(b) } catch { return undefined } })
    )
    fuzz('account record: verifyAccount', decoderInput(account.map((a) => GatewayAccount.encode(a))), 300, (b, t) => {
      decodeOrRefuse(t, () => verifyAccount(carried(() => GatewayAccount.decode(b))))
    })
    await fuzzAsync('account record: MeshAccounts.get from owners', fc.tuple(fc.array(answer, { minLength: 1, maxLength: 3 }), fc.constantFrom('alice', 'bob', ...PROTOTYPE_NAMES)), 300, async ([answers, handle], t) => {
      const replication = {
        placement: { ownersOfHandle: () => answers.map((_, i) => `owner-${i}`) },
        call: async (owner: string) => ({ status: StoreResponse.Status.OK, account: answers[Number(owner.slice(6))] })
      }
      const accounts = new MeshAccounts(() => replication as any)
      await decodeOrRefuseAsync(t, async () => await accounts.get(handle))
    })
  })

  it('prekey uploads, bundles and secret-chat headers decode or are refused', () => {
    fuzz('prekey upload: openPrekeyUpload', decoderInput(fc.constant(uploadBytes)), 300, (b, t) => { decodeOrRefuse(t, () => openPrekeyUpload(b)) })
    fuzz('secret: decodeBundle', decoderInput(fc.constant(bundleBytes)), 300, (b, t) => { decodeOrRefuse(t, () => decodeBundle(b)) })
    fuzz('secret: decodeInitialHeader', decoderInput(fc.constant(initialHeader)), 300, (b, t) => { decodeOrRefuse(t, () => decodeInitialHeader(b)) })
    const header = encodeHeader({ dh: oneTime[1].keyPair.publicKey, pn: 3, n: 9 })
    fuzz('secret: decodeHeader', decoderInput(fc.constant(header)), 200, (b, t) => { decodeOrRefuse(t, () => decodeHeader(b)) })
  })

  it('room events, presence and roster bodies decode or are refused', () => {
    const roomEvent = fc.record({ action: enumOf<RoomEvent.Action>(RoomEvent.Action), name: text, subject: text, target: fc.oneof(pick(users), text), targetHandle: text, nonce: sized.map((b) => new Uint8Array(b)), role: enumOf<RoomEvent.Role>(RoomEvent.Role), public: fc.boolean() })
      .map((e) => RoomEvent.encode(e))
    fuzz('room event: decodeRoomEvent', decoderInput(fc.oneof(roomEvent, fc.constant(encodeRoomEvent({ action: RoomEvent.Action.CREATE, nonce: new Uint8Array(16), name: 'r' })))), 300,
      (b, t) => { decodeOrRefuse(t, () => decodeRoomEvent(b)) })
    const presence = fc.record({ state: enumOf<Presence.State>(Presence.State), status: fc.string({ maxLength: 300 }), type: enumOf<Presence.Type>(Presence.Type), lastSeen: u64 })
      .map((p) => Presence.encode(p))
    fuzz('presence: decodePresence', decoderInput(presence), 300, (b, t) => { decodeOrRefuse(t, () => decodePresence(b)) })
    const item = fc.record({ contact: fc.oneof(pick(users), text), handle: text, subscription: enumOf<RosterItem.Subscription>(RosterItem.Subscription), pendingOut: fc.boolean(), pendingIn: fc.boolean(), removed: fc.boolean() })
      .map((i) => RosterItem.encode(i))
    fuzz('roster item: decodeRosterItem', decoderInput(item), 300, (b, t) => { decodeOrRefuse(t, () => decodeRosterItem(b)) })
  })

  it('live frames decode or are refused, and the relay validator judges every envelope without throwing', async () => {
    const liveFrame = fc.tuple(fc.oneof(validEnvelope, signedEnvelope), fc.boolean()).map(([envelope, relay]) => LiveFrame.encode({ envelope, relay }))
    fuzz('live frame: decodeLiveFrame', decoderInput(liveFrame), 300, (b, t) => { decodeOrRefuse(t, () => decodeLiveFrame(b)) })

    const { relay, validators, rejected } = await stubRelay()
    for (const u of users) relay.subscribeInbox(u, () => {})
    const topics = [...validators.keys()]
    assert.ok(topics.includes(inboxTopicOf(users[0])))
    await fuzzAsync('relay: gossipsub topic validator', fc.tuple(pick(topics), decoderInput(fc.oneof(validEnvelope, signedEnvelope))), 400, async ([topic, data], t) => {
      const before = rejected.length
      const verdict = await (validators.get(topic) as Validator)(peerIds[1], { topic, data })
      assert.ok([TopicValidatorResult.Accept, TopicValidatorResult.Reject, TopicValidatorResult.Ignore].includes(verdict))
      if (verdict === TopicValidatorResult.Accept) { t.accepted++; assert.equal(rejected.length, before) } else { t.refused++; assert.equal(rejected.length, before + 1, 'each refusal is counted once') }
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
  const pubsub = {
    topicValidators: validators, score: { params: { topics: {} } }, subscribe () {}, unsubscribe () {}, getSubscribers: () => [],
    addEventListener () {}, removeEventListener () {}, publish: async () => ({ recipients: [] })
  }
  const libp2p = { services: { pubsub }, peerId: { toString: () => peerIds[0] }, getConnections: () => [], handle: async () => {}, unhandle: async () => {}, dialProtocol: async () => { throw new Error('no') }, dial: async () => { throw new Error('no') } }
  const relay = new Relay({ libp2p: libp2p as any, placement: { ownersOfTopic: () => [] } as any, isServer: true, keys: new SenderKeyCache(16, 256), maxDriftMs: 60_000, reject: (r) => { rejected.push(r) } })
  await relay.start()
  return { relay, validators, rejected }
}
