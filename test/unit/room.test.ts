import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { roomMailbox, roomStateMailbox } from '../../protocol/mailbox.js'
import {
  MAX_ROOM_EVENT_BYTES, MalformedRoomEventError, RoomEvent, RoomState, decodeRoomEvent, encodeRoomEvent, eventKey,
  newRoomNonce, roomIdOf
} from '../../protocol/room.js'

const A = RoomEvent.Action

/** A little world: identities and a clock that ticks one ms per event. */
class World {
  private t = Date.now()
  readonly alice = generateIdentity()
  readonly bob = generateIdentity()
  readonly carol = generateIdentity()
  readonly dave = generateIdentity()
  roomId = ''

  at (): bigint { this.t += 1; return hlcPack(this.t, 0) }

  create (
    who: IdentityKey,
    o: { public?: boolean, name?: string, nonce?: Uint8Array, roomId?: string } = {}
  ): Envelope {
    const nonce = o.nonce ?? newRoomNonce()
    const id = o.roomId ?? roomIdOf(who.publicKey, nonce)
    if (this.roomId === '') this.roomId = id
    return this.sign(who,
      { action: A.CREATE, name: o.name ?? 'lobby', public: o.public ?? false, nonce: nonce as Uint8Array<ArrayBuffer> },
      roomStateMailbox(id))
  }

  event (who: IdentityKey, ev: Partial<RoomEvent> & { action: RoomEvent.Action }, handle = ''): Envelope {
    return this.sign(who, ev, roomStateMailbox(this.roomId), handle)
  }

  of (who: IdentityKey, action: RoomEvent.Action, target?: IdentityKey, extra: Partial<RoomEvent> = {}): Envelope {
    return this.event(who, { action, target: target != null ? userIdOf(target.publicKey) : '', ...extra })
  }

  post (who: IdentityKey, text = 'hi', t = this.at()): Envelope {
    return signEnvelope(
      {
        kind: Envelope.Kind.GROUPCHAT,
        recipient: roomMailbox(this.roomId),
        body: new TextEncoder().encode(text),
        timestamp: t
      },
      who
    )
  }

  private sign (
    who: IdentityKey,
    ev: Partial<RoomEvent> & { action: RoomEvent.Action },
    recipient: string,
    handle = ''
  ): Envelope {
    return signEnvelope(
      { kind: Envelope.Kind.ROOM, recipient, body: encodeRoomEvent(ev), timestamp: this.at(), senderHandle: handle },
      who
    )
  }
}

const id = (k: IdentityKey): string => userIdOf(k.publicKey)

/** Add envelopes in order; fail on the first one that is skipped. */
function fold (w: World, envs: Envelope[]): RoomState {
  const s = new RoomState(w.roomId)
  for (const e of envs) {
    const why = s.add(e)
    assert.equal(why, undefined, `event ${RoomEvent.decode(e.body).action} was skipped: ${why?.message}`)
  }
  return s
}

