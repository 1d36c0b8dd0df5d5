/**
 * A session's rooms (node/session/rooms.ts, room.ts, room-addresses.ts, room-invitations.ts) over typed
 * fakes of the ports they take: logs and an outbox in memory, a room directory in memory, a LevelDB for
 * the joined rooms. Creating a room with and without an address, joining (refused without an invitation,
 * allowed with one or into a public room), configuring, and 'room:member' events held for the first
 * listener.
 */

import { strict as assert } from 'node:assert'
import { hlcPack } from '../../protocol/hlc.js'
import { Envelope, userIdOf } from '../../protocol/envelope.js'
import { roomOfClaim, signRoomAddressClaim } from '../../protocol/handle.js'
import { roomStateMailbox } from '../../protocol/mailbox.js'
import { RoomEvent, decodeRoomEvent, encodeRoomEvent, newRoomNonce, roomIdOf } from '../../protocol/room.js'
import type { RoomMemberEvent } from '../../node/session/events.js'
import { RoomList } from '../../node/session/room-list.js'
import { Rooms, UnknownRoomError, type RoomsComponents } from '../../node/session/rooms.js'
import { InvalidOptionError } from '../../node/errors.js'
import { ForbiddenError, RoomAddressTakenError } from '../../node/replication/errors.js'
import { TempDirs } from '../helpers/wait.js'
import { FakeRoomDirectory, FakeSession } from './session-fakes.js'

const A = RoomEvent.Action

/** The ports `Rooms` takes, over a fake session and a directory. */
function components (s: FakeSession, directory: FakeRoomDirectory): RoomsComponents {
  return {
    signer: s.signer,
    outbox: s.outbox,
    logs: s.logsPort,
    lookups: s.lookups,
    live: s.live,
    events: s.events,
    session: s.session,
    rejections: s.rejections,
    storage: s.db,
    directory,
    roomList: new RoomList(directory)
  }
}

/** The state events `s` sent, decoded. */
const stateEvents = (s: FakeSession): RoomEvent[] =>
  s.sent.filter((e) => e.kind === Envelope.Kind.ROOM).map((e) => decodeRoomEvent(e.body))

