import { strict as assert } from 'node:assert'
import { createServer, type Server } from 'node:net'
import { createNode, type ChorusNode } from '../../node/index.js'
import { FAST_MEMBERSHIP, LOOPBACK_LISTEN, startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { TempDirs, scaled } from '../helpers/wait.js'

function hasCode (name: string, code: string) {
  return (err: any): boolean => {
    assert.equal(err.name, name, `${err.name}: ${err.message}`)
    assert.equal(err.code, code)
    return true
  }
}

describe('node lifecycle and its errors', function () {
  this.timeout(scaled(60_000))
  const dirs = new TempDirs()
  const nodes: ChorusNode[] = []
  const servers: Server[] = []
  const node = async (dataDir = dirs.make(), extra: Parameters<typeof createNode>[0] = {}): Promise<ChorusNode> => {
    const n = await createNode({ dataDir, listen: LOOPBACK_LISTEN, membership: FAST_MEMBERSHIP, ...extra })
    nodes.push(n)
    return n
  }
  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map(async (n) => { await n.stop() }))
    await Promise.all(servers.splice(0).map(async (s) => new Promise<void>((resolve) => s.close(() => { resolve() }))))
    dirs.cleanup()
  })

  it('walks created → started → stopped, and stop() twice is fine', async () => {
    const n = await node()
    assert.equal(n.state, 'created')
    assert.throws(() => n.database, hasCode('NodeStateError', 'ERR_NODE_STATE'))
    await n.start()
    assert.equal(n.state, 'started')
    assert.equal(n.libp2p.status, 'started')
    await n.database.put('k', 'v')
    await n.stop()
    await n.stop()
    assert.equal(n.state, 'stopped')
    assert.equal(n.libp2p.status, 'stopped')
  })

  it('exposes the database only while the node runs', async () => {
    const n = await node()
    await n.start()
    await n.stop()
    assert.throws(() => n.database, hasCode('NodeStateError', 'ERR_NODE_STATE'), 'the closed database is still handed out after stop()')
  })

  it('refuses start() after stop() with NodeStateError', async () => {
    const n = await node()
    await n.start()
    await n.stop()
    await assert.rejects(n.start(), hasCode('NodeStateError', 'ERR_NODE_STATE'))
    assert.equal(n.state, 'stopped')
  })

  it('a second start() while starting resolves only once the node runs', async () => {
    const n = await node()
    const first = n.start()
    await n.start()
    assert.equal(n.state, 'started', 'await start() returned before the node was started')
    await first
  })

  it('a second stop() while stopping resolves only once the node has stopped', async () => {
    const n = await node()
    await n.start()
    const first = n.stop()
    await n.stop()
    const libp2pStatus = n.libp2p.status
    await first
    assert.equal(libp2pStatus, 'stopped', 'await stop() returned while libp2p was still running')
  })

  it('stops without ever starting', async () => {
    const n = await node()
    await n.stop()
    assert.equal(n.state, 'stopped')
  })

  it('reports an HTTP port in use as ListenError, and releases everything it opened', async () => {
    const blocker = createServer()
    servers.push(blocker)
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const dataDir = dirs.make()
    const n = await node(dataDir, { http: `127.0.0.1:${port}` })
    await assert.rejects(n.start(), hasCode('ListenError', 'ERR_LISTEN'))
    assert.equal(n.state, 'stopped')
    assert.equal(n.libp2p.status, 'stopped')
    // the database lock went with it: the same data dir starts again
    const again = await node(dataDir)
    await again.start()
    assert.equal(again.state, 'started')
  })

  it('reports a libp2p listen port in use as ListenError', async () => {
    const first = await node()
    await first.start()
    const taken = first.libp2p.getMultiaddrs()[0].decapsulateCode(421).toString()
    const second = await node(dirs.make(), { listen: [taken] })
    await assert.rejects(second.start(), hasCode('ListenError', 'ERR_LISTEN'))
    assert.equal(second.state, 'stopped')
    assert.equal(first.state, 'started')
  })

  it('rejects bad options in createNode with InvalidOptionError', async () => {
    await assert.rejects(createNode({ dataDir: dirs.make(), replicas: 0 }),
      (err: any) => err.name === 'InvalidOptionError' && err.option === 'replicas')
  })

  describe('two nodes on one data dir', () => {
    let mesh: Mesh
    before(async function () {
      this.timeout(scaled(60_000))
      mesh = await startMesh({ servers: 2 })
      await waitForServers(mesh.nodes, mesh.servers)
    })
    after(async () => { await mesh?.cleanup() })

    it('refuses the second with DataDirError, and the first keeps working', async () => {
      const first = mesh.servers[0]
      const twin = await mesh.create('server', { dataDir: first.options.dataDir })
      assert.equal(twin.peerId.toString(), first.peerId.toString(), 'same key, same identity')
      await assert.rejects(twin.start(), hasCode('DataDirError', 'ERR_DATA_DIR'))
      assert.equal(twin.state, 'stopped')

      assert.equal(first.state, 'started')
      await first.database.put('still', 'here')
      assert.equal(await first.database.get('still'), 'here')
      await waitForServers(mesh.nodes.filter((n) => n !== twin), mesh.servers)
    })
  })
})
