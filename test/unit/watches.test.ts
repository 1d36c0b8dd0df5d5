/**
 * WATCH, both sides, one component at a time: the owner's table of watches (bounded, leased, proven,
 * pushing each write once per watcher in one frame per flush, numbered) and the watcher's table (a push
 * moves an entry only when it continues the chain; a gap, a lost peer or a deaf node sends it back to
 * asking the owners). The whole path on a real mesh is test/replication-inproc/change-watch.test.ts.
 */

import { strict as assert } from 'node:assert'
import { Envelope, SenderKeyCache, generateIdentity, signEnvelope, userIdOf } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { cursorOf } from '../../protocol/mailbox.js'
import type { Changes } from '../../protocol/pb/live.js'
import { decodeLiveFrame, encodeChangesFrame } from '../../node/relay/live.js'
import { StoreRequest, StoreResponse } from '../../protocol/pb/store.js'
import { ChangeSketch, type Added } from '../../node/store/change-sketch.js'
import { ChangeWatch, type PushedChange } from '../../node/replication/change-watch.js'
import {
  LAZY_PUSH_MS, MAX_PUSHED_CURSORS, MAX_PUSHED_ENVELOPE_BYTES, PUSH_RETRY_MS, WATCH_LEASE_MS, WATCH_PROOF_MS, Watches
} from '../../node/replication/watches.js'
import { waitFor } from '../helpers/wait.js'
import type { StoreCall } from '../../node/replication/rpc.js'

const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
/** Long enough for a change that is not a primary's to leave on its own. */
const lazy = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, LAZY_PUSH_MS + 20)) }
const cursor = (n: number): Uint8Array => new Uint8Array(24).fill(n)
/** A push as the watcher reads it: encoded as the live hop's frame, and decoded. */
const onTheWire = (changes: Changes): Changes => {
  const decoded = decodeLiveFrame(encodeChangesFrame(changes)).changes
  assert.ok(decoded != null)
  return decoded
}
/** What a write added, by mailbox: cursors, and (when given) envelopes. */
const added = (by: Record<string, Uint8Array[]>, envelopes: Record<string, Uint8Array[]> = {}): Map<string, Added> =>
  new Map(Object.entries(by).map(([m, cursors]) => [m, { cursors, envelopes: envelopes[m] ?? [] }]))

