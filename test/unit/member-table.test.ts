import { strict as assert } from 'node:assert'
import { multiaddr } from '@multiformats/multiaddr'
import { MemberTable, type LeaveReason, type MemberTableInit } from '../../node/membership/member-table.js'
import type { Member, MemberRecord } from '../../node/membership/member.js'
import type { Role } from '../../protocol/constants.js'

const SUSPICION_MS = 1000
const RETENTION_MS = 60_000

/** A record as a peer would send it; the table never parses peer ids, so short names do. */
function rec (peerId: string, over: Partial<MemberRecord> = {}): MemberRecord {
  return {
    peerId,
    role: 'server',
    capacity: 1,
    addrs: [multiaddr('/ip4/127.0.0.1/tcp/7400')],
    incarnation: 10n,
    state: 'alive',
    version: '0.1.0',
    ...over
  }
}

/** A table over a fake clock, with every event it fires recorded. */
interface Harness {
  table: MemberTable
  clock: { now: number }
  joins: Member[]
  suspects: Member[]
  leaves: Array<{ member: Member, reason: LeaveReason }>
  /** move the clock on and let the table time out what is due */
  advance: (ms: number) => void
  state: (id: string) => string | undefined
}

function harness (init: Partial<MemberTableInit> = {}): Harness {
  const clock = { now: 1_000_000 }
  const joins: Member[] = []
  const suspects: Member[] = []
  const leaves: Array<{ member: Member, reason: LeaveReason }> = []
  const self = rec('self')
  const table = new MemberTable(() => self, {
    suspicionTimeoutMs: SUSPICION_MS,
    deadRetentionMs: RETENTION_MS,
    retransmitMult: 3,
    maxMembers: 100,
    ...init
  }, {
    onJoin: (m) => { joins.push(m) },
    onSuspect: (m) => { suspects.push(m) },
    onLeave: (member, reason) => { leaves.push({ member, reason }) }
  }, () => clock.now)
  const advance = (ms: number): void => { clock.now += ms; table.tick() }
  const state = (id: string): string | undefined => table.get(id)?.state
  return { table, clock, joins, suspects, leaves, advance, state }
}

