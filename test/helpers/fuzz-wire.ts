/**
 * Generated wire input, structure-aware: envelopes, store requests and responses, certificates,
 * revocations, membership frames, claims, proofs and account records, valid or signed with arbitrary
 * field values (so that what lies behind a signature check is reached). Keys are made once per process;
 * values are generated. Shared by the unit fuzz of the decoders and the end-to-end fuzz of a live node.
 */

import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import {
  Certificate, Delegation, Revocation, signCertificate, signDelegation, signRevocation, type AdmissionSigner,
  type RevocationList
} from '../../protocol/admission.js'
import { signAccount } from '../../protocol/account.js'
import { ed25519Generate, ed25519Sign } from '../../protocol/ed25519.js'
import { Envelope, domainSeparated, generateIdentity, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { signHandleClaim, signRoomAddressClaim } from '../../protocol/handle.js'
import { hlcPack } from '../../protocol/hlc.js'
import { type GatewayAccount, type HandleClaim, StoreRequest, StoreResponse, type ReadAuth } from '../../protocol/pb/store.js'
import { MembershipMessage, Member as PbMember } from '../../protocol/pb/membership.js'
import { signReadAuth } from '../../protocol/read-auth.js'
import * as C from '../../node/membership/constants.js'
import { PROTOTYPE_NAMES } from './fuzz.js'

/** The time generated values are made around (ms). */
export const NOW = Date.now()
/** One day (ms). */
export const DAY = 24 * 3600 * 1000

/** An Ed25519 key pair whose bytes are plain ArrayBuffer-backed (what generated pb types hold). */
export function keyPair (): { publicKey: Uint8Array<ArrayBuffer>, privateKey: Uint8Array<ArrayBuffer> } {
  const k = ed25519Generate()
  return { publicKey: new Uint8Array(k.publicKey), privateKey: new Uint8Array(k.privateKey) }
}

// ---- fixed material: keys are made once, values are generated --------------------------------------

/** The mesh key the generated certificates and revocations are for. */
export const mesh = keyPair()
/** An operator key with a delegation from `mesh`. */
export const operator = keyPair()
/** `operator`'s delegation. */
export const delegation = signDelegation(mesh.privateKey, operator.publicKey, {
  name: 'ops', now: NOW - DAY, days: 365
})
/** User identities that sign generated envelopes, claims, proofs and accounts. */
export const identities = Array.from({ length: 3 }, () => generateIdentity())
/** The userIds of `identities`. */
export const users = identities.map((k) => userIdOf(k.publicKey))
/** Peer ids certificates and member records name. */
export const peerIds = Array.from({ length: 3 }, () => newPeerId())
/** A revocation list with nothing in it. */
export const NO_REVOCATIONS: RevocationList = { peerRevokedAt: () => undefined, operatorRevokedAt: () => undefined }

/** A fresh Ed25519 peer id, as a string. */
export function newPeerId (): string {
  return peerIdFromPublicKey(publicKeyFromRaw(ed25519Generate().publicKey)).toString()
}

/** One of `xs`. */
export const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs)
/** Bytes on a plain ArrayBuffer (what generated pb types hold). */
export type Bytes = Uint8Array<ArrayBuffer>
/** `b` copied onto a plain ArrayBuffer. */
export const own = (b: Uint8Array): Bytes => new Uint8Array(b)
/** Up to `max` random bytes. */
export const bytes = (max: number): fc.Arbitrary<Bytes> => fc.uint8Array({ maxLength: max }).map(own)
/** Lengths that sit on and around the bounds decoders check (keys 32, signatures 64, cursors 24 …). */
export const sized: fc.Arbitrary<Bytes> = fc.oneof(
  bytes(80),
  fc.constantFrom(16, 24, 32, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map(own))
)
/** uint64 values, the edges and plausible times among them. */
export const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 1n, BigInt(NOW), BigInt(NOW + DAY), 8_640_000_000_000_001n)
)
/** Strings: random, prototype names, user and peer ids. */
export const text = fc.oneof(
  fc.string({ maxLength: 80 }), pick(PROTOTYPE_NAMES), pick(users), pick(peerIds), fc.constant('room.general')
)
/** Mailbox names, valid and not. */
export const mailbox = fc.oneof(
  pick(users), pick(users).map((u) => `${u}.roster`),
  pick(['room.general', 'room.general.state', '', 'room.', 'x'.repeat(200)]), text
)
/** A clock reading: now, or any time. */
export const now = fc.oneof(fc.constant(NOW), fc.integer({ min: 0, max: 2 ** 47 }))

