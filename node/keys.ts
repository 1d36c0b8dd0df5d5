/**
 * The node key: an Ed25519 private key persisted in the data directory, so a restarted node keeps its
 * peer id. Written once with mode 0600 through a temporary file and a rename, so a crash never leaves
 * half a key.
 */

import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { NodeKeyError } from './errors.js'

/** File name of the node key inside the data directory. */
export const NODE_KEY_FILE = 'node.key'

/** Load the node key from `dataDir`, creating it on first start. */
export async function loadOrCreateNodeKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, NODE_KEY_FILE)
  let bytes: Buffer | undefined
  try {
    bytes = await readFile(path)
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw new NodeKeyError(`cannot read ${path}: ${err.code ?? err.message}`)
  }
  if (bytes != null) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err: any) {
      throw new NodeKeyError(`${path} is not a node key (${err.message}); move it away to start with a new identity`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, path)
  return key
}
