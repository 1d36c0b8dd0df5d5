/**
 * Anti-entropy stays quiet while nothing changes, and still repairs: three servers own a set of
 * mailboxes; once they agree, rounds ask each co-owner for its change counters (one PROBE) and compare
 * no digests; an entry written at one owner only (a write the others missed) moves that owner's counter,
 * and the next rounds copy it to the others. Handle claims the same way: once every owner holds every
 * claim, rounds skip the pass over them, and a claim one owner alone has is copied by the next round.
 */

import { strict as assert } from 'node:assert'
import { generateIdentity, userIdOf } from '../../protocol/envelope.js'
import { signHandleClaim } from '../../protocol/handle.js'
import { hlcPack } from '../../protocol/hlc.js'
import type { ChorusNode } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { entry } from '../helpers/envelopes.js'
import { scaled, waitFor } from '../helpers/wait.js'

const MAILBOXES = 20
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

async function holds (node: ChorusNode, mailbox: string, cursor: string): Promise<boolean> {
  const page = await node.replication.mailboxes.range(mailbox, { limit: 100_000 })
  return page.entries.some((e) => hex(e.cursor) === cursor)
}

const served = async (mesh: Mesh, kind: string): Promise<number> => {
  const counts = await Promise.all(mesh.servers.map(async (s) => (await s.work()).store?.served[kind]?.requests ?? 0))
  return counts.reduce((a, b) => a + b, 0)
}

describe('anti-entropy on a quiet mesh (3 servers, N=3)', function () {
  this.timeout(scaled(120_000))
  let mesh: Mesh

  before(async function () {
    this.timeout(scaled(120_000))
    mesh = await startMesh({
      servers: 3,
      clients: 0,
      options: () => ({ replicas: 3, writeQuorum: 2, replication: { repairIntervalMs: 200, hintIntervalMs: 200 } })
    })
    await waitForServers(mesh.nodes, mesh.servers)
  })
  after(async () => { await mesh?.cleanup() })

  it('compares no digests while nothing is written, and repairs a write one owner alone has', async () => {
    const sender = generateIdentity()
    const mailboxes = Array.from({ length: MAILBOXES }, () => userIdOf(generateIdentity().publicKey))
    // the same entries on every owner: they agree from the start
    const t = Date.now()
    for (const [i, mailbox] of mailboxes.entries()) {
      const e = entry(mailbox, sender, mailbox, t + i)
      for (const s of mesh.servers) await s.replication.mailboxes.put([e])
    }
    const rounds = async (): Promise<number> => Math.min(...mesh.servers.map((s) => s.replication.repair!.stats.rounds))
    // every server, not the mesh in sum (one slow server may still be on its first round): it reconciled
    // each mailbox with both co-owners once, and then found all of them unchanged in two more rounds
    await waitFor('every owner to find the mailboxes unchanged', async () =>
      mesh.servers.every((s) => s.replication.repair!.stats.unchanged >= MAILBOXES * 2 * 2))

    const digests = await served(mesh, 'DIGEST')
    const probes = await served(mesh, 'PROBE')
    const from = await rounds()
    await waitFor('five more rounds on every server', async () => (await rounds()) >= from + 5)
    assert.equal(await served(mesh, 'DIGEST') - digests, 0, 'no digest compared while nothing changed')
    assert.ok(await served(mesh, 'PROBE') - probes >= 5 * 2, 'each round asked the co-owners for their counters')

    // a write that reached one owner only
    const [lone] = mesh.servers
    const missed = entry(mailboxes[7], sender, mailboxes[7], t + 1000)
    await lone.replication.mailboxes.put([missed])
    const cursor = hex(missed.cursor)
    await waitFor('the other owners to get the entry they missed', async () => {
      for (const s of mesh.servers) if (!await holds(s, mailboxes[7], cursor)) return false
      return true
    }, { timeoutMs: scaled(20_000), intervalMs: 100 })
  })
  it('skips the pass over handle claims every owner holds, and copies a claim one owner alone has', async () => {
    const settled = (): number[] => mesh.servers.map((s) => s.replication.repair!.stats.handlesSettled)
    const handles = Array.from({ length: 30 }, (_, i) => `quiet-${i}`)
    const t = hlcPack(Date.now(), 0)
    for (const handle of handles) {
      const claim = signHandleClaim(handle, generateIdentity(), t)
      for (const s of mesh.servers) await s.replication.context.handles.put(claim)
    }
    // the writes end the settled state the empty store had; a round that checked just before the last
    // one landed may still skip once, so two skips since mean a pass over the claims settled
    const written = settled()
    await waitFor('every server to settle the claims and skip', async () => settled().every((n, i) => n >= written[i] + 2))
    const resolves = await served(mesh, 'RESOLVE')
    const from = settled()
    await waitFor('five more skipped passes on every server', async () => settled().every((n, i) => n >= from[i] + 5))
    assert.equal(await served(mesh, 'RESOLVE') - resolves, 0, 'no claim asked about while nothing changed')

    // a claim that reached one owner only: its write ends the settled state there, and the next pass copies it
    const [lone, ...others] = mesh.servers
    const missed = signHandleClaim('quiet-missed', generateIdentity(), t)
    await lone.replication.context.handles.put(missed)
    await waitFor('the other owners to get the claim they missed', async () => {
      for (const s of others) if (await s.replication.context.handles.get('quiet-missed') == null) return false
      return true
    }, { timeoutMs: scaled(20_000), intervalMs: 100 })
  })
})
