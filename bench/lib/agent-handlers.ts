/**
 * What an agent process does for each coordinator command: a table of handlers, one per operation, over
 * one Chorus node. The agent entry (`bench/agent.ts`) only moves messages between IPC and this table.
 */

import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { createNode, type ChorusNode, type User } from '../../node/index.js'
import { sendLoad, sendMix } from './sender.js'
import type { AgentCommands, AgentOp, AgentReplies, MemberEvent } from './agent-protocol.js'
import { DeadlineError, wallClock } from './clock.js'
import { FloorNode } from './floor-node.js'
import { publishPaced, publishSaturated, type PublishTarget } from './publisher.js'
import type { PayloadRecorder } from './receiver.js'
import { decodeTextPayload, encodeTextPayload } from './payload.js'
import { XmppClients } from './xmpp-clients.js'

/** One handler per operation. */
export type AgentHandlers = { [O in AgentOp]: (cmd: AgentCommands[O]) => Promise<AgentReplies[O]> }

/** The parts of the gossipsub implementation a benchmark inspects beyond its public interface. */
interface GossipsubInternals {
  getMeshPeers?: (topic: string) => string[]
  streamsOutbound?: Map<string, { rawStream?: { writeBufferLength?: number } }>
}

/** The agent's state: its node (once started), its data directory, and what it has recorded. */
export interface AgentState {
  dataDir: string
  node?: ChorusNode
  recorder: PayloadRecorder
  /** `servers().length` after every membership change, in order */
  view: Array<{ at: number, servers: number }>
  /** where membership events go (to the coordinator) */
  emit: (event: MemberEvent) => void
  /** user sessions opened on this node, by handle */
  users: Map<string, User>
  /** the CPU profiler's session while a measured phase is profiled */
  profiler?: Session
  /** Jabber clients of this process (the xmpp scenario's client processes) */
  xmpp?: XmppClients
  /** the bare libp2p node of the `floor` scenario (instead of a Chorus node) */
  floor?: FloorNode
}

