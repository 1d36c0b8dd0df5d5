/**
 * Room addresses (protocol/handle.ts): claimed like handles under `#<address>`, signed by the room's creator
 * with the nonce of its CREATE, so that a claim names one room and nobody but its creator can sign it; and
 * room settings in the fold (protocol/room.ts): listed, moderated (voice), who may invite.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope, userIdOf, type IdentityKey } from '../../protocol/envelope.js'
import {
  InvalidRoomAddressError, agreedClaim, checkRoomAddress, isRoomAddress, roomOfClaim, sameClaimant,
  signHandleClaim, signRoomAddressClaim, verifyHandleClaim
} from '../../protocol/handle.js'
import { hlcPack } from '../../protocol/hlc.js'
import { roomMailbox, roomStateMailbox } from '../../protocol/mailbox.js'
import { RoomEvent, RoomState, encodeRoomEvent, newRoomNonce, roomIdOf } from '../../protocol/room.js'
import { looksLikeRoomId } from '../../protocol/room-events.js'

const A = RoomEvent.Action

describe('room addresses: claims of #<address> (protocol/handle.ts)', () => {
  const ann = generateIdentity()
  const mallory = generateIdentity()

  it('a claim names the room its creator made with the nonce, and verifies', () => {
    const nonce = newRoomNonce()
    const claim = signRoomAddressClaim('team', ann, nonce, 1000n)
    assert.equal(claim.handle, '#team')
    assert.equal(verifyHandleClaim(claim), claim)
    assert.equal(roomOfClaim(claim), roomIdOf(ann.publicKey, nonce))
  })

  it('refuses a claim moved to another room, address or key, and a handle claim passed off as one', () => {
    const claim = signRoomAddressClaim('team', ann, newRoomNonce(), 1000n)
    assert.throws(() => verifyHandleClaim({ ...claim, roomNonce: newRoomNonce() }), { code: 'ERR_BAD_SIGNATURE' })
    assert.throws(() => verifyHandleClaim({ ...claim, handle: '#teams' }), { code: 'ERR_BAD_SIGNATURE' })
    assert.throws(() => verifyHandleClaim({ ...claim, publicKey: new Uint8Array(mallory.publicKey) }), { code: 'ERR_BAD_SIGNATURE' })
    // a user's claim of "team" signs other bytes: it is no claim of "#team", with or without a nonce
    const user = signHandleClaim('team', ann, 1000n)
    assert.throws(() => verifyHandleClaim({ ...user, handle: '#team', roomNonce: newRoomNonce() }), { code: 'ERR_BAD_SIGNATURE' })
    assert.throws(() => verifyHandleClaim({ ...user, roomNonce: newRoomNonce() }), { code: 'ERR_MALFORMED_ENVELOPE' })
    assert.throws(() => verifyHandleClaim({ ...claim, roomNonce: new Uint8Array(3) }), { code: 'ERR_MALFORMED_ENVELOPE' })
  })

  it('an address follows the handle pattern and never looks like a room id', () => {
    assert.equal(checkRoomAddress('team.q3_x-1'), 'team.q3_x-1')
    assert.equal(isRoomAddress('team.q3_x-1'), true)
    for (const bad of ['', 'Team', 'a b', 'x'.repeat(65), '#team', 'abcdefghijklmnop', 7]) {
      assert.throws(() => checkRoomAddress(bad), InvalidRoomAddressError, String(bad))
      assert.equal(isRoomAddress(bad), false, String(bad))
    }
    assert.equal(looksLikeRoomId(roomIdOf(ann.publicKey, newRoomNonce())), true)
    assert.equal(looksLikeRoomId('team'), false)
    assert.throws(() => signRoomAddressClaim('abcdefghijklmnop', ann, newRoomNonce(), 1n), InvalidRoomAddressError)
  })

  it('one creator\'s two rooms are two claimants: the owners settle on the room a majority holds', () => {
    const first = signRoomAddressClaim('team', ann, newRoomNonce(), 1000n)
    const second = signRoomAddressClaim('team', ann, newRoomNonce(), 900n)
    assert.ok(!sameClaimant(first, second))
    assert.ok(sameClaimant(first, { ...first, timestamp: 5n }))
    assert.equal(agreedClaim([first, first, second], 3), first)
    assert.equal(agreedClaim([first, second, undefined], 3), undefined)
  })
})

describe('room settings in the fold (protocol/room.ts)', () => {
  const owner = generateIdentity()
  const admin = generateIdentity()
  const member = generateIdentity()
  const nonce = newRoomNonce()
  const room = roomIdOf(owner.publicKey, nonce)
  let t = Date.now()
  const at = (): bigint => hlcPack(++t, 0)
  const ev = (who: IdentityKey, e: Partial<RoomEvent> & { action: RoomEvent.Action }): Envelope =>
    signEnvelope(
      { kind: Envelope.Kind.ROOM, recipient: roomStateMailbox(room), body: encodeRoomEvent(e), timestamp: at() }, who
    )
  const post = (who: IdentityKey): Envelope =>
    signEnvelope(
      {
        kind: Envelope.Kind.GROUPCHAT,
        recipient: roomMailbox(room),
        body: new TextEncoder().encode('hi'),
        timestamp: at()
      },
      who
    )
  const id = (k: IdentityKey): string => userIdOf(k.publicKey)

  it('CREATE sets address, description, listed, moderated and who invites; CONFIGURE replaces them', () => {
    const s = new RoomState(room)
    s.add(
      ev(owner, {
        action: A.CREATE,
        name: 'Team',
        nonce,
        public: true,
        address: 'team',
        description: 'plans',
        listed: true,
        invites: RoomEvent.Invites.ADMINS
      })
    )
    assert.equal(s.address, 'team')
    assert.deepEqual(s.settings, { name: 'Team', description: 'plans', public: true, listed: true, moderated: false, invites: 'admins' })
    s.add(ev(member, { action: A.JOIN }))
    assert.equal(s.add(ev(member, { action: A.INVITE, target: id(admin) }))?.reason, 'not-allowed', 'members may not invite when only admins do')
    assert.equal(s.add(ev(member, { action: A.CONFIGURE, public: false }))?.reason, 'not-allowed')
    s.add(
      ev(owner, {
        action: A.CONFIGURE,
        public: true,
        listed: false,
        moderated: true,
        description: '',
        invites: RoomEvent.Invites.MEMBERS
      })
    )
    assert.deepEqual(s.settings, { name: 'Team', description: '', public: true, listed: false, moderated: true, invites: 'members' })
    assert.equal(s.add(ev(member, { action: A.INVITE, target: id(admin) })), undefined, 'now members invite')
  })

  it('a moderated room gives voice to owners and admins: posts are judged by who had voice at their time', () => {
    const s = new RoomState(room)
    s.add(ev(owner, { action: A.CREATE, name: 'Team', nonce, public: true }))
    s.add(ev(member, { action: A.JOIN }))
    s.add(ev(admin, { action: A.JOIN }))
    const before = post(member)
    s.add(ev(owner, { action: A.ROLE, target: id(admin), role: RoomEvent.Role.ADMIN }))
    s.add(ev(owner, { action: A.CONFIGURE, public: true, moderated: true }))
    const muted = post(member)
    const spoken = post(admin)
    assert.equal(s.verdict(before), 'ignore', 'a post from before the room was moderated: not punished, and no longer shown live')
    assert.ok(s.maySpeakAt(id(member), before.timestamp), 'history keeps it: the member had voice then')
    assert.equal(s.verdict(muted), 'reject')
    assert.equal(s.verdict(spoken), 'accept')
    assert.equal(s.maySpeak(id(member)), false)
    s.add(ev(owner, { action: A.CONFIGURE, public: true, moderated: false }))
    assert.equal(s.verdict(post(member)), 'accept', 'voice again when moderation ends')
    assert.equal(s.maySpeakAt(id(member), muted.timestamp), false, 'but not for the stretch it was moderated')
  })
})
