// Chorus operator dashboard. Plain browser JavaScript with no build step and nothing fetched from elsewhere:
// it polls this node's /status and /dashboard.json, and draws the ring and the charts as SVG.
// Every value from the node reaches the page as text (textContent, attributes), never as markup.

const POLL_MS = 1500
/** a poll that takes longer than this counts as the node not answering */
const TIMEOUT_MS = 4000
/** the charts' window: what the node's sampler keeps */
const WINDOW_MS = 5 * 60_000
const SVG = 'http://www.w3.org/2000/svg'
const PALETTE = ['#5ab0ff', '#f2994a', '#56d364', '#d2a8ff', '#ff7b72', '#e3b341',
  '#39c5cf', '#f778ba', '#a5d6ff', '#7ee787', '#ffa657', '#bc8cff']

const $ = (id) => document.getElementById(id)

/** what the page last showed, and since when the node has been silent */
const state = { status: null, data: null, lastAnswer: 0, silentSince: 0, lastError: '', timer: 0 }

/** An element with attributes and children (strings become text nodes). */
function el (tag, attrs = {}, ...children) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue
    if (k === 'class') e.setAttribute('class', v)
    else if (k === 'text') e.textContent = v
    else e.setAttribute(k, String(v))
  }
  for (const c of children) if (c != null) e.append(c)
  return e
}

function shortId (id) {
  return id.length > 18 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

function pct (x) {
  if (x == null) return '–'
  return `${(x * 100).toFixed(x >= 0.1 ? 1 : 2)}%`
}

function rate (x) {
  if (x == null || !Number.isFinite(x)) return '–'
  return x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1)
}

function count (x) {
  return x == null ? '–' : Math.round(x).toLocaleString('en')
}