/** Sign `body` under a signature domain of protocol/admission.ts or protocol/envelope.ts. */
function signIn (domain: string, key: Uint8Array, body: Uint8Array): Uint8Array<ArrayBuffer> {
  return ed25519Sign(key, Buffer.concat([Buffer.from(domain), body]))
}

// ---- envelopes ---------------------------------------------------------------------------------

/** Any value of a protons enum (its names: numbers outside it come from the mutations). */
export function enumOf<E extends string> (e: Record<string, E | unknown>): fc.Arbitrary<E> {
  return fc.constantFrom(...Object.values(e).filter((v): v is E => typeof v === 'string'))
}
/** An envelope kind. */
export const envelopeKind = enumOf<Envelope.Kind>(Envelope.Kind)

/** Envelopes with any field values, signed by a real identity (so what lies past the signature is reached). */
export const signedEnvelope: fc.Arbitrary<Bytes> = fc.record({
  who: fc.nat({ max: identities.length - 1 }),
  kind: envelopeKind,
  recipient: fc.oneof(pick(users), text),
  body: bytes(300),
  timestamp: fc.oneof(fc.constant(hlcPack(NOW, 0)), u64),
  id: sized,
  senderHandle: text,
  prev: sized
}).map((f) => {
  const k = identities[f.who]
  const env: Envelope = {
    id: f.id,
    timestamp: f.timestamp,
    kind: f.kind,
    senderKey: own(k.publicKey),
    recipient: f.recipient,
    body: f.body,
    signature: new Uint8Array(0),
    senderHandle: f.senderHandle,
    prev: f.prev
  }
  const domain = new TextEncoder().encode('chorus/envelope/v1')
  env.signature = ed25519Sign(k.privateKey, domainSeparated(domain, Envelope.encode(env)))
  return own(Envelope.encode(env))
})

/** Envelopes as a client sends them: valid. */
export const validEnvelope: fc.Arbitrary<Bytes> = fc.record({
  who: fc.nat({ max: 2 }), to: fc.nat({ max: 2 }), body: bytes(200)
})
  .map((f) => {
    const draft = { kind: Envelope.Kind.CHAT, recipient: users[f.to], body: f.body, timestamp: hlcPack(NOW, 0) }
    return own(Envelope.encode(signEnvelope(draft, identities[f.who])))
  })

// ---- store frames ------------------------------------------------------------------------------

/** Read proofs: signed, or any bytes. */
export const readAuth: fc.Arbitrary<ReadAuth> = fc.oneof(
  fc.tuple(mailbox, fc.nat({ max: 2 })).map(([m, who]) => signReadAuth(m, identities[who], NOW)),
  fc.record({ publicKey: sized, timestamp: u64, signature: sized })
)
/** Handle claims and room address claims (`#…`): signed, or any bytes. */
export const claim: fc.Arbitrary<HandleClaim> = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,64}$/), fc.nat({ max: 2 }), u64)
    .map(([h, who, t]) => signHandleClaim(h, identities[who], t)),
  fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,15}$/), fc.nat({ max: 2 }), u64, fc.uint8Array({ minLength: 16, maxLength: 16 }))
    .map(([a, who, t, nonce]) => signRoomAddressClaim(a, identities[who], nonce, t)),
  fc.record({ handle: text, publicKey: sized, timestamp: u64, signature: sized, roomNonce: sized })
)
/** Gateway account records: signed, or any bytes. */
export const account: fc.Arbitrary<GatewayAccount> = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z0-9]{1,16}$/), fc.nat({ max: 2 }), u64,
    fc.uint8Array({ minLength: 1, maxLength: 300 }))
    .map(([h, who, v, r]) => signAccount(h, identities[who], v, r)),
  fc.record({ handle: text, publicKey: sized, version: u64, record: bytes(100), signature: sized })
)
/** A store request kind. */
export const storeKind = enumOf<StoreRequest.Kind>(StoreRequest.Kind)