function shuffled<T> (list: T[], seed: number): T[] {
  const out = [...list]
  let x = seed
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    const j = x % (i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** Everything observable about a state, for comparing folds. */
function snapshot (s: RoomState, users: string[], times: bigint[]): unknown {
  return {
    created: s.created,
    name: s.name,
    subject: s.subject,
    public: s.public,
    members: s.members(),
    invitees: s.invitees().sort(),
    at: users.map((u) => times.map((t) => s.isMemberAt(u, t)))
  }
}

describe('rooms: ids and events (protocol/room.ts)', () => {
  it('a room id is 16 base32 characters derived from the creator key and the nonce', () => {
    const k = generateIdentity()
    const nonce = newRoomNonce()
    const id = roomIdOf(k.publicKey, nonce)
    assert.match(id, /^[a-z2-7]{16}$/)
    assert.equal(roomIdOf(k.publicKey, nonce), id, 'deterministic')
    assert.notEqual(roomIdOf(k.publicKey, newRoomNonce()), id, 'a new nonce, a new room')
    assert.notEqual(roomIdOf(generateIdentity().publicKey, nonce), id, 'another creator, another room')
    // a fixed vector (computed independently: base32 of sha256("chorus/room/v1" ‖ 32 zero bytes ‖ 16 zero
    // bytes)[0..10])
    assert.equal(roomIdOf(new Uint8Array(32), new Uint8Array(16)), '7qjo4llodzj6jv3l')
  })

  it('event bodies round-trip and bounds are typed errors', () => {
    const body = encodeRoomEvent({ action: A.SUBJECT, subject: 'news' })
    assert.equal(decodeRoomEvent(body).subject, 'news')
    assert.throws(() => encodeRoomEvent({ action: A.SUBJECT, subject: 'x'.repeat(257) }), MalformedRoomEventError)
    assert.throws(() => encodeRoomEvent({ action: A.CREATE, name: 'x'.repeat(257), nonce: newRoomNonce() }),
      MalformedRoomEventError)
    assert.throws(() => encodeRoomEvent({ action: A.INVITE, target: 'not-a-user-id' }), { name: 'MalformedRoomEventError', code: 'ERR_MALFORMED_ROOM_EVENT' })
    assert.throws(
      () => encodeRoomEvent({ action: A.INVITE, target: id(generateIdentity()), targetHandle: 'h'.repeat(65) }),
      MalformedRoomEventError
    )
    assert.throws(() => encodeRoomEvent({ action: A.CREATE }), MalformedRoomEventError, 'a CREATE needs its nonce')
    assert.throws(() => decodeRoomEvent(new Uint8Array(MAX_ROOM_EVENT_BYTES + 1)), MalformedRoomEventError)
    assert.throws(() => decodeRoomEvent(new Uint8Array([0x0a, 0xff])), MalformedRoomEventError)
  })
})

describe('rooms: the state fold (protocol/room.ts)', () => {
  it('CREATE makes the creator the owner; the earliest valid CREATE counts, once', () => {
    const w = new World()
    const nonce = newRoomNonce()
    const c1 = w.create(w.alice, { nonce, name: 'first' })
    const c2 = w.create(w.alice, { nonce, name: 'second' })
    const s = new RoomState(w.roomId)
    assert.equal(s.add(c2), undefined)
    assert.equal(s.add(c1)?.reason, undefined, 'the earlier CREATE lands before: it counts')
    assert.equal(s.name, 'first')
    assert.equal(s.creator, id(w.alice))
    assert.equal(s.roleOf(id(w.alice)), 'owner')
    assert.equal(s.check(c2)?.reason, 'exists')
  })

  it('a forged creator: a CREATE signed by another key (or with another nonce) is refused', () => {
    const w = new World()
    const nonce = newRoomNonce()
    w.roomId = roomIdOf(w.alice.publicKey, nonce)
    const forged = w.create(w.dave, { nonce, roomId: w.roomId })
    const s = new RoomState(w.roomId)
    assert.equal(s.add(forged)?.reason, 'forged-create')
    assert.equal(s.created, false)
    assert.equal(s.check(w.create(w.alice, { roomId: w.roomId }))?.reason, 'forged-create', 'the right key with another nonce')
    // dave's "room" cannot be reached with a plain event before a CREATE either
    assert.equal(s.check(w.of(w.dave, A.JOIN))?.reason, 'no-room')
    assert.equal(s.add(w.create(w.alice, { nonce, roomId: w.roomId })), undefined)
    assert.equal(s.roleOf(id(w.dave)), undefined)
  })

  it('an event for another room or of another kind is malformed', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice)])
    const other = signEnvelope(
      {
        kind: Envelope.Kind.ROOM,
        recipient: roomStateMailbox('zzzzzzzzzzzzzzzz'),
        body: encodeRoomEvent({ action: A.SUBJECT }),
        timestamp: w.at()
      },
      w.alice
    )
    assert.equal(s.check(other)?.reason, 'malformed')
    const wrongKind = signEnvelope(
      {
        kind: Envelope.Kind.CHAT,
        recipient: roomStateMailbox(w.roomId),
        body: encodeRoomEvent({ action: A.SUBJECT }),
        timestamp: w.at()
      },
      w.alice
    )
    assert.equal(s.check(wrongKind)?.reason, 'malformed')
    const garbage = signEnvelope(
      {
        kind: Envelope.Kind.ROOM,
        recipient: roomStateMailbox(w.roomId),
        body: new Uint8Array([0x0a, 0xff]),
        timestamp: w.at()
      },
      w.alice
    )
    assert.equal(s.add(garbage)?.reason, 'malformed')
    assert.equal(s.size, 2, 'kept, inert')
  })

  it('INVITE: owners and admins in a private room; any member in a public one; never of a member', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice), w.of(w.alice, A.INVITE, w.bob), w.of(w.bob, A.JOIN)])
    assert.equal(s.check(w.of(w.bob, A.INVITE, w.carol))?.reason, 'not-allowed', 'a plain member of a private room')
    assert.equal(s.check(w.of(w.dave, A.INVITE, w.carol))?.reason, 'not-member')
    assert.equal(s.check(w.of(w.alice, A.INVITE, w.bob))?.reason, 'already-member')
    assert.equal(s.check(w.of(w.alice, A.INVITE))?.reason, 'malformed')
    assert.equal(s.add(w.of(w.alice, A.ROLE, w.bob, { role: RoomEvent.Role.ADMIN })), undefined)
    assert.equal(s.add(w.of(w.bob, A.INVITE, w.carol)), undefined, 'an admin invites')
    assert.ok(s.isInvited(id(w.carol)))

    const p = new World()
    const ps = fold(p, [p.create(p.alice, { public: true }), p.of(p.bob, A.JOIN), p.of(p.bob, A.INVITE, p.carol)])
    assert.ok(ps.isInvited(id(p.carol)), 'a plain member invites to a public room')
  })

  it('JOIN: by the user itself, invited or into a public room', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice), w.of(w.alice, A.INVITE, w.bob)])
    assert.equal(s.check(w.of(w.carol, A.JOIN))?.reason, 'not-invited')
    assert.equal(s.check(w.of(w.carol, A.JOIN, w.bob))?.reason, 'not-allowed', 'nobody joins on behalf of another')
    assert.equal(s.add(w.of(w.bob, A.JOIN)), undefined)
    assert.equal(s.roleOf(id(w.bob)), 'member')
    assert.equal(s.isInvited(id(w.bob)), false, 'the invitation is used up')
    assert.equal(s.check(w.of(w.bob, A.JOIN))?.reason, 'already-member')

    const p = new World()
    const ps = fold(p, [p.create(p.alice, { public: true }), p.of(p.carol, A.JOIN)])
    assert.equal(ps.roleOf(id(p.carol)), 'member')
  })

  it('LEAVE: by the member itself; the last owner stays while others remain', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice), w.of(w.alice, A.INVITE, w.bob), w.of(w.bob, A.JOIN)])
    assert.equal(s.check(w.of(w.carol, A.LEAVE))?.reason, 'not-member')
    assert.equal(s.check(w.of(w.alice, A.LEAVE, w.bob))?.reason, 'not-allowed')
    assert.equal(s.check(w.of(w.alice, A.LEAVE))?.reason, 'last-owner')
    assert.equal(s.add(w.of(w.bob, A.LEAVE)), undefined)
    assert.equal(s.isMember(id(w.bob)), false)
    assert.equal(s.exitOf(id(w.bob))?.action, 'leave')
    assert.equal(s.add(w.of(w.alice, A.LEAVE)), undefined, 'alone, the owner may leave')
    assert.deepEqual(s.members(), [])
  })

  it('KICK: owners and admins, never of an owner; an admin cannot kick an admin; a kick revokes an invitation', () => {
    const w = new World()
    const s = fold(w, [
      w.create(w.alice), w.of(w.alice, A.INVITE, w.bob), w.of(w.bob, A.JOIN), w.of(w.alice, A.INVITE, w.carol),
      w.of(w.carol, A.JOIN),
      w.of(w.alice, A.INVITE, w.dave), w.of(w.dave, A.JOIN)
    ])
    assert.equal(s.check(w.of(w.bob, A.KICK, w.carol))?.reason, 'not-allowed', 'a member cannot kick')
    assert.equal(s.add(w.of(w.alice, A.ROLE, w.bob, { role: RoomEvent.Role.ADMIN })), undefined)
    assert.equal(s.add(w.of(w.alice, A.ROLE, w.carol, { role: RoomEvent.Role.ADMIN })), undefined)
    assert.equal(s.check(w.of(w.bob, A.KICK, w.alice))?.reason, 'not-allowed', 'an owner cannot be kicked')
    assert.equal(s.check(w.of(w.bob, A.KICK, w.carol))?.reason, 'not-allowed', 'an admin cannot kick an admin')
    assert.equal(s.check(w.of(w.bob, A.KICK, w.bob))?.reason, 'malformed', 'a kick of oneself is a LEAVE')
    assert.equal(s.add(w.of(w.bob, A.KICK, w.dave)), undefined, 'an admin kicks a member')
    assert.equal(s.exitOf(id(w.dave))?.action, 'kick')
    assert.equal(s.check(w.of(w.bob, A.KICK, w.dave))?.reason, 'not-member')
    assert.equal(s.add(w.of(w.alice, A.KICK, w.carol)), undefined, 'the owner kicks an admin')

    const pending = generateIdentity()
    assert.equal(s.add(w.of(w.alice, A.INVITE, pending)), undefined)
    assert.equal(s.add(w.of(w.alice, A.KICK, pending)), undefined, 'kicking an invitee revokes the invitation')
    assert.equal(s.check(w.of(pending, A.JOIN))?.reason, 'not-invited')
  })

  it('a kick bans from a public room until invited again', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice, { public: true }), w.of(w.carol, A.JOIN), w.of(w.alice, A.KICK, w.carol)])
    assert.equal(s.check(w.of(w.carol, A.JOIN))?.reason, 'not-invited')
    assert.equal(s.add(w.of(w.alice, A.INVITE, w.carol)), undefined)
    assert.equal(s.add(w.of(w.carol, A.JOIN)), undefined)
  })

  it('ROLE: by an owner only; member/admin/owner; the last owner cannot step down', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice), w.of(w.alice, A.INVITE, w.bob), w.of(w.bob, A.JOIN)])
    assert.equal(s.check(w.of(w.bob, A.ROLE, w.bob, { role: RoomEvent.Role.OWNER }))?.reason, 'not-allowed')
    assert.equal(s.check(w.of(w.alice, A.ROLE, w.bob, { role: RoomEvent.Role.NONE }))?.reason, 'malformed')
    assert.equal(s.check(w.of(w.alice, A.ROLE, w.carol, { role: RoomEvent.Role.ADMIN }))?.reason, 'not-member')
    assert.equal(s.check(w.of(w.alice, A.ROLE, w.alice, { role: RoomEvent.Role.MEMBER }))?.reason, 'last-owner')
    assert.equal(s.add(w.of(w.alice, A.ROLE, w.bob, { role: RoomEvent.Role.OWNER })), undefined)
    assert.equal(s.add(w.of(w.alice, A.ROLE, w.alice, { role: RoomEvent.Role.MEMBER })), undefined, 'with a second owner, the first may step down')
    assert.equal(s.roleOf(id(w.alice)), 'member')
    assert.equal(s.add(w.of(w.alice, A.LEAVE)), undefined)
  })

  it('SUBJECT by owners and admins; CONFIGURE by owners', () => {
    const w = new World()
    const s = fold(w, [w.create(w.alice), w.of(w.alice, A.INVITE, w.bob), w.of(w.bob, A.JOIN)])
    assert.equal(s.check(w.event(w.bob, { action: A.SUBJECT, subject: 'mine' }))?.reason, 'not-allowed')
    assert.equal(s.check(w.event(w.dave, { action: A.SUBJECT, subject: 'mine' }))?.reason, 'not-allowed')
    assert.equal(s.add(w.of(w.alice, A.ROLE, w.bob, { role: RoomEvent.Role.ADMIN })), undefined)
    assert.equal(s.add(w.event(w.bob, { action: A.SUBJECT, subject: 'news' })), undefined)
    assert.equal(s.subject, 'news')
    assert.equal(s.check(w.event(w.bob, { action: A.CONFIGURE, public: true }))?.reason, 'not-allowed')
    assert.equal(s.add(w.event(w.alice, { action: A.CONFIGURE, public: true, name: 'renamed' })), undefined)
    assert.equal(s.public, true)
    assert.equal(s.name, 'renamed')
    assert.equal(s.check(w.of(w.carol, A.JOIN)), undefined, 'public now: anyone joins')
  })

  it('membership intervals: kicked, then invited and joined again', () => {
    const w = new World()
    const envs = [w.create(w.alice), w.of(w.alice, A.INVITE, w.carol)]
    const beforeJoin = w.at()
    envs.push(w.of(w.carol, A.JOIN))
    const during = w.at()
    envs.push(w.of(w.alice, A.KICK, w.carol))
    const afterKick = w.at()
    envs.push(w.of(w.alice, A.INVITE, w.carol))
    const invitedAgain = w.at()
    envs.push(w.of(w.carol, A.JOIN))
    const rejoined = w.at()
    const s = fold(w, envs)
    const c = id(w.carol)
    assert.deepEqual([beforeJoin, during, afterKick, invitedAgain, rejoined].map((t) => s.isMemberAt(c, t)),
      [false, true, false, false, true])
    assert.equal(s.isMemberAt(c, envs[3].timestamp), false, 'not a member at the kick itself')
    assert.equal(s.isMemberAt(c, envs[2].timestamp), true, 'a member from the join on')

    // the live verdicts follow
    assert.equal(s.verdict(w.post(w.carol, 'now')), 'accept')
    assert.equal(s.verdict(w.post(w.carol, 'while out', afterKick)), 'reject')
    assert.equal(s.verdict(w.post(w.dave)), 'reject', 'never invited into a private room')
  })

  it('verdicts: a post from before a leave is not punished; a JOIN we may not have seen is not punished', () => {
    const w = new World()
    const envs = [w.create(w.alice, { public: true }), w.of(w.bob, A.JOIN)]
    const whileIn = w.at()
    envs.push(w.of(w.bob, A.LEAVE))
    const s = fold(w, envs)
    assert.equal(s.verdict(w.post(w.bob, 'late', whileIn)), 'ignore')
    assert.equal(s.verdict(w.post(w.carol)), 'ignore', 'a public room: carol may have joined')
    assert.equal(new RoomState(w.roomId).verdict(w.post(w.bob)), 'ignore', 'no state: cannot judge')
    assert.equal(s.verdict(w.of(w.alice, A.SUBJECT)), 'accept', 'a state event that applies')
    assert.equal(s.verdict(w.of(w.carol, A.SUBJECT)), 'ignore', 'one that does not (maybe yet)')
  })

  it('the fold does not depend on arrival order: shuffled then added equals sorted', () => {
    const w = new World()
    const envs = [
      w.create(w.alice), w.of(w.alice, A.INVITE, w.bob), w.of(w.bob, A.JOIN), w.of(w.alice, A.INVITE, w.carol),
      w.of(w.carol, A.JOIN), w.of(w.alice, A.ROLE, w.bob, { role: RoomEvent.Role.ADMIN }), w.of(w.bob, A.KICK, w.carol),
      w.event(w.bob, { action: A.SUBJECT, subject: 'after the kick' }), w.of(w.carol, A.JOIN), // refused: kicked
      w.of(w.alice, A.INVITE, w.dave), w.of(w.dave, A.JOIN), w.of(w.bob, A.LEAVE),
      w.of(w.bob, A.INVITE, w.carol) // refused: bob left
    ]
    const users = [w.alice, w.bob, w.carol, w.dave].map(id)
    const times = envs.map((e) => e.timestamp).concat(envs.map((e) => e.timestamp + 1n))
    const sorted = [...envs].sort((a, b) => (eventKey(a) < eventKey(b) ? -1 : 1))
    const want = snapshot(RoomState.fold(w.roomId, sorted), users, times)
    for (let seed = 1; seed <= 25; seed++) {
      const s = RoomState.fold(w.roomId, shuffled(envs, seed))
      assert.deepEqual(snapshot(s, users, times), want, `seed ${seed}`)
    }
    // and duplicates change nothing
    assert.deepEqual(snapshot(RoomState.fold(w.roomId, [...envs, ...shuffled(envs, 7)]), users, times), want)
    const s = RoomState.fold(w.roomId, envs)
    assert.equal(s.size, envs.length)
    assert.equal(s.subject, 'after the kick')
    assert.equal(s.isMember(id(w.carol)), false)
    assert.equal(s.isMember(id(w.bob)), false)
    assert.equal(s.isInvited(id(w.carol)), false, "bob's invitation after he left was skipped")
  })

  it('check() judges an event at its own place in the log, not at the end', () => {
    const w = new World()
    const create = w.create(w.alice)
    const invite = w.of(w.alice, A.INVITE, w.bob)
    const join = w.of(w.bob, A.JOIN)
    const kick = w.of(w.alice, A.KICK, w.bob)
    const s = fold(w, [create, invite, kick])
    // bob's JOIN, stamped before the kick, would apply there (and then the kick removes him)
    assert.equal(s.check(join), undefined)
    assert.equal(s.add(join), undefined)
    assert.equal(s.isMember(id(w.bob)), false)
    assert.equal(s.isMemberAt(id(w.bob), join.timestamp), true)
    assert.equal(s.exitOf(id(w.bob))?.action, 'kick')
  })

  it('an event that arrives late can make a later one valid (kept, then applied on refold)', () => {
    const w = new World()
    const create = w.create(w.alice)
    const invite = w.of(w.alice, A.INVITE, w.bob)
    const join = w.of(w.bob, A.JOIN)
    const s = new RoomState(w.roomId)
    assert.equal(s.add(join)?.reason, 'no-room')
    assert.equal(s.add(create), undefined)
    assert.equal(s.isMember(id(w.bob)), false)
    assert.equal(s.add(invite), undefined)
    assert.equal(s.isMember(id(w.bob)), true)
    assert.equal(s.add(join), undefined, 'the duplicate reports the outcome after refolding')
  })
})
