/**
 * Issue 9, which session a device reads and sends with (secret-initiation.ts, secret-receive.ts): two
 * devices that open a secret chat to each other at the same moment end on one session, whatever order
 * their messages cross in, and every message both ways decrypts; a peer that starts again replaces the
 * session without losing what it sent before; an old first message replayed is refused
 * (`InitiationReplayError`, or `ReplayError` while its session is kept) and never rolls the chat back; a
 * message refused after its AEAD opened never moves the ratchet.
 */

import { prng } from '../helpers/prng.js'
import { strict as assert } from 'node:assert'
import { Envelope } from '../../protocol/envelope.js'
import { SecretBody } from '../../protocol/pb/secret.js'
import { supersedes } from '../../node/session/secret-initiation.js'
import type { SessionRecord, StoredSession } from '../../node/session/secret-ratchets.js'
import { SecretWorld, type Device } from './secret-harness.js'

/** The session `d` sends with to `peer` (internal state, read for the assertions). */
async function active (d: Device, peer: Device): Promise<StoredSession | undefined> {
  return (d.secrets as any).ratchets.load(peer.userId)
}

/** `d` loses its session with `peer` (a reinstall, a restore from an old backup): its next open starts again. */
async function forget (d: Device, peer: Device): Promise<void> {
  const secrets = d.secrets as any
  await secrets.store.del(`sess!${d.userId}!${peer.userId}`)
  secrets.ratchets.live.clear()
  secrets.chats.delete(peer.userId)
}

const texts = (d: Device): string[] => d.shown.map((m) => m.text)