function ago (ms) {
  if (!(ms > 0)) return '–'
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

function clock (t) {
  return new Date(t).toLocaleTimeString('en-GB', { hour12: false })
}

async function getJson (path) {
  const ctl = new AbortController()
  const timer = setTimeout(() => { ctl.abort() }, TIMEOUT_MS)
  try {
    const res = await fetch(path, { cache: 'no-store', signal: ctl.signal })
    if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`)
    return await res.json()
  } catch (err) {
    throw new Error(err.name === 'AbortError' ? `${path}: no answer within ${TIMEOUT_MS / 1000} s` : (err.message || String(err)))
  } finally {
    clearTimeout(timer)
  }
}

async function poll () {
  let answer
  try {
    answer = await Promise.all([getJson('status'), getJson('dashboard.json')])
  } catch (err) {
    silent(err)
    return
  } finally {
    state.timer = setTimeout(() => { void poll() }, POLL_MS)
  }
  // outside the try: a page that cannot draw what the node said is a bug to see in the console, not a silent node
  answered(...answer)
}

function answered (status, data) {
  state.status = status
  state.data = data
  state.lastAnswer = Date.now()
  state.silentSince = 0
  $('banner').hidden = true
  $('banner').textContent = ''
  document.body.classList.remove('stale')
  const live = $('live')
  live.className = 'live ok'
  live.textContent = `live · ${clock(state.lastAnswer)}`
  render()
}

function silent (err) {
  if (state.silentSince === 0) state.silentSince = Date.now()
  state.lastError = err.message || String(err)
  const banner = $('banner')
  const since = state.lastAnswer > 0
    ? `since ${clock(state.lastAnswer)} (${ago(Date.now() - state.lastAnswer)} ago)`
    : 'since this page opened'
  banner.textContent = `Node not answering: ${location.host} has given no answer ${since}. ` +
    `${state.lastAnswer > 0 ? 'The figures below are the last it gave. ' : ''}Retrying every ${POLL_MS / 1000} s… (${state.lastError})`
  banner.hidden = false
  document.body.classList.add('stale')
  const live = $('live')
  live.className = 'live down'
  live.textContent = 'not answering'
}

function render () {
  const { status, data } = state
  const colors = new Map(data.ring.servers.map((s, i) => [s.peerId, PALETTE[i % PALETTE.length]]))
  renderHeader(status)
  renderStats(data)
  renderRing(status, data.ring, colors)
  renderPeers(status, data, colors)
  renderCharts(data)
}

function renderHeader (s) {
  document.title = `Chorus ${s.role} ${shortId(s.peerId)}`
  const role = $('node-role')
  role.textContent = s.role
  role.className = `role role-${s.role}`
  $('node-peer').textContent = s.peerId
  const st = $('node-state')
  st.textContent = s.state
  st.className = `state st-${s.state}`
  const mesh = s.admission?.mesh == null ? 'open mesh' : `mesh ${shortId(s.admission.mesh)}`
  const offset = s.clock != null
    ? ` · clock ${s.clock.offsetMs >= 0 ? '+' : ''}${s.clock.offsetMs} ms${s.clock.applied ? ' (corrected)' : ''}`
    : ''
  $('node-meta').textContent = `http ${location.host} · v${s.version} · up ${ago(s.uptimeSeconds * 1000)} · ` +
    `${s.connections} connections · N=${s.replicas}, W=${s.writeQuorum} · ${mesh}${offset}`
  const addrs = $('node-addrs')
  const more = s.addresses.length > 4 ? [`+${s.addresses.length - 4} more`] : []
  addrs.replaceChildren(...s.addresses.slice(0, 4).map((a) => el('code', { text: a })), ...more)
}

/** The mean of the last `n` points of a series: one second alone is noisy. */
function recent (values, n = 3) {
  if (values == null || values.length === 0) return undefined
  const tail = values.slice(-n)
  return tail.reduce((a, b) => a + b, 0) / tail.length
}

function last (values) {
  return values == null || values.length === 0 ? undefined : values[values.length - 1]
}

function renderStats (d) {
  const { rates, gauges, totals } = d.series
  $('stat-stored').textContent = rate(recent(rates.stored))
  $('stat-stored-sub').textContent =
    `store requests served · LevelDB writes ${rate(recent(rates.writes))}/s · ${count(totals.stored)} in all`
  $('stat-relayed').textContent = rate(recent(rates.relayed))
  $('stat-relayed-sub').textContent =
    `chat messages in (live hop and gossipsub) · sent live ${rate(recent(rates.published))}/s · delivered ${rate(recent(rates.delivered))}/s`
  $('stat-hints').textContent = `${d.hintsCapped ? '≥ ' : ''}${count(last(gauges.hints))}`
  $('stat-hints-sub').textContent = `owners that missed writes · ${count(totals.hintsDelivered)} delivered`
  $('stat-repair').textContent = count(totals.repairRounds)
  $('stat-repair-sub').textContent = `pushed ${count(totals.repairPushed)} · pulled ${count(totals.repairPulled)} · ` +
    `handed off ${count(totals.handedOff)} · errors ${count(totals.repairErrors)}`
}

/** A point on the ring: fraction 0 at the top, clockwise. */
function polar (frac, r) {
  const a = frac * 2 * Math.PI - Math.PI / 2
  return [Math.cos(a) * r, Math.sin(a) * r]
}

function arcPath (f0, f1, r0, r1) {
  const [x0, y0] = polar(f0, r1)
  const [x1, y1] = polar(f1, r1)
  const [x2, y2] = polar(f1, r0)
  const [x3, y3] = polar(f0, r0)
  const large = f1 - f0 > 0.5 ? 1 : 0
  const n = (v) => v.toFixed(2)
  return `M${n(x0)},${n(y0)} A${r1},${r1} 0 ${large} 1 ${n(x1)},${n(y1)} L${n(x2)},${n(y2)} A${r0},${r0} 0 ${large} 0 ${n(x3)},${n(y3)} Z`
}

function renderRing (status, ring, colors) {
  const svg = $('ring')
  const parts = [el('svg:circle', { class: 'track', r: 118 }), el('svg:circle', { class: 'track', r: 88 })]
  // the owner band: runs of bins with one primary owner, one arc each
  const bins = ring.bins
  for (let i = 0; i < bins.length;) {
    let j = i
    while (j + 1 < bins.length && bins[j + 1] === bins[i]) j++
    if (bins[i] >= 0) {
      const peer = ring.servers[bins[i]].peerId
      parts.push(el('svg:path', { class: 'band', d: arcPath(i / bins.length, (j + 1) / bins.length, 90, 108), fill: colors.get(peer) }))
    }
    i = j + 1
  }
  for (const s of ring.servers) {
    const g = el('svg:g', { class: s.peerId === status.peerId ? 'server self' : 'server', 'data-peer': s.peerId },
      el('svg:title', { text: `${s.peerId}: ${s.vnodes} positions, primary for ${pct(s.primaryShare)} of keys` }))
    for (const p of s.positions) {
      const [x0, y0] = polar(p, 112)
      const [x1, y1] = polar(p, 128)
      const stroke = colors.get(s.peerId)
      g.append(el('svg:line', { class: 'tick', x1: x0.toFixed(2), y1: y0.toFixed(2), x2: x1.toFixed(2), y2: y1.toFixed(2), stroke }))
    }
    parts.push(g)
  }
  const n = ring.servers.length + ring.omitted
  parts.push(el('svg:text', { class: 'center-big', x: 0, y: 4, text: String(n) }))
  parts.push(el('svg:text', { class: 'center-small', x: 0, y: 22, text: `server${n === 1 ? '' : 's'} · N = ${ring.replicas}` }))
  svg.replaceChildren(...parts)
  $('ring-caption').textContent = n === 0 ? 'no server in the view' : `${n} server${n === 1 ? '' : 's'}, top = keyspace 0`
  const legend = $('ring-legend')
  const widest = Math.max(...ring.servers.map((s) => s.primaryShare))
  legend.replaceChildren(...ring.servers.map((s) => {
    const color = colors.get(s.peerId)
    const sw = el('span', { class: 'swatch' })
    sw.style.background = color
    const fill = el('span')
    // the bar compares shares: the largest fills it
    fill.style.width = `${widest > 0 ? (s.primaryShare / widest) * 100 : 0}%`
    fill.style.background = color
    return el('li', { 'data-peer': s.peerId, title: s.peerId },
      el('div', { class: 'who' }, sw, el('span', { class: 'pid', text: s.peerId }),
        s.peerId === status.peerId ? el('span', { class: 'you', text: 'this node' }) : null),
      el('div', { class: 'bar' }, fill),
      el('div', { class: 'shares', text: `primary ${pct(s.primaryShare)} · replica ${pct(s.replicaShare)} · ${s.vnodes} positions` }))
  }), ...(ring.omitted > 0 ? [el('li', { class: 'shares', text: `+${ring.omitted} more servers not listed` })] : []))
}

function peerRow (p, shares, colors, cls, now) {
  const sw = el('span', { class: 'swatch' })
  sw.style.background = colors.get(p.peerId) ?? 'transparent'
  const share = shares.get(p.peerId)
  return el('tr', { class: cls, 'data-peer': p.peerId },
    el('td', { class: 'peer', title: p.peerId }, sw, p.peerId),
    el('td', {}, el('span', { class: `role role-${p.role}`, text: p.role })),
    el('td', {}, el('span', { class: `state st-${p.state}`, text: p.state })),
    el('td', { class: 'num', text: String(p.connections) }),
    el('td', { class: 'num', text: share ? pct(share.primaryShare) : '' }),
    el('td', { class: 'num', text: share ? pct(share.replicaShare) : '' }),
    el('td', { class: 'num', text: p.lastSeen > 0 ? ago(now - p.lastSeen) : (cls === 'self' ? 'now' : '–') }))
}

function renderPeers (status, d, colors) {
  const shares = new Map(d.ring.servers.map((s) => [s.peerId, s]))
  const order = { server: 0, bootstrap: 1, client: 2 }
  const live = d.peers.filter((p) => p.state === 'alive' || p.state === 'suspect')
  const gone = d.peers.filter((p) => !(p.state === 'alive' || p.state === 'suspect'))
  live.sort((a, b) => (order[a.role] ?? 3) - (order[b.role] ?? 3) || (a.peerId < b.peerId ? -1 : 1))
  gone.sort((a, b) => b.lastSeen - a.lastSeen)
  const self = { peerId: status.peerId, role: status.role, state: 'self', connections: status.connections, lastSeen: 0 }
  const rows = [
    peerRow(self, shares, colors, 'self', d.at),
    ...live.map((p) => peerRow(p, shares, colors, 'in-view', d.at)),
    ...gone.map((p) => peerRow(p, shares, colors, 'gone', d.at))
  ]
  $('peers').tBodies[0].replaceChildren(...rows)
  const extra = [`${live.length} live`]
  if (gone.length > 0) extra.push(`${gone.length} gone lately`)
  if (d.otherConnections > 0) extra.push(`${d.otherConnections} connections to peers outside the view`)
  if (d.omittedPeers > 0) extra.push(`${d.omittedPeers} not listed`)
  $('peers-caption').textContent = extra.join(' · ')
}

/** A round number ≥ x for the top of a chart's scale. */
function niceMax (x) {
  if (!(x > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(x))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p
  return 10 * p
}

/** A line chart of `lines` ([{ name, color, values }]) against times `t`, over the WINDOW_MS ending at `end`. */
function chart (svgId, legendId, t, lines, end) {
  const W = 600
  const H = 170
  const left = 44
  const right = 8
  const top = 8
  const bottom = 22
  const max = niceMax(Math.max(0, ...lines.flatMap((l) => l.values)))
  const x = (ts) => left + ((ts - (end - WINDOW_MS)) / WINDOW_MS) * (W - left - right)
  const y = (v) => top + (1 - v / max) * (H - top - bottom)
  const parts = []
  for (const f of [0, 0.5, 1]) {
    const v = max * f
    parts.push(el('svg:line', { class: 'grid-line', x1: left, x2: W - right, y1: y(v), y2: y(v) }))
    const label = v >= 100 ? String(Math.round(v)) : String(+v.toFixed(2))
    parts.push(el('svg:text', { class: 'axis-label', x: left - 6, y: y(v) + 4, 'text-anchor': 'end', text: label }))
  }
  for (const [f, label] of [[0, '−5 min'], [0.4, '−3 min'], [0.8, '−1 min'], [1, 'now']]) {
    const anchor = f === 0 ? 'start' : f === 1 ? 'end' : 'middle'
    parts.push(el('svg:text', { class: 'axis-label', x: left + f * (W - left - right), y: H - 5, 'text-anchor': anchor, text: label }))
  }
  const shown = t.map((ts, i) => [ts, i]).filter(([ts]) => ts >= end - WINDOW_MS)
  if (shown.length < 2) {
    parts.push(el('svg:text', { class: 'empty', x: W / 2, y: H / 2, text: 'collecting…' }))
  } else {
    for (const l of lines) {
      const pts = shown.map(([ts, i]) => `${x(ts).toFixed(1)},${y(l.values[i] ?? 0).toFixed(1)}`)
      const x0 = x(shown[0][0]).toFixed(1)
      const x1 = x(shown[shown.length - 1][0]).toFixed(1)
      parts.push(el('svg:path', { class: 'area', fill: l.color, d: `M${x0},${y(0)} L${pts.join(' L')} L${x1},${y(0)} Z` }))
      parts.push(el('svg:polyline', { class: 'series', stroke: l.color, points: pts.join(' ') }))
    }
  }
  $(svgId).replaceChildren(...parts)
  $(legendId).replaceChildren(...lines.map((l) => {
    const sw = el('span', { class: 'swatch' })
    sw.style.background = l.color
    return el('span', {}, sw, ` ${l.name} `, el('b', { text: l.unit === 'count' ? count(last(l.values)) : rate(recent(l.values)) }))
  }))
}

function renderCharts (d) {
  const { t, rates, gauges } = d.series
  const end = d.at
  chart('chart-stored', 'legend-stored', t, [
    { name: 'store requests/s', color: '#5ab0ff', values: rates.stored ?? [] },
    { name: 'LevelDB writes/s', color: '#39c5cf', values: rates.writes ?? [] }
  ], end)
  chart('chart-relayed', 'legend-relayed', t, [
    { name: 'chat messages in/s', color: '#f2994a', values: rates.relayed ?? [] },
    { name: 'published/s', color: '#e3b341', values: rates.published ?? [] },
    { name: 'delivered/s', color: '#d2a8ff', values: rates.delivered ?? [] }
  ], end)
  chart('chart-hints', 'legend-hints', t, [
    { name: 'hints pending', color: '#ff7b72', values: gauges.hints ?? [], unit: 'count' }
  ], end)
  chart('chart-repair', 'legend-repair', t, [
    { name: 'pushed/s', color: '#56d364', values: rates.repairPushed ?? [] },
    { name: 'pulled/s', color: '#d2a8ff', values: rates.repairPulled ?? [] },
    { name: 'rounds/s', color: '#8593a3', values: rates.repairRounds ?? [] }
  ], end)
}

void poll()
