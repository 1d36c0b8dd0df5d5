/**
 * The checks a full gateway makes before it redirects a client: a load answer must parse and stay within
 * bounds (the issue's `{connections: 0, max: 1e9}` does not), and an address that does not present the
 * domain certificate over STARTTLS is refused, with a typed code, and remembered as refused a while.
 */

import { strict as assert } from 'node:assert'
import { createServer, type Server, type Socket } from 'node:net'
import { X509Certificate } from 'node:crypto'
import { InvalidLoadError, parseLoad } from '../../node/xmpp/load.js'
import { GatewayCheckError, GatewayChecks } from '../../node/xmpp/gateway-check.js'
import { selfSignedPems } from '../../node/xmpp/certificate.js'

describe('XMPP load answers and gateway checks', () => {
  it('takes a load answer within bounds, and null for a gateway that takes no redirected clients', () => {
    const gw2 = { address: 'gw2.example.org:5222', connections: 3, max: 10 }
    assert.deepEqual(parseLoad(JSON.stringify(gw2)), gw2)
    const v6 = { address: '[::1]:5222', connections: 0, max: 1_000_000 }
    assert.deepEqual(parseLoad(JSON.stringify(v6)), v6)
    assert.equal(parseLoad('null'), undefined)
  })

  it('refuses a load answer that does not parse or leaves its bounds (InvalidLoadError)', () => {
    for (const text of [
      '{"address":"evil:5222","connections":0,"max":1000000000}',
      '{"address":"gw:5222","connections":11,"max":10}',
      '{"address":"gw:5222","connections":-1,"max":10}',
      '{"address":"gw:5222","connections":0.5,"max":10}',
      '{"address":"gw:99999","connections":0,"max":10}',
      '{"address":"gw:0","connections":0,"max":10}',
      '{"address":"a b:5222","connections":0,"max":10}',
      '{"address":"gw","connections":0,"max":10}',
      '"gw:5222"',
      'not json'
    ]) {
      const invalid = (err: unknown): boolean => err instanceof InvalidLoadError && err.code === 'ERR_INVALID_LOAD'
      assert.throws(() => parseLoad(text), invalid, text)
    }
  })

  describe('GatewayChecks', () => {
    let server: Server
    const sockets = new Set<Socket>()
    let der: Buffer

    before(async () => {
      der = new X509Certificate((await selfSignedPems('chorus.localhost')).cert).raw
      // a host that answers a stream header with features that offer no STARTTLS
      server = createServer((s) => {
        sockets.add(s)
        s.on('error', () => {})
        s.once('data', () => {
          s.write("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><stream:features></stream:features>")
        })
      })
      await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    })

    after(async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    })

    const code = async (p: Promise<void>): Promise<string | undefined> => await p.then(() => undefined, (err) => {
      assert.ok(err instanceof GatewayCheckError)
      return err.code
    })

    it('refuses an address without STARTTLS, and remembers the refusal', async () => {
      const checks = new GatewayChecks({ domain: 'chorus.localhost', der })
      const address = `127.0.0.1:${(server.address() as { port: number }).port}`
      assert.equal(await code(checks.check(address)), 'ERR_GATEWAY_NO_STARTTLS')
      const seen = sockets.size
      assert.equal(await code(checks.check(address)), 'ERR_GATEWAY_NO_STARTTLS')
      assert.equal(sockets.size, seen, 'the second answer came from the verdict kept, not a new connection')
    })

    it('refuses an address where nothing listens', async () => {
      const closed = createServer()
      await new Promise<void>((resolve) => { closed.listen(0, '127.0.0.1', resolve) })
      const port = (closed.address() as { port: number }).port
      await new Promise<void>((resolve) => { closed.close(() => { resolve() }) })
      const checks = new GatewayChecks({ domain: 'chorus.localhost', der })
      assert.equal(await code(checks.check(`127.0.0.1:${port}`)), 'ERR_GATEWAY_UNREACHABLE')
    })
  })
})