describe('watches: the owner\'s side of WATCH', () => {
  let clock = 1_000_000
  let sent: Array<{ peer: string, changes: Changes }>
  let sketch: ChangeSketch
  let watches: Watches
  /** what the owner pushed, to whom, as the watcher reads it off the wire */
  const sink = async (peer: string, changes: Changes): Promise<void> => {
    sent.push({ peer, changes: onTheWire(changes) })
  }

  beforeEach(() => {
    clock = 1_000_000
    sent = []
    sketch = new ChangeSketch()
    watches = new Watches(sketch.epoch, sink, () => clock)
    sketch.listen(watches.onChanges)
  })

  afterEach(() => { watches.close() })

  it('pushes each write to every watcher of its mailbox, once per flush, numbered, with the cursors it added', async () => {
    assert.ok(watches.watch('node-a', 'alice', true))
    assert.ok(watches.watch('node-b', 'alice', true))
    assert.ok(watches.watch('node-b', 'bob', true))
    sketch.bump(['alice'], added({ alice: [cursor(1)] }))
    sketch.bump(['alice', 'bob'], added({ alice: [cursor(2)], bob: [cursor(3)] }))
    sketch.bump(['carol'])
    await lazy()
    assert.deepEqual(sent.map((s) => s.peer).sort(), ['node-a', 'node-b'], 'one frame per watcher')
    const b = sent.find((s) => s.peer === 'node-b')?.changes
    assert.ok(b != null)
    assert.equal(b.seq, 1n)
    assert.equal(b.epoch, sketch.epoch)
    assert.deepEqual(b.items.map((i) => [i.mailbox, i.before, i.after, i.cursors.length]), [
      ['alice', 1n, 2n, 1], ['alice', 2n, 3n, 1], ['bob', 1n, 2n, 1]
    ])
    sent = []
    sketch.bump(['bob'], added({ bob: [cursor(4)] }))
    await lazy()
    assert.deepEqual(sent.map((s) => [s.peer, s.changes.seq]), [['node-b', 2n]], 'the next push to a peer is numbered after the last')
  })

  it('a push that cannot be queued goes again, with its number, after PUSH_RETRY_MS; a closed owner sends no more', async () => {
    let failures = 2
    const flaky = new Watches(sketch.epoch, async (peer, changes) => {
      // the link to a watcher that just restarted does not open at once
      if (failures-- > 0) throw new Error('stream closed while reading')
      await sink(peer, changes)
    }, () => clock)
    sketch.listen(flaky.onChanges)
    try {
      assert.ok(flaky.watch('node-a', 'alice', true))
      sketch.bump(['alice'], added({ alice: [cursor(1)] }))
      await lazy()
      assert.equal(sent.length, 0, 'the first try failed')
      await waitFor('the push to go again', () => sent.length > 0, { timeoutMs: PUSH_RETRY_MS[0] + PUSH_RETRY_MS[1] + 2000 })
      assert.deepEqual(sent.map((s) => [s.peer, s.changes.seq, s.changes.items[0].after]), [['node-a', 1n, 2n]])
      assert.equal(flaky.stats.retried, 2)
      failures = 10
      sketch.bump(['alice'], added({ alice: [cursor(2)] }))
      await lazy()
      flaky.close()
      await new Promise((resolve) => setTimeout(resolve, PUSH_RETRY_MS[0] + 100))
      assert.equal(sent.length, 1, 'nothing after close')
    } finally {
      flaky.close()
    }
  })

  it('another owner\'s changes wait for the next frame to the same watcher, or LAZY_PUSH_MS at most', async () => {
    const owner = new Watches(sketch.epoch, sink, () => clock, (mailbox) => mailbox === 'alice')
    sketch.listen(owner.onChanges)
    owner.watch('node-a', 'alice', true)
    owner.watch('node-a', 'bob', true)
    owner.watch('node-b', 'bob', true)
    const entry = new Uint8Array(300).fill(1)
    sketch.bump(['bob'], added({ bob: [cursor(1)] }, { bob: [entry] }))
    await tick()
    assert.equal(sent.length, 0, 'not bob\'s primary: nothing leaves at once')
    sketch.bump(['alice'], added({ alice: [cursor(2)] }, { alice: [entry] }))
    await tick()
    const frames = sent.map((s) => [s.peer, s.changes.seq, s.changes.items.map((i) => [i.mailbox, i.envelopes.length])])
    assert.deepEqual(frames, [
      ['node-a', 1n, [['bob', 0], ['alice', 1]]]
    ], 'alice\'s primary pushes at once, and bob\'s waiting change rides in the same frame, in order')
    sent = []
    await lazy()
    assert.deepEqual(sent.map((s) => [s.peer, s.changes.items.map((i) => i.mailbox)]), [['node-b', ['bob']]])
    sketch.bump(['bob'], added({ bob: [cursor(3)] }))
    owner.close()
    sent = []
    await lazy()
    assert.equal(sent.length, 0, 'a closed owner pushes nothing more')
  })

  it('the primary owner pushes the entries themselves, within a frame\'s budget; another owner only their cursors', async () => {
    const primary = new Watches(sketch.epoch, sink, () => clock, (mailbox) => mailbox === 'alice')
    sketch.listen(primary.onChanges)
    primary.watch('node-a', 'alice', true)
    primary.watch('node-a', 'bob', true)
    const small = new Uint8Array(300).fill(1)
    const big = new Uint8Array(MAX_PUSHED_ENVELOPE_BYTES).fill(2)
    sketch.bump(['alice', 'bob'], added({ alice: [cursor(1)], bob: [cursor(2)] }, { alice: [small], bob: [small] }))
    sketch.bump(['alice'], added({ alice: [cursor(3)] }, { alice: [big] }))
    await tick()
    const items = sent.flatMap((s) => s.changes.items)
    assert.deepEqual(items.map((i) => [i.mailbox, i.cursors.length, i.envelopes.length]), [
      ['alice', 1, 1], ['bob', 1, 0], ['alice', 1, 0]
    ], 'alice\'s primary sends her entry; bob\'s entry goes as a cursor; one past the budget goes as a cursor')
  })

  it('a write of more cursors than a push carries says "changed, sync" (before = 0)', async () => {
    watches.watch('node-a', 'alice', true)
    const many = Array.from({ length: MAX_PUSHED_CURSORS + 1 }, (_, i) => cursor(i % 250))
    sketch.bump(['alice'], added({ alice: many }))
    await lazy()
    assert.deepEqual(sent[0].changes.items.map((i) => [i.before, i.cursors.length]), [[0n, 0]])
  })

  it('a renewal without a proof keeps only a watch held and proven recently', () => {
    assert.equal(watches.holds('node-a', 'alice'), false, 'nothing held: a renewal must come with a proof')
    watches.watch('node-a', 'alice', true)
    assert.ok(watches.holds('node-a', 'alice'))
    clock += WATCH_LEASE_MS - 1
    assert.ok(watches.holds('node-a', 'alice'))
    watches.watch('node-a', 'alice', false)
    clock += WATCH_LEASE_MS - 1
    assert.ok(watches.holds('node-a', 'alice'), 'renewed without a proof within the lease')
    clock = 1_000_000 + WATCH_PROOF_MS
    watches.watch('node-a', 'alice', false)
    assert.equal(watches.holds('node-a', 'alice'), false, 'the proof is too old: a new one is needed')
  })

  it('lapsed watches push nothing and are swept; a peer that went is forgotten with its watches', async () => {
    watches.watch('node-a', 'alice', true)
    watches.watch('node-b', 'alice', true)
    clock += WATCH_LEASE_MS + 1
    watches.watch('node-b', 'alice', true)
    sketch.bump(['alice'])
    await lazy()
    assert.deepEqual(sent.map((s) => s.peer), ['node-b'])
    assert.equal(watches.size, 1)
    watches.forget('node-b')
    assert.equal(watches.size, 0)
    watches.watch('node-c', 'x', true)
    clock += WATCH_LEASE_MS + 1
    watches.sweep()
    assert.equal(watches.size, 0)
  })
})

