import { strict as assert } from 'node:assert'
import { ed25519Generate } from '../../protocol/ed25519.js'
import {
  HEADER_BYTES, MAX_SKIP, MAX_SKIPPED_KEYS, MAX_STATE_BYTES, RatchetSession, createSecretIdentity, encodeHeader,
  generateSignedPrekey,
  hmacSha256, initiate, prekeyBundle, respond, type SecretMessage
} from '../../protocol/secret/index.js'
import { decodeState } from '../../protocol/secret/ratchet-state.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** A fresh Alice/Bob session pair, through X3DH. */
function pair (): { alice: RatchetSession, bob: RatchetSession } {
  const aliceId = createSecretIdentity(ed25519Generate())
  const bobId = createSecretIdentity(ed25519Generate())
  const spk = generateSignedPrekey(bobId, 1, 1_700_000_000_000)
  const init = initiate(aliceId, prekeyBundle(bobId, spk))
  const resp = respond(bobId, spk, undefined, init.header)
  return {
    alice: RatchetSession.initAlice(init.sharedKey, spk.keyPair.publicKey, init.associatedData),
    bob: RatchetSession.initBob(resp.sharedKey, spk.keyPair, resp.associatedData)
  }
}

function send (from: RatchetSession, count: number, label: string): SecretMessage[] {
  return Array.from({ length: count }, (_, i) => from.encrypt(text(`${label}${i}`)))
}

function read (to: RatchetSession, m: SecretMessage): string {
  return str(to.decrypt(m.header, m.ciphertext))
}

/** `f` throws an error with one of `codes`, and the session's stored form is the same before and after. */
function rejects (session: RatchetSession, f: () => unknown, ...codes: string[]): void {
  const before = session.serialize()
  assert.throws(f, (err: any) => codes.includes(err.reason))
  assert.deepEqual(session.serialize(), before)
}

function flip (bytes: Uint8Array, index: number, bit = index % 8): Uint8Array {
  const out = new Uint8Array(bytes)
  out[index] ^= 1 << bit
  return out
}

function contains (haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1
}

