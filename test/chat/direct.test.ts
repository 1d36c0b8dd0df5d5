/**
 * Issue 4, with real processes: direct messages between client-role nodes through five `chorus start`
 * servers arrive live by the live hop, sender → one relay of the shard → the recipient's node (the
 * sessions' sync loops are slowed to once a minute, so only the relay can deliver within the test), go
 * sent → delivered → read, headlines skip history, an unknown recipient bounces, a forged envelope on an
 * inbox shard (gossipsub or the live hop) is rejected, never shown, and on gossipsub costs the peer that
 * sent it its score, and the text is sealed to its two users: another user listening on the shard, and
 * the servers, have the envelope but not the text.
 */

import { strict as assert } from 'node:assert'
import { Envelope, envelopeIdHex, signEnvelope, generateIdentity } from '../../protocol/envelope.js'
import { hlcPack } from '../../protocol/hlc.js'
import { inboxTopicOf } from '../../protocol/topics.js'
import { INVALID_MESSAGE_WEIGHT } from '../../node/relay/scoring.js'
import { LiveFrame } from '../../protocol/pb/live.js'
import { ServerMesh, CLIENT_OPTIONS } from '../helpers/server-mesh.js'
import { UserAgents, type AgentEvent, type AgentMessage, type UserAgent } from '../helpers/agent.js'
import { filesHolding } from '../helpers/scan.js'
import { scaled, waitFor } from '../helpers/wait.js'

/**
 * Sync once a minute: inside a test, anything that arrives by itself came by the relay. Waits that are
 * not about the relay drive the sync path between looks (`receivedSynced`, `seenSynced`), as a session
 * would every second by default: the relay is best effort, and a live copy lost on a busy host is the
 * sync's to bring.
 */
const LIVE_ONLY = { syncIntervalMs: 60_000 }

/** Poll `agent.received()` until `pred` holds, running `handle`'s sync between looks; returns the list. */
async function receivedSynced (
  agent: UserAgent,
  handle: string,
  what: string,
  pred: (r: AgentMessage[]) => boolean
): Promise<AgentMessage[]> {
  let list: AgentMessage[] = []
  const look = async (): Promise<boolean> => { list = await agent.received(); return pred(list) }
  await waitFor(`${handle} to receive ${what}`, async () => {
    if (await look()) return true
    await agent.call(handle, 'user', 'sync')
    return await look()
  }, { intervalMs: 250 })
  return list
}

/** Poll `agent.events()` until one matches `pred`, running `handle`'s sync between looks; returns the matching ones. */
async function seenSynced (
  agent: UserAgent,
  handle: string,
  what: string,
  pred: (e: AgentEvent) => boolean
): Promise<AgentEvent[]> {
  let hits: AgentEvent[] = []
  const look = async (): Promise<boolean> => { hits = (await agent.events()).filter(pred); return hits.length > 0 }
  await waitFor(`${handle} to see ${what}`, async () => {
    if (await look()) return true
    await agent.call(handle, 'user', 'sync')
    return await look()
  }, { intervalMs: 250 })
  return hits
}

/** The envelope id (hex) of bytes overheard on a topic; '' for bytes that are not an envelope. */
function idOf (bytes: Uint8Array): string {
  try { return envelopeIdHex(Envelope.decode(bytes)) } catch { return '' }
}

