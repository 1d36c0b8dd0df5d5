/**
 * Scenario `secret`: end-to-end encrypted chats, side by side with plain direct messages in the same run
 * (1 bootstrap, 5 servers, 2 client-role processes). Measures session setups per second (the initiator
 * claims the peer's prekeys at its owners, runs X3DH and sends a first message; the figure counts until
 * the responder has decrypted it), and messages per second end to end (encrypt, store at W = 2 of 3,
 * relay, decrypt) at saturation and paced, for secret and for plain messages between the same two users.
 */

import { randomInt } from 'node:crypto'
import type { SendLoadReport } from './lib/agent-protocol.js'
import { sleep } from './lib/clock.js'
import { startClients, startCluster } from './lib/cluster.js'
import * as C from './lib/constants.js'
import { PAYLOAD_HEADER_BYTES } from './lib/payload.js'
import { summarize, type Summary } from './lib/percentile.js'
import { drain } from './lib/raw-gossipsub.js'
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario.js'
import { cpuFigure, startMeasure, type WorkBudget } from './lib/work.js'

const REPLICAS = 3
const WRITE_QUORUM = 2
const REQUEST_TIMEOUT_MS = 300_000

export const secretScenario: Scenario = {
  name: 'secret',
  summary: 'secret chats: session setups/s, secret vs plain messages/s end to end (same run, same users); ratio',
  flags: [
    { name: 'servers', help: 'server processes', default: 5, min: 3, max: C.MAX_NODES },
    { name: 'seconds', help: 'length of each load phase', default: C.DEFAULT_SECONDS, min: 1, max: C.MAX_SECONDS },
    { name: 'size', help: 'message text bytes', default: C.DEFAULT_SIZE, min: PAYLOAD_HEADER_BYTES * 4, max: C.MAX_SIZE },
    { name: 'window', help: 'sends in flight at saturation', default: 64, min: 1, max: 4096 },
    { name: 'rate', help: 'offered msgs/s of the paced phase', default: 200, min: 1, max: 100_000 },
    { name: 'setups', help: 'secret sessions opened in the setup phase (one peer user each)', default: 100, min: 1, max: 10_000 }
  ],
  run: runSecret
}

async function runSecret (ctx: ScenarioContext): Promise<ScenarioResult> {
  const { servers, seconds, size, window, rate, setups } = ctx.params
  ctx.progress(`topology: 1 bootstrap + ${servers} servers + 2 client processes; N = ${REPLICAS}, W = ${WRITE_QUORUM}`)
  const cluster = await startCluster(ctx.pool, {
    servers,
    progress: ctx.progress,
    replication: C.UNLIMITED,
    relay: C.UNLIMITED
  })
  const [sender, receiver] = await startClients(ctx.pool, cluster, ['send', 'recv'], {
    replicas: REPLICAS,
    writeQuorum: WRITE_QUORUM
  })
  await sender.request('openUser', { handle: 'alice' }, REQUEST_TIMEOUT_MS)
  await receiver.request('openUser', { handle: 'bob' }, REQUEST_TIMEOUT_MS)
  await receiver.request('watchUser', { handle: 'bob' })
  await sleep(1500)
  const figures: Figure[] = []
  const details: Record<string, unknown> = { servers, seconds, size, window, rate }

  ctx.progress(`setups: ${setups} peer users publish prekeys; alice opens a secret chat with each (8 at a time)`)
  const peers = Array.from({ length: setups }, (_, i) => `peer-${i}`)
  for (const p of peers) {
    await receiver.request('openUser', { handle: p }, REQUEST_TIMEOUT_MS)
    await receiver.request('watchUser', { handle: p })
  }
  const setupRun = randomInt(1, 2 ** 31)
  const s = await sender.request('secretSetups', { handle: 'alice', peers, window: 8, runId: setupRun, size }, REQUEST_TIMEOUT_MS)
  await drain([receiver], setupRun, setups - s.failed)
  const setupGot = await receiver.request('collect', { runId: setupRun })
  const setupSecs = (setupGot.lastAt - s.startedAt) / 1000
  figures.push(
    { metric: 'session setups/s (claim prekeys, X3DH, first message decrypted by the peer)', value: setupGot.received / setupSecs, unit: 'setups/s' },
    { metric: 'session setup: first message end to end p50', value: summarize(setupGot.latenciesMs).p50, unit: 'ms' },
    { metric: 'session setups failed', value: s.failed, unit: 'setups' }
  )
  details.setups = { ...s, received: setupGot.received, latency: summarize(setupGot.latenciesMs) }

  const phases: Record<string, unknown> = {}
  const run = async (label: string, to: string, mode: 'paced' | 'saturate'): Promise<{
    perSec: number
    latency: Summary
    send: SendLoadReport
    work: WorkBudget
  }> => {
    ctx.progress(`${label}: ${mode === 'paced' ? `${rate} msgs/s` : `saturation, ${window} in flight`} for ${seconds} s`)
    const runId = randomInt(1, 2 ** 31)
    const meter = await startMeasure(ctx, `${label} ${mode}`)
    const send = await sender.request('sendLoad',
      { from: 'alice', to, mode, rate, window, seconds, count: 0, size, runId }, REQUEST_TIMEOUT_MS)
    await drain([receiver], runId, send.acked)
    const got = await receiver.request('collect', { runId })
    const work = await meter.stop(send.acked)
    const r = {
      perSec: got.received / ((got.lastAt - send.startedAt) / 1000),
      latency: summarize(got.latenciesMs),
      send: { ...send, latenciesMs: [] },
      work
    }
    phases[`${label} ${mode}`] = { ...r, received: got.received, duplicates: got.duplicates }
    return r
  }
  // alternate plain and secret so that neither gets the quieter half of the machine's run
  const plainSat = await run('plain', 'bob', 'saturate')
  const secretSat = await run('secret', 'secret:bob', 'saturate')
  const plainPaced = await run('plain', 'bob', 'paced')
  const secretPaced = await run('secret', 'secret:bob', 'paced')
  details.phases = phases
  figures.push(
    { metric: 'plain DMs at saturation: delivered msgs/s', value: plainSat.perSec, unit: 'msgs/s' },
    { metric: 'secret at saturation: delivered msgs/s (encrypt+send+decrypt)', value: secretSat.perSec, unit: 'msgs/s' },
    { metric: 'secret ÷ plain at saturation', value: secretSat.perSec / plainSat.perSec, unit: '×' },
    cpuFigure('plain DMs at saturation', plainSat.work),
    cpuFigure('secret at saturation', secretSat.work),
    { metric: `plain DMs paced ${rate}/s: end-to-end p50 / p99`, value: plainPaced.latency.p50, unit: `ms (p99 ${plainPaced.latency.p99.toFixed(1)})` },
    { metric: `secret paced ${rate}/s: end-to-end p50 / p99`, value: secretPaced.latency.p50, unit: `ms (p99 ${secretPaced.latency.p99.toFixed(1)})` },
    { metric: `secret ÷ plain p50 at ${rate}/s`, value: secretPaced.latency.p50 / plainPaced.latency.p50, unit: '×' }
  )
  return { figures, details }
}