const put = fc.record({
  mailbox, envelope: fc.oneof(validEnvelope, signedEnvelope), hintFor: fc.array(text, { maxLength: 3 })
})

/** Store requests of every kind, with fields a handler reads filled from plausible and hostile values. */
export const storeRequestMessage = fc.record({
  kind: storeKind,
  puts: fc.array(put, { maxLength: 3 }),
  mailbox,
  after: sized,
  before: sized,
  limit: fc.nat(),
  peer: text,
  newestFirst: fc.boolean(),
  bucketMs: u64,
  buckets: fc.array(fc.record({ start: u64, count: fc.nat(), hash: sized }), { maxLength: 4 }),
  cursors: fc.array(sized, { maxLength: 4 }),
  claim,
  handle: text,
  coordinate: fc.boolean(),
  requestId: fc.nat(),
  auth: readAuth,
  prekeys: bytes(200),
  user: fc.oneof(pick(users), text),
  prekeyId: fc.nat(),
  claimOneTime: fc.boolean(),
  cursorsOnly: fc.boolean(),
  probes: fc.array(fc.record({ mailbox, auth: readAuth }), { maxLength: 3 }),
  account
})
/** Store requests of every kind, encoded. */
export const storeRequest: fc.Arbitrary<Bytes> = storeRequestMessage.map((r) => own(StoreRequest.encode(r)))

/** Store responses of any status, encoded. */
export const storeResponse: fc.Arbitrary<Bytes> = fc.record({
  status: enumOf<StoreResponse.Status>(StoreResponse.Status),
  error: text,
  stored: fc.nat(),
  envelopes: fc.array(validEnvelope, { maxLength: 2 }),
  cursors: fc.array(sized, { maxLength: 3 }),
  claim,
  requestId: fc.nat(),
  versions: fc.array(u64, { maxLength: 3 }),
  account
}).map((r) => own(StoreResponse.encode(r)))

// ---- admission ---------------------------------------------------------------------------------

const generatedDelegation = fc.record({
  mesh: fc.oneof(fc.constant(mesh.publicKey), sized),
  operator: fc.oneof(fc.constant(operator.publicKey), sized),
  name: text,
  issuedAt: u64,
  expiresAt: u64
})

/** Certificates with any field values, signed by the mesh key or a delegated operator. */
export const signedCertificate: fc.Arbitrary<Bytes> = fc.record({
  meshOk: fc.boolean(),
  peerId: fc.oneof(pick(peerIds), text),
  role: fc.oneof(fc.constant('server'), text),
  capacity: fc.nat(),
  seed: sized,
  issuedAt: u64,
  expiresAt: u64,
  delegated: fc.boolean(),
  delegation: fc.option(generatedDelegation, { nil: undefined })
}).map((f) => {
  let d: Delegation | undefined = f.delegated ? delegation : undefined
  if (f.delegation != null) {
    d = { ...f.delegation, signature: new Uint8Array(0) }
    d.signature = signIn('chorus/admission/delegation/v1\0', mesh.privateKey, Delegation.encode(d))
  }
  const cert: Certificate = {
    mesh: f.meshOk ? mesh.publicKey : operator.publicKey,
    peerId: f.peerId,
    role: f.role,
    capacity: f.capacity,
    seed: f.seed,
    issuedAt: f.issuedAt,
    expiresAt: f.expiresAt,
    delegation: d,
    signature: new Uint8Array(0)
  }
  const key = d != null ? operator.privateKey : mesh.privateKey
  cert.signature = signIn('chorus/admission/certificate/v1\0', key, Certificate.encode(cert))
  return own(Certificate.encode(cert))
})

