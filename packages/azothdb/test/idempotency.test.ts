import { join } from 'node:path'
import { Azoth, ManualClock, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const added = (sku: string) => ({ type: 'ItemAdded', data: { sku } })

/** Everything a duplicate must leave as it was: the head, the streams, the state. */
function footprint(db: Azoth): unknown {
  return {
    head: db.head(),
    streams: [...db.streams()],
    state: [...db.scan('')].map((e) => [e.key, e.value.kind, e.value.value]),
  }
}

describe.each(['lmdb', 'file'] as const)('idempotency keys (eventLog %s)', (eventLog) => {
  it('a retried append returns the first result and appends nothing, whatever it expects now', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const first = await db.appendToStream('cart-1', [added('a'), added('b')], {
      expectedStreamVersion: 'no_stream',
      idempotencyKey: 'req-1',
    })
    expect(first).toEqual({
      nextExpectedStreamVersion: 1n,
      firstEventId: 1,
      lastEventId: 2,
      createdNewStream: true,
      duplicate: false,
    })
    const before = footprint(db)
    // The retry still says 'no_stream' (it is the same request): no CONFLICT, no second append.
    const retry = await db.appendToStream('cart-1', [added('a'), added('b')], {
      expectedStreamVersion: 'no_stream',
      idempotencyKey: 'req-1',
    })
    expect(retry).toEqual({ ...first, duplicate: true })
    expect(footprint(db)).toEqual(before)
    expect((await db.readStream('cart-1')).events).toHaveLength(2)
    // Another key is another request: it appends, and meets the expected version like any append.
    await expectCode(
      db.appendToStream('cart-1', [added('c')], {
        expectedStreamVersion: 'no_stream',
        idempotencyKey: 'req-2',
      }),
      'CONFLICT',
    )
    // A failed commit records no key: the corrected retry applies.
    const fixed = await db.appendToStream('cart-1', [added('c')], {
      expectedStreamVersion: 1n,
      idempotencyKey: 'req-2',
    })
    expect(fixed).toMatchObject({ nextExpectedStreamVersion: 2n, duplicate: false })
  })

  it('a retried transaction runs nothing, writes nothing and returns the first result, even when its preflight now fails', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.writeBatch().put('alice', TypedValue.i64(100n)).commit()
    let runs = 0
    const transfer = () =>
      db
        .transaction()
        .idempotencyKey('transfer-7')
        .requireMin('alice', 60n)
        .keys(['bob'])
        .streams(['ledger-1'])
        .execute((tx) => {
          runs++
          tx.update('alice', (v) => TypedValue.i64(v!.asI64() - 60n))
          tx.set('bob', TypedValue.i64(60n))
          const out = tx.appendToStream('ledger-1', [{ type: 'Moved', data: { amount: 60 } }])
          return { version: out.nextExpectedStreamVersion, at: new Map([['alice', 40n]]) }
        })
    const first = await transfer()
    expect(first).toMatchObject({ eventsWritten: 1, stateKeysWritten: 2, duplicate: false })
    const before = footprint(db)
    // alice has 40 now: the checks fail, yet the request did apply once, so it is a duplicate.
    const retry = await transfer()
    expect(retry).toEqual({ ...first, duplicate: true })
    expect(retry.result).toEqual({ version: 0n, at: new Map([['alice', 40n]]) })
    expect(runs).toBe(1)
    expect(footprint(db)).toEqual(before)
    expect(db.get('alice').asI64()).toBe(40n)
    // Without a key the failed preflight is what it is.
    await expectCode(
      db
        .transaction()
        .requireMin('alice', 60n)
        .execute(() => undefined),
      'PREFLIGHT_FAILED',
    )
    // With a new key too: nothing was committed under it.
    await expectCode(
      db
        .transaction()
        .idempotencyKey('transfer-8')
        .requireMin('alice', 60n)
        .execute(() => undefined),
      'PREFLIGHT_FAILED',
    )
  })

  it('a retried write batch writes nothing', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const batch = () =>
      db.writeBatch().idempotencyKey('import-3').put('k', 1n).appendEvent('Imported', 1).commit()
    const first = await batch()
    await db.writeBatch().put('k', 2n).commit()
    const before = footprint(db)
    expect(await batch()).toEqual({ ...first, duplicate: true })
    expect(footprint(db)).toEqual(before)
    expect(db.get('k').asI64()).toBe(2n)
  })

  it('a key reused for another operation is INVALID_ARGUMENT and writes nothing', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('cart-1', [added('a')], { idempotencyKey: 'k' })
    const before = footprint(db)
    await expectCode(db.appendToStream('cart-2', [added('a')], { idempotencyKey: 'k' }), 'INVALID_ARGUMENT')
    await expectCode(db.writeBatch().idempotencyKey('k').put('x', 1).commit(), 'INVALID_ARGUMENT')
    await expectCode(
      db
        .transaction()
        .idempotencyKey('k')
        .keys(['x'])
        .execute((tx) => tx.set('x', 1)),
      'INVALID_ARGUMENT',
    )
    expect(footprint(db)).toEqual(before)
    // The database goes on.
    expect((await db.appendToStream('cart-1', [added('b')], { idempotencyKey: 'k' })).duplicate).toBe(true)
  })

  it('bad keys are INVALID_ARGUMENT before anything is written', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const bad: unknown[] = ['', 42, null, {}, 'x'.repeat(256), '\u00e9'.repeat(128), 'lone \ud800']
    for (const key of bad) {
      await expectCode(
        db.appendToStream('cart-1', [added('a')], { idempotencyKey: key as string }),
        'INVALID_ARGUMENT',
      )
      await expectCode(() => db.transaction().idempotencyKey(key as string), 'INVALID_ARGUMENT')
      await expectCode(() => db.writeBatch().idempotencyKey(key as string), 'INVALID_ARGUMENT')
    }
    await expectCode(
      db
        .transaction()
        .streams(['cart-1'])
        .execute((tx) => tx.appendToStream('cart-1', [added('a')], { idempotencyKey: 'in-tx' })),
      'INVALID_ARGUMENT',
    )
    // The longest key fits.
    const longest = 'x'.repeat(255)
    expect((await db.appendToStream('cart-1', [added('a')], { idempotencyKey: longest })).duplicate).toBe(
      false,
    )
    expect(db.head()).toBe(1)
  })

  it('a result that cannot be stored refuses the keyed transaction and writes nothing', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await expectCode(
      db
        .transaction()
        .idempotencyKey('f')
        .keys(['x'])
        .execute((tx) => {
          tx.set('x', 1)
          return () => 'a function'
        }),
      'INVALID_ARGUMENT',
    )
    expect(db.getOpt('x')).toBeUndefined()
    // Nothing was recorded under the key either.
    const ok = await db
      .transaction()
      .idempotencyKey('f')
      .keys(['x'])
      .execute((tx) => tx.set('x', 1))
    expect(ok.duplicate).toBe(false)
  })

  it('concurrent calls with one key apply once, inside one group commit', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const groupsBefore = (await db.metrics()).commits.groups
    const calls = Array.from({ length: 16 }, () =>
      db.appendToStream('cart-1', [added('a')], {
        expectedStreamVersion: 'no_stream',
        idempotencyKey: 'once',
      }),
    )
    const batches = Array.from({ length: 4 }, () =>
      db.writeBatch().idempotencyKey('batch-once').appendEvent('E', 1).commit(),
    )
    const results = await Promise.all(calls)
    const batchResults = await Promise.all(batches)
    // Issued in one turn: one group, in which the first member's key makes the others duplicates.
    expect((await db.metrics()).commits.groups - groupsBefore).toBe(1)
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1)
    for (const r of results) expect(r).toEqual({ ...results[0]!, duplicate: r.duplicate })
    expect(batchResults.filter((r) => !r.duplicate)).toHaveLength(1)
    expect(db.head()).toBe(2)
    expect((await db.readStream('cart-1')).currentStreamVersion).toBe(0n)
  })

  it('keys survive a reopen, and a backup and restore', async () => {
    const dir = tempDir()
    const backupDir = join(tempDir(), 'backup')
    let first: unknown
    {
      await using db = await Azoth.open(dir, { eventLog })
      first = await db.appendToStream('cart-1', [added('a')], { idempotencyKey: 'survives' })
      await db
        .transaction()
        .idempotencyKey('tx')
        .keys(['n'])
        .execute((tx) => tx.set('n', 1n))
    }
    {
      await using db = await Azoth.open(dir)
      expect(await db.appendToStream('cart-1', [added('a')], { idempotencyKey: 'survives' })).toEqual({
        ...(first as object),
        duplicate: true,
      })
      await db.backupTo(backupDir)
      // Two keys: a record and an order entry each, every checksum checked.
      expect(await db.verify()).toMatchObject({ ok: true, checked: { idempotencyEntries: 4 } })
    }
    await using restored = await Azoth.restoreFrom(backupDir, join(tempDir(), 'restored'))
    expect(await restored.appendToStream('cart-1', [added('a')], { idempotencyKey: 'survives' })).toEqual({
      ...(first as object),
      duplicate: true,
    })
    const tx = await restored
      .transaction()
      .idempotencyKey('tx')
      .keys(['n'])
      .execute((t) => t.set('n', 2n))
    expect(tx.duplicate).toBe(true)
    expect(restored.get('n').asI64()).toBe(1n)
    expect(restored.head()).toBe(1)
  })

  it('keys expire by count: the last maxKeys keys are remembered', async () => {
    const dir = tempDir()
    const idempotency = { maxKeys: 3 }
    {
      await using db = await Azoth.open(dir, { eventLog, idempotency })
      for (const k of ['k1', 'k2', 'k3', 'k4'])
        await db.appendToStream('s-1', [added(k)], { idempotencyKey: k })
      // k2..k4 are the last three keys: duplicates.
      for (const k of ['k2', 'k3', 'k4']) {
        expect((await db.appendToStream('s-1', [added(k)], { idempotencyKey: k })).duplicate).toBe(true)
      }
    }
    await using db = await Azoth.open(dir, { idempotency })
    expect((await db.appendToStream('s-1', [added('k4')], { idempotencyKey: 'k4' })).duplicate).toBe(true)
    // k1 fell out of the window: the request applies again.
    expect((await db.appendToStream('s-1', [added('k1')], { idempotencyKey: 'k1' })).duplicate).toBe(false)
    expect((await db.readStream('s-1')).currentStreamVersion).toBe(4n)
    // Storing k1 again pushed k2 out.
    expect((await db.appendToStream('s-1', [added('k2')], { idempotencyKey: 'k2' })).duplicate).toBe(false)
    expect((await db.appendToStream('s-1', [added('k1')], { idempotencyKey: 'k1' })).duplicate).toBe(true)
  })

  it('a smaller window at reopen applies at once, before expiry has removed anything', async () => {
    const dir = tempDir()
    {
      await using db = await Azoth.open(dir, { eventLog })
      for (const k of ['k1', 'k2', 'k3']) await db.appendToStream('s-1', [added(k)], { idempotencyKey: k })
    }
    await using db = await Azoth.open(dir, { idempotency: { maxKeys: 1 } })
    expect((await db.appendToStream('s-1', [added('k3')], { idempotencyKey: 'k3' })).duplicate).toBe(true)
    expect((await db.appendToStream('s-1', [added('k2')], { idempotencyKey: 'k2' })).duplicate).toBe(false)
  })

  it('keys expire by age on the database clock', async () => {
    const clock = new ManualClock(1_000_000)
    await using db = await Azoth.open(tempDir(), { eventLog, clock, idempotency: { maxAgeMs: 1000 } })
    await db.appendToStream('s-1', [added('a')], { idempotencyKey: 'old' })
    clock.advance(600)
    await db.appendToStream('s-1', [added('b')], { idempotencyKey: 'young' })
    clock.advance(400)
    // 'old' is exactly 1000 ms old: still remembered.
    expect((await db.appendToStream('s-1', [added('a')], { idempotencyKey: 'old' })).duplicate).toBe(true)
    clock.advance(1)
    expect((await db.appendToStream('s-1', [added('a')], { idempotencyKey: 'old' })).duplicate).toBe(false)
    expect((await db.appendToStream('s-1', [added('b')], { idempotencyKey: 'young' })).duplicate).toBe(true)
    expect((await db.readStream('s-1')).currentStreamVersion).toBe(2n)
  })

  it('a bad window is CONFIG', async () => {
    for (const idempotency of [{ maxKeys: 0 }, { maxAgeMs: -1 }, { maxKeys: 1.5 }, { window: 3 }, 'big']) {
      await expectCode(
        Azoth.open(tempDir(), { eventLog, idempotency: idempotency as { maxKeys: number } }),
        'CONFIG',
      )
    }
  })
})