/** The handler table over `state`. */
export function createHandlers (state: AgentState): AgentHandlers {
  const node = (): ChorusNode => {
    if (state.node == null) throw new Error('the node is not started')
    return state.node
  }
  const xmppClients = (): XmppClients => (state.xmpp ??= new XmppClients())
  const floor = (): FloorNode => {
    if (state.floor == null) throw new Error('the floor node is not started')
    return state.floor
  }
  return {
    start: async (cmd) => {
      if (state.node != null) throw new Error('the node is already started')
      const n = await createNode({
        role: cmd.role,
        dataDir: state.dataDir,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: cmd.bootstrap,
        membership: cmd.membership,
        replicas: cmd.replicas,
        writeQuorum: cmd.writeQuorum,
        replication: cmd.replication,
        relay: cmd.relay,
        xmpp: cmd.xmpp
      })
      state.node = n
      const changed = (type: MemberEvent['type'], m: { peerId: string, role: string }, reason?: string): void => {
        const at = wallClock()
        const servers = n.membership.servers().length
        state.view.push({ at, servers })
        state.emit({ type, at, peerId: m.peerId, role: m.role, reason, servers })
      }
      n.on('member:join', (m) => { changed('member:join', m) })
      n.on('member:leave', (m, why) => { changed('member:leave', m, why) })
      const startCalledAt = wallClock()
      await n.start()
      return {
        peerId: n.peerId.toString(),
        multiaddrs: n.multiaddrs(),
        startCalledAt,
        startResolvedAt: wallClock(),
        xmppAddress: n.xmppAddress()
      }
    },
    awaitView: async (cmd) => await awaitView(state, node(), cmd),
    stats: async () => {
      const mem = process.memoryUsage()
      const cpu = process.cpuUsage()
      const n = state.node
      return {
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        connections: n?.libp2p.getConnections().length ?? 0,
        servers: n?.membership.servers().length ?? 0
      }
    },
    work: async () => {
      const cpu = process.cpuUsage()
      const n = state.node
      return {
        role: n?.role ?? 'none',
        work: n != null && n.state === 'started' ? await n.work() : null,
        cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 }
      }
    },
    profile: async (cmd) => {
      if (cmd.action === 'start') {
        if (state.profiler != null) throw new Error('the profiler is already running')
        const session = new Session()
        session.connect()
        await session.post('Profiler.enable')
        await session.post('Profiler.start')
        state.profiler = session
        return {}
      }
      const session = state.profiler
      if (session == null) throw new Error('the profiler is not running')
      state.profiler = undefined
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      writeFileSync(cmd.path, JSON.stringify(profile))
      return {}
    },
    subscribe: async (cmd) => {
      const pubsub = node().libp2p.services.pubsub
      pubsub.addEventListener('message', (evt) => { if (evt.detail.topic === cmd.topic) state.recorder.record(evt.detail.data) })
      pubsub.subscribe(cmd.topic)
      return {}
    },
    meshStatus: async (cmd) => {
      const pubsub = node().libp2p.services.pubsub
      const internals = pubsub as unknown as GossipsubInternals
      return {
        meshPeers: internals.getMeshPeers?.(cmd.topic).length ?? 0,
        subscribers: pubsub.getSubscribers(cmd.topic).length
      }
    },
    publish: async (cmd) => {
      const target = publishTarget(node())
      return cmd.mode === 'paced' ? await publishPaced(target, cmd) : await publishSaturated(target, cmd)
    },
    openUser: async (cmd) => {
      const user = await node().openUser(cmd.handle, { timeoutMs: 20_000 })
      state.users.set(cmd.handle, user)
      return { userId: user.userId }
    },
    openUsers: async (cmd) => {
      const t0 = wallClock()
      const errors: Record<string, number> = {}
      let next = 0
      let opened = 0
      const worker = async (): Promise<void> => {
        while (next < cmd.count) {
          const handle = `${cmd.prefix}${next++}`
          try {
            state.users.set(handle, await node().openUser(handle, { timeoutMs: 60_000 }))
            opened++
          } catch (err: any) {
            errors[err.name ?? 'Error'] = (errors[err.name ?? 'Error'] ?? 0) + 1
          }
        }
      }
      await Promise.all(Array.from({ length: Math.max(1, cmd.concurrency) }, worker))
      return { opened, failed: cmd.count - opened, ms: wallClock() - t0, errors }
    },
    sendLoad: async (cmd) => {
      const user = state.users.get(cmd.from)
      if (user == null) throw new Error(`no open user ${cmd.from}`)
      return await sendLoad(user, cmd)
    },
    mixLoad: async (cmd) => await sendMix(state.users, cmd),
    watchUser: async (cmd) => {
      const user = state.users.get(cmd.handle)
      if (user == null) throw new Error(`no open user ${cmd.handle}`)
      user.on('message', (m) => {
        const header = decodeTextPayload(m.text)
        if (header != null) state.recorder.recordHeader(header, wallClock(), cmd.handle)
      })
      return {}
    },
    roomCreate: async (cmd) => {
      const user = state.users.get(cmd.handle)
      if (user == null) throw new Error(`no open user ${cmd.handle}`)
      const room = await user.rooms.create({ name: cmd.name, public: true })
      return { roomId: room.id }
    },
    roomJoin: async (cmd) => {
      const user = state.users.get(cmd.handle)
      if (user == null) throw new Error(`no open user ${cmd.handle}`)
      await user.rooms.join(cmd.roomId)
      return {}
    },
    secretSetups: async (cmd) => {
      const user = state.users.get(cmd.handle)
      if (user == null) throw new Error(`no open user ${cmd.handle}`)
      const startedAt = wallClock()
      const errors: Record<string, number> = {}
      let failed = 0
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < cmd.peers.length) {
          const i = next++
          try {
            const chat = await user.secret.open(cmd.peers[i])
            await chat.send(encodeTextPayload({ runId: cmd.runId, seq: i, sentAt: wallClock() }, cmd.size))
          } catch (err: any) {
            failed++
            errors[String(err.code ?? err.name)] = (errors[String(err.code ?? err.name)] ?? 0) + 1
          }
        }
      }
      await Promise.all(Array.from({ length: Math.max(1, cmd.window) }, worker))
      return { startedAt, endedAt: wallClock(), failed, errors }
    },
    mailboxCount: async (cmd) => ({ count: await node().replication.mailboxes.count(cmd.mailbox) }),
    progress: async (cmd) => state.recorder.progress(cmd.runId),
    collect: async (cmd) => state.recorder.collect(cmd.runId),
    xmppRegister: async (cmd) => await xmppClients().register(cmd.accounts, cmd.concurrency),
    xmppConnect: async (cmd) => await xmppClients().connect(cmd.accounts, cmd.concurrency),
    xmppLoad: async (cmd) => await xmppClients().load(cmd),
    xmppClose: async () => {
      await state.xmpp?.close()
      return {}
    },
    floorStart: async (cmd) => {
      if (state.node != null || state.floor != null) throw new Error('a node is already started')
      state.floor = await FloorNode.start(state.dataDir, cmd)
      return state.floor.info()
    },
    floorLink: async (cmd) => { await floor().link(cmd); return {} },
    floorConfigure: async (cmd) => { floor().configure(cmd); return {} },
    floorLoad: async (cmd) => await floor().load(cmd),
    floorStats: async (cmd) => await floor().stats(cmd.settleMs),
    stop: async () => {
      await state.xmpp?.close()
      await state.floor?.stop()
      await state.node?.stop()
      return {}
    }
  }
}

/** The first time this node's view held `cmd.servers` servers, waiting for it (bounded) if it has not yet. */
async function awaitView (state: AgentState, n: ChorusNode, cmd: AgentCommands['awaitView']): Promise<AgentReplies['awaitView']> {
  const reached = (): AgentReplies['awaitView'] | undefined => {
    const hit = state.view.find((v) => v.servers >= cmd.servers)
    return hit != null ? { reachedAt: hit.at, servers: hit.servers } : undefined
  }
  const now = reached()
  if (now != null) return now
  return await new Promise((resolve, reject) => {
    const onJoin = (): void => {
      const hit = reached()
      if (hit == null) return
      clearTimeout(timer)
      n.off('member:join', onJoin)
      resolve(hit)
    }
    const timer = setTimeout(() => {
      n.off('member:join', onJoin)
      reject(new DeadlineError(`view still has ${n.membership.servers().length} of ${cmd.servers} servers after ${cmd.timeoutMs} ms`))
    }, cmd.timeoutMs)
    // registered after the node's own listener, so `state.view` already holds this join
    n.on('member:join', onJoin)
  })
}

function publishTarget (n: ChorusNode): PublishTarget {
  const pubsub = n.libp2p.services.pubsub
  const internals = pubsub as unknown as GossipsubInternals
  return {
    publish: async (topic, data) => await pubsub.publish(topic, data),
    outboundBufferedBytes: () => {
      let max = 0
      for (const s of internals.streamsOutbound?.values() ?? []) {
        max = Math.max(max, s.rawStream?.writeBufferLength ?? 0)
      }
      return max
    }
  }
}
