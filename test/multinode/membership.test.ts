import { strict as assert } from 'node:assert'
import type { ChorusNode } from '../../node/index.js'
import type { LeaveReason } from '../../node/membership/index.js'
import { openDb, peerMemory } from '../../node/store/db.js'
import { FAST_MEMBERSHIP, ids, startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { scaled, waitFor } from '../helpers/wait.js'
import { MEMBERSHIP_LINK_PROTOCOL, MEMBERSHIP_PROTOCOL } from '../../protocol/constants.js'

interface Seen { at: number, observer: string, peerId: string, event: 'join' | 'leave', reason?: LeaveReason }

/** Record every member:join / member:leave that `nodes` emit from now on. */
function recordEvents (nodes: ChorusNode[]): Seen[] {
  const log: Seen[] = []
  for (const n of nodes) {
    const observer = n.peerId.toString()
    n.on('member:join', (m) => log.push({ at: Date.now(), observer, peerId: m.peerId, event: 'join' }))
    n.on('member:leave', (m, reason) => log.push({ at: Date.now(), observer, peerId: m.peerId, event: 'leave', reason }))
  }
  return log
}

/**
 * Wait until each of `nodes` has sent `rounds` full probe rounds more than it had (a round probes every
 * live member once; urgent and routine probes alternate, hence two per member) and synced at least once
 * more: whatever the others would tell it about a peer has reached it by then.
 */
async function membershipRounds (nodes: ChorusNode[], rounds: number): Promise<void> {
  const from = nodes.map(
    (n) =>
      ({ probes: n.membership.stats.probesSent, syncs: n.membership.stats.syncs, members: n.membership.live().length })
  )
  await waitFor(`${rounds} more probe rounds and a sync on ${nodes.length} nodes`, () => nodes.every((n, i) =>
    n.membership.stats.probesSent >= from[i].probes + rounds * 2 * Math.max(1, from[i].members) &&
      n.membership.stats.syncs > from[i].syncs))
}

describe('membership across an in-process mesh', function () {
  this.timeout(scaled(60_000))

  describe('a mesh of 1 bootstrap, 4 servers and 1 client', () => {
    let mesh: Mesh
    before(async function () {
      this.timeout(scaled(60_000))
      mesh = await startMesh({ servers: 4, clients: 1 })
      await waitForServers(mesh.nodes, mesh.servers)
    })
    after(async () => { await mesh?.cleanup() })

    it('gives every server, the bootstrap node and the client the same 4 servers', () => {
      const want = ids(mesh.servers)
      for (const n of mesh.nodes) assert.deepEqual(n.membership.servers(), want, `${n.role} ${n.peerId}`)
      for (const n of mesh.nodes) assert.deepEqual(n.status().servers, want)
    })

    it('keeps the bootstrap node out of the ring but in the live view', async () => {
      const boot = mesh.bootstrap.peerId.toString()
      // a busy host may have the bootstrap node suspect (and back) for a moment: wait for the view, then check the ring
      const seesBootstrap = (n: ChorusNode): boolean =>
        JSON.stringify(n.membership.live().filter((m) => m.role === 'bootstrap').map((m) => m.peerId)) === JSON.stringify([boot])
      await waitFor('every node to have the bootstrap node in its live view',
        () => [...mesh.servers, ...mesh.clients].every(seesBootstrap), { timeoutMs: scaled(30_000), intervalMs: 100 })
      for (const n of [...mesh.servers, ...mesh.clients]) assert.ok(!n.membership.servers().includes(boot))
    })

    it('keeps the client out of every view, in any state', async () => {
      // the client probes and syncs with every member: each has had its record from it directly since
      await membershipRounds(mesh.clients, 2)
      const client = mesh.clients[0].peerId.toString()
      for (const n of [mesh.bootstrap, ...mesh.servers]) {
        assert.ok(!n.membership.live().some((m) => m.peerId === client), `${n.role} sees the client`)
        const counts = n.membership.counts()
        const total = Object.values(counts).reduce((a, b) => a + b, 0)
        assert.equal(total, 4, `${n.role} table ${JSON.stringify(counts)}`)
        assert.equal(counts.alive + counts.suspect, 4, `${n.role} table ${JSON.stringify(counts)}`)
      }
      // the client itself knows everyone but holds no ring position
      assert.equal(mesh.clients[0].membership.live().length, 5)
    })

    it('probes and syncs over one long-lived stream per peer, not a stream per request', async () => {
      const linkStreams = (): Set<string> => new Set(mesh.nodes.flatMap((node) => node.libp2p.getConnections().flatMap(
        (c) => c.streams.filter((st) => st.protocol === MEMBERSHIP_LINK_PROTOCOL && st.direction === 'outbound')
          .map((st) => `${node.peerId.toString()} ${c.id} ${st.id}`))))
      await membershipRounds(mesh.nodes, 1)
      const before = linkStreams()
      const probes = mesh.nodes.reduce((n, node) => n + node.membership.stats.probesSent, 0)
      await membershipRounds(mesh.nodes, 3)
      const after = linkStreams()
      const sent = mesh.nodes.reduce((n, node) => n + node.membership.stats.probesSent, 0) - probes
      const pairs = mesh.nodes.length * (mesh.nodes.length - 1)
      assert.ok(after.size > 0 && after.size <= pairs, `${after.size} membership links for ${pairs} ordered pairs`)
      // a probe that timed out on a busy host fails its link, and the next opens one: a few, not one a probe
      const fresh = [...after].filter((k) => !before.has(k)).length
      assert.ok(fresh <= sent / 10, `${sent} probes and the syncs opened ${fresh} new streams`)
      assert.ok(!mesh.nodes.some((node) => node.libp2p.getConnections().some(
        (c) => c.streams.some((st) => st.protocol === MEMBERSHIP_PROTOCOL))), 'none on a one-request stream')
    })

    it('reports the view in status()', () => {
      const s = mesh.servers[0].status()
      assert.equal(s.state, 'started')
      assert.equal(s.role, 'server')
      assert.equal(s.peers.length, 4)
      // a peer may be briefly suspect on a busy loop; it is in the view either way
      assert.ok(s.peers.every((p) => (p.state === 'alive' || p.state === 'suspect') && p.lastSeen > 0))
      assert.ok(s.connections >= 1)
      assert.ok(s.addresses.every((a) => a.includes(`/p2p/${s.peerId}`)))
    })
  })

  describe('joins and leaves', () => {
    let mesh: Mesh
    beforeEach(async function () {
      this.timeout(scaled(60_000))
      mesh = await startMesh({ servers: 3 })
      await waitForServers(mesh.nodes, mesh.servers)
    })
    afterEach(async () => { await mesh?.cleanup() })

    it('fires member:join for a new server, and member:leave(left) after it stops gracefully', async function () {
      const watchers = [mesh.bootstrap, ...mesh.servers]
      const log = recordEvents(watchers)
      const x = await mesh.spawn('server')
      const xid = x.peerId.toString()
      await waitForServers(watchers, [...mesh.servers, x])
      const heard = (w: ChorusNode, event: string): boolean =>
        log.some((e) => e.observer === w.peerId.toString() && e.peerId === xid && e.event === event)
      await waitFor('a join event from every node', () => watchers.every((w) => heard(w, 'join')))

      const stoppedAt = Date.now()
      await x.stop()
      await waitFor('a leave event from every node', () => watchers.every((w) => heard(w, 'leave')))
      const leaves = log.filter((e) => e.peerId === xid && e.event === 'leave')
      // 'left', not 'dead': the LEAVE was heard; the failure detector did not time it out
      assert.deepEqual(leaves.map((e) => e.reason), watchers.map(() => 'left'))
      const after = leaves.map((e) => e.at - stoppedAt)
      this.test!.title += ` [heard after ${Math.min(...after)}–${Math.max(...after)} ms; suspicion timeout ${FAST_MEMBERSHIP.suspicionTimeoutMs} ms]`
      // traffic of the leaver still in flight, or a member that had not heard yet, must not bring it back:
      // two more probe rounds and a sync on every node, then it is still out and joined once
      await membershipRounds(watchers, 2)
      for (const w of watchers) {
        assert.ok(!w.membership.servers().includes(xid),
          `${w.role} took the departed server back: ${JSON.stringify(log.filter((e) => e.peerId === xid).map((e) => ({ ...e, at: e.at - stoppedAt })))}`)
      }
      assert.equal(log.filter((e) => e.peerId === xid && e.event === 'join').length, watchers.length, 'one join per watcher, no flapping')
    })

    // Membership.stop() says "tell the members we know that we are leaving, then stop": once it
    // resolves, the LEAVE must have been taken in, or closing libp2p can drop it on the wire.
    it('has every member take in the LEAVE by the time stop() resolves', async () => {
      const [first, second, last] = mesh.servers
      for (const [leaver, rest] of [[first, [second, last]], [second, [last]]] as const) {
        const id = leaver.peerId.toString()
        await leaver.stop()
        const stillThere = [mesh.bootstrap, ...rest].filter((w) => w.membership.servers().includes(id))
        assert.deepEqual(stillThere.map((w) => w.role), [], 'nodes that had not heard the LEAVE when stop() resolved')
      }
    })

    it('drops a server that vanishes without a LEAVE as dead', async function () {
      const [victim, ...rest] = mesh.servers
      const watchers = [mesh.bootstrap, ...rest]
      const vid = victim.peerId.toString()
      const log = recordEvents(watchers)
      const killedAt = Date.now()
      await victim.libp2p.stop() // no LEAVE: membership never gets to say goodbye

      const { probeIntervalMs, probeTimeoutMs, suspicionTimeoutMs } = victim.membership.settings
      // what it should take on an idle machine: a probe round (2n probes: urgent and routine probes
      // alternate), one probe timeout, the suspicion timeout and one tick. Reported, not asserted
      const bound = watchers.length * 2 * probeIntervalMs + probeTimeoutMs + suspicionTimeoutMs + probeIntervalMs
      await waitFor('every watcher to drop the victim', () => watchers.every((w) => !w.membership.servers().includes(vid)))
      const leaves = log.filter((e) => e.peerId === vid && e.event === 'leave')
      assert.equal(leaves.length, watchers.length, JSON.stringify(leaves))
      assert.ok(leaves.every((e) => e.reason === 'dead'))
      this.test!.title += ` [slowest eviction ${Math.max(...leaves.map((e) => e.at - killedAt))} ms; probe + suspicion bound ${bound} ms]`
      // the rest of the view is untouched
      for (const w of watchers) assert.deepEqual(w.membership.servers(), ids(rest))
    })
  })

  describe('restarts', () => {
    let mesh: Mesh
    beforeEach(async function () {
      this.timeout(scaled(60_000))
      mesh = await startMesh({ servers: 3 })
      await waitForServers(mesh.nodes, mesh.servers)
    })
    afterEach(async () => { await mesh?.cleanup() })

    it('a restart on the same data dir keeps the peer id and rejoins through the bootstrap node', async () => {
      const [old, ...rest] = mesh.servers
      const id = old.peerId.toString()
      await old.stop()
      await waitForServers([mesh.bootstrap, ...rest], rest)

      const again = await mesh.spawn('server', { dataDir: old.options.dataDir })
      assert.equal(again.peerId.toString(), id)
      await waitForServers([mesh.bootstrap, ...rest, again], [...rest, again])
    })

    it('a restart with no bootstrap list rejoins from the peers it remembered', async () => {
      const [old, ...rest] = mesh.servers
      const dataDir = old.options.dataDir
      await old.stop()
      await waitForServers([mesh.bootstrap, ...rest], rest)

      const db = await openDb(dataDir)
      const remembered = (await peerMemory(db).load()).map((p) => p.peerId).sort()
      await db.close()
      assert.deepEqual(remembered, ids([mesh.bootstrap, ...rest]), 'the stopped node remembered every live peer')

      const again = await mesh.spawn('server', { dataDir, bootstrap: [] })
      assert.equal(again.peerId.toString(), old.peerId.toString())
      assert.deepEqual(again.options.bootstrap, [])
      await waitForServers([mesh.bootstrap, ...rest, again], [...rest, again])
    })
  })
})
