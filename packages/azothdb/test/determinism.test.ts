import { join } from 'node:path'
import { openFileEventLog } from '@azothdb/store-filelog'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { Azoth, fixedClock, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { prng } from './support/bank.js'
import { tempDir } from './support/temp-dir.js'

const CLOCK_MS = 1_700_000_000_000

/** A fixed sequence of transactions touching every value kind and every way to log an event. */
async function workload(db: Azoth): Promise<void> {
  const random = prng(7)
  await db
    .writeBatch()
    .put('kinds/i64', TypedValue.i64(-42n))
    .put('kinds/u256', TypedValue.u256(2n ** 255n + 1n))
    .put('kinds/string', TypedValue.string('héllo'))
    .put('kinds/bytes', TypedValue.bytes(new Uint8Array([0, 1, 2, 255])))
    .put('kinds/bool', TypedValue.bool(true))
    .put('kinds/f64', TypedValue.f64(Math.PI))
    .put('kinds/set', TypedValue.set(new Set(['b', 'a', 'c'])))
    .put('kinds/array', TypedValue.array(['z', 'y']))
    .put('kinds/json', TypedValue.json({ b: 1, a: [1, 2, { c: 'd' }] }))
    .appendEvent('seeded', { kinds: 9 }, { correlationId: 'seed' })
    .commit()
  for (let i = 0; i < 200; i++) {
    const key = `counter/${Math.floor(random() * 20)}`
    const n = Math.floor(random() * 1000)
    await db
      .transaction()
      .keys([key, 'log/last'])
      .execute((tx) => {
        tx.update(key, (v) => TypedValue.i64((v?.asI64() ?? 0n) + BigInt(n)))
        tx.set('log/last', TypedValue.json({ i, key, n }))
        if (i % 3 === 0) tx.log('bumped', { key, n }, { correlationId: `c${i}`, causationId: `p${i}` })
        else if (i % 3 === 1)
          tx.logMany([
            ['a', { i }],
            ['b', [i, key]],
          ])
        else tx.logBytes(new Uint8Array([i & 255, n & 255, 7]), 'raw')
        if (i % 17 === 0) tx.delete('log/last')
      })
  }
  // Concurrent transactions on distinct keys without async preflight: their commit order is their call order.
  await Promise.all(
    Array.from({ length: 32 }, (_, i) =>
      db
        .transaction()
        .keys([`parallel/${i}`])
        .execute((tx) => {
          tx.set(`parallel/${i}`, BigInt(i))
          tx.log('parallel', { i })
        }),
    ),
  )
}

/** The envelopes as stored, read through the event log's own package (the database keeps its stores private). */
async function storedEnvelopes(db: Azoth): Promise<{ id: number; bytes: string }[]> {
  const hex = (records: Iterable<{ id: number; bytes: Uint8Array }>) =>
    [...records].map((r) => ({ id: r.id, bytes: Buffer.from(r.bytes).toString('hex') }))
  if (db.eventLogKind === 'file') {
    const log = await openFileEventLog(join(db.dir, 'events'), { readOnly: true })
    try {
      return hex(log.read())
    } finally {
      await log.close()
    }
  }
  const store = await openLmdbStore(join(db.dir, 'canonical'), { readOnly: true })
  try {
    return hex(store.events())
  } finally {
    await store.close()
  }
}

async function runInto(eventLog: 'lmdb' | 'file') {
  await using db = await Azoth.open(tempDir(), { eventLog, clock: fixedClock(CLOCK_MS) })
  await workload(db)
  return {
    digest: db.stateDigest(),
    head: db.head(),
    events: [...db.events()],
    envelopes: await storedEnvelopes(db),
    state: [...db.scan('')].map((e) => [e.key, e.value.kind]),
  }
}

describe.each(['lmdb', 'file'] as const)('determinism (eventLog %s)', (eventLog) => {
  it('the same transactions with a fixed clock give identical state digests and event bytes', async () => {
    const first = await runInto(eventLog)
    const second = await runInto(eventLog)
    // 1 seed event, 67 `bumped`, 67 × 2 from logMany, 66 `raw`, 32 `parallel`.
    expect(first.head).toBe(300)
    expect(first.events.every((e) => e.timestamp === CLOCK_MS)).toBe(true)
    expect(second.digest).toBe(first.digest)
    expect(second.head).toBe(first.head)
    expect(second.events).toEqual(first.events)
    expect(second.envelopes).toEqual(first.envelopes)
    expect(second.state).toEqual(first.state)
  }, 60_000)
})

describe('determinism across event log backends', () => {
  it('lmdb and file logs hold the same envelopes and state for the same transactions', async () => {
    const lmdb = await runInto('lmdb')
    const file = await runInto('file')
    expect(file.digest).toBe(lmdb.digest)
    expect(file.envelopes).toEqual(lmdb.envelopes)
  }, 60_000)
})
