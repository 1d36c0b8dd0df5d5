/**
 * A session (`User`, node/session/user.ts) with the node's replication, relay and directory faked
 * through the narrow types `User` takes (`UserComponents`). The send path: what is signed, that the live
 * copy leaves before the durable write and both carry the same bytes, what the send resolves to, and
 * the bounces a Jabber server would send. The paged read of the mailbox (`inbox`): what it asks the
 * owners. The database is a real LevelDB; the session is not opened.
 */

import { strict as assert } from 'node:assert'
import { Envelope, envelopeIdHex, generateIdentity, openEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { HybridClock, hlcMillis } from '../../protocol/hlc.js'
import { cursorOf } from '../../protocol/mailbox.js'
import { InvalidOptionError } from '../../node/errors.js'
import { RateLimitedError, UnknownHandleError } from '../../node/replication/errors.js'
import type { UserRef } from '../../node/session/directory.js'
import type { Message } from '../../node/session/events.js'
import type { ReadOptions } from '../../node/replication/reader.js'
import { User, type SessionReplication, type UserComponents } from '../../node/session/user.js'
import { Vault } from '../../node/session/vault.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { TempDirs } from '../helpers/wait.js'

const refOf = (handle: string, identity: IdentityKey): UserRef => ({
  handle,
  userId: userIdOf(identity.publicKey),
  publicKey: identity.publicKey
})

describe('a session: the send path and the mailbox read (unit, fake components)', () => {
  const dirs = new TempDirs()
  const alice = generateIdentity()
  const bob = generateIdentity()
  const users = new Map([['alice', refOf('alice', alice)], ['bob', refOf('bob', bob)]])
  let db: ChorusDb
  let user: User
  /** what reached the relay and the writer, in order, with the bytes each got */
  let steps: string[]
  let published: Array<{ env: Envelope, bytes: Uint8Array }>
  let written: Array<{ env: Envelope, bytes: Uint8Array }>
  let trusted: Uint8Array[]
  let failWrite: Error | undefined
  /** the reads the owners were asked for, and what they answer */
  let reads: Array<{ mailbox: string, o: ReadOptions }>
  let stored: Envelope[]

  function components (vault: Vault): UserComponents {
    const replication: SessionReplication = {
      reader: {
        read: async (mailbox, o = {}) => {
          reads.push({ mailbox, o })
          return { envelopes: stored, more: true, answeredBy: ['owner-1'] }
        },
        listCursors: async () => ({ cursors: [], more: false }),
        readCursors: async () => new Set<string>(),
        readEntries: async () => []
      },
      writer: {
        write: async (env, bytes) => {
          steps.push('write')
          if (failWrite != null) throw failWrite
          written.push({ env, bytes })
          return { storedOn: ['owner-1', 'owner-2'] }
        }
      },
      changes: { versions: async () => undefined, follow: () => () => {} },
      placement: { ownersOf: () => [] },
      call: async () => { throw new Error('no owner calls in this test') },
      context: {
        reject: () => {},
        writeQuorum: 2,
        now: () => Date.now(),
        keys: { trust: (bytes) => { trusted.push(bytes) } }
      }
    }
    return {
      replication,
      directory: {
        resolve: async (handle) => {
          const ref = users.get(handle)
          if (ref == null) throw new UnknownHandleError(handle)
          return ref
        },
        claimRoom: async () => { throw new Error('no rooms in this test') },
        resolveRoom: async () => { throw new Error('no rooms in this test') }
      },
      roomList: { list: async () => [] },
      relay: {
        publish: async (env, bytes) => { steps.push('publish'); published.push({ env, bytes }) },
        subscribeInbox: () => () => {},
        subscribeRoom: () => () => {}
      },
      clock: new HybridClock(),
      db,
      vault
    }
  }

  beforeEach(async () => {
    db = await openDb(dirs.make('chorus-user-send-'))
    steps = []
    published = []
    written = []
    trusted = []
    failWrite = undefined
    reads = []
    stored = []
    user = new User('alice', alice, components(await Vault.open(db, 'alice', undefined, false)))
  })
  afterEach(async () => {
    await db.close()
    dirs.cleanup()
  })

  /** The messages the session emitted (the bounces), once a listener is attached. */
  function shown (): Message[] {
    const out: Message[] = []
    user.on('message', (m) => { out.push(m) })
    return out
  }

  it('a chat message: signed by the user to the recipient, its text sealed, published live and then stored', async () => {
    const signed: string[] = []
    const r = await user.send('bob', 'lunch at noon?', { signed: (id) => { signed.push(id); steps.push('signed') } })
    assert.deepEqual(steps, ['signed', 'publish', 'write'], 'the id is known before anything leaves; the live copy goes first')
    assert.equal(written.length, 1)
    const { env, bytes } = written[0]
    assert.deepEqual(bytes, Envelope.encode(env))
    assert.equal(published[0].bytes, bytes, 'the live and the stored copy are the same bytes')
    assert.deepEqual(trusted, [bytes], 'its own envelope needs no verification when sync brings it back')
    const opened = openEnvelope(bytes)
    assert.equal(opened.kind, Envelope.Kind.CHAT)
    assert.equal(opened.recipient, userIdOf(bob.publicKey))
    assert.equal(userIdOf(opened.senderKey), user.userId)
    assert.equal(opened.senderHandle, 'alice')
    assert.ok(!Buffer.from(opened.body).includes(Buffer.from('lunch at noon?')), 'the text travels sealed')
    assert.deepEqual(r, { id: envelopeIdHex(env), timestamp: hlcMillis(env.timestamp), storedOn: ['owner-1', 'owner-2'] })
    assert.deepEqual(signed, [r.id])
    assert.equal((await user.toMessage(env))?.text, 'lunch at noon?', 'and opens again for its two users')
  })

  it('each chat message names the one this session sent the same recipient before it (prev); a headline names none', async () => {
    await user.send('bob', 'one')
    await user.send('bob', 'a headline', { type: 'headline' })
    await user.send('bob', 'two')
    const [one, two] = written.map((w) => w.env)
    assert.equal(one.prev.byteLength, 0, 'the first knows no predecessor')
    assert.deepEqual(two.prev, cursorOf(one), 'the second names the first')
    assert.equal(published[1].env.prev.byteLength, 0)
  })

  it('a headline is only published: nothing stored, no owners in the result', async () => {
    const r = await user.send('bob', 'build is green', { type: 'headline' })
    assert.deepEqual(steps, ['publish'])
    assert.equal(published[0].env.kind, Envelope.Kind.HEADLINE)
    assert.deepEqual(r, {
      id: envelopeIdHex(published[0].env),
      timestamp: hlcMillis(published[0].env.timestamp),
      storedOn: []
    })
  })

  it('the low-level form: an envelope the caller signed is stored and published as it is', async () => {
    const env = user.sign(Envelope.Kind.CHAT, userIdOf(bob.publicKey), new Uint8Array([1, 2, 3]))
    const r = await user.send(env)
    assert.equal(written[0].env, env)
    assert.equal(r.id, envelopeIdHex(env))
  })

  it('an unknown recipient: UnknownHandleError, and an error message item-not-found, nothing sent', async () => {
    const bounces = shown()
    await assert.rejects(user.send('nobody', 'hello?'), UnknownHandleError)
    assert.deepEqual(steps, [])
    assert.deepEqual(bounces.map((m) => [m.kind, m.from, m.condition]), [['error', 'nobody', 'item-not-found']])
  })

  it('a sender past its rate: RateLimitedError, and an error message resource-constraint', async () => {
    const bounces = shown()
    failWrite = new RateLimitedError('slow down')
    await assert.rejects(user.send('bob', 'again'), RateLimitedError)
    assert.deepEqual(bounces.map((m) => [m.kind, m.condition]), [['error', 'resource-constraint']])
  })

  it('arguments are checked before anything is signed', async () => {
    await assert.rejects(user.send('bob', JSON.parse('42')), InvalidOptionError)
    await assert.rejects(user.send('bob', 'hi', JSON.parse('{"type":"shout"}')), InvalidOptionError)
    await assert.rejects(user.send('not a handle!', 'hi'), InvalidOptionError)
    assert.deepEqual(steps, [])
  })

  it('inbox: one page of the mailbox from the owners, with a read proof, by cursor and conversation', async () => {
    const env = user.sign(Envelope.Kind.RECEIPT, user.userId, new Uint8Array(0))
    stored = [env]
    const cursor = 'ab'.repeat(24)
    const page = await user.inbox({ with: 'bob', before: cursor, limit: 7, newestFirst: true })
    assert.deepEqual(page, { envelopes: [env], more: true }, 'every kind, as the owners hold it')
    assert.equal(reads.length, 1)
    const { mailbox, o } = reads[0]
    assert.equal(mailbox, user.userId)
    assert.equal(o.peer, userIdOf(bob.publicKey), 'the conversation with bob')
    assert.equal(Buffer.from(o.before ?? []).toString('hex'), cursor)
    assert.equal(o.after, undefined)
    assert.equal(o.limit, 7)
    assert.equal(o.newestFirst, true)
    assert.deepEqual(o.auth?.publicKey, alice.publicKey, 'read as the user: the owners serve it to the user alone')
    await user.inbox()
    assert.deepEqual([reads[1].o.peer, reads[1].o.limit, reads[1].o.newestFirst], [undefined, 50, false], 'the defaults')
    await assert.rejects(user.inbox({ after: 'not a cursor' }), InvalidOptionError)
    await assert.rejects(user.inbox(JSON.parse('{"peer":"bob"}')), InvalidOptionError)
  })
})
