import { strict as assert } from 'node:assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { WorkSnapshot } from '../../node/index.js'
import { PubsubCounters } from '../../node/relay/pubsub-counters.js'
import { StoreTraffic } from '../../node/replication/traffic.js'
import { packageOf, summarizeProfiles } from '../../bench/lib/profile.js'
import { workBetween, type WorkSample } from '../../bench/lib/work.js'
import { parseInvocation } from '../../bench/lib/flags.js'
import { SCENARIOS } from '../../bench/scenarios.js'

function snapshot (
  o: {
    storeSent?: number
    storeBytes?: number
    puts?: number
    fetch?: number
    published?: number
    live?: number
    writes?: number
    receipts?: number
    wire?: number
  } = {}
): WorkSnapshot {
  const traffic = new StoreTraffic()
  if ((o.storeSent ?? 0) > 0) {
    for (let i = 0; i < (o.storeSent ?? 0); i++) {
      traffic.sent.request('STORE', (o.storeBytes ?? 0) / (o.storeSent ?? 1), (o.puts ?? 0) / (o.storeSent ?? 1))
      traffic.sent.response('STORE', 10)
    }
  }
  for (let i = 0; i < (o.fetch ?? 0); i++) traffic.sent.request('FETCH', 50)
  const pubsub = new PubsubCounters().snapshot()
  pubsub.published = o.published ?? 0
  return {
    cpu: { userMs: 0, systemMs: 0 },
    store: traffic.snapshot(),
    envelopesWritten: { CHAT: 0, RECEIPT: o.receipts ?? 0 },
    db: { writes: o.writes ?? 0, ops: 2 * (o.writes ?? 0), syncedBatches: 0, syncedOps: 0 },
    pubsub,
    live: {
      framesSent: o.live ?? 0,
      bytesSent: 300 * (o.live ?? 0),
      framesReceived: 0,
      bytesReceived: 0,
      dropped: 0,
      relayed: (o.live ?? 0) / 2
    },
    wire: { global: { sent: o.wire ?? 0, received: 0 }, '/chorus/store/1.0.0': { sent: o.storeBytes ?? 0, received: 0 } }
  }
}

describe('bench work per send (bench/lib/work.ts)', () => {
  it('divides the difference of two snapshots by the sends, path by path, summed over processes', () => {
    const before: WorkSample[] = [
      { name: 'client-a', role: 'client', cpuMs: 100, work: snapshot() },
      { name: 'server-0', role: 'server', cpuMs: 1000, work: snapshot() },
      { name: 'bootstrap', role: 'bootstrap', cpuMs: 5, work: null }
    ]
    const after: WorkSample[] = [
      {
        name: 'client-a',
        role: 'client',
        cpuMs: 300,
        work: snapshot({
          storeSent: 10,
          storeBytes: 6000,
          puts: 60,
          fetch: 4,
          published: 10,
          live: 10,
          writes: 3,
          receipts: 2,
          wire: 9000
        })
      },
      {
        name: 'server-0',
        role: 'server',
        cpuMs: 1800,
        work: snapshot({ storeSent: 2, storeBytes: 400, puts: 2, published: 10, live: 10, writes: 20, wire: 1000 })
      },
      { name: 'bootstrap', role: 'bootstrap', cpuMs: 15, work: null }
    ]
    const b = workBetween(before, after, 10)
    assert.equal(b.cpuMsPerSend.all, (200 + 800 + 10) / 10)
    assert.equal(b.cpuMsPerSend.clients, 20)
    assert.equal(b.cpuMsPerSend.servers, 80)
    assert.equal(b.cpuMsPerSend.bootstrap, 1)
    // client STORE: 10 requests + 10 responses over 10 sends
    assert.equal(b.paths.clientToOwners.frames, 2)
    assert.equal(b.paths.clientToOwners.bytes, (6000 + 100) / 10)
    assert.equal(b.putsPerClientStoreFrame, 6)
    // a client's other requests are its sync; a server's STORE requests are owner → owner
    assert.equal(b.paths.clientSync.frames, 0.4)
    assert.equal(b.paths.ownerToOwner.frames, 0.4)
    assert.equal(b.pubsub.published, 2)
    // the live hop: one frame to the relay and one from it, per send
    assert.equal(b.live.frames, 2)
    assert.equal(b.live.bytes, 600)
    assert.equal(b.live.relayed, 1)
    assert.equal(b.db.writes, 2.3)
    assert.equal(b.receipts, 0.2)
    assert.equal(b.wireBytes, 1000)
    assert.equal(b.byProtocol['/chorus/store/1.0.0'], 640)
  })

  it('leaves out an agent that is missing from either snapshot, and reports NaN per send for no sends', () => {
    const a: WorkSample = { name: 'x', role: 'server', cpuMs: 10, work: snapshot() }
    const b = workBetween([a], [{ ...a, cpuMs: 30 }, { name: 'y', role: 'server', cpuMs: 999, work: null }], 2)
    assert.equal(b.cpuMsPerSend.all, 10)
    assert.ok(Number.isNaN(workBetween([a], [a], 0).cpuMsPerSend.all))
  })
})

