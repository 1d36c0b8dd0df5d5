/**
 * The operator's admission commands: `chorus id` and `chorus mesh init | delegate | admit | revoke |
 * inspect`. They run no node (except `revoke --bootstrap`, which starts a short-lived client to hand the
 * revocation to the mesh) and print one fact per line. Usage errors are `InvalidOptionError`s (exit 2).
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import {
  type Certificate, Revocation, checkCertificate, checkRevocation, decodeCertificate, decodeRevocation, meshId,
  parseMeshId,
  signCertificate, signDelegation, signRevocation
} from '../protocol/admission.js'
import { ed25519Generate } from '../protocol/ed25519.js'
import { InvalidOptionError } from '../node/errors.js'
import { integer, resolveOptions } from '../node/config.js'
import { defaultDataDir } from '../node/constants.js'
import { loadOrCreateNodeKey } from '../node/keys.js'
import {
  certificateDoc, inspectFile, meshKeyDoc, operatorKeyDoc, readCertificateFile, readOperatorPublicKey,
  readRevocationFile,
  readSigningKey, revocationDoc, writeNew
} from './admission-files.js'

/** Default validity of a certificate, in days. */
export const DEFAULT_CERT_DAYS = 90
/** Default validity of an operator delegation, in days. */
export const DEFAULT_DELEGATION_DAYS = 365
/** How long `mesh revoke --bootstrap` waits to reach the mesh. */
const PUBLISH_TIMEOUT_MS = 15_000

type Say = (line: string) => void

/** Is this invocation one of the admission commands? */
export function isAdmissionCommand (argv: string[]): boolean {
  return argv[0] === 'id' || argv[0] === 'mesh'
}

/** Run `chorus id …` or `chorus mesh …`. Resolves when done; throws `InvalidOptionError` for bad usage. */
export async function runAdmissionCommand (argv: string[], say: Say): Promise<void> {
  if (argv[0] === 'id') return await id(argv.slice(1), say)
  const sub = argv[1]
  const rest = argv.slice(2)
  if (sub === 'init') return init(rest, say)
  if (sub === 'delegate') return delegate(rest, say)
  if (sub === 'admit') return admit(rest, say)
  if (sub === 'revoke') return await revoke(rest, say)
  if (sub === 'inspect') return inspect(rest, say)
  if (sub == null || sub === '--help' || sub === '-h') { say(MESH_HELP); return }
  throw new InvalidOptionError('command line', `unknown mesh command ${JSON.stringify(sub)} (try: init, delegate, admit, revoke, inspect)`)
}

export const MESH_HELP = `Usage: chorus mesh <command> [flags]

Server admission for a federated mesh: only servers with a certificate of the mesh own data.

  chorus mesh init --out MESH_KEY
      create a mesh key (keep it offline) and print the mesh id nodes run with (--mesh)
  chorus mesh delegate --mesh-key MESH_KEY --name NAME --out OPERATOR_KEY [--days 365]
      hand day-to-day signing to an operator key; the mesh key can then stay offline
  chorus mesh admit PEER_ID --mesh-key KEY --out CERT [--capacity 1] [--days 90]
      admit a server (its peer id: chorus id --data-dir DIR); it starts with --cert CERT
  chorus mesh revoke PEER_ID --mesh-key KEY [--out FILE] [--bootstrap ADDR ...] [--certificate CERT ...]
  chorus mesh revoke --operator OPERATOR_KEY --mesh-key MESH_KEY [--out FILE] [--bootstrap ADDR ...]
      withdraw a server's certificates (or every certificate and revocation an operator key signed);
      with --bootstrap, hand the revocation to the running mesh, which gossips it to every node.
      Nodes keep a server's revocation only beside a live certificate of it: give --certificate
      when the server may be down and the mesh may not know its certificate
  chorus mesh inspect FILE
      show a key, certificate or revocation file and check its signatures

KEY is a mesh key or an operator key file. See docs/security.md, "Who may own data".
`

function parse (
  argv: string[],
  options: Record<string, { type: 'string' | 'boolean', multiple?: boolean }>,
  positionals: number
): { values: Record<string, any>, positionals: string[] } {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    })
  } catch (err: any) {
    throw new InvalidOptionError('command line', String(err.message).replace(/\. To specify.*$/s, '').replace(/^Unknown option/, 'unknown flag'))
  }
  if (parsed.positionals.length > positionals) {
    throw new InvalidOptionError('command line', `unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`)
  }
  return parsed as { values: Record<string, any>, positionals: string[] }
}

