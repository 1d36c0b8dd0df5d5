/**
 * Issue 10, with real processes: who may own data.
 *
 * The attack: a stranger runs a "server" whose peer id it ground so that it lands first among the owners
 * of a chosen user's mailbox. In an OPEN mesh that works (the last test documents the threat). In a
 * CLOSED mesh (an operator ran `chorus mesh init`, admitted four servers with `chorus mesh admit`) the
 * same rogue, started with the right `--mesh` but with no certificate, with one signed by another key,
 * or with an expired one, is refused at the membership handshake by every node: it is in nobody's
 * `servers`, owns no key, receives no STORE, and chat goes on. Then an admitted server is revoked with
 * `chorus mesh revoke --bootstrap`: it leaves every view at once and repair brings its keys back to N
 * copies on the others.
 *
 * Servers are `chorus` processes; the two users run on client nodes in this process (real libp2p).
 */

import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createNode, type ChorusNode, type Message, type User } from '../../node/index.js'
import { StoreRequest } from '../../protocol/pb/store.js'
import { Ring, keyPoint } from '../../protocol/ring.js'
import { parseMeshId, signCertificate } from '../../protocol/admission.js'
import { ed25519Generate } from '../../protocol/ed25519.js'
import { certificateDoc, readSigningKey } from '../../bin/admission-files.js'
import { COARSE_BUCKET_MS } from '../../node/replication/constants.js'
import { ChorusProcesses, LOOPBACK_ARGS, type ChorusProcess } from '../helpers/process.js'
import { CLIENT_OPTIONS, MESH_ARGS, SUSPICION_TIMEOUT_MS } from '../helpers/server-mesh.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'

const DAY_MS = 24 * 3600 * 1000

/** A user on a client node of its own, and every message it was shown. */
interface Person { node: ChorusNode, user: User, got: Message[] }