describe('change watch: the watcher\'s table', () => {
  const OWNERS = ['owner-1', 'owner-2', 'owner-3']
  let calls: Array<{ owner: string, kind: StoreRequest.Kind, probes: number, proofs: number }>
  let counters: Map<string, bigint>
  let watch: ChangeWatch
  let heard: PushedChange[]
  const auth = { publicKey: new Uint8Array(32), timestamp: 1n, signature: new Uint8Array(64) }

  const call: StoreCall = async (owner, req) => {
    const probes = req.probes ?? []
    const proofs = probes.filter((p) => p.auth != null).length
    calls.push({ owner, kind: req.kind ?? StoreRequest.Kind.STORE, probes: probes.length, proofs })
    return StoreResponse.decode(StoreResponse.encode({
      status: StoreResponse.Status.OK,
      epoch: 7n,
      versions: (req.probes ?? []).map(() => counters.get(owner) ?? 1n)
    }))
  }
  const push = (owner: string, seq: bigint, before: bigint, after: bigint, c: Uint8Array[] = []): void => {
    const cursors = c as Array<Uint8Array<ArrayBuffer>>
    watch.onPush(owner, { epoch: 7n, seq, items: [{ mailbox: 'alice', before, after, cursors, envelopes: [] }] })
  }

  beforeEach(() => {
    calls = []
    counters = new Map()
    heard = []
    watch = new ChangeWatch({ placement: { ownersOf: () => OWNERS } }, call, 1)
    watch.hearPushes(true)
  })
  afterEach(() => { watch.close() })

  it('a followed log is watched once with proofs, then answered from the table; a push that continues the chain moves it', async () => {
    const stop = watch.follow('alice', (c) => { heard.push(c) })
    const first = await watch.versions('alice', auth)
    assert.deepEqual(calls.map((c) => [c.kind, c.proofs]), OWNERS.map(() => [StoreRequest.Kind.WATCH, 1]))
    calls = []
    assert.equal(await watch.versions('alice', auth), first, 'the same answer')
    assert.equal(calls.length, 0, 'without a frame')
    push('owner-2', 1n, 1n, 2n, [cursor(9)])
    assert.equal(heard.length, 1)
    assert.equal(heard[0].before, first)
    assert.ok(heard[0].after != null && heard[0].after !== first)
    assert.equal(await watch.versions('alice', auth), heard[0].after, 'the table moved with the push')
    assert.equal(calls.length, 0)
    stop()
  })

  it('a push that does not continue the chain, or a gap in an owner\'s numbers, sends the next question to the owners', async () => {
    watch.follow('alice', (c) => { heard.push(c) })
    await watch.versions('alice', auth)
    push('owner-1', 1n, 1n, 2n)
    push('owner-1', 2n, 5n, 6n, [cursor(1)])
    assert.equal(heard[1].before, undefined, 'a broken chain vouches for nothing')
    assert.equal(heard[1].cursors.length, 1, 'but its cursors are still offered')
    calls = []
    counters.set('owner-1', 6n)
    await watch.versions('alice', auth)
    assert.deepEqual(calls.map((c) => c.owner).sort(), OWNERS, 'asked again')
    calls = []
    await watch.versions('alice', auth)
    assert.equal(calls.length, 0, 'and trusted again')
    push('owner-3', 5n, 1n, 2n) // the first push from owner-3 seen: its number is the baseline
    push('owner-3', 7n, 2n, 3n) // 6 was lost
    calls = []
    await watch.versions('alice', auth)
    assert.ok(calls.some((c) => c.owner === 'owner-3'), 'a lost push makes that owner unsure')
  })

  it('pushes from a peer that is not an owner are ignored; a peer that went, or a deaf node, is asked again', async () => {
    watch.follow('alice', (c) => { heard.push(c) })
    await watch.versions('alice', auth)
    push('stranger', 1n, 1n, 2n, [cursor(1)])
    assert.equal(heard.length, 0)
    watch.peerGone('owner-2')
    calls = []
    await watch.versions('alice', auth)
    assert.ok(calls.some((c) => c.owner === 'owner-2'))
    watch.hearPushes(false)
    calls = []
    await watch.versions('alice', auth)
    assert.deepEqual(calls.map((c) => c.kind), OWNERS.map(() => StoreRequest.Kind.PROBE), 'a node that hears no pushes only probes')
  })

  it('known (an idle tick\'s question) keeps its answer only while neither the table nor the owners moved', async () => {
    let owners = OWNERS
    watch = new ChangeWatch({ placement: { ownersOf: () => owners } }, call, 1)
    watch.hearPushes(true)
    watch.follow('alice', (c) => { heard.push(c) })
    const first = await watch.versions('alice', auth)
    assert.equal(watch.known('alice'), first)
    assert.equal(watch.known('alice'), first, 'asked again: the same answer')
    push('owner-2', 1n, 1n, 2n)
    const moved = watch.known('alice')
    assert.ok(moved != null && moved !== first, 'a push that continues the chain moves it')
    assert.equal(moved, await watch.versions('alice', auth))
    // the owners change (another ring): the answer is made from the new list, which owner-4 is not sure of
    owners = ['owner-1', 'owner-2', 'owner-4']
    assert.equal(watch.known('alice'), undefined)
    owners = OWNERS
    assert.equal(watch.known('alice'), moved)
    push('owner-1', 2n, 5n, 6n)
    assert.equal(watch.known('alice'), undefined, 'a broken chain vouches for nothing')
    await watch.versions('alice', auth)
    assert.ok(watch.known('alice') != null, 'asked again, the table is sure')
    watch.peerGone('owner-3')
    assert.equal(watch.known('alice'), undefined, 'an owner that went vouches for nothing')
    await watch.versions('alice', auth)
    watch.hearPushes(false)
    assert.equal(watch.known('alice'), undefined, 'a deaf node vouches for nothing')
  })

  it('pushed entries are offered under their cursors, verified when opened; forged, foreign or unnamed ones are refused', async () => {
    const refused: string[] = []
    const reject = (r: string): void => { refused.push(r) }
    const ctx = { placement: { ownersOf: () => OWNERS }, keys: new SenderKeyCache(), reject }
    watch = new ChangeWatch(ctx, call, 1)
    watch.hearPushes(true)
    const sender = generateIdentity()
    const alice = generateIdentity()
    const A = userIdOf(alice.publicKey)
    watch.follow(A, (c) => { heard.push(c) })
    const sign = (to: string): { env: Envelope, bytes: Uint8Array<ArrayBuffer> } => {
      const timestamp = hlcPack(Date.now(), 0)
      const draft = { kind: Envelope.Kind.CHAT, recipient: to, body: new Uint8Array(3), timestamp }
      const env = signEnvelope(draft, sender)
      return { env, bytes: Envelope.encode(env) }
    }
    const good = sign(A)
    const forged = sign(A)
    const forgedBytes = Envelope.encode({ ...forged.env, body: new Uint8Array([9, 9, 9]) })
    const foreign = sign(userIdOf(generateIdentity().publicKey))
    const unnamed = sign(A)
    const c = (e: Envelope): Uint8Array<ArrayBuffer> => cursorOf(e)
    watch.onPush('owner-1', {
      epoch: 7n,
      seq: 1n,
      items: [{
        mailbox: A,
        before: 0n,
        after: 1n,
        cursors: [c(good.env), c(forged.env), c(foreign.env)],
        envelopes: [good.bytes, forgedBytes, foreign.bytes, unnamed.bytes, new Uint8Array([1, 2, 3])]
      }]
    })
    assert.equal(heard.length, 1)
    const pushed = heard[0].envelopes
    assert.equal(pushed.length, 3, 'the unnamed and the undecodable are dropped at once')
    assert.deepEqual(pushed.map((p) => p.open()?.id), [good.env.id, undefined, undefined], 'forged and foreign refused when opened')
    assert.equal(refused.filter((r) => r === 'bad-push').length, 4)
  })

  it('a log nobody follows is probed, not watched', async () => {
    await watch.versions('bob', auth)
    assert.deepEqual(calls.map((c) => c.kind), OWNERS.map(() => StoreRequest.Kind.PROBE))
  })
})
