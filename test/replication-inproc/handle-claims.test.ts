/**
 * Planted handle claims. A server joins and becomes an owner of handles it holds no claim of yet; before
 * repair reaches it, other peers send it claims of their own. A claim stored as it comes (no check with
 * the other owners) is taken only from servers and only as the owners agree: a claim a majority of the
 * owners hold wins, one owner's claim (however early it is signed) replaces nothing, and a claim no owner
 * holds is a first claim, never older than the mesh's clock allows.
 */

import { strict as assert } from 'node:assert'
import type { ChorusNode } from '../../node/index.js'
import { HandleDirectory } from '../../node/session/directory.js'
import type { User } from '../../node/session/user.js'
import { generateIdentity } from '../../protocol/envelope.js'
import { signHandleClaim, type HandleClaim } from '../../protocol/handle.js'
import { hlcPack } from '../../protocol/hlc.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { Ring, keyPoint } from '../../protocol/ring.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'

/** the heir asks a co-owner it saw holding a claim again after HELD_TRUST_MS (10 minutes by default) */
const HELD_TRUST_MS = 3000
const OPTIONS = { replicas: 3, writeQuorum: 2, replication: { heldTrustMs: HELD_TRUST_MS } }
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('planted handle claims at a new owner', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh
  let heir: ChorusNode
  /** two handles the joining server will own, each claimed by its user before it joins */
  const users: User[] = []
  const mallory = generateIdentity()

  const id = (n: ChorusNode): string => n.peerId.toString()
  const claimAt = async (from: ChorusNode, at: string, claim: HandleClaim): Promise<StoreResponse> =>
    await from.replication.call(at, { kind: StoreRequest.Kind.CLAIM, claim, coordinate: false })
  const heldAt = async (at: string, handle: string): Promise<string> => {
    const r = await heir.replication.call(at, { kind: StoreRequest.Kind.RESOLVE, handle })
    return r.claim == null ? 'nothing' : hex(r.claim.publicKey)
  }

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({ servers: 3, clients: 2, options: () => OPTIONS })
    await waitForServers(mesh.nodes, mesh.servers)
    heir = await mesh.create('server', OPTIONS)
    // handles whose owners, once the heir has joined, include it (open mesh: positions from peer ids)
    const ring = new Ring([...mesh.servers, heir].map((n) => ({ peerId: id(n), capacity: 1 })))
    const handles: string[] = []
    for (let i = 0; handles.length < 2; i++) {
      if (ring.owners(keyPoint('handle', `heir-${i}`), 3).includes(id(heir))) handles.push(`heir-${i}`)
    }
    for (const h of handles) users.push(await mesh.clients[0].openUser(h))
    // repair has not reached the heir yet: hold it back on the servers that hold the claims
    for (const s of mesh.servers) s.replication.repair?.stop()
    await heir.start()
    await waitForServers(mesh.nodes, [...mesh.servers, heir])
    for (const u of users) assert.ok(heir.replication.placement.ownersOfHandle(u.handle).includes(id(heir)))
  })
  after(async () => { await mesh?.cleanup() })

  it('refuses a back-dated claim planted at a new owner by a peer that does not own the handle', async () => {
    const handle = users[0].handle
    const owners = heir.replication.placement.ownersOfHandle(handle)
    const stranger = mesh.servers.find((s) => !owners.includes(id(s))) as ChorusNode
    // back-dated an hour before the real claim: first by timestamp, were it ever let in
    const plant = signHandleClaim(handle, mallory, hlcPack(Date.now() - 3_600_000, 0))
    // a client: not a server, not an owner
    await assert.rejects(claimAt(mesh.clients[1], id(heir), plant), { code: 'ERR_FORBIDDEN' }, 'a client plants a claim')
    // a certified server that does not own the handle: its claim is checked with the owners, which hold the real one
    const answer = await claimAt(stranger, id(heir), plant)
    assert.equal(answer.status, StoreResponse.Status.CONFLICT, 'a stranger server plants a claim')
    assert.equal(hex(answer.claim?.publicKey ?? new Uint8Array(0)), hex(users[0].identity.publicKey))
    assert.notEqual(await heldAt(id(heir), handle), hex(mallory.publicKey))
    const metrics = await heir.registry.metrics()
    assert.match(metrics, /chorus_rejected_total\{component="store",reason="not-a-handle-owner"\} [1-9]/)
  })

  it('a co-owner that holds a back-dated claim of its own replaces nothing at the owners that hold the real one', async () => {
    const handle = users[0].handle
    const owners = heir.replication.placement.ownersOfHandle(handle)
    const [coOwner, target] = mesh.servers.filter((s) => owners.includes(id(s)))
    // the co-owner keeps the plant itself (it answers RESOLVE with it) and copies it to the other owner
    const backdated = signHandleClaim(handle, mallory, hlcPack(Date.now() - 3_600_000, 0))
    await coOwner.replication.context.handles.put(backdated)
    const answer = await claimAt(coOwner, id(target), backdated)
    assert.equal(answer.status, StoreResponse.Status.CONFLICT, 'an owner holding the real claim keeps it')
    assert.equal(await heldAt(id(target), handle), hex(users[0].identity.publicKey))
    assert.equal(await heldAt(id(heir), handle), hex(users[0].identity.publicKey))
    // readers see the majority; and the heir's repair brings the co-owner back to it
    const seen = await new HandleDirectory(mesh.clients[1].replication).resolve(handle)
    assert.equal(hex(seen.publicKey), hex(users[0].identity.publicKey))
    // the heir may have seen the co-owner hold the real claim just before the plant: it asks again within HELD_TRUST_MS
    await waitFor('the co-owner to hold the claim the majority holds',
      async () => await heldAt(id(coOwner), handle) === hex(users[0].identity.publicKey),
      { timeoutMs: scaled(HELD_TRUST_MS + 20_000) })
  })

  it('fills a new owner with the claim the owners hold, not the one a co-owner planted', async () => {
    const handle = users[1].handle
    const owners = heir.replication.placement.ownersOfHandle(handle)
    const coOwner = mesh.servers.find((s) => owners.includes(id(s))) as ChorusNode
    // a valid claim that lost the race (signed after the real one), sent by an owner of the handle
    const late = signHandleClaim(handle, mallory, hlcPack(Date.now(), 0))
    const answer = await claimAt(coOwner, id(heir), late)
    assert.equal(answer.status, StoreResponse.Status.CONFLICT, 'the heir asks the owners first')
    assert.equal(await heldAt(id(heir), handle), hex(users[1].identity.publicKey), 'the heir took the claim the owners hold')
    for (const s of mesh.servers) s.replication.repair?.start()
    for (const u of users) {
      const want = hex(u.identity.publicKey)
      await waitFor(`every owner of ${u.handle} to hold its user's claim`, async () => {
        const held = await Promise.all(
          heir.replication.placement.ownersOfHandle(u.handle).map(async (o) => await heldAt(o, u.handle))
        )
        if (held.every((k) => k === want)) return true
        throw new Error(`owners hold ${held.map((k) => (k === want ? 'the user\'s' : k === hex(mallory.publicKey) ? 'mallory\'s' : k)).join(', ')}`)
      }, { timeoutMs: scaled(30_000) })
    }
    // and the users log in again (a coordinated claim of the same key)
    for (const u of users) {
      await mesh.clients[0].closeUser(u.handle)
      await mesh.clients[0].openUser(u.handle)
    }
  })

  it('takes a claim a former owner hands over only where no owner holds one', async () => {
    // every owner of the handle changed before repair moved the claim: only a server that owns it no more
    // has it (four servers, three owners: one server is not an owner)
    const handle = 'gone'
    const owners = heir.replication.placement.ownersOfHandle(handle)
    const former = [...mesh.servers, heir].find((s) => !owners.includes(id(s))) as ChorusNode
    const old = signHandleClaim(handle, generateIdentity(), hlcPack(Date.now() - 3_600_000, 0))
    assert.equal((await claimAt(former, owners[0], old)).status, StoreResponse.Status.OK)
    await waitFor(`every owner of ${handle} to hold the claim handed over`, async () => {
      const held = await Promise.all(owners.map(async (o) => await heldAt(o, handle)))
      return held.every((k) => k === hex(old.publicKey))
    })
    // once an owner holds one, another server's copy changes nothing, however early it is signed
    const earlier = signHandleClaim(handle, mallory, hlcPack(Date.now() - 7_200_000, 0))
    const answer = await claimAt(former, owners[1], earlier)
    assert.equal(answer.status, StoreResponse.Status.CONFLICT)
    assert.equal(await heldAt(owners[1], handle), hex(old.publicKey))
  })

  it('refuses a first claim back-dated beyond what the mesh clock allows', async () => {
    const handle = 'backdated'
    const old = signHandleClaim(handle, mallory, hlcPack(Date.now() - 3_600_000, 0))
    const owner = heir.replication.placement.ownersOfHandle(handle)[0]
    await assert.rejects(
      mesh.clients[1].replication.call(owner, { kind: StoreRequest.Kind.CLAIM, claim: old, coordinate: true }),
      { code: 'ERR_REMOTE', status: StoreResponse.Status.REJECTED }
    )
    assert.equal(await heldAt(owner, handle), 'nothing')
    const at = mesh.servers.concat(heir).find((s) => id(s) === owner) as ChorusNode
    assert.match(await at.registry.metrics(), /chorus_rejected_total\{component="store",reason="stale-claim"\} [1-9]/)
    // the same key, now: taken
    const now = signHandleClaim(handle, mallory, mesh.clients[1].clock.now())
    const claim = { kind: StoreRequest.Kind.CLAIM, claim: now, coordinate: true }
    const res = await mesh.clients[1].replication.call(owner, claim)
    assert.equal(res.status, StoreResponse.Status.OK)
  })
})
