/**
 * The XMPP gateway in a real `chorus start` process: `--xmpp` turns it on and the CLI says where; two
 * Jabber clients (xmpp.js) register and chat; the process is SIGKILLed and started again on its data dir,
 * and the accounts, the certificate and the archive are all still there.
 */

import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import xml from '@xmpp/xml'
import { ChorusProcesses, freePort, type ChorusProcess } from '../helpers/process.js'
import { DOMAIN, chatFrom, jabber, trustSelfSigned, type JabberClient } from '../helpers/xmpp.js'
import { scaled, waitFor } from '../helpers/wait.js'

const SELF_SIGNED_WARNING = /^chorus: warning: .*self-signed certificate.*one gateway on loopback/

describe('XMPP gateway in a chorus process: accounts and archive survive a SIGKILL', function () {
  this.timeout(scaled(120_000))
  const procs = new ChorusProcesses()
  const clients: JabberClient[] = []
  let untrust: () => void

  before(() => { untrust = trustSelfSigned() })
  after(async () => {
    await Promise.all(clients.map(async (c) => { await c.stop() }))
    await procs.cleanup()
    untrust()
  })

  it('serves Jabber clients, and after a SIGKILL and restart logs them in again with their history', async () => {
    const dir = procs.dir('chorus-xmpp-')
    const port = await freePort()
    const args = ['start', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', dir, '--replicas', '1', '--write-quorum', '1', '--xmpp', `127.0.0.1:${port}`]
    const start = async (): Promise<ChorusProcess> => {
      const p = procs.spawn(args)
      await p.ready()
      await p.waitForLine(new RegExp(`^xmpp: 127\\.0\\.0\\.1:${port} for ${DOMAIN.replace('.', '\\.')} \\(STARTTLS required\\)$`))
      return p
    }
    const first = await start()
    assert.ok(existsSync(join(dir, 'xmpp-tls', `${DOMAIN}.crt`)), 'a self-signed certificate was made')
    // the certificate it made is for one gateway on loopback, and the CLI says so
    await waitFor('the self-signed warning', () => first.stderr.some((l) => SELF_SIGNED_WARNING.test(l)))
    const address = `127.0.0.1:${port}`
    const alice = await jabber(address, 'alice', { register: true })
    const bob = await jabber(address, 'bob', { register: true })
    clients.push(alice, bob)
    await alice.xmpp.send(xml('message', { type: 'chat', to: `bob@${DOMAIN}` }, xml('body', {}, 'before the crash')))
    await bob.next('alice\'s message', (el) => chatFrom(el, `alice@${DOMAIN}`) === 'before the crash')
    await Promise.all([alice.stop(), bob.stop()])

    first.kill('SIGKILL')
    await first.waitForExit()
    await start()
    const again = await jabber(address, 'alice')
    clients.push(again)
    const fin = await again.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'urn:xmpp:mam:2', queryid: 'after' },
      xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp:mam:2')), xml('field', { var: 'with' }, xml('value', {}, `bob@${DOMAIN}`))))))
    assert.equal(fin.getChild('fin', 'urn:xmpp:mam:2')?.attrs.complete, 'true')
    const archived = again.stanzas.filter((el) => el.getChild('result', 'urn:xmpp:mam:2')?.attrs.queryid === 'after')
      .map((el) => el.getChild('result')?.getChild('forwarded')?.getChild('message')?.getChildText('body'))
    assert.deepEqual(archived, ['before the crash'])
    await assert.rejects(jabber(address, 'alice', { password: 'wrong password' }), (err: any) => /not-authorized/.test(String(err.condition ?? err.message)))
  })
})
