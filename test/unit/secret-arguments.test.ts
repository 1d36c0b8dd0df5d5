/**
 * Issue 9, the library surface of secret chats: a JavaScript caller passing a wrong type to a public
 * method of `user.secret` (Secrets) or of a SecretChat gets an `InvalidOptionError` naming the argument,
 * at once, and nothing is stored, sent or changed; a text too large for an envelope is the envelope's own
 * `EnvelopeTooLargeError`, caught before the ratchet moves.
 */

import { strict as assert } from 'node:assert'
import { InvalidOptionError } from '../../node/errors.js'
import { MAX_SECRET_TEXT_BYTES } from '../../node/session/secret-arguments.js'
import { MAX_TTL_MS } from '../../node/session/secret-constants.js'
import type { SecretChat } from '../../node/session/secret.js'
import { SecretWorld, type Device } from './secret-harness.js'

/** `f` rejects with an InvalidOptionError naming `option`. */
async function invalid (f: () => Promise<unknown> | unknown, option: string): Promise<void> {
  await assert.rejects(async () => f(), (err: any) => {
    assert.ok(err instanceof InvalidOptionError, `${option}: got ${err?.name}: ${err?.message}`)
    assert.equal(err.code, 'ERR_INVALID_OPTION')
    assert.equal(err.option, option)
    return true
  })
}

describe('secret chats check their arguments (InvalidOptionError naming the argument)', function () {
  this.timeout(60_000)
  let world: SecretWorld
  let alice: Device
  let bob: Device
  let chat: SecretChat
  const s = (): any => alice.secrets

  before(async () => {
    world = await new SecretWorld().start()
    alice = await world.device('alice')
    bob = await world.device('bob')
    chat = await alice.secrets.open('bob')
  })
  after(async () => { await world.close() })

  it('open(handle)', async () => {
    for (const bad of [undefined, null, 42, {}, ['bob'], 'Not A Handle!', 'x'.repeat(65)]) await invalid(() => s().open(bad), 'handle')
  })

  it('send(peer, text, ttlMs)', async () => {
    await invalid(() => s().send(42, 'hi', 0), 'peer')
    await invalid(() => s().send('bob', 'hi', 0), 'peer') // a handle where a user id goes
    await invalid(() => s().send(bob.userId, { text: 'hi' }, 0), 'text')
    await invalid(() => s().send(bob.userId, undefined, 0), 'text')
    for (const bad of ['5', -1, 1.5, MAX_TTL_MS + 1, NaN, null]) await invalid(() => s().send(bob.userId, 'hi', bad), 'ttlMs')
    await assert.rejects(s().send(bob.userId, 'x'.repeat(MAX_SECRET_TEXT_BYTES + 1), 0), { name: 'EnvelopeTooLargeError' })
    assert.equal(alice.outbox.length, 0, 'nothing was sent')
  })

  it('SecretChat.send(text, options) and markRead(message)', async () => {
    await invalid(() => (chat as any).send(7), 'text')
    await invalid(() => (chat as any).send('hi', 'soon'), 'options')
    await invalid(() => (chat as any).send('hi', { ttl: 5 }), 'ttl')
    await invalid(() => (chat as any).send('hi', { ttlMs: '5' }), 'options.ttlMs')
    await invalid(() => (chat as any).markRead('an id'), 'message')
    await invalid(() => (chat as any).markRead({ id: 'not hex', fromId: bob.userId }), 'message.id')
    await invalid(() => (chat as any).markRead({ id: '0'.repeat(32), fromId: 'bob' }), 'message.fromId')
    assert.equal(alice.outbox.length, 0)
  })

  it('handle(env), onRead(peer, ids) and the peer-keyed reads', async () => {
    for (const bad of [undefined, 'envelope', { kind: 99 }]) {
      await invalid(() => s().handle(bad), bad == null || typeof bad === 'string' ? 'env' : 'env.kind')
    }
    await invalid(() => s().onRead('bob', []), 'peer')
    await invalid(() => s().onRead(bob.userId, 'id'), 'ids')
    await invalid(() => s().onRead(bob.userId, ['0'.repeat(32), 7]), 'ids[1]')
    await invalid(() => s().historyWith(undefined), 'peer')
    await invalid(() => s().peerIdentity({}), 'peer')
    await invalid(() => s().safetyNumberWith(bob.userId, 'key'), 'peerIdentityKey')
    await invalid(() => s().safetyNumberWith(bob.userId, new Uint8Array(31)), 'peerIdentityKey')
  })

  it('after all that the chat works as before', async () => {
    await chat.send('still fine', { ttlMs: 1000 })
    assert.deepEqual(await world.flush(alice), [true])
    assert.deepEqual(bob.shown.map((m) => m.text), ['still fine'])
    assert.equal((await chat.safetyNumber()).digits.length, 60)
  })
})
