/**
 * Issue 21, "Jabber clients nobody tuned for": slixmpp (python3-slixmpp, Debian's, over STARTTLS) reads
 * the archive (XEP-0313) of a user who was invited to a room, as Gajim, Dino, Conversations and
 * Converse.js do at every login. A bootstrap node, three servers (one runs the gateway) and a client node
 * for ann, a native Chorus user. Skipped, saying why, where python3-slixmpp is not installed.
 */

import { strict as assert } from 'node:assert'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import xml from '@xmpp/xml'
import type { Message, User } from '../../node/index.js'
import { startMesh, waitForServers, type Mesh } from '../helpers/mesh.js'
import { REPO_ROOT } from '../helpers/process.js'
import { DOMAIN, JabberClients, NS_MUC_USER, PASSWORD, trustSelfSigned } from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const PYTHON = '/usr/bin/python3'
const SCRIPT = join(REPO_ROOT, 'test', 'helpers', 'slixmpp-mam.py')
const NO_SLIXMPP = spawnSync(PYTHON, ['-c', 'import slixmpp'], { stdio: 'ignore' }).status !== 0

/** One line of slixmpp-mam.py's output. */
interface Archived { from?: string, to?: string, type?: string, body?: string | null, invite_from?: string | null }
type Line = Archived & { done?: number, disconnected?: string, failed?: string }
interface MamRun { code: number | null, lines: Line[], log: string }

describe('XMPP gateway: clients nobody tuned for (slixmpp reads the archive of an invited user)', function () {
  this.timeout(scaled(180_000))
  let mesh: Mesh
  let untrust: () => void
  let gw: string
  let ann: User
  const annGot: Message[] = []
  const clients = new JabberClients()
  const children = new Set<ChildProcess>()

  /** slixmpp-mam.py as `user`, reading the conversation `with` (the whole archive when ''). */
  const slixmppArchive = async (user: string, withJid: string): Promise<MamRun> => {
    const [host, port] = [gw.slice(0, gw.lastIndexOf(':')), gw.slice(gw.lastIndexOf(':') + 1)]
    const args = [SCRIPT, `${user}@${DOMAIN}`, PASSWORD, host, port, withJid]
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    let log = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { log += d })
    const code = await new Promise<number | null>((resolve) => { child.on('exit', (c) => { resolve(c) }) })
    children.delete(child)
    const lines = out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l))
    return { code, lines, log }
  }

  before(async () => {
    untrust = trustSelfSigned()
    const gateway = { xmpp: { listen: '127.0.0.1:0' } }
    const options = (i: number, role: string): typeof gateway | {} => role === 'server' && i === 1 ? gateway : {}
    mesh = await startMesh({ servers: 3, clients: 1, options })
    await waitForServers(mesh.nodes.filter((n) => n.role !== 'bootstrap'), mesh.servers)
    gw = mesh.servers.find((s) => s.xmppAddress() != null)?.xmppAddress() as string
    ann = await mesh.clients[0].openUser('ann')
    ann.on('message', (m) => { annGot.push(m) })
  })

  after(async () => {
    for (const c of children) c.kill('SIGKILL')
    await clients.cleanup()
    await mesh?.cleanup()
    untrust?.()
  })

  it('slixmpp (MAM + RSM): an invitation is a mediated invitation, ann is named by her handle JID', async function () {
    if (NO_SLIXMPP) {
      // mocha prints a skipped test's title: it says why
      const why = ` — SKIPPED: ${PYTHON} -c 'import slixmpp' fails (apt-get install python3-slixmpp)`
      if (this.test != null) this.test.title += why
      this.skip()
    }
    // ben registers with xmpp.js (slixmpp 1.8 does not send its in-band registration before login)
    const ben = await clients.connect(gw, 'ben', { register: true })
    await ann.send('ben', 'hello ben')
    await ben.next('ann\'s hello', (el) => el.getChildText('body') === 'hello ben')
    const room = await ann.rooms.create({ name: 'ann & ben\'s <room>', public: false })
    await room.invite('ben')
    await ben.next('the invitation', (el) => el.getChild('x', NS_MUC_USER) != null)
    await ben.xmpp.send(xml('message', { type: 'chat', to: `ann@${DOMAIN}` }, xml('body', {}, 'hi ann')))
    await waitFor('ann to get ben\'s reply', () => annGot.find((m) => m.text === 'hi ann'))
    await ben.stop()

    const run = await slixmppArchive('ben', `ann@${DOMAIN}`)
    const errors = run.log.split('\n').filter((l) => l.startsWith('ERROR')).map((l) => l.slice(0, 240))
    const why = `slixmpp exited ${String(run.code)}: ${JSON.stringify(run.lines)}\n${errors.join('\n')}`
    assert.equal(run.code, 0, why)
    const archived = run.lines.filter((l) => l.from != null)
    const bare = (j?: string): string => String(j).split('/')[0]
    const hello = archived.find((m) => m.body === 'hello ben')
    assert.equal(bare(hello?.from), `ann@${DOMAIN}`, why)
    const reply = archived.find((m) => m.body === 'hi ann')
    assert.equal(bare(reply?.from), `ben@${DOMAIN}`, why)
    assert.equal(bare(reply?.to), `ann@${DOMAIN}`, `ben's reply is to ann's handle JID, not her user id: ${why}`)
    const invite = archived.find((m) => m.invite_from != null)
    assert.equal(bare(invite?.from), `${room.id}@conference.${DOMAIN}`, why)
    assert.equal(bare(invite?.invite_from ?? undefined), `ann@${DOMAIN}`, why)
    assert.equal(archived.length, 3, `the hello, the invitation and the reply, nothing else: ${why}`)
  })

  it('xmpp.js (MAM, no `with`): every user by the handle JID, no notice served as a body', async () => {
    const cleo = await clients.connect(gw, 'cleo', { register: true })
    await ann.send('cleo', 'hello cleo')
    await cleo.next('ann\'s hello', (el) => el.getChildText('body') === 'hello cleo')
    await ann.roster.add('cleo')
    await cleo.next('ann\'s subscription request', (el) => el.name === 'presence' && el.attrs.type === 'subscribe')
    const room = await ann.rooms.create({ name: 'notices', public: false })
    await room.invite('cleo')
    await cleo.next('the invitation', (el) => el.getChild('x', NS_MUC_USER) != null)
    await cleo.xmpp.send(xml('message', { type: 'chat', to: `ann@${DOMAIN}` }, xml('body', {}, 'hi ann, from cleo')))
    await waitFor('ann to get cleo\'s reply', () => annGot.find((m) => m.text === 'hi ann, from cleo'))
    // the whole archive: no `with`, so no contact named by the query
    const queryid = 'all'
    await cleo.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'urn:xmpp:mam:2', queryid })))
    const forwarded = cleo.stanzas
      .filter((el) => el.getChild('result', 'urn:xmpp:mam:2')?.attrs.queryid === queryid)
      .map((el) => el.getChild('result')?.getChild('forwarded')?.getChild('message'))
    const shown = forwarded.map((m) =>
      `${String(m?.attrs.from)} → ${String(m?.attrs.to)}: ${m?.getChildText('body') ?? '(no body)'}`)
    assert.deepEqual(shown, [
      `ann@${DOMAIN} → cleo@${DOMAIN}: hello cleo`,
      `${room.id}@conference.${DOMAIN} → cleo@${DOMAIN}: (no body)`,
      `cleo@${DOMAIN} → ann@${DOMAIN}: hi ann, from cleo`
    ])
  })
})