describe('process: server admission (closed mesh) against a ground peer id', function () {
  this.timeout(scaled(240_000))
  const procs = new ChorusProcesses()
  const dirs = new TempDirs()
  const people: Person[] = []

  after(async () => {
    for (const p of people) await p.node.stop()
    await procs.cleanup()
    dirs.cleanup()
  })

  /** Run a `chorus` admin command that must succeed; its stdout. */
  async function chorus (...args: string[]): Promise<string[]> {
    const r = await procs.run(args)
    assert.equal(r.exit.code, 0, `chorus ${args.join(' ')} failed: ${r.stderr.join(' | ')}`)
    return r.stdout
  }

  async function person (handle: string, bootstrap: string, mesh?: string): Promise<Person> {
    const node = await createNode({
      role: 'client',
      dataDir: dirs.make('chorus-client-'),
      bootstrap: [bootstrap],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mesh,
      ...CLIENT_OPTIONS
    })
    await node.start()
    const user = await node.openUser(handle, { timeoutMs: scaled(30_000) })
    const p: Person = { node, user, got: [] }
    user.on('message', (m) => { p.got.push(m) })
    people.push(p)
    return p
  }

  /** Send `text` from `a` to `b` and wait until `b` is shown it (live or by its sync). */
  async function chat (a: Person, b: Person, text: string): Promise<void> {
    await a.user.send(b.user.handle, text)
    await waitFor(`${b.user.handle} to be shown "${text}"`, () => b.got.some((m) => m.text === text), { timeoutMs: scaled(30_000) })
  }

  /**
   * The attack: fresh Ed25519 keys until one's peer id is the first owner of `userId`'s mailbox on a
   * ring of `servers` positioned by peer id (what an attacker computes). Writes it as `dir`'s node key.
   */
  async function grind (userId: string, servers: string[], dir: string): Promise<{ peerId: string, tries: number }> {
    for (let tries = 1; tries <= 10_000; tries++) {
      const key = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(key).toString()
      const ring = new Ring([...servers, peerId].map((p) => ({ peerId: p })))
      if (ring.owners(keyPoint('user', userId), 1)[0] === peerId) {
        writeFileSync(join(dir, 'node.key'), privateKeyToProtobuf(key), { mode: 0o600 })
        return { peerId, tries }
      }
    }
    throw new Error('could not grind a key')
  }

  /** Envelopes a server holds of a mailbox, asked over the replication protocol. */
  async function held (via: Person, peer: string, mailbox: string): Promise<number> {
    const res = await via.node.replication.call(peer, {
      kind: StoreRequest.Kind.DIGEST,
      mailbox,
      bucketMs: BigInt(COARSE_BUCKET_MS)
    })
    return res.buckets.reduce((n, b) => n + b.count, 0)
  }

  /** Store requests a node served, all kinds together (from /metrics). */
  async function storeRequests (p: ChorusProcess): Promise<number> {
    return [...(await p.metrics()).matchAll(/^chorus_store_requests_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
  }

  async function serversSeenBy (nodes: ChorusProcess[], clients: Person[]): Promise<string[][]> {
    return [...await Promise.all(nodes.map(async (n) => (await n.status()).servers)),
      ...clients.map((c) => c.node.membership.servers())]
  }

  async function waitForServers (
    nodes: ChorusProcess[],
    clients: Person[],
    ids: string[],
    timeoutMs = scaled(60_000)
  ): Promise<void> {
    const want = JSON.stringify([...ids].sort())
    await waitFor(`every node to see servers ${ids.map((s) => s.slice(-6)).join(',')}`, async () => {
      const views = await serversSeenBy(nodes, clients)
      if (views.every((v) => JSON.stringify([...v].sort()) === want)) return true
      throw new Error(`views: ${views.map((v) => v.map((s) => s.slice(-6)).join(',')).join(' | ')}`)
    }, { timeoutMs, intervalMs: 100 })
  }

  describe('a closed mesh: bootstrap and four certified servers', () => {
    let meshKey: string
    let mesh: string
    let bootstrap: ChorusProcess
    const servers: ChorusProcess[] = []
    let alice: Person
    let victim: Person
    let rogueDir: string
    let roguePeer: string

    before(async () => {
      const work = dirs.make('chorus-mesh-')
      meshKey = join(work, 'mesh.key')
      mesh = /^mesh id: (\S+)$/.exec((await chorus('mesh', 'init', '--out', meshKey))[0])![1]
      bootstrap = procs.spawn(['bootstrap', ...LOOPBACK_ARGS, '--data-dir', dirs.make('chorus-boot-'), '--mesh', mesh, ...MESH_ARGS])
      await bootstrap.ready()
      // the operator's flow: the server's peer id before its first start, a certificate, then start
      for (let i = 0; i < 4; i++) {
        const dir = dirs.make('chorus-srv-')
        const peerId = (await chorus('id', '--data-dir', dir))[0]
        const cert = join(work, `server-${i}.cert`)
        await chorus('mesh', 'admit', peerId, '--mesh-key', meshKey, '--out', cert)
        servers.push(procs.spawn(['start', ...LOOPBACK_ARGS, '--bootstrap', bootstrap.bootstrapAddr, '--data-dir', dir, '--mesh', mesh, '--cert', cert, ...MESH_ARGS]))
      }
      await Promise.all(servers.map(async (s) => await s.ready()))
      alice = await person('alice', bootstrap.bootstrapAddr, mesh)
      victim = await person('victim', bootstrap.bootstrapAddr, mesh)
      await waitForServers([bootstrap, ...servers], [alice, victim], servers.map((s) => s.peerId!))
      rogueDir = dirs.make('chorus-rogue-')
      const ground = await grind(victim.user.userId, servers.map((s) => s.peerId!), rogueDir)
      roguePeer = ground.peerId
      await chat(alice, victim, 'before any rogue')
    })

    const rogues: Array<{ name: string, reason: string, cert: () => string | undefined }> = [
      { name: 'no certificate', reason: 'no-certificate', cert: () => undefined },
      {
        name: 'a certificate signed by another key',
        reason: 'forged',
        cert: () => {
          // the attacker's own key signs a certificate naming this mesh: the signature cannot verify
          const other = signCertificate({ privateKey: ed25519Generate().privateKey }, {
            peerId: roguePeer,
            capacity: 1000,
            now: Date.now(),
            days: 30
          })
          return certFile({ ...other, mesh: new Uint8Array(parseMeshId(mesh)) })
        }
      },
      {
        name: 'an expired certificate',
        reason: 'expired',
        cert: () =>
          certFile(
            signCertificate(readSigningKey('test', meshKey), {
              peerId: roguePeer,
              capacity: 1,
              now: Date.now() - 3 * DAY_MS,
              days: 1
            })
          )
      }
    ]

    function certFile (c: ReturnType<typeof signCertificate>): string {
      const path = join(dirs.make('chorus-cert-'), 'rogue.cert')
      writeFileSync(path, JSON.stringify(certificateDoc(c, 'test')))
      return path
    }

    for (const r of rogues) {
      it(`refuses the ground peer id with ${r.name}: in no view, owns nothing, stores nothing, chat goes on`, async () => {
        const honest = [bootstrap, ...servers]
        const before = await Promise.all(
          honest.map(async (n) => (await n.status() as any).admission.refusals[r.reason] ?? 0)
        )
        const cert = r.cert()
        // the attacker knows where every server is: it dials each of them itself
        const dial = [bootstrap, ...servers].flatMap((n) => ['--bootstrap', n.bootstrapAddr])
        const rogue = procs.spawn(
          ['start', ...LOOPBACK_ARGS, ...dial, '--data-dir', rogueDir, '--mesh', mesh, ...(cert != null ? ['--cert', cert] : []), ...MESH_ARGS]
        )
        try {
          await rogue.ready()
          assert.equal(rogue.peerId, roguePeer)
          await rogue.waitForLine(/^admission: NOT ADMITTED/)
          // positive marker: every honest node has refused this rogue, for this reason, at least once
          await waitFor(`every honest node to refuse the rogue (${r.reason})`, async () => {
            const now = await Promise.all(
              honest.map(async (n) => (await n.status() as any).admission.refusals[r.reason] ?? 0)
            )
            return now.every((n, i) => n > before[i])
          }, { timeoutMs: scaled(30_000), intervalMs: 100 })
          const text = `with a rogue holding ${r.name}`
          await chat(alice, victim, text)
          const views = await serversSeenBy(honest, [alice, victim])
          for (const v of views) assert.ok(!v.includes(roguePeer), `the rogue is in a view: ${v.join(',')}`)
          for (const p of [alice, victim]) {
            assert.ok(!p.node.replication.placement.ownersOf(victim.user.userId).includes(roguePeer))
          }
          assert.equal(await storeRequests(rogue), 0, 'the rogue served store requests')
          assert.equal((await rogue.status() as any).admission.self.admitted, false)
        } finally {
          rogue.kill('SIGKILL')
          await rogue.exited
        }
      })
    }

    it('revokes a certified server mid-run: it leaves every view at once, and its keys are back to N copies on the others', async function () {
      const owners = victim.node.replication.placement.ownersOf(victim.user.userId)
      const revoked = servers.find((s) => s.peerId === owners[0])!
      const rest = servers.filter((s) => s !== revoked)
      for (let i = 0; i < 5; i++) await chat(alice, victim, `before the revocation #${i}`)
      const out = await chorus('mesh', 'revoke', revoked.peerId!, '--mesh-key', meshKey, '--bootstrap', bootstrap.bootstrapAddr)
      assert.match(out.join('\n'), /handed to \d+ member/)
      const handedAt = Date.now()
      await waitForServers([bootstrap, ...rest], [alice, victim], rest.map((s) => s.peerId!), SUSPICION_TIMEOUT_MS)
      const tookMs = Date.now() - handedAt
      await revoked.waitForLine(/admission: this server no longer owns data \(certificate revoked\)/)
      for (const s of [bootstrap, ...rest]) {
        await s.waitForMembership('the revoked server to leave', (l) => l.kind === 'left' && l.peerId === revoked.peerId && l.why === 'revoked')
      }
      await chat(alice, victim, 'after the revocation')
      // N = 3 and three servers left: each of them holds every envelope of both mailboxes again
      const want = victim.got.length
      for (const mailbox of [victim.user.userId, alice.user.userId]) {
        await waitFor(`the three remaining servers to hold ${mailbox.slice(0, 8)}… whole`, async () => {
          const counts = await Promise.all(rest.map(async (s) => await held(alice, s.peerId!, mailbox)))
          return counts.every((n) => n >= (mailbox === victim.user.userId ? want : 0) && n === counts[0])
        }, { timeoutMs: scaled(60_000), intervalMs: 250 })
      }
      this.test!.title += ` (left every view ${tookMs} ms after the revocation was handed over)`
    })
  })

  describe('an open mesh: the same attack works (the threat the closed mesh closes)', () => {
    it('a ground peer id becomes the first owner of the victim\'s mailbox and receives its messages', async function () {
      const bootstrap = procs.spawn(['bootstrap', ...LOOPBACK_ARGS, '--data-dir', dirs.make('chorus-boot-'), ...MESH_ARGS])
      await bootstrap.ready()
      await bootstrap.waitForLine(/^open mesh: any node may own data; use --mesh for a federated mesh$/)
      const servers = [0, 1, 2].map(
        () => procs.spawn(['start', ...LOOPBACK_ARGS, '--bootstrap', bootstrap.bootstrapAddr, '--data-dir', dirs.make('chorus-srv-'), ...MESH_ARGS])
      )
      await Promise.all(servers.map(async (s) => await s.ready()))
      const alice = await person('alice', bootstrap.bootstrapAddr)
      const victim = await person('victim', bootstrap.bootstrapAddr)
      await waitForServers([bootstrap, ...servers], [alice, victim], servers.map((s) => s.peerId!))
      const rogueDir = dirs.make('chorus-rogue-')
      const { peerId, tries } = await grind(victim.user.userId, servers.map((s) => s.peerId!), rogueDir)
      const rogue = procs.spawn(['start', ...LOOPBACK_ARGS, '--bootstrap', bootstrap.bootstrapAddr, '--data-dir', rogueDir, ...MESH_ARGS])
      await rogue.ready()
      await waitForServers([bootstrap, ...servers, rogue], [alice, victim], [...servers.map((s) => s.peerId!), peerId])
      assert.equal(victim.node.replication.placement.ownersOf(victim.user.userId)[0], peerId)
      await chat(alice, victim, 'the rogue gets this')
      await waitFor('the rogue to hold the victim\'s message', async () => await held(alice, peerId, victim.user.userId) > 0, { timeoutMs: scaled(30_000) })
      this.test!.title += ` (${tries} keys ground)`
    })
  })
})
