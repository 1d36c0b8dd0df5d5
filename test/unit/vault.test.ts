/**
 * The vault: a user's secret values sealed at rest under a passphrase, through LevelDB's own encoding
 * machinery (put, get, batches with a sublevel, iterators), and every way of opening it wrongly refused
 * with a typed reason.
 */

import { strict as assert } from 'node:assert'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { IdentityStore } from '../../node/session/identities.js'
import { PassphraseError, Vault } from '../../node/session/vault.js'
import { TempDirs } from '../helpers/wait.js'

const rejectsWith = async (p: Promise<unknown>, reason: string): Promise<void> => {
  await assert.rejects(p, (e: any) => e instanceof PassphraseError && e.code === 'ERR_PASSPHRASE' && e.reason === reason)
}

describe('Vault (secret values at rest)', () => {
  const dirs = new TempDirs()
  let db: ChorusDb
  beforeEach(async () => { db = await openDb(dirs.make()) })
  afterEach(async () => { await db.close(); dirs.cleanup() })

  it('seals values put, batched and iterated through a sublevel; the raw value holds no plaintext', async () => {
    const vault = await Vault.open(db, 'alice', 'correct horse battery staple', false)
    assert.equal(vault.sealed, true)
    const sub = db.sublevel<string, string>('secret', { valueEncoding: vault.encoding as any })
    await sub.put('a', 'the ratchet state')
    await db.batch([{ type: 'put', sublevel: sub, key: 'b', value: 'a plaintext message' }])
    assert.equal(await sub.get('a'), 'the ratchet state')
    assert.equal(await sub.get('b'), 'a plaintext message')
    assert.deepEqual(await sub.values().all(), ['the ratchet state', 'a plaintext message'])
    const raw = db.sublevel<string, string>('secret', { valueEncoding: 'utf8' })
    for (const v of await raw.values().all()) {
      assert.ok(!v.includes('ratchet') && !v.includes('plaintext'), `stored as ${v}`)
    }
    // the same text sealed twice differs (fresh nonce)
    assert.notEqual(vault.seal('x'), vault.seal('x'))
  })

  it('reopens with the passphrase, and refuses a wrong or a missing one', async () => {
    const first = await Vault.open(db, 'alice', 'pass one', false)
    const sealed = first.seal('keep me')
    const again = await Vault.open(db, 'alice', 'pass one', true)
    assert.equal(again.open(sealed), 'keep me')
    await rejectsWith(Vault.open(db, 'alice', 'pass two', true), 'wrong')
    await rejectsWith(Vault.open(db, 'alice', undefined, true), 'required')
  })

  it('keeps a user stored without a passphrase that way, and refuses bad passphrases', async () => {
    const plain = await Vault.open(db, 'bob', undefined, false)
    assert.equal(plain.sealed, false)
    assert.equal(plain.encoding, 'utf8')
    assert.equal(plain.seal('as is'), 'as is')
    await rejectsWith(Vault.open(db, 'bob', 'late passphrase', true), 'not-set')
    await rejectsWith(Vault.open(db, 'carol', '', false), 'invalid')
    await rejectsWith(Vault.open(db, 'carol', 'x'.repeat(1025), false), 'invalid')
  })

  it('seals the identity key: the stored record holds neither key in the clear', async () => {
    const vault = await Vault.open(db, 'dave', 'dave secret', false)
    const store = new IdentityStore(db)
    const { identity, created } = await store.loadOrCreate('dave', vault)
    assert.equal(created, true)
    const raw = await db.sublevel<string, string>('identities', { valueEncoding: 'utf8' }).get('dave') as string
    assert.ok(!raw.includes(Buffer.from(identity.privateKey).toString('base64')))
    assert.ok(!Buffer.from(raw, 'base64').includes(Buffer.from(identity.privateKey)))
    const back = await store.loadOrCreate('dave', await Vault.open(db, 'dave', 'dave secret', true))
    assert.equal(back.created, false)
    assert.deepEqual(back.identity, identity)
  })
})
