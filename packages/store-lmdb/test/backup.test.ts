import { decodeEvent, TypedValue } from '@azothdb/core'
import { openLmdbStore, restoreLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const ACCOUNTS = 20
const START = 1000n

describe('backup and restore', () => {
  it('a backup taken during a write storm restores to the state at a commit boundary', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir, { durability: 'relaxed' })
    await store.commit((tx) => {
      for (let a = 0; a < ACCOUNTS; a++) tx.put(`acct/${a}`, TypedValue.i64(START))
      tx.put('transfers', TypedValue.i64(0n))
    })
    let stop = false
    const writer = async (seed: number) => {
      let x = seed
      while (!stop) {
        x = (x * 1103515245 + 12345) % 2 ** 31
        const from = x % ACCOUNTS
        const to = (x >> 8) % ACCOUNTS
        const amount = BigInt(x % 50)
        await store.commit((tx) => {
          const a = tx.get(`acct/${from}`)!.asI64()
          if (a < amount || from === to) return
          tx.put(`acct/${from}`, TypedValue.i64(a - amount))
          tx.put(`acct/${to}`, TypedValue.i64(tx.get(`acct/${to}`)!.asI64() + amount))
          tx.put('transfers', TypedValue.i64(tx.get('transfers')!.asI64() + 1n))
          tx.appendEvent('transfer', { from, to, amount: Number(amount) })
        })
      }
    }
    const writers = Array.from({ length: 32 }, (_, i) => writer(i + 1))
    await new Promise((r) => setTimeout(r, 100))
    const backups = [tempDir(), tempDir()]
    const infos = []
    for (const b of backups) {
      infos.push(await store.backup(`${b}/copy`))
      await new Promise((r) => setTimeout(r, 50))
    }
    stop = true
    await Promise.all(writers)
    const finalHead = store.head()
    await store.close()

    for (const [i, b] of backups.entries()) {
      const target = `${tempDir()}/restored`
      const head = restoreLmdbStore(`${b}/copy`, target)
      expect(head).toBe(infos[i]!.head)
      expect(head).toBeGreaterThan(0)
      expect(head).toBeLessThanOrEqual(finalHead)
      const restored = await openLmdbStore(target)
      // Replaying the restored events from the initial balances gives exactly the restored state.
      const balances = Array.from({ length: ACCOUNTS }, () => START)
      let count = 0n
      for (const r of restored.events()) {
        const e = decodeEvent<{ from: number; to: number; amount: number }>(r.id, r.bytes)
        balances[e.payload.from]! -= BigInt(e.payload.amount)
        balances[e.payload.to]! += BigInt(e.payload.amount)
        count++
      }
      expect(count).toBe(BigInt(head))
      expect(restored.get('transfers')?.asI64()).toBe(count)
      for (let a = 0; a < ACCOUNTS; a++) expect(restored.get(`acct/${a}`)?.asI64()).toBe(balances[a])
      // Open for writes.
      await restored.commit((tx) => tx.appendEvent('after-restore', {}))
      expect(restored.head()).toBe(head + 1)
      await restored.close()
    }
  }, 60_000)

  it('refuses to restore a damaged or missing backup, or into a non-empty directory', async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => tx.put('a', TypedValue.i64(1n)))
    const b = `${tempDir()}/copy`
    await store.backup(b)
    await expect(store.backup(b)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await store.close()
    expect(() => restoreLmdbStore(`${tempDir()}/nothing`, `${tempDir()}/t`)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    )
    const occupied = tempDir()
    await openLmdbStore(occupied).then((s) => s.close())
    expect(() => restoreLmdbStore(b, occupied)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    const { writeFileSync } = await import('node:fs')
    const garbage = tempDir()
    writeFileSync(`${garbage}/data.mdb`, Buffer.alloc(64 * 1024, 7))
    expect(() => restoreLmdbStore(garbage, `${tempDir()}/t`)).toThrow(
      expect.objectContaining({ code: 'CORRUPTION' }),
    )
    expect(() => restoreLmdbStore(b, '')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  it('a restore killed mid-copy leaves no data.mdb; a rerun removes its leftover and restores', async () => {
    const { existsSync, readFileSync, writeFileSync, mkdirSync } = await import('node:fs')
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => tx.appendEvent('one', {}))
    const b = `${tempDir()}/b`
    await store.backup(b)
    await store.close()
    // What a kill mid-copy leaves: the first part of the data file under the temporary name.
    const target = `${tempDir()}/t`
    mkdirSync(target)
    writeFileSync(`${target}/data.mdb.restoring`, readFileSync(`${b}/data.mdb`).subarray(0, 4096))
    expect(existsSync(`${target}/data.mdb`)).toBe(false)
    await expect(openLmdbStore(target, { mustExist: true })).rejects.toMatchObject({ code: 'CORRUPTION' })
    expect(restoreLmdbStore(b, target)).toBe(1)
    expect(existsSync(`${target}/data.mdb.restoring`)).toBe(false)
    const restored = await openLmdbStore(target, { mustExist: true })
    expect(restored.head()).toBe(1)
    await restored.close()
  })
})