describe('secret sessions: crossing initiations, restarts and replayed first messages', function () {
  this.timeout(60_000)
  let world: SecretWorld
  let alice: Device
  let bob: Device

  beforeEach(async () => {
    world = await new SecretWorld().start()
    alice = await world.device('alice')
    bob = await world.device('bob')
  })
  afterEach(async () => { await world.close() })

  it('the rule that picks the session to send with (supersedes)', () => {
    const key = (byte: number): string => Buffer.alloc(32, byte).toString('base64')
    const record = (o: Partial<SessionRecord>): SessionRecord =>
      ({ state: '', ephemeral: key(5), peerIdentityKey: '', peerIdentityDhKey: '', ...o })
    assert.equal(supersedes(undefined, key(9), 1n), true, 'no session yet')
    assert.equal(supersedes(record({ peerSince: '100' }), key(1), 99n), false, 'sent before the peer used the session: a leftover or a replay')
    assert.equal(supersedes(record({ peerSince: '100' }), key(9), 101n), true, 'sent after: the peer started again')
    assert.equal(supersedes(record({ initial: 'ours' }), key(1), 1n), true, 'crossing: the lower ephemeral key wins')
    assert.equal(supersedes(record({ initial: 'ours' }), key(9), 1n), false, 'crossing: ours is lower')
    assert.equal(supersedes(record({}), key(9), 1n), true, 'a session stored before peerSince existed: the newer initiation wins, as before')
  })

  it('both open at once, first messages cross: they end on one session and every message both ways decrypts', async () => {
    const [chatA, chatB] = await Promise.all([alice.secrets.open('bob'), bob.secrets.open('alice')])
    await Promise.all([chatA.send('a1'), chatB.send('b1')])
    await Promise.all([chatA.send('a2'), chatB.send('b2')])
    // both initiations are in flight; each device reads the other's
    assert.deepEqual(await world.flush(alice), [true, true])
    assert.deepEqual(await world.flush(bob), [true, true])
    assert.equal((await active(alice, bob))?.record.ephemeral, (await active(bob, alice))?.record.ephemeral, 'one session')
    for (let i = 0; i < 3; i++) {
      await chatA.send(`a-after-${i}`)
      await chatB.send(`b-after-${i}`)
      assert.deepEqual(await world.flush(alice), [true])
      assert.deepEqual(await world.flush(bob), [true])
    }
    assert.deepEqual(texts(bob), ['a1', 'a2', 'a-after-0', 'a-after-1', 'a-after-2'])
    assert.deepEqual(texts(alice), ['b1', 'b2', 'b-after-0', 'b-after-1', 'b-after-2'])
    assert.equal(world.count('secret-initiation-replay'), 0)
  })

  it('whatever order messages cross in (random interleavings), every message is shown once and the sessions converge', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      if (seed > 1) {
        await world.close()
        world = await new SecretWorld().start()
        alice = await world.device('alice')
        bob = await world.device('bob')
      }
      const random = prng(seed)
      const [chatA, chatB] = await Promise.all([alice.secrets.open('bob'), bob.secrets.open('alice')])
      const sent = { alice: [] as string[], bob: [] as string[] }
      for (let step = 0; step < 40; step++) {
        const r = random()
        if (r < 0.25) {
          const t = `a${step}`
          sent.alice.push(t)
          await chatA.send(t)
        } else if (r < 0.5) {
          const t = `b${step}`
          sent.bob.push(t)
          await chatB.send(t)
        } else {
          const from = r < 0.75 ? alice : bob
          if (from.outbox.length === 0) continue
          const [env] = from.outbox.splice(Math.floor(random() * from.outbox.length), 1)
          assert.equal(await world.deliver(env), true, `seed ${seed}: a message of ${from.handle} decrypts`)
        }
      }
      for (const [from, to] of [[alice, bob], [bob, alice]] as const) {
        for (const ok of await world.flush(from)) assert.equal(ok, true, `seed ${seed}: the rest of ${from.handle}'s messages decrypt at ${to.handle}`)
      }
      await chatA.send('last from alice')
      await chatB.send('last from bob')
      assert.deepEqual([...await world.flush(alice), ...await world.flush(bob)], [true, true], `seed ${seed}: the sessions converged`)
      assert.deepEqual([...texts(bob)].sort(), [...sent.alice, 'last from alice'].sort(), `seed ${seed}: bob showed each of alice's messages once`)
      assert.deepEqual([...texts(alice)].sort(), [...sent.bob, 'last from bob'].sort(), `seed ${seed}: alice showed each of bob's messages once`)
      assert.equal((await active(alice, bob))?.record.ephemeral, (await active(bob, alice))?.record.ephemeral, `seed ${seed}: one session`)
    }
  })

  it('a peer that starts again replaces the session; what it sent under the old one still decrypts', async () => {
    const chat = await alice.secrets.open('bob')
    await chat.send('before')
    await world.flush(alice)
    await (await bob.secrets.open('alice')).send('hello alice')
    await world.flush(bob)
    await chat.send('in flight under the old session')
    const late = alice.outbox.splice(0)
    await forget(alice, bob)
    await (await alice.secrets.open('bob')).send('after starting again')
    assert.deepEqual(await world.flush(alice), [true])
    assert.equal(await world.deliver(late[0]), true, 'the old session still decrypts')
    await (await bob.secrets.open('alice')).send('answer')
    assert.deepEqual(await world.flush(bob), [true], 'bob answers under the new session')
    assert.deepEqual(texts(bob), ['before', 'after starting again', 'in flight under the old session'])
    assert.deepEqual(texts(alice), ['hello alice', 'answer'])
  })

  for (const oneTime of [true, false]) {
    it(`an old first message replayed is refused and never rolls the chat back (initiations ${oneTime ? 'with' : 'without'} one-time prekeys)`, async () => {
      await world.close()
      world = await new SecretWorld().start()
      alice = await world.device('alice')
      bob = await world.device('bob', { init: { maxPreviousSessions: 1 } })
      if (!oneTime) await world.drainOneTime(bob.userId)
      const first = async (text: string): Promise<Envelope> => {
        await (await alice.secrets.open('bob')).send(text)
        const [env] = alice.outbox.splice(0)
        assert.equal(await world.deliver(env), true)
        return env
      }
      const old = await first('first session')
      // while its session is kept, the replay is a replay of a used message key
      assert.equal(await world.deliver(old), false)
      assert.equal(world.count('secret-replay'), 1)
      // alice starts again twice: the first session is no longer kept at bob
      for (const n of [2, 3]) { await forget(alice, bob); await first(`session ${n}`) }
      const before = (await active(bob, alice))?.record.ephemeral
      assert.equal(await world.deliver(old), false, 'the old first message is refused')
      assert.equal(world.count('secret-initiation-replay'), 1, 'as a replayed initiation')
      assert.equal((await active(bob, alice))?.record.ephemeral, before, 'bob still sends with the newest session')
      assert.deepEqual(texts(bob), ['first session', 'session 2', 'session 3'])
      await (await bob.secrets.open('alice')).send('still the newest session')
      assert.deepEqual(await world.flush(bob), [true])
      assert.deepEqual(texts(alice), ['still the newest session'])
    })
  }

  it('a message refused after its AEAD opened (its plaintext does not decode) leaves the session as it was', async () => {
    const chat = await alice.secrets.open('bob')
    await chat.send('first')
    await world.flush(alice)
    // alice's device encrypts bytes that are not a SecretPlaintext (a broken or hostile client)
    const session = (await active(alice, bob))!.session
    const sealed = session.encrypt(new Uint8Array([0xff, 0xff, 0xff, 0xff]))
    const body = SecretBody.encode({
      initial: new Uint8Array(0),
      header: sealed.header as Uint8Array<ArrayBuffer>,
      ciphertext: sealed.ciphertext as Uint8Array<ArrayBuffer>,
      expiresAt: 0n
    })
    const bad = alice.sign(Envelope.Kind.SECRET, bob.userId, body)
    const state = (await active(bob, alice))!.session.serialize()
    assert.equal(await world.deliver(bad), false)
    assert.equal(world.count('secret-malformed'), 1)
    assert.deepEqual((await active(bob, alice))!.session.serialize(), state, 'the ratchet did not move')
    await chat.send('next')
    assert.deepEqual(await world.flush(alice), [true])
    assert.deepEqual(texts(bob), ['first', 'next'])
  })
})
