import { join } from 'node:path'
import { ManualClock, TypedValue } from '@azothdb/core'
import { DATA_FILE, openLmdbStore } from '@azothdb/store-lmdb'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { flipBit, occurrences } from './support/bit-flips.js'
import { codeOf } from './support/code-of.js'
import { tempDir } from './support/temp-dir.js'

/**
 * Entries of the store's `idempotency` database: order entries (first byte 0, one per group commit
 * that stored keys) and records (1, one per key).
 */
function tableEntries(dir: string): { order: number; records: number } | undefined {
  const env = open({ path: join(dir, DATA_FILE), readOnly: true, maxDbs: 8 })
  try {
    // lmdb-js returns undefined for a missing database when create is false (its typings omit both).
    const options = { name: 'idempotency', keyEncoding: 'binary', encoding: 'binary', create: false }
    const db = env.openDB(options as { name: string }) as ReturnType<typeof env.openDB> | undefined
    if (db === undefined) return undefined
    let order = 0
    let records = 0
    for (const key of db.getKeys()) {
      if ((key as Buffer)[0] === 0) order++
      else records++
    }
    return { order, records }
  } finally {
    void env.close()
  }
}

const keyed = (key: string) => ({ idempotencyKey: key, operation: 'op' })

describe('the idempotency table', () => {
  it('holds the last maxKeys keys however many were stored: expiry keeps up commit by commit', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir, { durability: 'relaxed', idempotency: { maxKeys: 10 } })
    for (let i = 0; i < 200; i++) await store.commit((tx) => tx.appendEvent('E', i), keyed(`k-${i}`))
    expect((await store.commit(() => 'not run', keyed('k-199'))).duplicate).toBe(true)
    expect((await store.commit(() => 'runs', keyed('k-189'))).duplicate).toBe(false)
    await store.close()
    expect(tableEntries(dir)).toEqual({ order: 10, records: 10 })
  })

  it('expires by age a bounded number of keys per commit, and catches up over the next ones', async () => {
    const dir = tempDir()
    const clock = new ManualClock(0)
    const store = await openLmdbStore(dir, { durability: 'relaxed', clock, idempotency: { maxAgeMs: 100 } })
    // 100 keys, one per group commit, then all of them out of the window at once.
    for (let i = 0; i < 100; i++) await store.commit(() => i, keyed(`old-${i}`))
    clock.advance(101)
    await store.commit(() => undefined, keyed('new-1'))
    await store.close()
    // One key stored: the commit removed one expired key per key it stored plus 32, not all 100.
    expect(tableEntries(dir)).toEqual({ order: 101 - 33, records: 101 - 33 })
    const reopened = await openLmdbStore(dir, {
      durability: 'relaxed',
      clock,
      idempotency: { maxAgeMs: 100 },
    })
    // Expired keys are not duplicates, removed or not yet.
    expect((await reopened.commit(() => 'again', keyed('old-99'))).duplicate).toBe(false)
    await reopened.commit(() => undefined, keyed('new-2'))
    await reopened.close()
    // 33 more per commit: what is left is new-1, old-99 (stored again), new-2, and the order entry
    // of old-99's first storing (the last of the 100), whose record is the new one's now.
    expect(tableEntries(dir)).toEqual({ order: 4, records: 3 })
  })

  it('the keys of one group commit expire together, in one order entry', async () => {
    const dir = tempDir()
    const clock = new ManualClock(0)
    const store = await openLmdbStore(dir, { durability: 'relaxed', clock, idempotency: { maxAgeMs: 100 } })
    const group = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.commit(() => i, keyed(`g-${i}`))),
    )
    expect(group.every((r) => !r.duplicate)).toBe(true)
    expect(store.commitStats().groups).toBe(1)
    expect((await store.commit(() => 'x', keyed('g-57'))).result).toBe(57)
    clock.advance(101)
    await store.commit(() => undefined, keyed('later'))
    await store.close()
    expect(tableEntries(dir)).toEqual({ order: 1, records: 1 })
  })

  it('a store without the table (written before idempotency keys) opens, read-only too, and gets it at the first writable open', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => tx.put('a', TypedValue.i64(1n)))
    await store.close()
    const env = open({ path: join(dir, DATA_FILE), maxDbs: 8 })
    await env.openDB({ name: 'idempotency', keyEncoding: 'binary', encoding: 'binary' }).drop()
    await env.close()
    expect(tableEntries(dir)).toBeUndefined()

    const reader = await openLmdbStore(dir, { readOnly: true })
    expect(reader.get('a')?.asI64()).toBe(1n)
    await reader.close()
    expect(tableEntries(dir)).toBeUndefined()

    const writer = await openLmdbStore(dir)
    expect((await writer.commit(() => 1, keyed('first'))).duplicate).toBe(false)
    expect(await writer.commit(() => 2, keyed('first'))).toMatchObject({ duplicate: true, result: 1 })
    expect((await writer.verify()).ok).toBe(true)
    await writer.close()
    expect(tableEntries(dir)).toEqual({ order: 1, records: 1 })
  })

  it('a damaged record is CORRUPTION for the commit that needs it, never a silent re-apply', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => tx.put('n', TypedValue.i64(1n)), keyed('damaged-record-key'))
    await store.close()
    const needle = Buffer.from('\u0001damaged-record-key')
    // A leaf node holds the key, then the value: flip a bit of the record's stored result counts.
    const flipped = flipBit(join(dir, DATA_FILE), (data) => occurrences(data, needle), needle.length + 30, 0)
    expect(flipped).toBeGreaterThan(0)
    const reopened = await openLmdbStore(dir)
    const report = await reopened.verify()
    expect(report.ok).toBe(false)
    expect(report.problems).toMatchObject([{ kind: 'idempotency' }])
    expect(report.checked.idempotencyEntries).toBe(2)
    let ran = false
    expect(
      await codeOf(
        reopened.commit((tx) => {
          ran = true
          tx.put('n', TypedValue.i64(2n))
        }, keyed('damaged-record-key')),
      ),
    ).toBe('CORRUPTION')
    expect(ran).toBe(false)
    expect(reopened.get('n')?.asI64()).toBe(1n)
    // Other commits go on.
    await reopened.commit((tx) => tx.put('m', TypedValue.i64(1n)), keyed('other'))
    await reopened.close()
  })

  it('a duplicate gets back what the first commit returned, exactly', async () => {
    const dir = tempDir()
    const results: unknown[] = [
      {
        n: 1,
        negZero: -0,
        nan: Number.NaN,
        s: 'é\u{1F600}',
        nul: null,
        u: undefined,
        big: -5n,
        t: true,
        f: false,
      },
      JSON.parse('{"__proto__": 1, "x": "own keys stay own"}'),
      { nested: { deep: [1, 2n] }, when: new Date(0), map: new Map([['k', new Uint8Array([1, 2])]]) },
      'a string',
      42n,
      null,
      undefined,
    ]
    let store = await openLmdbStore(dir)
    for (const [i, result] of results.entries()) await store.commit(() => result, keyed(`r-${i}`))
    await store.close()
    store = await openLmdbStore(dir)
    for (const [i, result] of results.entries()) {
      const again = await store.commit(() => 'not run', keyed(`r-${i}`))
      expect(again.duplicate).toBe(true)
      expect(again.result).toStrictEqual(result)
      if (result !== null && typeof result === 'object') {
        expect(Object.keys(again.result as unknown as object)).toEqual(Object.keys(result))
      }
    }
    const protoKey = (await store.commit(() => 0, keyed('r-1'))).result as unknown as object
    expect(Object.hasOwn(protoKey, '__proto__')).toBe(true)
    await store.close()
  })

  it('bad commit options are INVALID_ARGUMENT and nothing runs', async () => {
    const store = await openLmdbStore(tempDir())
    for (const options of [{ idempotencyKey: 5 }, { idempotencyKey: '' }, { key: 'x' }, { operation: 7 }]) {
      expect(await codeOf(store.commit(() => undefined, options as never))).toBe('INVALID_ARGUMENT')
    }
    expect(store.commitStats().commits).toBe(0)
    await store.close()
  })
})
