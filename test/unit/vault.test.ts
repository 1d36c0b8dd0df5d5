/**
 * The vault: a user's secret values sealed at rest under a passphrase, each bound to where it lives (the
 * user, the sublevel, the key: a value moved to another key does not open), written and read through
 * SecretStore; every way of opening it wrongly refused with a typed reason; vaults of the first format
 * (scrypt 2^15, one associated data for all) migrated, also when the migration was cut short.
 */

import { strict as assert } from 'node:assert'
import { randomBytes, scryptSync } from 'node:crypto'
import { generateIdentity } from '../../protocol/envelope.js'
import { aeadSeal } from '../../protocol/secret/primitives.js'
import { openDb, type ChorusDb } from '../../node/store/db.js'
import { IdentityStore } from '../../node/session/identities.js'
import { SecretStore, compactRangeOf } from '../../node/session/secret-store.js'
import { DEFAULT_SCRYPT_LOG_N, MIN_PASSPHRASE_CHARS, PassphraseError, Vault } from '../../node/session/vault.js'
import { TempDirs } from '../helpers/wait.js'

const rejectsWith = async (p: Promise<unknown>, reason: string): Promise<void> => {
  await assert.rejects(p, (e: any) => e instanceof PassphraseError && e.code === 'ERR_PASSPHRASE' && e.reason === reason)
}

const PASS = 'correct horse battery staple'

/** The user's `secret` sublevel as a session makes it, and the store every secret part uses. */
function secretStore (db: ChorusDb, vault: Vault): SecretStore {
  return new SecretStore(db.sublevel<string, string>('secret', { valueEncoding: vault.encoding as any }), compactRangeOf(db))
}

const raw = (db: ChorusDb, sublevel: string): ReturnType<typeof db.sublevel<string, string>> =>
  db.sublevel<string, string>(sublevel, { valueEncoding: 'utf8' })

