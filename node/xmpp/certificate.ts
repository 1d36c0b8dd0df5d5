/**
 * The certificate a gateway presents at STARTTLS. Every gateway of a domain presents the same one — the
 * operator gives each the same `--xmpp-cert` and `--xmpp-key` — and that is what lets a full gateway send a
 * client elsewhere: it redirects only to a gateway it has itself seen present this very certificate
 * (gateway-check.ts), so no server of the mesh can steer clients to a host of its own.
 *
 * Without them the gateway makes a self-signed certificate on first start and keeps it in the data dir. No
 * other gateway can present that one, clients must be told to skip certificate checks for it, and a gateway
 * with it redirects no one: it is for one gateway on loopback, and says so loudly.
 */

import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSecureContext, type SecureContext } from 'node:tls'
import { logger } from '@libp2p/logger'
import { generate } from 'selfsigned'

const log = logger('chorus:xmpp:certificate')

/** Days a self-made certificate is valid (the longest browsers and most clients accept). @default 825 */
export const DEFAULT_SELF_MADE_DAYS = 825

/** The certificate and key a gateway serves, and what other gateways must present to be redirected to. */
export interface GatewayCertificate {
  context: SecureContext
  /** the leaf certificate (the first of the PEM), DER: another gateway of the domain presents exactly this */
  der: Buffer
  /** SHA-256 fingerprint of `der`, for the operator (`AB:CD:…`) */
  fingerprint: string
  /** made by this gateway for itself (no `cert`/`key` given): good for one gateway on loopback, never redirects */
  selfMade: boolean
  /** where a self-made certificate is kept */
  dir?: string
}

/** What says which certificate to serve: the configured PEMs, or where to keep a self-made one. */
export interface CertificateSource {
  domain: string
  cert?: string
  key?: string
  dataDir: string
}

/** A self-signed certificate and key for `domain` (and its subdomains), as PEM. */
export async function selfSignedPems (
  domain: string, days = DEFAULT_SELF_MADE_DAYS
): Promise<{ cert: string, key: string }> {
  const pems = await generate([{ name: 'commonName', value: domain }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + days * 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: domain }, { type: 2, value: `*.${domain}` }] }]
  })
  return { cert: pems.cert, key: pems.private }
}

/** The configured certificate, or the self-made one kept in `<dataDir>/xmpp-tls/` (made on first start). */
export async function gatewayCertificate (source: CertificateSource): Promise<GatewayCertificate> {
  if (source.cert != null && source.key != null) return certificate(source.cert, source.key, false)
  const dir = join(source.dataDir, 'xmpp-tls')
  const certFile = join(dir, `${source.domain}.crt`)
  const keyFile = join(dir, `${source.domain}.key`)
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const pems = await selfSignedPems(source.domain)
    writeFileSync(keyFile, pems.key, { mode: 0o600 })
    writeFileSync(certFile, pems.cert)
    log('made a self-signed certificate for %s in %s', source.domain, dir)
  }
  const made = certificate(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8'), true)
  log.error('WARNING: the XMPP gateway for %s presents a self-signed certificate it made itself (%s): fit for one ' +
    'gateway on loopback only. Clients must skip certificate checks, and this gateway redirects no client. ' +
    'Give every gateway of the domain the same --xmpp-cert and --xmpp-key.', source.domain, dir)
  return { ...made, dir }
}

function certificate (cert: string, key: string, selfMade: boolean): GatewayCertificate {
  const leaf = new X509Certificate(cert)
  return { context: createSecureContext({ cert, key }), der: leaf.raw, fingerprint: leaf.fingerprint256, selfMade }
}
