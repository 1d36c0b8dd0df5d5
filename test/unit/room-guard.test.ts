import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { roomMailbox, roomStateMailbox } from '../../protocol/mailbox.js'
import { signReadAuth } from '../../protocol/read-auth.js'
import { RoomEvent, encodeRoomEvent, newRoomNonce, roomIdOf } from '../../protocol/room.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { MailboxStore, cursorOf } from '../../node/store/mailbox-store.js'
import { RoomGuard } from '../../node/replication/room-guard.js'
import { TempDirs } from '../helpers/wait.js'

const A = RoomEvent.Action
const SELF = 'self-peer'
const SERVER = 'another-server'
const CLIENT = 'a-client-node'

const alice = generateIdentity()
const bob = generateIdentity()
const carol = generateIdentity()
const id = (k: IdentityKey): string => userIdOf(k.publicKey)

describe('RoomGuard (owners enforce room rules from their own disk)', () => {
  const dirs = new TempDirs()
  let db: ChorusDb
  let store: MailboxStore
  let guard: RoomGuard
  let roomId: string
  let t: number
  const rooms: string[] = []

  const at = (): bigint => hlcPack(++t, 0)
  const event = (who: IdentityKey, ev: Partial<RoomEvent> & { action: RoomEvent.Action }, ts = at()): Envelope =>
    signEnvelope(
      { kind: Envelope.Kind.ROOM, recipient: roomStateMailbox(roomId), body: encodeRoomEvent(ev), timestamp: ts }, who
    )
  const post = (who: IdentityKey, ts = at()): Envelope =>
    signEnvelope(
      {
        kind: Envelope.Kind.GROUPCHAT,
        recipient: roomMailbox(roomId),
        body: new TextEncoder().encode('hi'),
        timestamp: ts
      },
      who
    )
  /** What the STORE handler does for a client's put: the guard, then the write. */
  const put = async (env: Envelope, from = CLIENT): Promise<void> => {
    const mailbox = env.recipient
    await guard.checkPut(env, mailbox, from)
    await store.put([{ mailbox, peer: userIdOf(env.senderKey), cursor: cursorOf(env), bytes: Envelope.encode(env) }])
  }
  /** A write that bypasses the guard (repair's pull). */
  const stored = async (env: Envelope): Promise<void> => {
    await store.put(
      [{ mailbox: env.recipient, peer: userIdOf(env.senderKey), cursor: cursorOf(env), bytes: Envelope.encode(env) }]
    )
  }

  beforeEach(async () => {
    t = Date.now() - 60_000
    db = await openDb(dirs.make())
    store = new MailboxStore(db, new GroupCommit(db))
    guard = new RoomGuard({ selfId: SELF, mailboxes: store, isServerPeer: (p) => p === SERVER }, { freshMs: 0 })
    rooms.length = 0
    guard.on('room', (r) => rooms.push(r))
    const nonce = newRoomNonce()
    roomId = roomIdOf(alice.publicKey, nonce)
    await guard.start()
    await put(event(alice, { action: A.CREATE, name: 'ops', nonce }))
    await put(event(alice, { action: A.INVITE, target: id(bob) }))
    await put(event(bob, { action: A.JOIN }))
  })
  afterEach(async () => { guard.stop(); await db.close(); dirs.cleanup() })

  it('lets through non-room mailboxes untouched', async () => {
    const chat = signEnvelope(
      { kind: Envelope.Kind.CHAT, recipient: id(bob), body: new Uint8Array(0), timestamp: at() }, carol
    )
    await guard.checkPut(chat, id(bob), CLIENT)
    await guard.checkRead(id(bob), undefined, CLIENT)
  })

  it('notes a room from its first state event, once, and finds it again on a restart', async () => {
    assert.deepEqual(rooms, [roomId])
    assert.deepEqual(guard.ownedRooms(), [roomId])
    const again = new RoomGuard({ selfId: SELF, mailboxes: store, isServerPeer: () => false })
    await again.start()
    assert.deepEqual(again.ownedRooms(), [roomId])
    again.stop()
  })

  it('refuses state events the rules do not allow (Forbidden not-allowed), and a backdated one', async () => {
    await assert.rejects(put(event(bob, { action: A.INVITE, target: id(carol) })), { name: 'Forbidden', reason: 'not-allowed' })
    await assert.rejects(put(event(carol, { action: A.JOIN })), { name: 'Forbidden', reason: 'not-allowed' })
    await assert.rejects(put(event(bob, { action: A.KICK, target: id(alice) })), { name: 'Forbidden', reason: 'not-allowed' })
    const forged = signEnvelope(
      {
        kind: Envelope.Kind.ROOM,
        recipient: roomStateMailbox(roomId),
        body: encodeRoomEvent({ action: A.CREATE, nonce: newRoomNonce() }),
        timestamp: at()
      },
      carol
    )
    await assert.rejects(put(forged), { name: 'Forbidden', reason: 'not-allowed' })
    await assert.rejects(
      put(event(alice, { action: A.SUBJECT, subject: 'old news' }, hlcPack(Date.now() - 11 * 60_000, 0))),
      { name: 'Rejection', reason: 'stale' }
    )
    await put(event(alice, { action: A.SUBJECT, subject: 'news' }))
    assert.equal((await guard.state(roomId)).subject, 'news')
  })

  it('takes only the CREATE for a room it has no state for (unknown-room, answered as NotNow: the writer tries another server)', async () => {
    const nonce = newRoomNonce()
    roomId = roomIdOf(carol.publicKey, nonce)
    await assert.rejects(put(event(carol, { action: A.SUBJECT, subject: 'x' })), { name: 'NotNow', reason: 'unknown-room' })
    await assert.rejects(put(post(carol)), { name: 'NotNow', reason: 'unknown-room' })
    await put(event(carol, { action: A.CREATE, nonce }))
    await put(post(carol))
  })

  it('an owner without a room\'s state pulls it from the other servers before judging (a ring change repair has not reached yet)', async () => {
    // another owner holds the room's state; this one has none of it
    const nonce = newRoomNonce()
    roomId = roomIdOf(carol.publicKey, nonce)
    const elsewhere = [event(carol, { action: A.CREATE, nonce }), event(carol, { action: A.INVITE, target: id(bob) }),
      event(bob, { action: A.JOIN })]
    const pulled: string[] = []
    const pulling = new RoomGuard({
      selfId: SELF,
      mailboxes: store,
      isServerPeer: () => false,
      pullState: async (mailbox) => { pulled.push(mailbox); for (const e of elsewhere) await stored(e) }
    }, { freshMs: 0 })
    guard.stop()
    guard = pulling
    await put(post(bob))
    assert.deepEqual(pulled, [roomStateMailbox(roomId)])
    await assert.rejects(put(post(alice)), { name: 'Forbidden', reason: 'not-member' })
    // a room nobody has: refused as unknown, and pulled at most once per interval however many posts come
    roomId = roomIdOf(carol.publicKey, newRoomNonce())
    elsewhere.length = 0
    await assert.rejects(put(post(carol)), { name: 'NotNow', reason: 'unknown-room' })
    await assert.rejects(put(post(carol)), { name: 'NotNow', reason: 'unknown-room' })
    assert.equal(pulled.filter((m) => m === roomStateMailbox(roomId)).length, 1)
  })

  it('takes posts from members only, at their timestamp (Forbidden not-member)', async () => {
    await put(post(bob))
    await put(post(alice))
    await assert.rejects(put(post(carol)), { name: 'Forbidden', reason: 'not-member' })
    const beforeJoin = hlcPack(Date.now() - 120_000, 0)
    await assert.rejects(put(post(bob, beforeJoin)), { name: 'Forbidden', reason: 'not-member' }, 'not a member at its timestamp')
    await put(event(alice, { action: A.KICK, target: id(bob) }))
    await assert.rejects(put(post(bob)), { name: 'Forbidden', reason: 'not-member' })
  })

  it('does not judge again what other servers pass on (hints, repair pushes)', async () => {
    const outsider = post(carol)
    await guard.checkPut(outsider, outsider.recipient, SERVER)
    await guard.checkPut(event(carol, { action: A.KICK, target: id(alice) }), roomStateMailbox(roomId), SERVER)
    // …and an inert event changes nothing
    assert.equal((await guard.state(roomId)).roleOf(id(alice)), 'owner')
    // this node's own sessions are clients like any other
    await assert.rejects(guard.checkPut(outsider, outsider.recipient, SELF), { name: 'Forbidden' })
  })

  it('serves the message log to current members and the state log also to invitees, past members and (public) anyone', async () => {
    const read = async (who: IdentityKey, mailbox: string): Promise<void> =>
      guard.checkRead(mailbox, signReadAuth(mailbox, who), CLIENT)
    const messages = roomMailbox(roomId)
    const state = roomStateMailbox(roomId)
    await read(bob, messages)
    await read(alice, state)
    await assert.rejects(guard.checkRead(messages, undefined, CLIENT), { name: 'Forbidden', reason: 'no-read-proof' })
    await assert.rejects(guard.checkRead(messages, signReadAuth(state, bob), CLIENT), { name: 'Forbidden', reason: 'bad-read-proof' }, 'a proof is bound to one mailbox')
    await assert.rejects(read(carol, messages), { name: 'Forbidden', reason: 'not-member' })
    await assert.rejects(read(carol, state), { name: 'Forbidden', reason: 'not-member' })
    await put(event(alice, { action: A.INVITE, target: id(carol) }))
    await read(carol, state)
    await assert.rejects(read(carol, messages), { name: 'Forbidden' }, 'an invitee is not a member yet')
    await put(event(alice, { action: A.KICK, target: id(bob) }))
    await read(bob, state)
    await assert.rejects(read(bob, messages), { name: 'Forbidden' }, 'a kicked member reads why, not the messages')
    const stranger = generateIdentity()
    await assert.rejects(read(stranger, state), { name: 'Forbidden' })
    await put(event(alice, { action: A.CONFIGURE, public: true }))
    await read(stranger, state)
  })

  it('judges live posts for the relay: accept members, reject known outsiders, ignore what it cannot tell', async () => {
    assert.equal(await guard.policy(post(bob)), 'accept')
    assert.equal(await guard.policy(post(carol)), 'reject')
    await put(event(alice, { action: A.INVITE, target: id(carol) }))
    assert.equal(await guard.policy(post(carol)), 'ignore', 'invited: her JOIN may be on its way')
    roomId = 'unknownroom23456'
    assert.equal(await guard.policy(post(bob)), 'ignore')
  })

  it('sees events that repair stored past it: appended ones at once, earlier ones after a full refold', async () => {
    const slow = new RoomGuard({ selfId: SELF, mailboxes: store, isServerPeer: () => false }, {
      freshMs: 0,
      fullRefoldMs: 60_000
    })
    await slow.start()
    assert.equal(await slow.policy(post(bob)), 'accept')
    // stamped after the JOIN, before the KICK that follows: behind the cursor once the KICK is read
    const early = event(alice, { action: A.INVITE, target: id(carol) }, hlcPack(t, 1))
    await stored(event(alice, { action: A.KICK, target: id(bob) }))
    assert.equal(await slow.policy(post(bob)), 'reject', 'an appended KICK is read incrementally')
    await stored(early)
    assert.equal((await slow.state(roomId)).isInvited(id(carol)), false, 'an insert behind the cursor waits for the full refold')
    const fresh = new RoomGuard({ selfId: SELF, mailboxes: store, isServerPeer: () => false }, { fullRefoldMs: 0 })
    assert.equal((await fresh.state(roomId)).isInvited(id(carol)), true)
    slow.stop()
  })
})