describe('rooms of a session: create, join, configure (unit, fake ports)', function () {
  this.timeout(20_000)
  const dirs = new TempDirs()
  let alice: FakeSession
  let bob: FakeSession
  let directory: FakeRoomDirectory
  let rooms: Rooms

  beforeEach(async () => {
    alice = await new FakeSession('alice').open(dirs)
    bob = new FakeSession('bob')
    alice.know(bob)
    directory = new FakeRoomDirectory()
    rooms = new Rooms(components(alice, directory))
    await rooms.open()
  })
  afterEach(async () => {
    await rooms.close()
    await alice.close()
    dirs.cleanup()
  })

  /** A room `bob` made (in alice's view of the logs), with the events after its CREATE. */
  function bobsRoom (
    o: { public?: boolean },
    ...then: Array<(roomId: string) => Partial<RoomEvent> & { action: RoomEvent.Action }>
  ): string {
    const nonce = newRoomNonce()
    const roomId = roomIdOf(bob.identity.publicKey, nonce)
    const mailbox = roomStateMailbox(roomId)
    const create = encodeRoomEvent({ action: A.CREATE, name: 'bob\'s', public: o.public === true, nonce })
    alice.store(mailbox, bob.sign(Envelope.Kind.ROOM, mailbox, create))
    for (const ev of then) alice.store(mailbox, bob.sign(Envelope.Kind.ROOM, mailbox, encodeRoomEvent(ev(roomId))))
    return roomId
  }

  it('create without an address: a CREATE signed by this user, the room joined and remembered, no claim', async () => {
    const room = await rooms.create({ name: 'team', subject: 'the plan' })
    assert.equal(alice.sent.length, 1)
    const env = alice.sent[0]
    assert.equal(env.recipient, roomStateMailbox(room.id))
    assert.equal(userIdOf(env.senderKey), alice.userId)
    const ev = decodeRoomEvent(env.body)
    assert.equal(ev.action, A.CREATE)
    assert.equal(ev.name, 'team')
    assert.equal(ev.public, false)
    assert.equal(ev.address, '')
    assert.equal(room.id, roomIdOf(alice.identity.publicKey, ev.nonce), 'the id is the creator\'s key and the nonce')
    assert.equal(room.role, 'owner')
    assert.equal(room.joined, true)
    assert.equal(room.address, undefined)
    assert.ok(alice.subscribed.has(room.id), 'receiving live')
    assert.deepEqual(rooms.list().map((r) => r.id), [room.id])
    assert.equal(directory.claims.size, 0)
    // a session that opens again resubscribes
    const again = new Rooms(components(alice, directory))
    await again.open()
    assert.deepEqual(again.list().map((r) => r.id), [room.id])
    await again.close()
  })

  it('create with an address: claimed first, named by the CREATE, confirmed by its claim', async () => {
    const room = await rooms.create({ name: 'team', address: 'team', public: true })
    const claim = directory.claims.get('team')
    assert.ok(claim != null, 'the address was claimed')
    assert.equal(roomOfClaim(claim), room.id, 'for this room')
    const [ev] = stateEvents(alice)
    assert.equal(ev.address, 'team')
    assert.equal(ev.listed, true, 'a public room with an address is listed by default')
    assert.equal(room.address, 'team')
    assert.deepEqual(await rooms.resolve('team'), { address: 'team', roomId: room.id })
  })

  it('create with an address another room holds: RoomAddressTakenError, and nothing is created', async () => {
    const nonce = newRoomNonce()
    const bobs = await directory.claimRoom(signRoomAddressClaim('team', bob.identity, nonce, bob.clock.now()))
    assert.equal(bobs.roomId, roomIdOf(bob.identity.publicKey, nonce))
    await assert.rejects(rooms.create({ name: 'mine', address: 'team' }), RoomAddressTakenError)
    assert.deepEqual(alice.sent, [], 'no CREATE')
    assert.deepEqual(rooms.list(), [])
    assert.equal(directory.rooms.get('team'), bobs.roomId, 'the address still names bob\'s room')
  })

  it('join: refused without an invitation to a private room, and nothing is sent', async () => {
    const roomId = bobsRoom({ public: false })
    await assert.rejects(rooms.join(roomId), ForbiddenError)
    assert.deepEqual(alice.sent, [])
    assert.deepEqual(rooms.list(), [])
    assert.equal(alice.subscribed.size, 0)
  })

  it('join: with an invitation, or into a public room, a JOIN is sent and the room followed', async () => {
    const invited = bobsRoom({ public: false }, () => ({ action: A.INVITE, target: alice.userId, targetHandle: 'alice' }))
    const room = await rooms.join(invited)
    assert.deepEqual(stateEvents(alice).map((e) => e.action), [A.JOIN])
    assert.equal(room.role, 'member')
    assert.ok(alice.subscribed.has(invited))
    const open = bobsRoom({ public: true })
    await rooms.join(open)
    assert.deepEqual(rooms.list().map((r) => r.id).sort(), [invited, open].sort())
  })

  it('join: stamped after the invitation even when this user\'s clock lags the inviter\'s', async () => {
    bob.clock.observe(hlcPack(Date.now() + 2000, 0))
    const invited = bobsRoom({ public: false }, () => ({ action: A.INVITE, target: alice.userId, targetHandle: 'alice' }))
    const room = await rooms.join(invited)
    const [join] = alice.sent.filter((e) => e.kind === Envelope.Kind.ROOM)
    assert.ok(join.timestamp > room.fold.lastTimestamp - 1n && room.fold.isMember(alice.userId), 'the JOIN sorts after the INVITE')
    assert.equal(room.role, 'member')
  })

  it('join: a room its owners do not know is UnknownRoomError; a malformed id too', async () => {
    await assert.rejects(rooms.join(roomIdOf(bob.identity.publicKey, newRoomNonce())), UnknownRoomError)
    await assert.rejects(rooms.join('NOT A ROOM'), UnknownRoomError)
    assert.deepEqual(alice.sent, [])
  })

  it('peek: a room this session is in answers from its fold, without reading the state log (disco#info asks it)', async () => {
    const reads: string[] = []
    const counting = components(alice, directory)
    const logs = counting.logs
    counting.logs = { ...logs, read: async (mailbox, o) => { reads.push(mailbox); return await logs.read(mailbox, o) } }
    const mine = new Rooms(counting)
    const room = await mine.join(bobsRoom({ public: true }))
    reads.length = 0
    assert.equal(await mine.peek(room.id), room.fold)
    assert.deepEqual(reads, [], 'no read of the state log')
    const other = bobsRoom({ public: true })
    assert.equal((await mine.peek(other)).created, true)
    assert.deepEqual(reads, [roomStateMailbox(other)], 'a room it is not in is read from its owners')
    await mine.close()
  })

  it('configure: the owner\'s CONFIGURE changes what it names, and the rest stays', async () => {
    const room = await rooms.create({ name: 'team', public: true, description: 'before' })
    await room.configure({ moderated: true, description: 'after' })
    const events = stateEvents(alice)
    const ev = events[events.length - 1]
    assert.equal(ev.action, A.CONFIGURE)
    assert.equal(ev.moderated, true)
    assert.deepEqual(room.settings, { name: 'team', description: 'after', public: true, listed: false, moderated: true, invites: 'members' })
    await assert.rejects(room.configure(JSON.parse('{"colour":"red"}')), InvalidOptionError)
    assert.equal(stateEvents(alice).length, events.length, 'an unknown option sends nothing')
  })

  it('room:member events wait for the first listener, then come in order', async () => {
    const room = await rooms.create({ name: 'team' })
    assert.deepEqual(alice.of('room:member'), [], 'held: nobody listens yet')
    alice.listen('room:member')
    await new Promise((resolve) => process.nextTick(resolve))
    const events = alice.of('room:member').map(([e]) => e as RoomMemberEvent)
    assert.deepEqual(events.map((e) => [e.room, e.action, e.memberId]), [[room.id, 'create', alice.userId]])
    await room.setSubject('now')
    assert.deepEqual(alice.of('room:member').map(([e]) => (e as RoomMemberEvent).action), ['create', 'subject'], 'then at once')
  })
})
