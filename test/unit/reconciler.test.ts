import { PrekeyStore } from '../../node/store/prekey-store.js'
import { SenderBudget, TokenBuckets } from '../../node/rate-limit.js'
import { strict as assert } from 'node:assert'
import { Envelope, SenderKeyCache, generateIdentity, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import type { ReplicationContext } from '../../node/replication/context.js'
import { Placement } from '../../node/replication/placement.js'
import { Reconciler } from '../../node/replication/reconciler.js'
import { StoreServer } from '../../node/replication/server.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { GroupCommit } from '../../node/store/group-commit.js'
import { AccountRecordStore } from '../../node/store/account-store.js'
import { HandleStore } from '../../node/store/handle-store.js'
import { HintBook } from '../../node/store/hint-book.js'
import { MailboxStore, cursorOf } from '../../node/store/mailbox-store.js'
import { TempDirs } from '../helpers/wait.js'
import { entry } from '../helpers/envelopes.js'

/** One replica: its database, context and serving side, with calls routed in memory. */
interface Replica { id: string, db: ChorusDb, ctx: ReplicationContext, server: StoreServer, rejected: string[] }

const alice = generateIdentity()
const bob = generateIdentity()
const B = userIdOf(bob.publicKey)

describe('Reconciler (two replicas on disk, RPC in memory)', () => {
  const dirs = new TempDirs()
  const replicas = new Map<string, Replica>()

  async function replica (id: string): Promise<Replica> {
    const db = await openDb(dirs.make())
    const commit = new GroupCommit(db)
    const rejected: string[] = []
    const ctx: ReplicationContext = {
      selfId: id,
      libp2p: { dialProtocol: async () => { throw new Error('no network in this test') } },
      mailboxes: new MailboxStore(db, commit),
      handles: new HandleStore(db, commit),
      accounts: new AccountRecordStore(db, commit),
      prekeys: new PrekeyStore(db, commit),
      hints: new HintBook(db, commit),
      placement: new Placement(
        { self: () => ({ peerId: id, capacity: 1 }), liveServers: () => [], viewVersion: () => 0 }, 3
      ),
      keys: new SenderKeyCache(),
      writeQuorum: 2,
      maxDriftMs: 60_000,
      now: Date.now,
      reject: (r) => { rejected.push(r) },
      guard: { checkPut: () => {}, checkRead: () => {}, checkReplicaRead: () => {} },
      senders: new SenderBudget(new TokenBuckets(1000)),
      isServerPeer: () => true,
      call: async (peer, req) => (replicas.get(peer) as Replica).server.local(req, id)
    }
    const server = new StoreServer({ handle: async () => {}, unhandle: async () => {} }, ctx)
    const r = { id, db, ctx, server, rejected }
    replicas.set(id, r)
    return r
  }

  afterEach(async () => {
    for (const r of replicas.values()) await r.db.close()
    replicas.clear()
    dirs.cleanup()
  })

  it('makes two diverged replicas equal, moving only the difference', async () => {
    const a = await replica('peer-a')
    const b = await replica('peer-b')
    const shared = Array.from({ length: 300 }, (_, i) => entry(B, alice, B, 1_700_000_000_000 + i * 997))
    const onlyA = Array.from({ length: 40 }, (_, i) => entry(B, alice, B, 1_700_000_000_500 + i * 50_000))
    const onlyB = Array.from({ length: 25 }, (_, i) => entry(B, alice, B, 1_700_000_000_900 + i * 3_000_000))
    await a.ctx.mailboxes.put([...shared, ...onlyA])
    await b.ctx.mailboxes.put([...shared, ...onlyB])
    const r = await new Reconciler(a.ctx, a.ctx.call).reconcile(B, 'peer-b', { pull: true, confirm: true })
    assert.equal(r.pushed, 40)
    assert.equal(r.pulled, 25)
    assert.equal(await a.ctx.mailboxes.count(B), 365)
    assert.equal(await b.ctx.mailboxes.count(B), 365)
    assert.equal(r.confirmed.length, 340, 'every entry A had is now confirmed at B')
    const again = await new Reconciler(a.ctx, a.ctx.call).reconcile(B, 'peer-b', { pull: true })
    assert.equal(again.pushed + again.pulled, 0)
    assert.equal(again.confirmed.length, 0, 'owners reconciling do not list what agrees')
    const listed = await new Reconciler(a.ctx, a.ctx.call).reconcile(B, 'peer-b', { pull: false, confirm: true })
    assert.equal(listed.confirmed.length, 365, 'a node handing off lists everything the peer holds')
  })

  it('hands a deletion to a replica that missed it (it was down), and never brings the entry back', async () => {
    const a = await replica('peer-a')
    const b = await replica('peer-b')
    // secret envelopes to bob: the kind a user deletes after delivery
    const all = Array.from({ length: 50 }, (_, i) => {
      const env = signEnvelope(
        {
          kind: Envelope.Kind.SECRET,
          recipient: B,
          body: new TextEncoder().encode(`c${i}`),
          timestamp: hlcPack(1_700_000_000_000 + i * 1000, 0)
        },
        alice
      )
      return { mailbox: B, peer: userIdOf(alice.publicKey), cursor: cursorOf(env), bytes: Envelope.encode(env) }
    })
    await a.ctx.mailboxes.put(all)
    await b.ctx.mailboxes.put(all)
    const dead = all.slice(10, 13)
    // B deleted three entries while A was away
    await b.ctx.mailboxes.tombstone(B, dead.map((e) => ({ cursor: e.cursor, peer: e.peer })))
    assert.notDeepEqual(await a.ctx.mailboxes.digest(B, 60_000), await b.ctx.mailboxes.digest(B, 60_000), 'a deletion makes the digests differ')
    // A reconciles with B: it learns the tombstones (and pushes nothing back)
    const r = await new Reconciler(a.ctx, a.ctx.call).reconcile(B, 'peer-b', { pull: true })
    assert.equal(r.pushed, 0)
    assert.deepEqual(await a.ctx.mailboxes.get(B, dead.map((e) => e.cursor)), [], 'A deleted them too')
    assert.deepEqual(await b.ctx.mailboxes.get(B, dead.map((e) => e.cursor)), [], 'B still has them deleted')
    assert.deepEqual(await a.ctx.mailboxes.digest(B, 60_000), await b.ctx.mailboxes.digest(B, 60_000), 'and the replicas agree again')
    // the other direction: B reconciling with a replica that still holds them does not take them back
    const c = await replica('peer-c')
    await c.ctx.mailboxes.put(all)
    await new Reconciler(b.ctx, b.ctx.call).reconcile(B, 'peer-c', { pull: true })
    await new Reconciler(c.ctx, c.ctx.call).reconcile(B, 'peer-b', { pull: true })
    assert.deepEqual(await b.ctx.mailboxes.get(B, dead.map((e) => e.cursor)), [])
    assert.deepEqual(await c.ctx.mailboxes.get(B, dead.map((e) => e.cursor)), [], 'C learnt the deletion from B')
    assert.equal((await a.ctx.mailboxes.range(B, { limit: 100 })).entries.length, 47)
    // and the deleter reconciling with a replica that still holds them hands it the deletion (TOMBSTONES)
    const d = await replica('peer-d')
    await d.ctx.mailboxes.put(all)
    await new Reconciler(b.ctx, b.ctx.call).reconcile(B, 'peer-d', { pull: false })
    assert.deepEqual(await d.ctx.mailboxes.get(B, dead.map((e) => e.cursor)), [], 'D deleted them when B reconciled with it')
    assert.equal((await d.ctx.mailboxes.range(B, { limit: 100 })).entries.length, 47)
  })

  it('refuses forged envelopes at the serving side and stores none of the request', async () => {
    const b = await replica('peer-b')
    const good = entry(B, alice, B, 1_700_000_000_000)
    const forged = Envelope.decode(entry(B, alice, B, 1_700_000_001_000).bytes)
    forged.body = new TextEncoder().encode('tampered')
    const res = await b.server.local(
      {
        kind: StoreRequest.Kind.STORE,
        puts: [{ mailbox: B, envelope: good.bytes, hintFor: [] },
          { mailbox: B, envelope: Envelope.encode(forged), hintFor: [] }]
      },
      'peer-x'
    )
    assert.equal(res.status, StoreResponse.Status.REJECTED)
    assert.match(res.error, /BAD_SIGNATURE/i)
    assert.equal(await b.ctx.mailboxes.count(B), 0)
    assert.deepEqual(b.rejected, ['err_bad_signature'])
  })

  it('refuses a put into a mailbox that is neither sender nor recipient', async () => {
    const b = await replica('peer-b')
    const e = entry(B, alice, B, 1_700_000_000_000)
    const stranger = userIdOf(generateIdentity().publicKey)
    const res = await b.server.local(
      { kind: StoreRequest.Kind.STORE, puts: [{ mailbox: stranger, envelope: e.bytes, hintFor: [] }] }, 'peer-x'
    )
    assert.equal(res.status, StoreResponse.Status.REJECTED)
    assert.deepEqual(b.rejected, ['wrong-mailbox'])
  })

  it('refuses malformed requests with a typed reason and keeps serving', async () => {
    const b = await replica('peer-b')
    const bad = await b.server.local({ kind: StoreRequest.Kind.FETCH, mailbox: 'not a mailbox!' }, 'peer-x')
    assert.equal(bad.status, StoreResponse.Status.REJECTED)
    const badCursor = await b.server.local({ kind: StoreRequest.Kind.FETCH, mailbox: B, after: new Uint8Array(3) }, 'peer-x')
    assert.equal(badCursor.status, StoreResponse.Status.REJECTED)
    const ok = await b.server.local({ kind: StoreRequest.Kind.FETCH, mailbox: B, limit: 5 }, 'peer-x')
    assert.equal(ok.status, StoreResponse.Status.OK)
    assert.deepEqual(b.rejected, ['bad-mailbox', 'bad-cursor'])
  })

  it('throttles a peer that floods puts (BUSY) without affecting others', async () => {
    const db = await openDb(dirs.make())
    const commit = new GroupCommit(db)
    const rejected: string[] = []
    const base = (await replica('peer-b')).ctx
    const ctx = { ...base, mailboxes: new MailboxStore(db, commit), reject: (r: string) => { rejected.push(r) } }
    const server = new StoreServer({ handle: async () => {}, unhandle: async () => {} }, ctx, 100)
    const puts = Array.from({ length: 80 },
      (_, i) => ({ mailbox: B, envelope: entry(B, alice, B, 1_700_000_000_000 + i).bytes, hintFor: [] }))
    assert.equal((await server.local({ kind: StoreRequest.Kind.STORE, puts }, 'flooder')).status, StoreResponse.Status.OK)
    assert.equal((await server.local({ kind: StoreRequest.Kind.STORE, puts }, 'flooder')).status, StoreResponse.Status.BUSY)
    assert.equal((await server.local({ kind: StoreRequest.Kind.STORE, puts: puts.slice(0, 10) }, 'honest')).status,
      StoreResponse.Status.OK)
    assert.deepEqual(rejected, ['rate-limited'])
    await db.close()
  })
})
