import { strict as assert } from 'node:assert'
import { prng } from '../helpers/prng.js'
import { ed25519Generate } from '../../protocol/ed25519.js'
import {
  MAX_PREVIOUS_CHAINS, MAX_SKIPPED_KEYS, RatchetSession, createSecretIdentity, generateSignedPrekey, initiate,
  prekeyBundle, respond
} from '../../protocol/secret/index.js'

// Random conversations against a model of what must hold. Seeds are fixed so a failure reproduces; set
// CHORUS_SECRET_SEED=<n> to add one more seed (say, one printed by a failure elsewhere).

interface Sent { id: number, header: Uint8Array, ciphertext: Uint8Array, plaintext: Uint8Array, dh: string }

interface Side {
  session: RatchetSession
  /** Messages in flight to this side. */
  inbox: Sent[]
  /** Messages this side has decrypted, in order. */
  received: Sent[]
  /** Ratchet keys this side has stepped to, in order: the last MAX_PREVIOUS_CHAINS + 1 are known to it. */
  chains: string[]
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** What one generated conversation did. */
interface Tally { sent: number, delivered: number, dropped: number, duplicates: number, restarts: number }

function conversation (seed: number): Tally {
  const rand = prng(seed)
  const pick = (n: number): number => Math.floor(rand() * n)
  const aliceId = createSecretIdentity(ed25519Generate())
  const bobId = createSecretIdentity(ed25519Generate())
  const spk = generateSignedPrekey(bobId, 1, 1)
  const init = initiate(aliceId, prekeyBundle(bobId, spk))
  const resp = respond(bobId, spk, undefined, init.header)
  const alice: Side = {
    session: RatchetSession.initAlice(init.sharedKey, spk.keyPair.publicKey, init.associatedData),
    inbox: [],
    received: [],
    chains: [hex(spk.keyPair.publicKey)]
  }
  const bob: Side = {
    session: RatchetSession.initBob(resp.sharedKey, spk.keyPair, resp.associatedData),
    inbox: [],
    received: [],
    chains: []
  }
  const stats = { sent: 0, delivered: 0, dropped: 0, duplicates: 0, restarts: 0 }
  const where = (what: string): string => `seed ${seed}, step ${stats.sent + stats.delivered}: ${what}`

  const deliver = (to: Side, m: Sent): void => {
    const plaintext = to.session.decrypt(m.header, m.ciphertext)
    assert.deepEqual(plaintext, m.plaintext, where(`message ${m.id} decrypts to what was sent`))
    if (!to.chains.includes(m.dh)) to.chains.push(m.dh)
    to.received.push(m)
    stats.delivered++
  }

  /** A message that must not decrypt: it throws one of `codes`, and the session is unchanged. */
  const refuse = (to: Side, m: Sent, codes: string[], what: string): void => {
    const before = to.session.serialize()
    assert.throws(() => to.session.decrypt(m.header, m.ciphertext), (err: any) => codes.includes(err.reason),
      where(what))
    assert.deepEqual(to.session.serialize(), before, where(`${what}: state unchanged`))
  }

  let sender: 'alice' | 'bob' = 'alice'
  const steps = 30 + pick(60)
  let nextId = 0
  for (let step = 0; step < steps; step++) {
    const r = rand()
    if (r < 0.4) {
      // Send a burst; senders alternate at random, Bob only once he can.
      if (rand() < 0.4) sender = sender === 'alice' ? 'bob' : 'alice'
      const from = sender === 'alice' ? alice : bob
      const to = sender === 'alice' ? bob : alice
      if (!from.session.canSend) continue
      for (let k = 1 + pick(4); k > 0; k--) {
        const plaintext = new Uint8Array(pick(80))
        for (let i = 0; i < plaintext.length; i++) plaintext[i] = pick(256)
        const { header, ciphertext } = from.session.encrypt(plaintext)
        to.inbox.push({ id: nextId++, header, ciphertext, plaintext, dh: hex(header.subarray(1, 33)) })
        stats.sent++
      }
    } else if (r < 0.8) {
      // Deliver one of the oldest few in flight: a shuffled network.
      const to = rand() < 0.5 ? alice : bob
      if (to.inbox.length === 0) continue
      const [m] = to.inbox.splice(pick(Math.min(6, to.inbox.length)), 1)
      if (rand() < 0.1) {
        const bad = { ...m, ciphertext: new Uint8Array(m.ciphertext) }
        bad.ciphertext[pick(bad.ciphertext.length)] ^= 1 << pick(8)
        refuse(to, bad, ['decrypt-failed'], `tampered message ${m.id}`)
      }
      deliver(to, m)
      if (rand() < 0.15) { refuse(to, m, ['replay'], `immediate duplicate of ${m.id}`); stats.duplicates++ }
    } else if (r < 0.88) {
      // Drop a message in flight: it is never delivered, and must not break later ones.
      const to = rand() < 0.5 ? alice : bob
      if (to.inbox.length > 0) { to.inbox.splice(pick(to.inbox.length), 1); stats.dropped++ }
    } else if (r < 0.96) {
      // Duplicate an old delivery: a replay when its chain is still known, else a failed decryption.
      const to = rand() < 0.5 ? alice : bob
      if (to.received.length === 0) continue
      const m = to.received[pick(to.received.length)]
      const known = to.chains.slice(-(MAX_PREVIOUS_CHAINS + 1)).includes(m.dh)
      refuse(to, m, known ? ['replay'] : ['replay', 'decrypt-failed'], `duplicate of ${m.id}`)
      stats.duplicates++
    } else {
      // Restart: the session comes back from its stored form.
      const side = rand() < 0.5 ? alice : bob
      side.session = RatchetSession.deserialize(side.session.serialize())
      stats.restarts++
    }
    assert.ok(alice.session.skippedKeyCount <= MAX_SKIPPED_KEYS && bob.session.skippedKeyCount <= MAX_SKIPPED_KEYS)
  }

  // Whatever is still in flight arrives, in random order: drops before it must not matter.
  for (const to of [alice, bob]) {
    while (to.inbox.length > 0) deliver(to, to.inbox.splice(pick(to.inbox.length), 1)[0])
  }
  // And the conversation carries on both ways.
  for (const [from, to] of [[alice, bob], [bob, alice]] as const) {
    if (!from.session.canSend) continue
    const { header, ciphertext } = from.session.encrypt(new Uint8Array([1, 2, 3]))
    assert.deepEqual(to.session.decrypt(header, ciphertext), new Uint8Array([1, 2, 3]), where('a final message'))
  }
  return stats
}

describe('Double Ratchet, random conversations (property-based)', () => {
  const seeds = Array.from({ length: 200 }, (_, i) => i + 1)
  if (process.env.CHORUS_SECRET_SEED != null) seeds.push(Number(process.env.CHORUS_SECRET_SEED))

  it(`${seeds.length} conversations: shuffled, dropped, duplicated, tampered and restarted; every delivered message matches`, () => {
    const total = { sent: 0, delivered: 0, dropped: 0, duplicates: 0, restarts: 0 }
    for (const seed of seeds) {
      const stats = conversation(seed)
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += stats[k]
    }
    if (process.env.CHORUS_SECRET_VERBOSE != null) console.log(total)
    // The mix really happened (guards against a generator that quietly stopped exercising a path).
    assert.ok(total.delivered > 2000 && total.dropped > 100 && total.duplicates > 200 && total.restarts > 100,
      JSON.stringify(total))
  })
})
