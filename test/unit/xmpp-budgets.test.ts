/**
 * The gateway's budgets before login and per source address (node/xmpp/budgets.ts): connections from one
 * address and not logged in, on the gateway and per address; login attempts and registrations per
 * address; registrations per gateway; and what counts as one source (an IPv4 address, an IPv6 /64).
 */

import { strict as assert } from 'node:assert'
import { SourceBudgets, sourceOf, type SourceBudgetsInit } from '../../node/xmpp/budgets.js'

const init: SourceBudgetsInit = {
  maxConnectionsPerAddress: 3,
  maxPreLogin: 4,
  maxPreLoginPerAddress: 2,
  loginsPerAddress: 2,
  registrationsPerAddress: 2,
  registrationsPerMinute: 3
}

describe('xmpp budgets before login and per address (unit)', () => {
  it('bounds connections not logged in per address and on the gateway, and connections per address', () => {
    const b = new SourceBudgets(init)
    assert.equal(b.connect('10.0.0.1'), undefined)
    assert.equal(b.connect('10.0.0.1'), undefined)
    assert.equal(b.connect('10.0.0.1')?.reason, 'xmpp-pre-login-address-limit')
    b.loggedIn('10.0.0.1')
    assert.equal(b.connect('10.0.0.1'), undefined, 'a login frees a place among those logging in')
    assert.equal(b.connect('10.0.0.1')?.reason, 'xmpp-address-limit', 'three from one address in all')
    assert.equal(b.connect('10.0.0.2'), undefined)
    assert.equal(b.connect('10.0.0.2'), undefined)
    assert.equal(b.notLoggedIn, 4)
    const full = b.connect('10.0.0.3')
    assert.deepEqual([full?.reason, full?.condition], ['xmpp-pre-login-limit', 'resource-constraint'])
    b.disconnect('10.0.0.2', false)
    assert.equal(b.connect('10.0.0.3'), undefined, 'a closed connection gives its place back')
    b.disconnect('10.0.0.1', true)
    assert.equal(b.notLoggedIn, 4, 'a logged-in connection that closes leaves the count of those logging in alone')
  })

  it('throttles login attempts and registrations per address, and registrations per gateway', () => {
    const b = new SourceBudgets(init)
    assert.equal(b.login('10.0.0.1'), undefined)
    assert.equal(b.login('10.0.0.1'), undefined)
    assert.deepEqual(b.login('10.0.0.1')?.reason, 'xmpp-login-throttled')
    assert.equal(b.login('10.0.0.2'), undefined, 'another address has its own budget')
    assert.equal(b.register('10.0.0.1'), undefined)
    assert.equal(b.register('10.0.0.1'), undefined)
    assert.deepEqual(b.register('10.0.0.1')?.condition, 'policy-violation')
    assert.equal(b.register('10.0.0.2'), undefined)
    const gateway = b.register('10.0.0.3')
    assert.deepEqual([gateway?.reason, gateway?.condition], ['register-throttled-gateway', 'resource-constraint'])
  })

  it('one source is an IPv4 address (mapped or not) or an IPv6 /64', () => {
    assert.equal(sourceOf('192.0.2.7:5222'), '192.0.2.7')
    assert.equal(sourceOf('::ffff:192.0.2.7:40000'), '192.0.2.7')
    assert.equal(sourceOf('2001:db8:1:2:aaaa::1:40000'), '2001:db8:1:2::/64')
    assert.equal(sourceOf('2001:db8:1:2:bbbb:cccc:dddd:eeee:40000'), '2001:db8:1:2::/64')
    assert.equal(sourceOf('2001:db8::1:40000'), '2001:db8:0:0::/64')
    assert.equal(sourceOf('::1:40000'), '0:0:0:0::/64')
  })
})