function need (values: Record<string, any>, flag: string): string {
  const v = values[flag]
  if (typeof v !== 'string' || v === '') throw new InvalidOptionError(`--${flag}`, 'is required')
  return v
}

function peerIdArg (v: string | undefined): string {
  if (v == null) throw new InvalidOptionError('PEER_ID', 'is required (a server prints it on start; chorus id --data-dir DIR prints it before)')
  try { return peerIdFromString(v).toString() } catch { throw new InvalidOptionError('PEER_ID', `${JSON.stringify(v.slice(0, 80))} is not a peer id`) }
}

function days (flag: string, v: unknown, fallback: number): number {
  return v == null ? fallback : integer(flag, v, 1, 3650)
}

async function id (argv: string[], say: Say): Promise<void> {
  const { values } = parse(argv, { 'data-dir': { type: 'string' } }, 0)
  if (values.help === true) { say('Usage: chorus id [--data-dir DIR]\n\nPrint the peer id of the node whose data dir this is, creating its key on first use, so that\nit can be admitted (chorus mesh admit) before its first start.'); return }
  const { dataDir } = resolveOptions({ dataDir: values['data-dir'] ?? process.env.CHORUS_DATA_DIR ?? defaultDataDir(), role: 'client' })
  say(peerIdFromPrivateKey(await loadOrCreateNodeKey(dataDir)).toString())
}

function init (argv: string[], say: Say): void {
  const { values } = parse(argv, { out: { type: 'string' } }, 0)
  if (values.help === true) { say(MESH_HELP); return }
  const out = need(values, 'out')
  const { privateKey } = ed25519Generate()
  const doc = meshKeyDoc(privateKey) as { mesh: string }
  writeNew('--out', out, doc, true)
  say(`mesh id: ${doc.mesh}`)
  say(`mesh key: ${out} (mode 0600: keep it offline; it admits servers and revokes them)`)
  say(`next: chorus mesh admit PEER_ID --mesh-key ${out} --out server.cert, then chorus start --mesh ${doc.mesh} --cert server.cert`)
}

function delegate (argv: string[], say: Say): void {
  const { values } = parse(argv, { 'mesh-key': { type: 'string' }, name: { type: 'string' }, days: { type: 'string' }, out: { type: 'string' } }, 0)
  if (values.help === true) { say(MESH_HELP); return }
  const signer = readSigningKey('--mesh-key', need(values, 'mesh-key'))
  if (signer.delegation != null) throw new InvalidOptionError('--mesh-key', 'only the mesh key delegates (this is an operator key)')
  const name = need(values, 'name')
  if (name.length > 64 || !/^[\w.@ -]+$/.test(name)) throw new InvalidOptionError('--name', 'must be 1-64 letters, digits, spaces or ._@-')
  const out = need(values, 'out')
  const operator = ed25519Generate()
  const d = signDelegation(signer.privateKey, operator.publicKey, {
    name,
    now: Date.now(),
    days: days('--days', values.days, DEFAULT_DELEGATION_DAYS)
  })
  writeNew('--out', out, operatorKeyDoc(operator.privateKey, d), true)
  say(`operator key: ${out} (${name}, mesh ${signer.mesh}, until ${new Date(Number(d.expiresAt)).toISOString()})`)
}

function admit (argv: string[], say: Say): void {
  const { values, positionals } = parse(argv,
    { 'mesh-key': { type: 'string' }, capacity: { type: 'string' }, days: { type: 'string' }, out: { type: 'string' } },
    1)
  if (values.help === true) { say(MESH_HELP); return }
  const peerId = peerIdArg(positionals[0])
  const signer = readSigningKey('--mesh-key', need(values, 'mesh-key'))
  const out = need(values, 'out')
  const capacity = values.capacity == null ? 1 : integer('--capacity', values.capacity, 1, 1000)
  const cert = signCertificate(signer, {
    peerId,
    capacity,
    now: Date.now(),
    days: days('--days', values.days, DEFAULT_CERT_DAYS)
  })
  writeNew('--out', out, certificateDoc(cert, signer.describe), false)
  say(`certificate: ${out}`)
  say(`admits ${peerId} as a server of mesh ${signer.mesh}, capacity ${capacity}, until ${new Date(Number(cert.expiresAt)).toISOString()} (signed by ${signer.describe})`)
  say(`start it with: chorus start --mesh ${signer.mesh} --cert ${out}`)
}