describe('gossipsub counters (node/relay/pubsub-counters.ts)', () => {
  it('sums the kept figures over labels and hands a no-op for the others', () => {
    const c = new PubsubCounters()
    const sent = c.register.gauge({ name: 'gossipsub_rpc_sent_count_total', help: '' }) as any
    const published = c.register.gauge({ name: 'gossipsub_msg_publish_count_total', help: '', labelNames: ['topic'] } as any) as any
    const duplicates = c.register.gauge({ name: 'gossipsub_pre_validation_duplicate_total', help: '', labelNames: ['topic'] } as any) as any
    const other = c.register.gauge({ name: 'gossipsub_score_fn_calls_total', help: '' }) as any
    sent.inc(1); sent.inc(); sent.inc(3)
    published.inc({ topic: 'a' }, 1); published.inc({ topic: 'b' }, 2)
    duplicates.inc({ topic: 'a' })
    other.inc(100)
    const s = c.snapshot()
    assert.equal(s.rpcSent, 5)
    assert.equal(s.published, 3)
    assert.equal(s.duplicates, 1)
    assert.ok(!Object.values(s).includes(100))
    s.rpcSent = 0
    assert.equal(c.snapshot().rpcSent, 5, 'a snapshot is a copy')
  })
})

describe('bench CPU profiles (bench/lib/profile.ts)', () => {
  it('names the package of a frame', () => {
    assert.equal(packageOf('file:///x/node_modules/@libp2p/yamux/dist/src/stream.js', 'f'), '@libp2p/yamux')
    assert.equal(packageOf('file:///x/node_modules/it-pipe/dist/index.js', 'f'), 'it-pipe')
    assert.equal(packageOf('file:///repo/dist/node/session/feed.js', 'claim'), 'chorus:node/session/feed')
    assert.equal(packageOf('node:internal/streams/writable', 'write'), 'node:internals')
    assert.equal(packageOf('', '(garbage collector)'), '(garbage collector)')
    assert.equal(packageOf('', 'writeBuffer'), '(native)')
    assert.equal(packageOf('wasm://wasm/20831a12', 'f'), '(wasm: ChaCha20-Poly1305)')
  })

  it('sums self time over processes, skips idle, and measures how often Chorus is on the stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-profile-'))
    try {
      // root → feed.claim (chorus) → yamux write; root → (idle); root → (garbage collector)
      const profile = {
        nodes: [
          { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4, 5] },
          { id: 2, callFrame: { functionName: 'claim', url: 'file:///r/dist/node/session/feed.js', lineNumber: 9 }, children: [3] },
          { id: 3, callFrame: { functionName: 'write', url: 'file:///r/node_modules/@libp2p/yamux/dist/src/s.js', lineNumber: 0 } },
          { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
          { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } }
        ],
        // each sample lasts until the next: 3 → 1 ms, 2 → 1 ms, 4 (idle) → 5 ms, 5 → 2 ms, 3 → 0 (last)
        samples: [3, 2, 4, 5, 3],
        timeDeltas: [0, 1000, 1000, 5000, 2000]
      }
      writeFileSync(join(dir, 'server-0.cpuprofile'), JSON.stringify(profile))
      writeFileSync(join(dir, 'server-1.cpuprofile'), JSON.stringify(profile))
      writeFileSync(join(dir, 'notes.txt'), 'not a profile')
      const s = summarizeProfiles(dir)
      assert.equal(s.files, 2)
      assert.equal(s.busyMs, 2 * 4)
      assert.equal(s.byPackage.find((p) => p.name === '@libp2p/yamux')?.ms, 2)
      assert.equal(s.byPackage.find((p) => p.name === '(garbage collector)')?.ms, 4)
      assert.equal(s.byPackage.find((p) => p.name === '(idle)'), undefined)
      // yamux under claim and claim itself: 2 of 4 busy ms per process
      assert.equal(s.chorusOnStackPercent, 50)
      assert.deepEqual(s.byProcess.map((p) => p.ms), [4, 4])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('bench flags (bench/lib/flags.ts)', () => {
  it('takes --profile for every scenario', () => {
    assert.equal(parseInvocation(['store', '--profile', '--seconds', '2'], SCENARIOS).profile, true)
    assert.equal(parseInvocation(['relay'], SCENARIOS).profile, false)
    assert.equal(parseInvocation(['store', '--seconds', '2'], SCENARIOS).params.seconds, 2)
  })
})