describe('live direct chat (processes): 5 servers, 3 client nodes', function () {
  this.timeout(scaled(120_000))
  const mesh = new ServerMesh()
  const agents = new UserAgents()
  let alice: UserAgent
  let bob: UserAgent
  let mallory: UserAgent
  let bobId: string
  let bobPeer: { peerId: string }

  before(async function () {
    this.timeout(scaled(120_000))
    alice = agents.spawn('alice')
    bob = agents.spawn('bob')
    mallory = agents.spawn('mallory')
    await mesh.start(5)
    const start = async (a: UserAgent, name: string): Promise<{ peerId: string }> => {
      const r = await a.start([mesh.bootstrap.bootstrapAddr], mesh.procs.dir(`chorus-${name}-`), CLIENT_OPTIONS)
      await a.waitForServers(mesh.ids())
      return r
    }
    ;[, bobPeer] = await Promise.all([start(alice, 'alice'), start(bob, 'bob'), start(mallory, 'mallory')])
    await alice.openUser('alice', LIVE_ONLY)
    bobId = (await bob.openUser('bob', LIVE_ONLY)).userId
    await mallory.openUser('mallory', LIVE_ONLY)
    // the relays of bob's shard know he listens there (his gossipsub subscription has reached them): a
    // headline, which is never stored, reaches him
    let warmUps = 0
    await waitFor('bob to hear alice live', async () => {
      if ((await bob.events()).some((e) => e.event === 'message' && e.data.kind === 'headline' && String(e.data.text).startsWith('warm-up'))) {
        return true
      }
      await alice.call('alice', 'user', 'send', 'bob', `warm-up ${warmUps++}`, { type: 'headline' })
      return false
    }, { intervalMs: 500 })
  })

  after(async () => {
    await agents.cleanup()
    await mesh.cleanup()
  })

  it('a direct message arrives live, and goes sent → delivered → read', async () => {
    const sent = await alice.send('alice', 'bob', 'are you there?')
    assert.ok(sent.storedOn.length >= 2, 'sent: on W owners')
    const got = (await bob.waitForReceived('alice\'s message', (r) => r.some((m) => m.id === sent.id))).find((m) => m.id === sent.id)!
    assert.equal(got.from, 'alice')
    assert.equal(got.text, 'are you there?')

    const delivered = await seenSynced(alice, 'alice', 'the delivered receipt', (e) => e.event === 'receipt' && e.data.id === sent.id && e.data.status === 'delivered')
    assert.equal(delivered[0].data.by, 'bob')
    // a message from bob travels to alice the way his receipts do (stored in her mailbox, live on her
    // shard): once it is there, and one more sync has shown what her mailbox holds, a read receipt bob's
    // node had sent on its own would be there too
    const marker = await bob.send('bob', 'alice', 'not read yet')
    await receivedSynced(alice, 'alice', 'bob\'s later message', (r) => r.some((m) => m.id === marker.id))
    await alice.call('alice', 'user', 'sync')
    assert.equal(
      (await alice.events()).filter((e) => e.event === 'receipt' && e.data.id === sent.id && e.data.status === 'read').length,
      0, 'not read before bob reads it'
    )

    const message = (await bob.call('bob', 'user', 'history', 'alice', { limit: 10 })).find((m: any) => m.id === sent.id)
    assert.ok(message != null, 'alice\'s message is in bob\'s history')
    await bob.call('bob', 'user', 'markRead', message)
    const read = await seenSynced(alice, 'alice', 'the read receipt', (e) => e.event === 'receipt' && e.data.id === sent.id && e.data.status === 'read')
    assert.equal(read[0].data.by, 'bob')
  })

  it('shows each message once although both the relay and sync bring it', async () => {
    const before = (await bob.received()).length
    const outcomes = await alice.sendMany('alice', 'bob', 20, 'both-paths-', 5)
    assert.deepEqual(outcomes.filter((o) => !o.ok), [], 'every send resolves')
    await bob.call('bob', 'user', 'sync') // the mailbox path: everything is there too
    await bob.waitForReceived('all 20', (r) => outcomes.every((o) => o.ok && r.some((m) => m.id === o.id)))
    // a later message on the relay path, and one more sync (it resolves once it has shown what it
    // brought): a second copy of any of the 20 would be shown by now
    const marker = await alice.send('alice', 'bob', 'after both paths')
    await receivedSynced(bob, 'bob', 'the later message', (r) => r.some((m) => m.id === marker.id))
    await bob.call('bob', 'user', 'sync')
    const texts = (await bob.received()).slice(before).map((m) => m.text).filter((t) => t.startsWith('both-paths-'))
    assert.equal(texts.length, 20, 'no duplicates')
    assert.deepEqual([...texts].sort(), outcomes.map((o) => o.text).sort())
  })

  it('a headline arrives live, has no storage and no history', async () => {
    const r = await alice.call('alice', 'user', 'send', 'bob', 'breaking: tea is ready', { type: 'headline' })
    assert.deepEqual(r.storedOn, [])
    const got = await bob.waitForEvent('the headline', (e) => e.event === 'message' && e.data.id === r.id)
    assert.equal(got[0].data.kind, 'headline')
    const history = await bob.history('bob', 'alice')
    assert.ok(!history.some((m) => m.id === r.id), 'a headline is not in history')
  })

  it('an unknown recipient rejects the send and bounces an error message', async () => {
    await assert.rejects(alice.call('alice', 'user', 'send', 'nobody-at-all', 'hello?'), { name: 'UnknownHandleError' })
    const bounce = await alice.waitForEvent('the bounce', (e) => e.event === 'message' && e.data.kind === 'error' && e.data.from === 'nobody-at-all')
    assert.equal(bounce[0].data.condition, 'item-not-found')
  })

  it('seals the text to alice and bob: mallory on bob\'s shard and the servers get the envelope, not the text', async () => {
    await mallory.eavesdrop(bobId)
    // mallory gets the shard's traffic: warm-up messages from alice, one a second, until she overhears one
    const warmUps: string[] = []
    await waitFor('mallory to overhear a message on bob\'s shard', async () => {
      const overheard = (await mallory.overheard()).map((h) => Buffer.from(h, 'hex'))
      if (overheard.some((b) => warmUps.includes(idOf(b)))) return true
      warmUps.push((await alice.send('alice', 'bob', `warm-up ${warmUps.length}`)).id)
      return false
    }, { intervalMs: 1000 })
    const phrase = 'the eagle lands at dawn, bring the blue umbrella'
    const sent = await alice.send('alice', 'bob', phrase)
    const got = (await receivedSynced(bob, 'bob', 'the sealed message', (r) => r.some((m) => m.id === sent.id))).find((m) => m.id === sent.id)!
    assert.equal(got.text, phrase, 'bob reads it')
    assert.ok((await alice.history('alice', 'bob')).some((m) => m.id === sent.id && m.text === phrase), 'alice reads her own copy')
    const heard: Buffer = await waitFor('mallory to overhear the envelope', async () => {
      const all = (await mallory.overheard()).map((h) => Buffer.from(h, 'hex'))
      return all.find((b) => idOf(b) === sent.id) as Buffer
    })
    assert.equal(heard.indexOf(Buffer.from(phrase)), -1, 'the overheard envelope does not hold the text')
    assert.equal(heard.indexOf(Buffer.from('bring the blue')), -1)
    // the servers' data dirs: LevelDB's write-ahead log holds recent writes as they are
    for (const slot of mesh.servers) {
      const files = filesHolding(slot.dir, [Buffer.from('bring the blue umbrella')])
      assert.deepEqual(files.found, [], `files of ${slot.peerId} hold the text`)
      assert.ok(files.bytes > 0)
    }
  })

  it('a forged envelope on bob\'s inbox shard is rejected, never shown, and costs the sender its score', async () => {
    const bobAddr = (await bob.status()).addresses[0]
    await mallory.dial(bobAddr)
    const topic = inboxTopicOf(bobId)
    await waitFor('mallory to see bob subscribed to his shard', async () => (await mallory.subscribers(topic)).includes(bobPeer.peerId))

    // an envelope "from" a fresh key, its signature broken after signing
    const forger = generateIdentity()
    const env = signEnvelope(
      {
        kind: Envelope.Kind.CHAT,
        recipient: bobId,
        body: new TextEncoder().encode('forged'),
        timestamp: hlcPack(Date.now(), 0),
        senderHandle: ''
      },
      forger
    )
    env.signature[0] ^= 0xff
    const badSignatures = async (): Promise<number> => Number(/^chorus_rejected_total\{component="relay",reason="bad-signature"\} (\d+)$/m.exec(await bob.metrics())?.[1] ?? 0)
    const rejectedBefore = await badSignatures()
    const before = (await bob.received()).length
    await mallory.publishRaw(topic, Buffer.from(Envelope.encode(env)).toString('hex'))

    const malloryPeer = (await mallory.status()).peerId
    await waitFor('bob to score mallory down', async () => (await bob.pubsubScore(malloryPeer)) <= INVALID_MESSAGE_WEIGHT / 2)
    await waitFor('bob\'s node to count the rejection', async () => (await badSignatures()) > rejectedBefore)

    // bob keeps serving everyone else; once a later honest message on his shard is shown, the forgery would have been
    // too
    const sent = await alice.send('alice', 'bob', 'after the forgery')
    await receivedSynced(bob, 'bob', 'the next honest message', (r) => r.some((m) => m.id === sent.id))
    assert.ok(!(await bob.received()).slice(before).some((m) => m.text === 'forged'), 'the forgery is never shown')
  })

  it('a forged or malformed frame on the live hop is rejected and counted, and bob\'s node keeps delivering', async () => {
    const rejected = async (reason: string): Promise<number> =>
      Number(new RegExp(`^chorus_rejected_total\\{component="relay",reason="${reason}"\\} (\\d+)$`, 'm').exec(await bob.metrics())?.[1] ?? 0)
    const forger = generateIdentity()
    const env = signEnvelope(
      {
        kind: Envelope.Kind.CHAT,
        recipient: bobId,
        body: new TextEncoder().encode('forged live'),
        timestamp: hlcPack(Date.now(), 0),
        senderHandle: ''
      },
      forger
    )
    env.signature[0] ^= 0xff
    const [badBefore, malformedBefore] = [await rejected('bad-signature'), await rejected('malformed-frame')]
    const before = (await bob.received()).length
    await mallory.sendLiveRaw(bobPeer.peerId,
      Buffer.from(LiveFrame.encode({ envelope: Envelope.encode(env), relay: true })).toString('hex'))
    await waitFor('bob\'s node to count the forged envelope', async () => (await rejected('bad-signature')) > badBefore)
    // not a LiveFrame at all: field 1 says 200 bytes follow, and 3 do
    await mallory.sendLiveRaw(bobPeer.peerId, '0ac801616263')
    await waitFor('bob\'s node to count the malformed frame', async () => (await rejected('malformed-frame')) > malformedBefore)

    const sent = await alice.send('alice', 'bob', 'after the forged frames')
    await bob.waitForReceived('the next honest message, live', (r) => r.some((m) => m.id === sent.id))
    assert.ok(!(await bob.received()).slice(before).some((m) => m.text === 'forged live'), 'the forgery is never shown')
  })
})
