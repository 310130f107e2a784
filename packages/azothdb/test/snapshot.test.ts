import { join } from 'node:path'
import { Azoth, type Snapshot, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { accountKey, balancesProjector, openAccounts, runTransfers } from './support/bank.js'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Transfers among 50 accounts by 8 callers in the background, until `finish()`. */
function transferLoad(db: Azoth, seed: number): { finish(): Promise<void> } {
  let done = false
  const running = runTransfers(db, {
    callers: 8,
    accounts: 50,
    maxAmount: 300,
    seed,
    idBase: 1,
    stop: () => done,
  })
  return {
    async finish() {
      done = true
      await running
    },
  }
}

async function move(db: Azoth, from: string, to: string, amount: bigint): Promise<void> {
  await db
    .transaction()
    .keys([from, to])
    .execute((tx) => {
      tx.update(from, (v) => TypedValue.i64(v!.asI64() - amount))
      tx.update(to, (v) => TypedValue.i64(v!.asI64() + amount))
      tx.log('moved', { from, to, amount: Number(amount) })
    })
}

describe.each(['lmdb', 'file'] as const)('db.snapshot() (eventLog %s)', (eventLog) => {
  it('reads of one snapshot add up while transfers commit between them, across awaits', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.writeBatch().put('alice', TypedValue.i64(100n)).put('bob', TypedValue.i64(0n)).commit()
    for (let i = 1; i <= 10; i++) {
      using snap = db.snapshot()
      const alice = snap.get('alice').asI64()
      await move(db, 'alice', 'bob', 1n) // lands between the two reads
      await sleep(1)
      expect(db.get('alice').asI64()).toBe(alice - 1n) // the database moved on
      expect(alice + snap.get('bob').asI64()).toBe(100n)
      expect([...snap.scan('')].reduce((sum, e) => sum + e.value.asI64(), 0n)).toBe(100n)
      expect(snap.exists('carol')).toBe(false)
    }
    using fresh = db.snapshot()
    expect(fresh.get('alice').asI64()).toBe(90n)
    // Like the database: get needs a value, getOpt does not.
    expect(fresh.getOpt('carol')).toBeUndefined()
    expect(() => fresh.get('carol')).toThrowError(expect.objectContaining({ code: 'NOT_FOUND' }))
  })

  it('a scan of a snapshot iterated during a transfer load sees one moment: money is conserved', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await openAccounts(db, 50)
    const load = transferLoad(db, 7)
    const heads = new Set<number>()
    for (let round = 0; round < 6; round++) {
      using snap = db.snapshot()
      let total = 0n
      for (const entry of snap.scan('acct/')) {
        total += entry.value.asI64()
        heads.add(db.head())
        await sleep(0) // transfers commit while the scan is half done
      }
      expect(total).toBe(1000n * 50n)
    }
    await load.finish()
    expect(heads.size).toBeGreaterThan(1) // commits really landed during the scans
  })

  it('is closed by close(), by `using`, and by db.close(); reads then raise CLOSED', async () => {
    const db = await Azoth.open(tempDir(), { eventLog })
    await db.writeBatch().put(accountKey(1), TypedValue.i64(5n)).commit()
    const closedByHand = db.snapshot()
    closedByHand.close()
    closedByHand.close() // harmless
    await expectCode(() => closedByHand.get(accountKey(1)), 'CLOSED')
    let scoped: Snapshot | undefined
    {
      using snap = db.snapshot()
      scoped = snap
    }
    await expectCode(() => scoped.exists(accountKey(1)), 'CLOSED')
    const open = db.snapshot()
    const scan = open.scan('acct/')
    scan.next()
    await db.close()
    await expectCode(() => open.get(accountKey(1)), 'CLOSED')
    await expectCode(() => scan.next(), 'CLOSED')
    await expectCode(() => db.snapshot(), 'CLOSED')
    open[Symbol.dispose]()
  })
})

describe('promise-returning methods reject instead of throwing', () => {
  it('query() and migrate() after close, and migrate() on a read-only database', async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir)
    const readOnly = await Azoth.openReadOnly(dir)
    let migrating: Promise<number> | undefined
    expect(() => {
      migrating = readOnly.migrate([])
    }).not.toThrow()
    await expectCode(migrating!, 'READ_ONLY')
    await readOnly.close()
    await db.close()
    let querying: Promise<unknown> | undefined
    expect(() => {
      querying = db.query('SELECT 1')
      migrating = db.migrate([])
    }).not.toThrow()
    await expectCode(querying!, 'CLOSED')
    await expectCode(migrating!, 'CLOSED')
  })
})

describe('backups that overlap', () => {
  it('each restores to its sealed head while transfers go on: the first to end does not resume the other', async () => {
    await using db = await Azoth.open(tempDir())
    const projector = await balancesProjector(db)
    await openAccounts(db, 50)
    const load = transferLoad(db, 11)
    // Whether transfers slip in before the second backup ends depends on timing: a few rounds.
    for (let round = 0; round < 6; round++) {
      const start = db.head()
      while (db.head() < start + 100) await sleep(2)
      const dirs = [join(tempDir(), 'one'), join(tempDir(), 'two')]
      // Both start in the same turn, so they share one pause; whichever ends first must not lift
      // it while the other still copies (a transfer slipping in would make that copy newer than
      // its sealed head, and its restore would refuse it).
      const manifests = await Promise.all(dirs.map((dir) => db.backupTo(dir)))
      const sealed = manifests[0]!.sealedEventId
      expect(manifests[1]!.sealedEventId).toBe(sealed)
      expect(db.head()).toBe(sealed) // the held transfers go only now
      for (const [i, dir] of dirs.entries()) {
        await using restored = await Azoth.restoreFrom(dir, join(tempDir(), `restored-${i}`))
        expect(restored.head()).toBe(sealed)
      }
    }
    await load.finish()
    await projector.stop()
  }, 60_000)
})