describe('MemberTable (node/membership/member-table.ts)', () => {
  describe('joining', () => {
    it('joins a peer on direct contact, once', () => {
      const { table, joins, state } = harness()
      table.observeDirect(rec('a'))
      table.observeDirect(rec('a'))
      assert.equal(state('a'), 'alive')
      assert.deepEqual(joins.map((m) => m.peerId), ['a'])
      assert.equal(joins[0].role, 'server')
      assert.deepEqual(joins[0].addrs, ['/ip4/127.0.0.1/tcp/7400'])
      assert.deepEqual(table.live().map((m) => m.peerId), ['a'])
    })

    it('hearsay of a new peer makes it pending, never a member', () => {
      const { table, joins, state } = harness()
      table.observeHearsay(rec('a'))
      table.observeHearsay(rec('a', { incarnation: 11n }))
      assert.equal(state('a'), 'pending')
      assert.equal(joins.length, 0)
      assert.deepEqual(table.live(), [])
      table.observeDirect(rec('a'))
      assert.equal(state('a'), 'alive')
      assert.deepEqual(joins.map((m) => m.peerId), ['a'])
    })

    it('hearsay of a suspect stranger is worth a probe; of a dead or departed one, not', () => {
      const { table, state } = harness()
      table.observeHearsay(rec('s', { state: 'suspect' }))
      table.observeHearsay(rec('d', { state: 'dead' }))
      table.observeHearsay(rec('l', { state: 'left' }))
      assert.equal(state('s'), 'pending')
      assert.equal(state('d'), undefined)
      assert.equal(state('l'), undefined)
    })

    it('forgets a pending peer that never answers within the suspicion timeout', () => {
      const { table, advance, state, joins, leaves } = harness()
      table.observeHearsay(rec('ghost'))
      advance(SUSPICION_MS - 1)
      assert.equal(state('ghost'), 'pending')
      advance(1)
      assert.equal(state('ghost'), undefined)
      assert.equal(joins.length + leaves.length, 0)
    })

    it('never admits clients, by direct contact or by hearsay', () => {
      const { table, joins } = harness()
      table.observeDirect(rec('c1', { role: 'client' }))
      table.observeHearsay(rec('c2', { role: 'client' }))
      assert.equal(table.get('c1'), undefined)
      assert.equal(table.get('c2'), undefined)
      assert.equal(joins.length, 0)
    })

    it('never admits itself', () => {
      const { table, joins } = harness()
      table.observeDirect(rec('self'))
      table.observeHearsay(rec('self'))
      assert.equal(table.get('self'), undefined)
      assert.equal(joins.length, 0)
    })

    it('admits at most maxMembers peers, by contact or by hearsay', () => {
      const { table, joins } = harness({ maxMembers: 3 })
      for (const id of ['a', 'b', 'c', 'd', 'e']) table.observeDirect(rec(id))
      table.observeHearsay(rec('f'))
      assert.deepEqual(joins.map((m) => m.peerId), ['a', 'b', 'c'])
      assert.equal(table.get('d'), undefined)
      assert.equal(table.get('f'), undefined)
      // known peers still update
      table.observeDirect(rec('a', { incarnation: 99n }))
      assert.equal(table.get('a')?.record.incarnation, 99n)
    })

    it('lists live members by role', () => {
      const { table } = harness()
      table.observeDirect(rec('s1'))
      table.observeDirect(rec('b1', { role: 'bootstrap' as Role }))
      assert.deepEqual(table.live('server').map((m) => m.peerId), ['s1'])
      assert.deepEqual(table.live('bootstrap').map((m) => m.peerId), ['b1'])
      assert.equal(table.live().length, 2)
    })
  })

  describe('suspicion and death', () => {
    it('probeFailed → suspect → dead after the suspicion timeout, with one suspect and one leave event', () => {
      const { table, advance, state, suspects, leaves } = harness()
      table.observeDirect(rec('a'))
      table.probeFailed('a')
      assert.equal(state('a'), 'suspect')
      assert.deepEqual(suspects.map((m) => [m.peerId, m.state]), [['a', 'suspect']])
      assert.equal(table.live()[0].state, 'suspect', 'a suspect is still in the live view')
      advance(SUSPICION_MS - 1)
      assert.equal(state('a'), 'suspect')
      assert.equal(leaves.length, 0)
      advance(1)
      assert.equal(state('a'), 'dead')
      advance(SUSPICION_MS)
      table.probeFailed('a')
      assert.equal(suspects.length, 1, 'a failed probe of a suspect or dead member is no new suspicion')
      assert.deepEqual(leaves.map((l) => [l.member.peerId, l.reason]), [['a', 'dead']])
      assert.deepEqual(table.live(), [])
    })

    it('a second failed probe does not restart the suspicion timer', () => {
      const { table, advance, state } = harness()
      table.observeDirect(rec('a'))
      table.probeFailed('a')
      advance(SUSPICION_MS / 2)
      table.probeFailed('a')
      advance(SUSPICION_MS / 2)
      assert.equal(state('a'), 'dead')
    })

    it('hearsay of suspicion or death only suspects; the leave waits for this table\'s own timeout', () => {
      for (const rumour of ['suspect', 'dead', 'left'] as const) {
        const { table, advance, state, leaves } = harness()
        table.observeDirect(rec('a'))
        table.observeHearsay(rec('a', { state: rumour }))
        assert.equal(state('a'), 'suspect', `hearsay of ${rumour}`)
        assert.equal(leaves.length, 0, `hearsay of ${rumour} evicts nobody`)
        advance(SUSPICION_MS - 1)
        assert.equal(leaves.length, 0)
        advance(1)
        assert.deepEqual(leaves.map((l) => l.reason), ['dead'], `hearsay of ${rumour}`)
      }
    })

    it('ignores stale rumours (an older incarnation) about a live member', () => {
      const { table, state } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.observeHearsay(rec('a', { state: 'dead', incarnation: 9n }))
      assert.equal(state('a'), 'alive')
    })

    it('a higher incarnation alive refutes suspicion; the same incarnation does not', () => {
      const { table, advance, state, joins, leaves } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.probeFailed('a')
      table.observeHearsay(rec('a', { incarnation: 10n }))
      assert.equal(state('a'), 'suspect')
      table.observeHearsay(rec('a', { incarnation: 11n }))
      assert.equal(state('a'), 'alive')
      assert.equal(table.get('a')?.record.incarnation, 11n)
      advance(SUSPICION_MS * 2)
      assert.equal(state('a'), 'alive')
      assert.equal(joins.length, 1, 'refutation is not a second join')
      assert.equal(leaves.length, 0)
    })

    it('direct contact clears suspicion', () => {
      const { table, advance, state, leaves } = harness()
      table.observeDirect(rec('a'))
      table.probeFailed('a')
      table.observeDirect(rec('a'))
      assert.equal(state('a'), 'alive')
      advance(SUSPICION_MS * 2)
      assert.equal(leaves.length, 0)
    })

    it('a LEAVE from the peer itself fires leave(left) at once, and a stale one is ignored', () => {
      const { table, state, leaves } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.observeDirect(rec('a', { state: 'left', incarnation: 9n }))
      assert.equal(state('a'), 'alive')
      table.observeDirect(rec('a', { state: 'left', incarnation: 10n }))
      assert.equal(state('a'), 'left')
      table.observeDirect(rec('a', { state: 'left', incarnation: 10n }))
      assert.deepEqual(leaves.map((l) => [l.member.peerId, l.reason]), [['a', 'left']])
      assert.deepEqual(table.live(), [])
    })

    // In a live mesh an ACK to a probe sent before the LEAVE can arrive after it (the leaving node serves
    // until it unhandles the protocol); the peer must not flap back into the view on that stale record.
    it('a departed peer comes back only with a higher incarnation, not on a late record of the old one', () => {
      const { table, state, joins } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.observeDirect(rec('a', { state: 'left', incarnation: 10n }))
      table.observeDirect(rec('a', { incarnation: 10n }))
      assert.equal(state('a'), 'left', 'a late ACK from before the LEAVE revived the peer')
      table.observeDirect(rec('a', { incarnation: 11n }))
      assert.equal(state('a'), 'alive', 'a restarted peer is welcome back')
      assert.equal(joins.length, 2)
    })

    it('a LEAVE from a stranger changes nothing', () => {
      const { table, leaves } = harness()
      table.observeDirect(rec('z', { state: 'left' }))
      assert.equal(table.get('z'), undefined)
      assert.equal(leaves.length, 0)
    })

    it('remembers the dead for deadRetentionMs, so stale gossip cannot revive them, then forgets', () => {
      const { table, advance, state, joins } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.probeFailed('a')
      advance(SUSPICION_MS)
      assert.equal(state('a'), 'dead')
      table.observeHearsay(rec('a', { incarnation: 10n }))
      assert.equal(state('a'), 'dead', 'same-incarnation hearsay does not revive')
      advance(RETENTION_MS - 1)
      assert.equal(state('a'), 'dead')
      advance(1)
      assert.equal(table.get('a'), undefined)
      assert.equal(joins.length, 1)
    })

    it('a restarted peer (higher incarnation) comes back through pending, then joins on contact', () => {
      const { table, advance, state, joins } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.observeDirect(rec('a', { state: 'left', incarnation: 10n }))
      table.observeHearsay(rec('a', { incarnation: 10n }))
      assert.equal(state('a'), 'left')
      table.observeHearsay(rec('a', { incarnation: 20n }))
      assert.equal(state('a'), 'pending')
      advance(10)
      table.observeDirect(rec('a', { incarnation: 20n }))
      assert.equal(state('a'), 'alive')
      assert.equal(joins.length, 2)
    })
  })

  describe('refutesSelf', () => {
    it('is true only for a rumour of our own suspicion or death at our incarnation or above', () => {
      const { table } = harness()
      assert.equal(table.refutesSelf(rec('self', { state: 'suspect', incarnation: 5n }), 5n), true)
      assert.equal(table.refutesSelf(rec('self', { state: 'dead', incarnation: 6n }), 5n), true)
      assert.equal(table.refutesSelf(rec('self', { state: 'suspect', incarnation: 4n }), 5n), false)
      assert.equal(table.refutesSelf(rec('self', { state: 'alive', incarnation: 9n }), 5n), false)
      assert.equal(table.refutesSelf(rec('other', { state: 'dead', incarnation: 9n }), 5n), false)
    })
  })

  describe('gossip', () => {
    it('sends each update λ·log2(n+2) times, then drops it', () => {
      const { table } = harness()
      table.observeDirect(rec('a'))
      const limit = Math.ceil(3 * Math.log2(1 + 2))
      for (let i = 0; i < limit; i++) {
        assert.deepEqual(table.takeUpdates(8).map((r) => [r.peerId, r.state]), [['a', 'alive']], `transmission ${i + 1}`)
      }
      assert.deepEqual(table.takeUpdates(8), [])
    })

    it('takes at most `max` updates, least-sent first', () => {
      const { table } = harness()
      const ids = ['a', 'b', 'c', 'd', 'e']
      for (const id of ids) table.observeDirect(rec(id))
      const first = table.takeUpdates(3).map((r) => r.peerId)
      assert.equal(first.length, 3)
      const second = table.takeUpdates(3).map((r) => r.peerId)
      assert.equal(second.length, 3)
      const unsent = ids.filter((id) => !first.includes(id))
      assert.deepEqual(second.slice(0, 2).sort(), unsent.sort(), 'the two never sent go before any resend')
    })

    it('gossips suspicion and death, and the latest news of a peer replaces the earlier', () => {
      const { table, advance } = harness()
      table.observeDirect(rec('a'))
      table.probeFailed('a')
      assert.deepEqual(table.takeUpdates(8).map((r) => r.state), ['suspect'])
      advance(SUSPICION_MS)
      assert.deepEqual(table.takeUpdates(8).map((r) => r.state), ['dead'])
    })

    it('announceSelf queues our own record', () => {
      const { table } = harness()
      table.announceSelf()
      assert.deepEqual(table.takeUpdates(8).map((r) => r.peerId), ['self'])
    })

    it('snapshot holds ourselves and the live members, not pending or dead ones', () => {
      const { table, advance } = harness()
      table.observeDirect(rec('alive'))
      table.observeDirect(rec('suspect'))
      table.probeFailed('suspect')
      table.observeDirect(rec('dead'))
      table.probeFailed('dead')
      advance(SUSPICION_MS)
      table.observeDirect(rec('suspect'))
      table.probeFailed('suspect')
      table.observeHearsay(rec('pending'))
      const snap = table.snapshot(100)
      assert.deepEqual(snap.map((r) => `${r.peerId}:${r.state}`).sort(), ['alive:alive', 'self:alive', 'suspect:suspect'])
      assert.equal(table.snapshot(2).length, 2)
    })

    it('counts entries per state', () => {
      const { table } = harness()
      table.observeDirect(rec('a'))
      table.observeDirect(rec('b'))
      table.probeFailed('b')
      table.observeHearsay(rec('c'))
      assert.deepEqual(table.counts(), { pending: 1, alive: 1, suspect: 1, dead: 0, left: 0 })
    })
  })

  describe('nextProbeTarget', () => {
    it('is undefined with nobody to probe', () => {
      const { table } = harness()
      assert.equal(table.nextProbeTarget(), undefined)
    })

    it('re-checks a dead peer that others report alive (a healed partition), without reviving it on hearsay', () => {
      const { table, advance, state, joins } = harness()
      table.observeDirect(rec('a', { incarnation: 10n }))
      table.observeDirect(rec('b', { incarnation: 10n }))
      table.probeFailed('a')
      advance(SUSPICION_MS)
      assert.equal(state('a'), 'dead')
      table.observeHearsay(rec('a', { incarnation: 10n }))
      const picks = [table.nextProbeTarget(), table.nextProbeTarget()]
      assert.ok(picks.includes('a'), `the dead peer is probed: ${picks.join(',')}`)
      assert.equal(state('a'), 'dead', 'still dead until it answers')
      table.observeDirect(rec('a', { incarnation: 10n }))
      assert.equal(state('a'), 'alive')
      assert.equal(joins.filter((m) => m.peerId === 'a').length, 2)
    })

    it('puts suspect and pending peers first but still reaches every alive one', () => {
      const { table } = harness()
      const alive = ['a', 'b', 'c', 'd']
      for (const id of alive) table.observeDirect(rec(id))
      table.observeHearsay(rec('p'))
      assert.equal(table.nextProbeTarget(), 'p', 'the pending peer goes first')
      const picks = Array.from({ length: 4 * alive.length }, () => table.nextProbeTarget())
      assert.ok(picks.filter((p) => p === 'p').length >= alive.length, 'the pending peer keeps its turn')
      for (const id of alive) assert.ok(picks.includes(id), `${id} is probed although a peer is pending`)
    })

    it('prefers the longest-standing suspect', () => {
      const { table, clock } = harness()
      for (const id of ['a', 'b', 'c']) table.observeDirect(rec(id))
      table.probeFailed('b')
      clock.now += 10
      table.probeFailed('c')
      assert.equal(table.nextProbeTarget(), 'b')
    })

    it('skips peers that died since the round was shuffled', () => {
      const { table, advance } = harness()
      for (const id of ['a', 'b', 'c']) table.observeDirect(rec(id))
      table.nextProbeTarget()
      table.probeFailed('b')
      advance(SUSPICION_MS)
      const picks = Array.from({ length: 12 }, () => table.nextProbeTarget())
      assert.ok(!picks.includes('b'), `picked ${picks.join(',')}`)
      assert.ok(picks.includes('a') && picks.includes('c'))
    })

    it('with only alive members, probes each once per round of n probes (SWIM round-robin)', () => {
      const { table } = harness()
      const alive = ['a', 'b', 'c', 'd']
      for (const id of alive) table.observeDirect(rec(id))
      for (let round = 0; round < 3; round++) {
        const picks = Array.from({ length: alive.length }, () => table.nextProbeTarget())
        assert.deepEqual([...picks].sort(), alive, `round ${round}: picked ${picks.join(',')}`)
      }
    })
  })
})
