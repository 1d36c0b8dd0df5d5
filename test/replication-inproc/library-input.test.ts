/**
 * Issue 9, item 5, in process: bad input at the library surface. A JavaScript caller that passes the
 * wrong type, an unknown option or a value past the protocol's bounds to a public method gets an
 * `InvalidOptionError` naming the argument (not a TypeError from deep inside), and the node and the
 * session go on working: a valid call right after each refusal does what it always did.
 */

import { strict as assert } from 'node:assert'
import {
  createNode, type ChorusNode, type Message, type ReceiptEvent, type RoomMemberEvent, type User
} from '../../node/index.js'
import { MAX_BODY_BYTES } from '../../protocol/envelope.js'
import { MAX_ROOM_NAME_LENGTH, MAX_ROOM_SUBJECT_LENGTH } from '../../protocol/room.js'
import { MAX_STATUS_CHARS } from '../../protocol/roster.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** A call that must fail with InvalidOptionError blaming `option` (a synchronous throw counts too). */
async function refused (call: () => unknown, option: string): Promise<void> {
  await assert.rejects(async () => { await call() }, (err: any) => {
    const seen = `${String(err.name)}: ${String(err.message)}`
    assert.deepEqual({ name: err.name, code: err.code }, { name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION' }, seen)
    assert.ok(typeof err.option === 'string' && err.option.includes(option), `blames ${String(err.option)}, not ${option}`)
    return true
  })
}

/** Calls a JavaScript caller can make and TypeScript would not let through. */
const js = (x: unknown): any => x

const LONG_HANDLE = 'h'.repeat(65)

describe('bad input at the library surface', function () {
  this.timeout(scaled(60_000))
  let mesh: Mesh
  let aliceNode: ChorusNode
  let alice: User
  let bob: User
  const bobGot: Message[] = []
  const aliceReceipts: ReceiptEvent[] = []
  const bobRoomEvents: RoomMemberEvent[] = []

  before(async () => {
    mesh = await startMesh({ servers: 3, clients: 2, options: () => ({ replicas: 3, writeQuorum: 2 }) })
    await waitForServers(mesh.nodes, mesh.servers, 20_000)
    aliceNode = mesh.clients[0]
    alice = await aliceNode.openUser('alice')
    bob = await mesh.clients[1].openUser('bob', { syncIntervalMs: 200 })
    bob.on('message', (m) => bobGot.push(m))
    bob.on('room:member', (e) => bobRoomEvents.push(e))
    alice.on('receipt', (r) => aliceReceipts.push(r))
  })
  after(async () => { await mesh?.cleanup() })

  /** alice sends bob `text`; resolves with what bob was shown. */
  async function delivered (text: string): Promise<Message> {
    const sent = await alice.send('bob', text)
    return await waitFor(`bob to get "${text}"`, () => bobGot.find((m) => m.id === sent.id)) as Message
  }

  it('createNode: options that are not an object, or a misspelt option', async () => {
    await refused(async () => createNode(js('server')), 'options')
    await refused(async () => createNode(js([])), 'options')
    await refused(async () => createNode(js(null)), 'options')
    await refused(async () => createNode(js({ dataDir: mesh.dirs.make(), replica: 5 })), 'replica')
    // the node's values are still resolveOptions' to check, with the same error
    await refused(async () => createNode({ dataDir: mesh.dirs.make(), replicas: 0 }), 'replicas')
    // and the running nodes are none the worse
    await delivered('after bad createNode calls')
  })

  it('openUser: handle and options', async () => {
    await refused(async () => aliceNode.openUser(js({})), 'handle')
    await refused(async () => aliceNode.openUser(js(42)), 'handle')
    await refused(async () => aliceNode.openUser(LONG_HANDLE), 'handle')
    await refused(async () => aliceNode.openUser('Not A Handle'), 'handle')
    await refused(async () => aliceNode.openUser('carol', js('fast')), 'options')
    await refused(async () => aliceNode.openUser('carol', js({ timeoutMs: 'soon' })), 'timeoutMs')
    await refused(async () => aliceNode.openUser('carol', { timeoutMs: -1 }), 'timeoutMs')
    await refused(async () => aliceNode.openUser('carol', { syncIntervalMs: 0 }), 'syncIntervalMs')
    await refused(async () => aliceNode.openUser('carol', { syncIntervalMs: Infinity }), 'syncIntervalMs')
    await refused(async () => aliceNode.openUser('carol', js({ passPhrase: 'typo' })), 'passPhrase')
    // the open session is the same one; a new one opens as ever
    assert.equal(await aliceNode.openUser('alice'), alice)
    const carol = await aliceNode.openUser('carol', { timeoutMs: scaled(10_000), syncIntervalMs: 1000 })
    assert.equal(carol.handle, 'carol')
    await delivered('after bad openUser calls')
  })

  it('user.send: recipient, text and options', async () => {
    await refused(async () => alice.send(js(42), 'hi'), 'to')
    await refused(async () => alice.send(js({ to: 'bob' }), 'hi'), 'to')
    await refused(async () => alice.send(LONG_HANDLE, 'hi'), 'to')
    await refused(async () => alice.send('bob', js(42)), 'text')
    await refused(async () => js(alice).send('bob'), 'text')
    await refused(async () => alice.send('bob', 'hi', js('headline')), 'options')
    await refused(async () => alice.send('bob', 'hi', js({ type: 'loud' })), 'type')
    await refused(async () => alice.send('bob', 'hi', js({ tpye: 'headline' })), 'tpye')
    // too large a text keeps its own error, now before anything is sealed
    await assert.rejects(alice.send('bob', 'x'.repeat(MAX_BODY_BYTES * 4)),
      { name: 'EnvelopeTooLargeError', code: 'ERR_ENVELOPE_TOO_LARGE' })
    const m = await delivered('after bad sends')
    assert.equal(m.from, 'alice')
    assert.equal((await alice.send('bob', 'a headline', { type: 'headline' })).storedOn.length, 0)
  })

  it('user.typing: recipient and flag', async () => {
    await refused(async () => alice.typing(js(42)), 'to')
    await refused(async () => alice.typing('bob', js('yes')), 'active')
    const typing: boolean[] = []
    const onTyping = (t: { from: string, active: boolean }): void => { if (t.from === 'alice') typing.push(t.active) }
    bob.on('typing', onTyping)
    try {
      await alice.typing('bob')
      await waitFor('bob to see alice typing', () => typing.includes(true))
    } finally {
      bob.off('typing', onTyping)
    }
  })

  it('user.markRead: messages', async () => {
    const m = await delivered('read me')
    await refused(() => bob.markRead(js('read me')), 'messages')
    await refused(() => bob.markRead(js(null)), 'messages')
    await refused(() => bob.markRead(js([m, 42])), 'messages[1]')
    await refused(() => bob.markRead({ ...m, id: 'not an id' }), 'messages.id')
    bob.markRead(m)
    await waitFor('alice to see her message read',
      () => aliceReceipts.some((r) => r.id === m.id && r.status === 'read'))
  })

  it('user.setPresence (and roster.setPresence): state and status', async () => {
    await refused(async () => alice.setPresence(js('sleeping')), 'state')
    await refused(async () => alice.setPresence(js(1)), 'state')
    await refused(async () => alice.setPresence('away', js(42)), 'status')
    await refused(async () => alice.roster.setPresence('sleeping'), 'state')
    // a status over the protocol's bound keeps the protocol's error
    await assert.rejects(alice.setPresence('away', 'x'.repeat(MAX_STATUS_CHARS + 1)),
      { name: 'InvalidPresenceError', code: 'ERR_INVALID_PRESENCE' })
    await alice.setPresence('away', 'at lunch')
    await alice.setPresence('online')
  })

  it('user.history: peer and options', async () => {
    await delivered('earlier in the history')
    const m = await delivered('in the history')
    await refused(async () => bob.history('alice', js({ before: 1234 })), 'before')
    await refused(async () => bob.history('alice', { before: 'not a cursor' }), 'before')
    await refused(async () => bob.history(js(42)), 'withHandle')
    await refused(async () => bob.history('alice', js('recent')), 'options')
    await refused(async () => bob.history('alice', { limit: 0 }), 'limit')
    await refused(async () => bob.history('alice', { limit: 2.5 }), 'limit')
    await refused(async () => bob.history('alice', js({ limit: 'all' })), 'limit')
    await refused(async () => bob.history('alice', js({ lmit: 5 })), 'lmit')
    const page = await bob.history('alice', { limit: 50 })
    assert.ok(page.some((x) => x.id === m.id), 'the history holds the message')
    const newest = page[page.length - 1]
    const older = await bob.history('alice', { limit: 50, before: newest })
    assert.ok(older.length > 0 && !older.some((x) => x.id === newest.id), 'paging with a message as `before` as ever')
  })

  it('rooms: create, join, leave, invite, kick, get', async () => {
    await refused(async () => alice.rooms.create(js('team')), 'options')
    await refused(async () => alice.rooms.create(js({})), 'name')
    await refused(async () => alice.rooms.create({ name: 'x'.repeat(MAX_ROOM_NAME_LENGTH + 1) }), 'name')
    await refused(async () => alice.rooms.create(js({ name: 'team', public: 'yes' })), 'public')
    await refused(async () => alice.rooms.create(js({ name: 'team', subject: 42 })), 'subject')
    await refused(async () => alice.rooms.create(js({ name: 'team', address: 42 })), 'address')
    await assert.rejects(alice.rooms.create({ name: 'team', address: 'abcdefghijklmnop' }), { code: 'ERR_INVALID_ROOM_ADDRESS' }, 'an address shaped like a room id')
    await refused(async () => alice.rooms.create(js({ name: 'team', pubic: true })), 'pubic')
    const room = await alice.rooms.create({ name: 'team', subject: 'release' })
    await refused(async () => bob.rooms.join(js(42)), 'roomId')
    await refused(async () => bob.rooms.join(js({ id: room.id })), 'roomId')
    await refused(async () => alice.rooms.leave(js(undefined)), 'roomId')
    await refused(async () => alice.rooms.invite(js(42), 'bob'), 'roomId')
    await refused(async () => alice.rooms.invite(room.id, js(42)), 'handle')
    await refused(async () => alice.rooms.invite(room.id, LONG_HANDLE), 'handle')
    await refused(async () => alice.rooms.kick(room.id, js(null)), 'handle')
    await refused(() => alice.rooms.get(js(42)), 'roomId')
    assert.equal(alice.rooms.get(room.id), room)
    await alice.rooms.invite(room.id, 'bob')
    await waitFor('bob to be invited', () => bobRoomEvents.some((e) => e.room === room.id && e.action === 'invite'))
    const joined = await bob.rooms.join(room.id)
    assert.equal(joined.name, 'team')
    await alice.rooms.kick(room.id, 'bob')
    await waitFor('bob to be out of the room', () => bob.rooms.get(room.id)?.joined === false)
    await alice.rooms.leave(room.id)
    assert.equal(alice.rooms.get(room.id)?.joined, false)
  })

  it('room: send, history, invite, kick, setRole, setSubject, configure', async () => {
    const room = await alice.rooms.create({ name: 'lobby', public: true })
    const bobRoom = await bob.rooms.join(room.id)
    const posts: Message[] = []
    bobRoom.on('message', (m) => posts.push(m))
    await refused(async () => room.send(js(42)), 'text')
    await refused(async () => js(room).send(), 'text')
    await refused(async () => room.history(js('recent')), 'options')
    await refused(async () => room.history(js({ before: 1234 })), 'before')
    await refused(async () => room.history({ limit: -1 }), 'limit')
    await refused(async () => room.invite(js(42)), 'handle')
    await refused(async () => room.kick(js({})), 'handle')
    await refused(async () => room.setRole(js(42), 'admin'), 'handle')
    await refused(async () => room.setRole('bob', js('king')), 'role')
    await refused(async () => room.setSubject(js(42)), 'subject')
    await refused(async () => room.setSubject('x'.repeat(MAX_ROOM_SUBJECT_LENGTH + 1)), 'subject')
    await refused(async () => room.configure(js(true)), 'options')
    await refused(async () => room.configure(js({ public: 'yes' })), 'public')
    await refused(async () => room.configure(js({ invites: 'everyone' })), 'invites')
    await refused(async () => room.configure(js({ moderated: 1 })), 'moderated')
    await refused(async () => room.configure({ public: true, name: 'x'.repeat(MAX_ROOM_NAME_LENGTH + 1) }), 'name')
    await room.setRole('bob', 'admin')
    await room.setSubject('after bad calls')
    await room.configure({ public: true, name: 'lobby2' })
    assert.deepEqual([room.role, room.subject, room.name], ['owner', 'after bad calls', 'lobby2'])
    const sent = await room.send('hello room')
    await waitFor('bob to get the post', () => posts.some((m) => m.id === sent.id))
    assert.ok((await room.history({ limit: 10 })).some((m) => m.id === sent.id), 'the room history holds the post')
  })

  it('roster: add, accept, deny, remove', async () => {
    await refused(async () => alice.roster.add(js(42)), 'handle')
    await refused(async () => bob.roster.accept(js({})), 'handle')
    await refused(async () => bob.roster.deny(js(null)), 'handle')
    await refused(async () => alice.roster.remove(LONG_HANDLE), 'handle')
    await alice.roster.add('bob')
    await waitFor('bob to get alice\'s request', () => bob.roster.requests().some((e) => e.handle === 'alice'))
    await bob.roster.accept('alice')
    const seesBob = (): boolean => alice.roster.list().some((e) => e.handle === 'bob' && ['to', 'both'].includes(e.subscription))
    await waitFor('alice to see bob', seesBob)
    await alice.roster.remove('bob')
    assert.ok(!alice.roster.list().some((e) => e.handle === 'bob' && e.subscription !== 'none'), 'bob is dropped')
  })
})
