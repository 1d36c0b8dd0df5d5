/** The XMPP gateway's figures on `/metrics` (read at each scrape from the gateway's own counts). */

import { Gauge, type Registry } from 'prom-client'
import type { XmppStats } from './gateway.js'

/** Register the gateway's gauges on `registry`; `stats` is read at each scrape (undefined: no gateway). */
export function registerXmppMetrics (registry: Registry, stats: () => XmppStats | undefined): void {
  const gauge = (name: string, help: string, read: (s: XmppStats) => number): void => {
    void new Gauge({
      name,
      help,
      registers: [registry],
      collect () {
        const s = stats()
        if (s != null) this.set(read(s))
      }
    })
  }
  gauge('chorus_xmpp_connections', 'Jabber client connections open on this gateway', (s) => s.connections)
  gauge('chorus_xmpp_connections_not_logged_in', 'Of those, connections not logged in yet', (s) => s.notLoggedIn)
  gauge('chorus_xmpp_streams_detached', 'Of those, dropped streams waiting to be resumed (XEP-0198)', (s) => s.detached)
  gauge('chorus_xmpp_accounts', 'Accounts with a session open on this gateway', (s) => s.accounts)
  void new Gauge({
    name: 'chorus_xmpp_stanzas_total',
    help: 'Stanzas the gateway took from its clients (in) and sent to them (out)',
    labelNames: ['direction'],
    registers: [registry],
    collect () {
      const s = stats()
      if (s == null) return
      this.set({ direction: 'in' }, s.stanzasIn)
      this.set({ direction: 'out' }, s.stanzasOut)
    }
  })
  void new Gauge({
    name: 'chorus_xmpp_rejected_total',
    help: 'What the gateway refused, by reason (client stream errors, SASL failures, stanza errors, floods; ' +
      'invalid load answers and redirect targets it could not verify)',
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      for (const [reason, n] of Object.entries(stats()?.rejected ?? {})) this.set({ reason }, n)
    }
  })
}