const signer = (delegated: boolean): AdmissionSigner =>
  delegated ? { privateKey: operator.privateKey, delegation } : { privateKey: mesh.privateKey }

/** Certificates as an operator signs them: valid for 90 days from yesterday. */
export const validCertificate: fc.Arbitrary<Bytes> = fc.record({
  peer: fc.nat({ max: 2 }), capacity: fc.integer({ min: 1, max: 1000 }), delegated: fc.boolean()
}).map((f) => own(Certificate.encode(signCertificate(signer(f.delegated), {
  peerId: peerIds[f.peer], capacity: f.capacity, now: NOW - DAY, days: 90
}))))

/** Revocations with any field values, signed by the mesh key or a delegated operator. */
export const signedRevocation: fc.Arbitrary<Bytes> = fc.record({
  peerId: fc.oneof(pick(peerIds), text, fc.constant('')),
  operator: fc.oneof(fc.constant(new Uint8Array(0) as Bytes), fc.constant(operator.publicKey), sized),
  issuedAt: u64,
  delegated: fc.boolean(),
  meshOk: fc.boolean()
}).map((f) => {
  const rev: Revocation = {
    mesh: f.meshOk ? mesh.publicKey : operator.publicKey,
    peerId: f.peerId,
    operator: f.operator,
    issuedAt: f.issuedAt,
    delegation: f.delegated ? delegation : undefined,
    signature: new Uint8Array(0)
  }
  const key = f.delegated ? operator.privateKey : mesh.privateKey
  rev.signature = signIn('chorus/admission/revocation/v1\0', key, Revocation.encode(rev))
  return own(Revocation.encode(rev))
})

/** Revocations as an operator signs them: of one of `peerIds`, issued within the last day. */
export const validRevocation: fc.Arbitrary<Bytes> = fc.record({
  peer: fc.nat({ max: 2 }), delegated: fc.boolean(), at: fc.integer({ min: NOW - DAY, max: NOW })
}).map((f) => own(Revocation.encode(signRevocation(signer(f.delegated), { peerId: peerIds[f.peer] }, f.at))))

// ---- membership --------------------------------------------------------------------------------

const loopback = own(Uint8Array.of(0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa0))

/** Member records with any field values. */
export const member: fc.Arbitrary<PbMember> = fc.record({
  peerId: fc.oneof(pick(peerIds), text),
  role: enumOf<PbMember.Role>(PbMember.Role),
  capacity: fc.nat(),
  addrs: fc.array(fc.oneof(fc.constant(loopback), bytes(20)), { maxLength: 3 }),
  incarnation: u64,
  state: enumOf<PbMember.State>(PbMember.State),
  version: text,
  certificate: fc.oneof(validCertificate, signedCertificate, bytes(40))
})
/** Membership messages of every kind with any field values. */
export const membershipMessage = fc.record({
  kind: enumOf<MembershipMessage.Kind>(MembershipMessage.Kind),
  sender: member,
  updates: fc.array(member, { maxLength: 3 }),
  target: fc.oneof(pick(peerIds), text),
  wallTime: u64,
  mesh: fc.oneof(fc.constant(mesh.publicKey), sized),
  revocations: fc.array(fc.oneof(validRevocation, signedRevocation, bytes(40)), { maxLength: 2 })
})
/** Membership frames, encoded. */
export const membershipFrame: fc.Arbitrary<Bytes> = membershipMessage.map((m) => own(MembershipMessage.encode(m)))
/** The limits node/membership/membership.ts decodes frames with. */
export const MEMBERSHIP_LIMITS = {
  updates: C.MAX_UPDATES_PER_FRAME,
  updates$: { addrs: C.MAX_ADDRS_PER_MEMBER },
  sender: { addrs: C.MAX_ADDRS_PER_MEMBER },
  revocations: C.MAX_REVOCATIONS_PER_FRAME
}