describe('Double Ratchet (protocol/secret/ratchet.ts)', () => {
  it('round-trips both ways; Bob cannot send before Alice\'s first message', () => {
    const { alice, bob } = pair()
    assert.equal(alice.canSend, true)
    assert.equal(bob.canSend, false)
    assert.equal(alice.hasReceived, false)
    assert.throws(() => bob.encrypt(text('too early')), (err: any) => err.name === 'SessionStateError' && err.code === 'ERR_SESSION_STATE')
    const [m] = send(alice, 1, 'a')
    assert.equal(m.header.length, HEADER_BYTES)
    assert.equal(read(bob, m), 'a0')
    assert.equal(bob.canSend, true)
    assert.equal(bob.hasReceived, true)
    read(alice, send(bob, 1, 'b')[0])
    assert.equal(alice.hasReceived, true)
    for (let round = 0; round < 5; round++) {
      for (const x of send(bob, 2, `b${round}.`)) assert.match(read(alice, x), /^b\d\.\d$/)
      for (const x of send(alice, 3, `a${round}.`)) assert.match(read(bob, x), /^a\d\.\d$/)
    }
  })

  it('open does not change the session until commit; a message refused after it opened never moves the ratchet', () => {
    const { alice, bob } = pair()
    const [first, second] = send(alice, 2, 'a')
    // each path of open: a new ratchet key (Bob's first message), the same chain, a skipped key
    const before = bob.serialize()
    const opened = bob.open(second.header, second.ciphertext)
    assert.equal(str(opened.plaintext), 'a1')
    assert.deepEqual(bob.serialize(), before, 'opened, not committed: the caller refused it')
    assert.equal(bob.canSend, false)
    opened.commit()
    opened.commit() // once only
    assert.equal(bob.canSend, true)
    const skipped = bob.serialize()
    const late = bob.open(first.header, first.ciphertext)
    assert.deepEqual(bob.serialize(), skipped)
    late.commit()
    assert.throws(() => bob.decrypt(first.header, first.ciphertext), (err: any) => err.reason === 'replay')
    const [third] = send(alice, 1, 'c')
    const sameChain = bob.serialize()
    bob.open(third.header, third.ciphertext)
    assert.deepEqual(bob.serialize(), sameChain)
    assert.equal(read(bob, third), 'c0', 'the message not committed still decrypts')
  })

  it('an opened message commits only onto the state it was opened against (SessionStateError otherwise)', () => {
    const { alice, bob } = pair()
    const [m0, m1] = send(alice, 2, 'a')
    const a = bob.open(m0.header, m0.ciphertext)
    const b = bob.open(m1.header, m1.ciphertext)
    a.commit()
    assert.throws(() => { b.commit() }, (err: any) => err.name === 'SessionStateError')
    assert.equal(read(bob, m1), 'a1')
    const [m2] = send(alice, 1, 'b')
    const c = bob.open(m2.header, m2.ciphertext)
    bob.encrypt(text('a send in between'))
    assert.throws(() => { c.commit() }, (err: any) => err.name === 'SessionStateError')
  })

  it('decrypts out of order, within a chain and across chains', () => {
    const { alice, bob } = pair()
    const a1 = send(alice, 4, 'a1.')
    assert.equal(read(bob, a1[2]), 'a1.2')
    assert.equal(bob.skippedKeyCount, 2)
    const b1 = send(bob, 2, 'b1.')
    assert.equal(read(alice, b1[1]), 'b1.1')
    const a2 = send(alice, 2, 'a2.')
    assert.equal(read(bob, a2[1]), 'a2.1') // new chain first: closes a1 up to pn = 4
    assert.equal(bob.skippedKeyCount, 4) // a1.0, a1.1, a1.3, a2.0
    assert.equal(read(bob, a1[3]), 'a1.3')
    assert.equal(read(bob, a1[0]), 'a1.0')
    assert.equal(read(bob, a2[0]), 'a2.0')
    assert.equal(read(bob, a1[1]), 'a1.1')
    assert.equal(read(alice, b1[0]), 'b1.0')
    assert.equal(bob.skippedKeyCount, 0)
    assert.equal(alice.skippedKeyCount, 0)
  })

  it(`refuses a header more than MAX_SKIP (${MAX_SKIP}) ahead without changing state; the next honest message decrypts`, () => {
    const { alice, bob } = pair()
    const ms = send(alice, MAX_SKIP + 2, 'm')
    rejects(bob, () => read(bob, ms[MAX_SKIP + 1]), 'too-far-ahead')
    assert.equal(read(bob, ms[0]), 'm0')
    assert.equal(read(bob, ms[MAX_SKIP + 1]), `m${MAX_SKIP + 1}`) // exactly MAX_SKIP ahead of Nr = 1
    assert.equal(bob.skippedKeyCount, MAX_SKIP)
    const forged = encodeHeader({ dh: ms[0].header.subarray(1, 33), pn: 0, n: 0xffffffff })
    rejects(bob, () => bob.decrypt(forged, ms[1].ciphertext), 'too-far-ahead')
    const newChain = encodeHeader({ dh: new Uint8Array(32).fill(9), pn: 0, n: MAX_SKIP + 1 })
    rejects(bob, () => bob.decrypt(newChain, ms[1].ciphertext), 'too-far-ahead')
    assert.equal(read(bob, ms[1]), 'm1')
  })

  it('refuses a message that would skip more than MAX_SKIP keys over the old and new chains together', () => {
    const { alice, bob } = pair()
    const a1 = send(alice, 600, 'a1.')
    assert.equal(read(bob, a1[0]), 'a1.0')
    assert.equal(read(alice, send(bob, 1, 'b')[0]), 'b0')
    const a2 = send(alice, 600, 'a2.')
    rejects(bob, () => read(bob, a2[599]), 'too-many-skipped') // 599 left in a1 + 599 in a2
    assert.equal(read(bob, a2[0]), 'a2.0') // 599 skipped: fine
    assert.equal(read(bob, a2[599]), 'a2.599')
    assert.equal(read(bob, a1[599]), 'a1.599')
  })

  it('rejects a tampered ciphertext or header with a typed error, state unchanged, and stays usable', () => {
    const { alice, bob } = pair()
    read(bob, send(alice, 1, 'x')[0])
    const sameChain = send(bob, 2, 'same')
    read(alice, sameChain[0])
    const newChain = send(alice, 1, 'new')[0] // a ratchet step for Bob
    for (const [to, m] of [[alice, sameChain[1]], [bob, newChain]] as const) {
      for (let i = 0; i < m.ciphertext.length; i++) {
        rejects(to, () => to.decrypt(m.header, flip(m.ciphertext, i)), 'decrypt-failed')
      }
      rejects(to, () => to.decrypt(m.header, m.ciphertext.subarray(0, 20)), 'decrypt-failed')
      rejects(to, () => to.decrypt(m.header, new Uint8Array([...m.ciphertext, 0])), 'decrypt-failed')
      rejects(to, () => to.decrypt(flip(m.header, 0, 1), m.ciphertext), 'malformed-secret-message')
      rejects(to, () => to.decrypt(m.header.subarray(1), m.ciphertext), 'malformed-secret-message')
      for (let i = 1; i < 33; i++) rejects(to, () => to.decrypt(flip(m.header, i), m.ciphertext), 'decrypt-failed')
      // A changed counter names another key: it reads as a failed decryption, a replay or a jump too far.
      for (let i = 33; i < HEADER_BYTES; i++) {
        for (const bit of [0, 7]) rejects(to, () => to.decrypt(flip(m.header, i, bit), m.ciphertext), 'decrypt-failed', 'replay', 'too-far-ahead', 'too-many-skipped')
      }
    }
    assert.equal(read(alice, sameChain[1]), 'same1')
    assert.equal(read(bob, newChain), 'new0')
    assert.equal(read(alice, send(bob, 1, 'after')[0]), 'after0')
  })

  it('rejects replays (same chain, skipped key, closed chain) with ReplayError, state unchanged', () => {
    const { alice, bob } = pair()
    const a1 = send(alice, 3, 'a')
    read(bob, a1[0])
    read(bob, a1[2])
    read(bob, a1[1]) // from the skipped store
    for (const m of a1) rejects(bob, () => read(bob, m), 'replay')
    read(alice, send(bob, 1, 'b')[0])
    read(bob, send(alice, 1, 'c')[0]) // a1's chain is closed now
    for (const m of a1) {
      assert.throws(() => read(bob, m), (err: any) => err.name === 'ReplayError' && err.code === 'ERR_REPLAY')
    }
  })

  it('forward secrecy: used keys leave the state, and the state does not grow with in-order traffic', () => {
    const { alice, bob } = pair()
    read(bob, send(alice, 1, 'x')[0])
    const sizes = new Set<number>()
    for (let i = 0; i < 50; i++) {
      const before = bob.serialize()
      const ck = decodeState(before).receivingChainKey as Uint8Array
      const messageKey = hmacSha256(ck, new Uint8Array([1]))
      const m = alice.encrypt(text(`m${i}`))
      assert.equal(read(bob, m), `m${i}`)
      const after = bob.serialize()
      assert.ok(!contains(after, messageKey) && !contains(after, ck), 'old chain and message keys are gone')
      sizes.add(after.length)
      assert.equal(read(RatchetSession.deserialize(before), m), `m${i}`) // an old copy could, the new one cannot
      assert.throws(() => read(RatchetSession.deserialize(after), m), (err: any) => err.code === 'ERR_REPLAY')
    }
    assert.equal(sizes.size, 1)
    // A skipped key is deleted once used.
    const ms = send(alice, 3, 's')
    read(bob, ms[2])
    const stored = [...decodeState(bob.serialize()).skipped.values()].map((k) => k.messageKey)
    assert.equal(stored.length, 2)
    read(bob, ms[0])
    assert.ok(!contains(bob.serialize(), stored[0]))
    assert.ok(contains(bob.serialize(), stored[1]))
  })

  it('post-compromise security: a snapshot of Alice at t cannot read Bob after a round trip of new ratchet steps', () => {
    const { alice, bob } = pair()
    read(bob, send(alice, 1, 'hello')[0])
    read(alice, send(bob, 1, 'hi')[0])
    const stolen = alice.serialize() // the attacker copies Alice's whole state at t, her current ratchet key included
    const attacker = RatchetSession.deserialize(stolen)

    // Until Alice has a ratchet key the attacker never saw, it reads along: the theft is real.
    const m1 = bob.encrypt(text('m1')) // Bob's chain at t
    assert.equal(read(alice, m1), 'm1')
    const m2 = alice.encrypt(text('m2')) // still Alice's ratchet key of t
    assert.equal(read(bob, m2), 'm2') // Bob steps: a new key of his, against Alice's key of t
    const m3 = bob.encrypt(text('m3'))
    assert.equal(read(alice, m3), 'm3') // Alice steps: a fresh ratchet key, never in the stolen state
    assert.equal(read(attacker, m1), 'm1')
    assert.equal(read(attacker, m3), 'm3')

    // One round trip on the fresh keys, and the stolen state is worthless.
    const m4 = alice.encrypt(text('m4'))
    assert.equal(read(bob, m4), 'm4')
    const later = [bob.encrypt(text('m5')), bob.encrypt(text('m6'))]
    for (const m of later) assert.match(read(alice, m), /^m[56]$/)
    for (const copy of [attacker, RatchetSession.deserialize(stolen)]) {
      for (const m of [m4, ...later]) assert.throws(() => read(copy, m), (err: any) => err.code === 'ERR_DECRYPT')
    }
    assert.equal(read(bob, alice.encrypt(text('still fine'))), 'still fine')
  })

  it('a sender restored from a stale copy reuses a message key only under a fresh nonce', () => {
    const { alice, bob } = pair()
    const stale = alice.serialize()
    const [x, y] = [RatchetSession.deserialize(stale), RatchetSession.deserialize(stale)]
    const mx = x.encrypt(text('first'))
    const my = y.encrypt(text('other'))
    assert.deepEqual(mx.header, my.header) // the same message key…
    assert.notDeepEqual(mx.ciphertext.subarray(0, 12), my.ciphertext.subarray(0, 12)) // …never with the same nonce
    assert.equal(read(bob, mx), 'first')
    rejects(bob, () => read(bob, my), 'replay')
  })

  it('serialize/deserialize mid-conversation keeps skipped keys and carries on', () => {
    const { alice, bob } = pair()
    const a1 = send(alice, 5, 'a1.')
    read(bob, a1[4])
    const b1 = send(bob, 3, 'b1.')
    read(alice, b1[2])
    assert.equal(bob.skippedKeyCount, 4)
    assert.equal(alice.skippedKeyCount, 2)
    const alice2 = RatchetSession.deserialize(alice.serialize())
    const bob2 = RatchetSession.deserialize(bob.serialize())
    assert.deepEqual(alice2.serialize(), alice.serialize())
    assert.deepEqual(bob2.associatedData, bob.associatedData)
    const a2 = send(alice2, 2, 'a2.')
    assert.equal(read(bob2, a2[1]), 'a2.1')
    for (const i of [0, 1, 2, 3]) assert.equal(read(bob2, a1[i]), `a1.${i}`)
    assert.equal(read(bob2, a2[0]), 'a2.0')
    for (const i of [1, 0]) assert.equal(read(alice2, b1[i]), `b1.${i}`)
    assert.equal(read(alice2, send(bob2, 1, 'b2.')[0]), 'b2.0')
    assert.equal(alice2.skippedKeyCount + bob2.skippedKeyCount, 0)
  })

  it('rejects a malformed stored session with SessionStateError', () => {
    const { alice, bob } = pair()
    read(bob, send(alice, 3, 'a')[2])
    const good = bob.serialize()
    const isState = (err: any): boolean => err.name === 'SessionStateError' && err.code === 'ERR_SESSION_STATE'
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      good.subarray(0, good.length - 1),
      new Uint8Array([...good, 0]),
      flip(good, 0, 1), // version
      flip(good, 1, 4), // unknown flag
      flip(good, 1, 1), // DHr without CKs
      new Uint8Array(MAX_STATE_BYTES + 1)
    ]
    // Point the skipped count (the u16 after the previous-chain list) past the data, and past the bound.
    const state = decodeState(good)
    const countAt = good.length - 2 - 68 * state.skipped.size
    for (const count of [state.skipped.size + 1, MAX_SKIPPED_KEYS + 1]) {
      const bad = new Uint8Array(good)
      new DataView(bad.buffer).setUint16(countAt, count)
      cases.push(bad)
    }
    const dup = new Uint8Array(good) // the second skipped entry made a copy of the first
    dup.set(good.subarray(countAt + 2, countAt + 2 + 68), countAt + 2 + 68)
    cases.push(dup)
    for (const bytes of cases) assert.throws(() => RatchetSession.deserialize(bytes), isState)
    assert.deepEqual(RatchetSession.deserialize(good).serialize(), good)
  })

  it(`keeps at most MAX_SKIPPED_KEYS (${MAX_SKIPPED_KEYS}) skipped keys, evicting the oldest`, () => {
    const { alice, bob } = pair()
    const chains: SecretMessage[][] = []
    for (let c = 0; c < 3; c++) {
      const ms = send(alice, 801, `c${c}.`)
      chains.push(ms)
      assert.equal(read(bob, ms[800]), `c${c}.800`)
      read(alice, send(bob, 1, 'b')[0])
    }
    assert.equal(bob.skippedKeyCount, MAX_SKIPPED_KEYS) // 2,400 skipped, the oldest 400 evicted
    assert.throws(() => read(bob, chains[0][399]), (err: any) => err.code === 'ERR_REPLAY')
    assert.equal(read(bob, chains[0][400]), 'c0.400')
    assert.equal(read(bob, chains[2][0]), 'c2.0')
  })
})
