import { strict as assert } from 'node:assert'
import { createServer } from 'node:net'
import { MESH_TOPIC, VERSION, createNode, type ChorusNode } from '../../node/index.js'
import { FAST_MEMBERSHIP, LOOPBACK_LISTEN, ids, startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { TempDirs, scaled, waitFor } from '../helpers/wait.js'

/** A TCP port on 127.0.0.1 that was free a moment ago. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

async function get (
  addr: string | undefined,
  path: string,
  init?: RequestInit
): Promise<{ status: number, type: string | null, body: string }> {
  assert.ok(addr != null, 'the node has an HTTP address')
  const res = await fetch(`http://${addr}${path}`, { ...init, signal: AbortSignal.timeout(scaled(10_000)) })
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
}

/** Assert `re` matches a line of a Prometheus text, without dumping the whole scrape on failure. */
function assertLine (body: string, re: RegExp, what = String(re)): void {
  assert.ok(re.test(body), `no line matching ${what} in /metrics`)
}

describe('the operator HTTP endpoint', function () {
  this.timeout(scaled(60_000))
  describe('on a node in a mesh', () => {
    let mesh: Mesh
    let node: ChorusNode
    let addr: string

    before(async function () {
      this.timeout(scaled(60_000))
      mesh = await startMesh({ servers: 2, options: (i) => i === 1 ? { http: '127.0.0.1:0' } : {} })
      node = mesh.servers[0]
      addr = node.httpAddress()!
      await waitForServers(mesh.nodes, mesh.servers)
    })
    after(async () => { await mesh?.cleanup() })

    it('binds the asked host on a real port', () => {
      assert.match(addr, /^127\.0\.0\.1:\d+$/)
      assert.notEqual(addr, '127.0.0.1:0')
      assert.equal(mesh.servers[1].httpAddress(), undefined, 'off unless asked for')
    })

    it('GET /health answers 200', async () => {
      const res = await get(addr, '/health')
      assert.equal(res.status, 200)
      assert.equal(res.body, 'ok\n')
      assert.equal((await get(addr, '/health?verbose=1')).status, 200)
    })

    it('GET /status is JSON with the node and its view', async () => {
      const res = await get(addr, '/status')
      assert.equal(res.status, 200)
      assert.match(res.type ?? '', /^application\/json/)
      const s = JSON.parse(res.body)
      assert.equal(s.peerId, node.peerId.toString())
      assert.equal(s.role, 'server')
      assert.equal(s.version, VERSION)
      assert.equal(s.state, 'started')
      assert.ok(Array.isArray(s.addresses) && s.addresses.length > 0)
      assert.ok(s.addresses.every((a: string) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.endsWith(`/p2p/${s.peerId}`)))
      assert.deepEqual(s.servers, ids(mesh.servers))
      assert.equal(s.peers.length, 2)
      assert.equal(typeof s.uptimeSeconds, 'number')
      assert.ok(s.uptimeSeconds >= 0)
      assert.equal(s.replicas, 3)
      assert.equal(s.writeQuorum, 2)
    })

    it('GET /metrics is Prometheus text with Chorus figures', async () => {
      const res = await get(addr, '/metrics')
      assert.equal(res.status, 200)
      assert.match(res.type ?? '', /^text\/plain/)
      for (const name of ['chorus_members', 'chorus_connections', 'chorus_pubsub_peers', 'chorus_server_peers', 'chorus_membership_probes_sent_total']) {
        assertLine(res.body, new RegExp(`^# TYPE ${name} `, 'm'), name)
      }
      const members = (state: string): number => Number(new RegExp(`^chorus_members\\{state="${state}"\\} (\\d+)$`, 'm').exec(res.body)?.[1])
      assert.equal(members('alive') + members('suspect'), 2, 'the bootstrap node and the other server')
      assertLine(res.body, /^chorus_server_peers 2$/m)
      assertLine(res.body, new RegExp(`^chorus_pubsub_mesh_peers\\{topic="${MESH_TOPIC}"\\} \\d+$`, 'm'))
      assertLine(res.body, /^chorus_connections [1-9]\d*$/m)
      assertLine(res.body, /^chorus_process_cpu_user_seconds_total /m, 'process figures when serving HTTP')
    })

    // @libp2p/prometheus-metrics keeps its metric objects in a module-level map; with
    // preserveExistingMetrics every later node in the process reuses the first node's objects,
    // registered in the first node's registry.
    it('GET /metrics carries this node\'s libp2p figures, on any node of the process', async () => {
      const res = await get(addr, '/metrics')
      assertLine(res.body, /^libp2p_\w+/m, 'any libp2p figure')
      assertLine(res.body, /^libp2p_connection_manager_connections\{/m)
    })

    it('refuses anything but GET and HEAD with 405', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        assert.equal((await get(addr, '/status', { method })).status, 405, method)
      }
      assert.equal((await get(addr, '/health', { method: 'HEAD' })).status, 200)
    })

    it('answers 404 for an unknown path (the dashboard serves / and its own files, nothing else)', async () => {
      assert.equal((await get(addr, '/admin')).status, 404)
      assert.equal((await get(addr, '/dashboard/../../package.json')).status, 404)
      assert.equal((await get(addr, '/node_modules/level/package.json')).status, 404)
      assert.equal((await get(addr, '/')).status, 200)
    })
  })

  describe('lifecycle', () => {
    const dirs = new TempDirs()
    const nodes: ChorusNode[] = []
    afterEach(async () => {
      await Promise.allSettled(nodes.splice(0).map(async (n) => { await n.stop() }))
      dirs.cleanup()
    })

    it('does not serve before start and closes on stop', async () => {
      const port = await freePort()
      const node = await createNode({
        dataDir: dirs.make(),
        listen: LOOPBACK_LISTEN,
        http: `127.0.0.1:${port}`,
        membership: FAST_MEMBERSHIP
      })
      nodes.push(node)
      assert.equal(node.httpAddress(), undefined)
      await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), (err: any) => err.cause?.code === 'ECONNREFUSED', 'nothing listens before start')

      await node.start()
      assert.equal(node.httpAddress(), `127.0.0.1:${port}`)
      assert.equal((await get(node.httpAddress(), '/health')).status, 200)

      await node.stop()
      assert.equal(node.httpAddress(), undefined)
      await waitFor('the port to close', async () => {
        // refused, not merely slow: a busy node that answers late still listens
        try { await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(scaled(5000)) }); return false } catch (err: any) { return err.cause?.code === 'ECONNREFUSED' }
      })
    })
  })
})