describe('Vault (secret values at rest)', function () {
  this.timeout(60_000)
  const dirs = new TempDirs()
  let db: ChorusDb
  beforeEach(async () => { db = await openDb(dirs.make()) })
  afterEach(async () => { await db.close(); dirs.cleanup() })

  it('seals values put, batched and iterated through the secret store; the raw values hold no plaintext', async () => {
    const vault = await Vault.open(db, 'alice', PASS, false)
    assert.equal(vault.sealed, true)
    const store = secretStore(db, vault)
    await store.put('sess!a', 'the ratchet state')
    await store.batch([{ type: 'put', key: 'hist!b', value: 'a plaintext message' }, { type: 'put', key: 'hist!c', value: 'another' }])
    assert.equal(await store.get('sess!a'), 'the ratchet state')
    assert.deepEqual(await store.getMany(['hist!b', 'nope']), ['a plaintext message', undefined])
    const listed: string[] = []
    for await (const [, v] of store.entries({ gt: 'hist!', lt: 'hist!\xff' })) listed.push(v)
    assert.deepEqual(listed, ['a plaintext message', 'another'])
    for (const v of await raw(db, 'secret').values().all()) {
      assert.ok(v.startsWith('2.') && !v.includes('ratchet') && !v.includes('plaintext'), `stored as ${v}`)
    }
    // the same text sealed twice differs (fresh nonce)
    assert.notEqual(vault.seal('x'), vault.seal('x'))
  })

  it('binds each value to its user, sublevel and key: a value moved elsewhere does not open (VaultIntegrityError)', async () => {
    const vault = await Vault.open(db, 'alice', PASS, false)
    const store = secretStore(db, vault)
    await store.batch([{ type: 'put', key: 'sess!alice!bob', value: 'the current session' }, { type: 'put', key: 'prev!alice!bob!00', value: 'an old session' }])
    // someone with the disk copies the old session's sealed value over the current one (a rollback)
    const sub = raw(db, 'secret')
    await sub.put('sess!alice!bob', await sub.get('prev!alice!bob!00') as string)
    await assert.rejects(store.get('sess!alice!bob'), { name: 'VaultIntegrityError', code: 'ERR_VAULT_INTEGRITY' })
    // a value of the secret sublevel moved to the identity record, or sealed for another user
    await assert.rejects(async () => vault.open(await sub.get('prev!alice!bob!00') as string), { name: 'VaultIntegrityError' })
    const carol = await Vault.open(db, 'carol', PASS, false)
    assert.throws(() => carol.open(vault.seal('alice\'s identity')), { name: 'VaultIntegrityError' })
    assert.equal(vault.open(vault.seal('in place')), 'in place')
  })

  it('refuses a value written to the sealed sublevel without its key (not through the secret store)', async () => {
    const vault = await Vault.open(db, 'alice', PASS, false)
    const sub = db.sublevel<string, string>('secret', { valueEncoding: vault.encoding as any })
    await assert.rejects(sub.put('k', 'unbound'))
    assert.deepEqual(await raw(db, 'secret').keys().all(), [])
  })

  it(`derives with scrypt N = 2^${DEFAULT_SCRYPT_LOG_N}; reopens with the passphrase, and refuses a wrong or a missing one`, async () => {
    const first = await Vault.open(db, 'alice', PASS, false)
    assert.ok(DEFAULT_SCRYPT_LOG_N >= 17)
    assert.equal(JSON.parse(await raw(db, 'vault').get('alice') as string).logN, DEFAULT_SCRYPT_LOG_N)
    const sealed = first.seal('keep me')
    const again = await Vault.open(db, 'alice', PASS, true)
    assert.equal(again.open(sealed), 'keep me')
    await rejectsWith(Vault.open(db, 'alice', 'another long passphrase', true), 'wrong')
    await rejectsWith(Vault.open(db, 'alice', undefined, true), 'required')
  })

  it(`keeps a user stored without a passphrase that way, and refuses bad passphrases (a new one has at least ${MIN_PASSPHRASE_CHARS} characters)`, async () => {
    const plain = await Vault.open(db, 'bob', undefined, false)
    assert.equal(plain.sealed, false)
    assert.equal(plain.encoding, 'utf8')
    assert.equal(plain.seal('as is'), 'as is')
    const store = secretStore(db, plain)
    await store.put('k', 'plain value')
    assert.equal(await raw(db, 'secret').get('k'), 'plain value')
    await rejectsWith(Vault.open(db, 'bob', 'a late passphrase', true), 'not-set')
    await rejectsWith(Vault.open(db, 'carol', '', false), 'invalid')
    await rejectsWith(Vault.open(db, 'carol', 'x'.repeat(1025), false), 'invalid')
    await rejectsWith(Vault.open(db, 'carol', 42 as any, false), 'invalid')
    await rejectsWith(Vault.open(db, 'carol', 'short pass', false), 'too-short')
    // counted in characters after NFKC: 11 letters with combining accents is still 11
    await rejectsWith(Vault.open(db, 'carol', 'e\u0301'.repeat(MIN_PASSPHRASE_CHARS - 1), false), 'too-short')
    assert.equal((await Vault.open(db, 'carol', 'twelve chars', false)).sealed, true)
  })

  it('takes a random 32-byte vault key instead of a passphrase (no scrypt), and never mixes the two', async () => {
    const key = randomBytes(32)
    const t0 = Date.now()
    const first = await Vault.open(db, 'erin', key, false)
    assert.ok(Date.now() - t0 < 200, 'a vault key is not stretched')
    assert.equal(JSON.parse(await raw(db, 'vault').get('erin') as string).logN, 0)
    const sealed = first.seal('keep me')
    assert.equal((await Vault.open(db, 'erin', Uint8Array.from(key), true)).open(sealed), 'keep me')
    await rejectsWith(Vault.open(db, 'erin', randomBytes(32), true), 'wrong')
    await rejectsWith(Vault.open(db, 'erin', PASS, true), 'wrong')
    await rejectsWith(Vault.open(db, 'erin', undefined, true), 'required')
    await rejectsWith(Vault.open(db, 'frank', randomBytes(16), false), 'invalid')
    await Vault.open(db, 'grace', PASS, false)
    await rejectsWith(Vault.open(db, 'grace', key, true), 'wrong')
  })

  it('seals the identity key: the stored record holds neither key in the clear', async () => {
    const vault = await Vault.open(db, 'dave', 'dave\'s long secret', false)
    const store = new IdentityStore(db)
    const { identity, created } = await store.loadOrCreate('dave', vault)
    assert.equal(created, true)
    const stored = await raw(db, 'identities').get('dave') as string
    assert.ok(!stored.includes(Buffer.from(identity.privateKey).toString('base64')))
    assert.ok(!Buffer.from(stored.slice(2), 'base64').includes(Buffer.from(identity.privateKey)))
    const back = await store.loadOrCreate('dave', await Vault.open(db, 'dave', 'dave\'s long secret', true))
    assert.equal(back.created, false)
    assert.deepEqual(back.identity, identity)
  })

  describe('a vault of the first format', () => {
    /**
     * What the first format wrote: a record, the identity and two of the user's secret
     * values, and another user's value.
     */
    type Legacy = Promise<{ identity: ReturnType<typeof generateIdentity>, userId: string }>
    async function legacyVault (passphrase: string): Legacy {
      const salt = randomBytes(16)
      const key = scryptSync(passphrase.normalize('NFKC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
      const seal = (s: string): string => {
        const nonce = randomBytes(12)
        return Buffer.concat([nonce, aeadSeal(key, nonce, Buffer.from(s), new TextEncoder().encode('chorus/vault/1'))]).toString('base64')
      }
      const identity = generateIdentity()
      const { userIdOf } = await import('../../protocol/envelope.js')
      const userId = userIdOf(identity.publicKey)
      await raw(db, 'vault').put('erin', JSON.stringify({ salt: salt.toString('base64'), check: seal('chorus vault check') }))
      await raw(db, 'identities').put('erin',
        seal(
          JSON.stringify({
            publicKey: Buffer.from(identity.publicKey).toString('base64'),
            privateKey: Buffer.from(identity.privateKey).toString('base64')
          })
        ))
      await raw(db, 'secret').batch([
        { type: 'put', key: `sess!${userId}!peer`, value: seal('a session of erin') },
        { type: 'put', key: `hist!${userId}!peer!01`, value: seal('a message of erin') },
        { type: 'put', key: 'sess!someoneelse!peer', value: 'not erin\'s' }
      ])
      return { identity, userId }
    }

    it('is migrated when opened (short passphrase kept): new salt and cost, every value sealed again bound to its key', async () => {
      const { identity, userId } = await legacyVault('short')
      await rejectsWith(Vault.open(db, 'erin', 'wrong', true), 'wrong')
      assert.equal(JSON.parse(await raw(db, 'vault').get('erin') as string).v, undefined, 'a wrong passphrase changes nothing')
      const vault = await Vault.open(db, 'erin', 'short', true)
      const record = JSON.parse(await raw(db, 'vault').get('erin') as string)
      assert.equal(record.v, 2)
      assert.equal(record.logN, DEFAULT_SCRYPT_LOG_N)
      assert.equal(record.from, undefined, 'done')
      const store = secretStore(db, vault)
      assert.equal(await store.get(`sess!${userId}!peer`), 'a session of erin')
      assert.equal(await store.get(`hist!${userId}!peer!01`), 'a message of erin')
      assert.equal(await raw(db, 'secret').get('sess!someoneelse!peer'), 'not erin\'s', 'another user\'s values are left alone')
      const back = await new IdentityStore(db).loadOrCreate('erin', vault)
      assert.deepEqual(back.identity, identity)
      // and it opens again in the new format
      assert.equal(await secretStore(db, await Vault.open(db, 'erin', 'short', true)).get(`sess!${userId}!peer`), 'a session of erin')
    })

    it('resumes a migration that was cut short', async () => {
      const { userId } = await legacyVault('a passphrase')
      await Vault.open(db, 'erin', 'a passphrase', true)
      // as if the process had died before the last value and the end of the migration were written
      const record = JSON.parse(await raw(db, 'vault').get('erin') as string)
      const done = await raw(db, 'secret').get(`hist!${userId}!peer!01`) as string
      const salt = randomBytes(16)
      const key = scryptSync('a passphrase', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
      const nonce = randomBytes(12)
      const legacyAd = new TextEncoder().encode('chorus/vault/1')
      const legacyValue = Buffer.concat([nonce, aeadSeal(key, nonce, Buffer.from('written before the crash'), legacyAd)]).toString('base64')
      const legacyCheckNonce = randomBytes(12)
      const legacyCheck = Buffer.concat([legacyCheckNonce, aeadSeal(key, legacyCheckNonce, Buffer.from('chorus vault check'), legacyAd)])
        .toString('base64')
      await raw(db, 'vault').put('erin',
        JSON.stringify({ ...record, from: { salt: salt.toString('base64'), check: legacyCheck, logN: 15 } }))
      await raw(db, 'secret').put(`hist!${userId}!peer!02`, legacyValue)
      const vault = await Vault.open(db, 'erin', 'a passphrase', true)
      const store = secretStore(db, vault)
      assert.equal(await store.get(`hist!${userId}!peer!02`), 'written before the crash')
      assert.equal(await raw(db, 'secret').get(`hist!${userId}!peer!01`), done, 'what was migrated is left as it was')
      assert.equal(JSON.parse(await raw(db, 'vault').get('erin') as string).from, undefined)
    })
  })
})
