/**
 * In-process meshes for the multi-node tests: real libp2p nodes on 127.0.0.1, TCP port 0, fast
 * membership timings, a bootstrap-role node first. Every node started through a mesh is stopped, and
 * every data directory removed, by `cleanup()`.
 */

import { createNode, type ChorusNode, type ChorusNodeOptions, type MembershipInit, type Role } from '../../node/index.js'
import { TempDirs, scaled, waitFor } from './wait.js'

/**
 * Membership timings for tests: a probe every 100 ms, so a full round over a handful of peers takes well
 * under a second, and a suspicion timeout long enough that a busy event loop (six nodes share one) does
 * not evict a healthy peer. The probe and suspicion timeouts are how long a node may take to answer, so
 * CHORUS_TEST_SLOWDOWN stretches them like every test deadline.
 */
export const FAST_MEMBERSHIP: Partial<MembershipInit> = {
  probeIntervalMs: 100,
  probeTimeoutMs: scaled(500),
  suspicionTimeoutMs: scaled(1500),
  syncIntervalMs: 1000,
  rejoinIntervalMs: 300
}

/** The only listen address a test node uses: loopback, an ephemeral port. */
export const LOOPBACK_LISTEN = ['/ip4/127.0.0.1/tcp/0']

/** What `startMesh` builds. */
export interface MeshInit {
  /** server nodes after the bootstrap node @default 4 */
  servers?: number
  /** client nodes after the servers @default 0 */
  clients?: number
  /** per-node extra options, by position in `nodes` (0 is the bootstrap node) */
  options?: (index: number, role: Role) => Partial<ChorusNodeOptions>
}

/** A running mesh and the means to grow it and tear it down. */
export interface Mesh {
  /** every node started through the mesh, in start order; nodes added with `spawn` are appended */
  nodes: ChorusNode[]
  bootstrap: ChorusNode
  servers: ChorusNode[]
  clients: ChorusNode[]
  /** the bootstrap node's full multiaddrs (with /p2p/) */
  bootstrapAddrs: string[]
  dirs: TempDirs
  /** Create and start one more node (joined through the bootstrap node unless `options.bootstrap` says otherwise). */
  spawn: (role: Role, options?: Partial<ChorusNodeOptions>) => Promise<ChorusNode>
  /** Create one more node without starting it; it is still stopped by `cleanup()`. */
  create: (role: Role, options?: Partial<ChorusNodeOptions>) => Promise<ChorusNode>
  /** Stop every node (in parallel, failures ignored) and remove every data directory. */
  cleanup: () => Promise<void>
}

/** Start a bootstrap node, then `servers` servers and `clients` clients that join through it. */
export async function startMesh (init: MeshInit = {}): Promise<Mesh> {
  const dirs = new TempDirs()
  const nodes: ChorusNode[] = []
  let bootstrapAddrs: string[] = []

  const create = async (role: Role, options: Partial<ChorusNodeOptions> = {}): Promise<ChorusNode> => {
    const node = await createNode({
      role,
      dataDir: dirs.make(`chorus-${role}-`),
      listen: LOOPBACK_LISTEN,
      bootstrap: bootstrapAddrs,
      ...options,
      membership: { ...FAST_MEMBERSHIP, ...options.membership }
    })
    nodes.push(node)
    return node
  }
  const spawn = async (role: Role, options?: Partial<ChorusNodeOptions>): Promise<ChorusNode> => {
    const node = await create(role, options)
    await node.start()
    return node
  }
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(nodes.splice(0).map(async (n) => { await n.stop() }))
    dirs.cleanup()
  }

  try {
    const bootstrap = await spawn('bootstrap', init.options?.(0, 'bootstrap'))
    bootstrapAddrs = bootstrap.multiaddrs()
    const roles: Role[] = [
      ...Array.from({ length: init.servers ?? 4 }, (): Role => 'server'),
      ...Array.from({ length: init.clients ?? 0 }, (): Role => 'client')
    ]
    const started = await Promise.all(roles.map(async (role, i) => spawn(role, init.options?.(i + 1, role))))
    return {
      nodes,
      bootstrap,
      servers: started.filter((n) => n.role === 'server'),
      clients: started.filter((n) => n.role === 'client'),
      bootstrapAddrs,
      dirs,
      spawn,
      create,
      cleanup
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** Peer ids of `nodes`, sorted: the form `membership.servers()` returns. */
export function ids (nodes: ChorusNode[]): string[] {
  return nodes.map((n) => n.peerId.toString()).sort()
}

/** Wait until every node in `viewers` has exactly `servers` as its live server set (default deadline: scaled 40 s). */
export async function waitForServers (
  viewers: ChorusNode[],
  servers: ChorusNode[],
  timeoutMs = scaled(40_000)
): Promise<void> {
  const want = JSON.stringify(ids(servers))
  await waitFor(`a view of ${servers.length} servers on ${viewers.length} nodes`, () => {
    const wrong = viewers.filter((v) => JSON.stringify(v.membership.servers()) !== want)
    if (wrong.length === 0) return true
    // not there yet: what the others see, for the message should the wait time out
    throw new Error(
      wrong.map((v) => `${v.role} ${v.peerId.toString().slice(-6)} sees ${v.membership.servers().map((s) => s.slice(-6)).join(',')}`).join('; ')
    )
  }, { timeoutMs })
}