async function revoke (argv: string[], say: Say): Promise<void> {
  const { values, positionals } = parse(argv, {
    'mesh-key': { type: 'string' },
    operator: { type: 'string' },
    out: { type: 'string' },
    bootstrap: { type: 'string', multiple: true },
    certificate: { type: 'string', multiple: true }
  }, 1)
  if (values.help === true) { say(MESH_HELP); return }
  const bootstrap = (values.bootstrap ?? []) as string[]
  if (values.out == null && bootstrap.length === 0) throw new InvalidOptionError('command line', 'give --out FILE, --bootstrap ADDR, or both: a revocation nobody hears revokes nothing')
  const signer = readSigningKey('--mesh-key', need(values, 'mesh-key'))
  let rev: Revocation
  if (values.operator != null) {
    if (positionals.length > 0) throw new InvalidOptionError('command line', 'revoke a peer id or an --operator, not both')
    if (signer.delegation != null) throw new InvalidOptionError('--mesh-key', 'only the mesh key may revoke an operator key')
    rev = signRevocation(signer, { operator: readOperatorPublicKey('--operator', String(values.operator)) }, Date.now())
  } else {
    rev = signRevocation(signer, { peerId: peerIdArg(positionals[0]) }, Date.now())
  }
  const what = rev.peerId !== '' ? `server ${rev.peerId}` : `operator key ${Buffer.from(rev.operator).toString('hex').slice(0, 16)}`
  if (values.out != null) {
    writeNew('--out', String(values.out), revocationDoc(rev), false)
    say(`revocation: ${String(values.out)} (${what}, mesh ${signer.mesh})`)
  }
  if (bootstrap.length > 0) {
    const paths = (values.certificate ?? []) as string[]
    const certificates = paths.map((path) => readCertificateFile('--certificate', path))
    const reached = await publish(Revocation.encode(rev), certificates, signer.mesh, bootstrap)
    say(`revocation of ${what} handed to ${reached} member${reached === 1 ? '' : 's'}; it gossips to the rest`)
  }
}

/**
 * Start a throwaway client of the mesh, wait to see a member, hand it the revocation and the
 * certificates it withdraws, stop.
 */
async function publish (
  bytes: Uint8Array,
  certificates: Uint8Array[],
  mesh: string,
  bootstrap: string[]
): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-revoke-'))
  const { createNode } = await import('../node/index.js')
  const node = await createNode({ role: 'client', mesh, bootstrap, dataDir })
  try {
    await node.start()
    const deadline = Date.now() + PUBLISH_TIMEOUT_MS
    while (node.membership.live().length === 0) {
      if (Date.now() > deadline) throw new Error(`no member of mesh ${mesh} answered within ${PUBLISH_TIMEOUT_MS / 1000} s through ${bootstrap.join(', ')}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const reached = await node.membership.publishRevocation(bytes, certificates)
    if (reached === 0) throw new Error('no member acknowledged the revocation')
    return reached
  } finally {
    await node.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

function inspect (argv: string[], say: Say): void {
  const { values, positionals } = parse(argv, {}, 1)
  if (values.help === true || positionals[0] == null) { say('Usage: chorus mesh inspect FILE'); return }
  const path = positionals[0]
  const summary = inspectFile(path)
  for (const [k, v] of Object.entries(summary)) say(`${k}: ${String(v)}`)
  say(`signatures: ${verdict(path, summary)}`)
}

/** Check a file's signatures against the mesh it names: the operator's first question about a file. */
function verdict (path: string, summary: Record<string, unknown>): string {
  try {
    const mesh = parseMeshId(String(summary.mesh))
    if (summary.type === 'chorus-certificate') {
      const cert: Certificate = decodeCertificate(readCertificateFile('inspect', path))
      const g = checkCertificate(cert, mesh, cert.peerId, Date.now(), {
        peerRevokedAt: () => undefined,
        operatorRevokedAt: () => undefined
      })
      return `valid for mesh ${meshId(mesh)} until ${new Date(g.expiresAt).toISOString()}`
    }
    if (summary.type === 'chorus-revocation') {
      checkRevocation(decodeRevocation(readRevocationFile('inspect', path)), mesh, Date.now())
      return `valid for mesh ${meshId(mesh)}`
    }
    if (summary.type === 'chorus-operator-key') {
      const key = readSigningKey('inspect', path)
      const cert = signCertificate(key, { peerId: '12D3KooWInspect', capacity: 1, now: Date.now(), days: 1 })
      checkCertificate(cert, mesh, cert.peerId, Date.now(), {
        peerRevokedAt: () => undefined,
        operatorRevokedAt: () => undefined
      })
      return 'the delegation is valid: this key can admit servers'
    }
    readSigningKey('inspect', path)
    return 'a mesh key (it signs; nothing to check)'
  } catch (err: any) {
    return `NOT VALID: ${err.message}`
  }
}
