/**
 * The room directory's list (node/session/room-list.ts): one per node, gathered once per DIRECTORY_TTL_MS
 * for every session that asks, reading DIRECTORY_READS room states at a time, and keeping only the rooms
 * whose own state lists them under the address they are claimed at.
 */

import { strict as assert } from 'node:assert'
import { Envelope, generateIdentity, signEnvelope } from '../../protocol/envelope.js'
import { roomStateMailbox } from '../../protocol/mailbox.js'
import { RoomEvent, RoomState, encodeRoomEvent, newRoomNonce, roomIdOf } from '../../protocol/room.js'
import type { RoomAddress } from '../../node/session/directory.js'
import { DIRECTORY_READS, DIRECTORY_TTL_MS, RoomList } from '../../node/session/room-list.js'

const owner = generateIdentity()

/** A room's state after its CREATE. */
function roomState (o: { address: string, listed: boolean }): RoomState {
  const nonce = newRoomNonce()
  const id = roomIdOf(owner.publicKey, nonce)
  const state = new RoomState(id)
  const body = encodeRoomEvent({ action: RoomEvent.Action.CREATE, name: `room ${o.address}`, public: true, nonce, ...o })
  const recipient = roomStateMailbox(id)
  state.add(signEnvelope({ kind: Envelope.Kind.ROOM, recipient, body, timestamp: 1n << 16n }, owner))
  return state
}

describe('the room directory list (unit)', () => {
  const states = new Map<string, RoomState>()
  let addresses: RoomAddress[]
  let asked: number

  beforeEach(() => {
    states.clear()
    addresses = []
    asked = 0
    for (let i = 0; i < 30; i++) {
      const address = `room-${String(i).padStart(2, '0')}`
      const state = roomState({ address, listed: i % 3 !== 0 })
      states.set(state.id, state)
      addresses.push({ address, roomId: state.id })
    }
    addresses.reverse()
  })
  const directory = { listRooms: async (): Promise<RoomAddress[]> => { asked++; return addresses } }

  it('lists the rooms whose state lists them, in address order, reading a few states at a time', async () => {
    let reading = 0
    let most = 0
    const peek = async (roomId: string): Promise<RoomState> => {
      most = Math.max(most, ++reading)
      await new Promise((resolve) => setTimeout(resolve, 2))
      reading--
      return states.get(roomId) as RoomState
    }
    const listed = await new RoomList(directory).list(peek)
    const expected = addresses.filter((a) => states.get(a.roomId)?.listed === true).map((a) => a.address).sort()
    assert.equal(expected.length, 20)
    assert.deepEqual(listed.map((r) => r.address), expected)
    assert.equal(listed[0].name, `room ${listed[0].address}`)
    assert.equal(most, DIRECTORY_READS, 'at most DIRECTORY_READS states read at once')
  })

  it('gathers once for every session that asks within DIRECTORY_TTL_MS; a failed gather is not kept', async () => {
    const list = new RoomList(directory)
    let peeks = 0
    const peek = async (roomId: string): Promise<RoomState> => { peeks++; return states.get(roomId) as RoomState }
    const [one, two] = await Promise.all([list.list(peek), list.list(async () => { throw new Error('not asked') })])
    assert.deepEqual(one, two)
    assert.equal(await list.list(peek), one, 'the same list, later')
    assert.equal(asked, 1)
    assert.equal(peeks, 30)

    const failing = new RoomList({ listRooms: async () => { asked++; throw new Error('no servers') } })
    await assert.rejects(failing.list(peek), /no servers/)
    await assert.rejects(failing.list(peek), /no servers/)
    assert.equal(asked, 3, 'asked again after a failure')
    assert.equal(DIRECTORY_TTL_MS, 30_000)
  })
})
