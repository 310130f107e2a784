import { Azoth, ExpectedVersionConflictError, isAzothError, streamCategory, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const added = (sku: string, qty = 1) => ({ type: 'ItemAdded', data: { sku, qty } })

describe.each(['lmdb', 'file'] as const)('streams (eventLog %s)', (eventLog) => {
  it('appends with expected versions, reads forward and backward, aggregates', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db
      .transaction()
      .keys(['other'])
      .execute((tx) => tx.log('Unrelated', 1))
    const first = await db.appendToStream('cart-42', [added('a'), added('b')], {
      expectedStreamVersion: 'no_stream',
    })
    expect(first).toEqual({
      nextExpectedStreamVersion: 1n,
      firstEventId: 2,
      lastEventId: 3,
      createdNewStream: true,
      duplicate: false,
    })
    const second = await db.appendToStream('cart-42', [added('c', 2)], { expectedStreamVersion: 1n })
    expect(second).toEqual({
      nextExpectedStreamVersion: 2n,
      firstEventId: 4,
      lastEventId: 4,
      createdNewStream: false,
      duplicate: false,
    })
    await db.appendToStream('cart-7', [added('z')])

    const read = await db.readStream('cart-42')
    expect(read.currentStreamVersion).toBe(2n)
    expect(read.streamExists).toBe(true)
    expect(read.events.map((e) => [e.id, e.stream?.version, (e.payload as { sku: string }).sku])).toEqual([
      [2, 0n, 'a'],
      [3, 1n, 'b'],
      [4, 2n, 'c'],
    ])
    expect(read.events[0]!.stream).toEqual({ name: 'cart-42', version: 0n })
    const back = await db.readStream('cart-42', { direction: 'backward', maxCount: 2 })
    expect(back.events.map((e) => e.stream?.version)).toEqual([2n, 1n])
    const middle = await db.readStream('cart-42', { from: 1n, to: 1n })
    expect(middle.events.map((e) => e.id)).toEqual([3])
    const backRange = await db.readStream('cart-42', { direction: 'backward', from: 1n, to: 0n })
    expect(backRange.events.map((e) => e.stream?.version)).toEqual([1n, 0n])
    expect((await db.readStream('cart-42', { from: 5n })).events).toEqual([])

    const none = await db.readStream('cart-1')
    expect(none).toEqual({ events: [], currentStreamVersion: undefined, streamExists: false })

    const agg = await db.aggregateStream('cart-42', {
      initialState: () => 0,
      evolve: (qty, e) => qty + (e.payload as { qty: number }).qty,
    })
    expect(agg).toEqual({ state: 4, streamVersion: 2n, streamExists: true })
    expect(
      await db.aggregateStream('cart-1', { initialState: () => 'empty', evolve: () => 'changed' }),
    ).toEqual({ state: 'empty', streamVersion: undefined, streamExists: false })

    expect(await db.streamExists('cart-42')).toBe(true)
    expect(await db.streamExists('cart-1')).toBe(false)
    expect([...db.streams({ prefix: 'cart-' })]).toEqual([
      { name: 'cart-42', version: 2n },
      { name: 'cart-7', version: 0n },
    ])
    expect([...db.streams({ prefix: 'order-' })]).toEqual([])
    expect([...db.streams()].length).toBe(2)

    // The global log carries the stream of each stream event, and none for plain events.
    const all = [...db.events()]
    expect(all.map((e) => e.stream?.name)).toEqual([undefined, 'cart-42', 'cart-42', 'cart-42', 'cart-7'])
  })

  it('a version mismatch is ExpectedVersionConflictError with stream, expected and actual; nothing written', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('s-1', [added('a')])
    const head = db.head()
    const cases = [
      { expected: 'no_stream' as const, actual: 0n },
      { expected: 5n, actual: 0n },
      { expected: 1n, actual: 0n },
    ]
    for (const { expected, actual } of cases) {
      const e = await expectCode(
        db.appendToStream('s-1', [added('b')], { expectedStreamVersion: expected }),
        'CONFLICT',
      )
      expect(e).toBeInstanceOf(ExpectedVersionConflictError)
      expect((e as ExpectedVersionConflictError).details).toEqual({ stream: 's-1', expected, actual })
    }
    const e = await expectCode(
      db.appendToStream('s-2', [added('b')], { expectedStreamVersion: 'stream_exists' }),
      'CONFLICT',
    )
    expect((e as ExpectedVersionConflictError).actual).toBe('no_stream')
    expect((await db.metrics()).transactions.conflicts).toBe(4)
    expect(db.head()).toBe(head)
    expect(await db.streamExists('s-2')).toBe(false)
    // Still usable, and the right expectations pass.
    await db.appendToStream('s-1', [added('c')], { expectedStreamVersion: 'stream_exists' })
    await db.appendToStream('s-1', [added('d')], { expectedStreamVersion: 1n })
    expect((await db.readStream('s-1')).currentStreamVersion).toBe(2n)
  })

  it('concurrent appends with the same expected version: exactly one wins', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('race-1', [added('seed')])
    for (let round = 0; round < 5; round++) {
      const expected = BigInt(round)
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) =>
          db.appendToStream('race-1', [added(`r${round}-${i}`), added(`r${round}-${i}b`)], {
            expectedStreamVersion: round === 0 ? 0n : expected * 2n,
          }),
        ),
      )
      const won = outcomes.filter((o) => o.status === 'fulfilled')
      const lost = outcomes.filter((o) => o.status === 'rejected')
      expect(won.length).toBe(1)
      for (const o of lost) expect(isAzothError(o.reason, 'CONFLICT')).toBe(true)
    }
    const read = await db.readStream('race-1')
    expect(read.events.map((e) => e.stream?.version)).toEqual(Array.from({ length: 11 }, (_, i) => BigInt(i)))
  })

  it('concurrent transactions declaring the stream: exactly one wins', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        db
          .transaction()
          .keys([`k${i}`])
          .streams(['locked-1'])
          .execute((tx) => {
            tx.set(`k${i}`, BigInt(i))
            tx.appendToStream('locked-1', [added(`t${i}`)], { expectedStreamVersion: 'no_stream' })
          }),
      ),
    )
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(1)
    for (const o of outcomes)
      if (o.status === 'rejected') expect(isAzothError(o.reason, 'CONFLICT')).toBe(true)
    // The losers' state writes are gone with their appends.
    expect([...db.scan('k')].length).toBe(1)
    expect((await db.readStream('locked-1')).events.length).toBe(1)
  })

  it('group neighbours of a conflicting transaction commit', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('n-1', [added('a')])
    // Issued in one tick: they share a group commit.
    const results = await Promise.allSettled([
      db.appendToStream('n-1', [added('b')], { expectedStreamVersion: 0n }),
      db.appendToStream('n-1', [added('c')], { expectedStreamVersion: 0n }),
      db.appendToStream('n-1', [added('d')], { expectedStreamVersion: 1n }),
      db
        .transaction()
        .keys(['k'])
        .execute((tx) => tx.set('k', 1n)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    const read = await db.readStream('n-1')
    expect(read.events.map((e) => (e.payload as { sku: string }).sku)).toEqual(['a', 'b', 'd'])
    expect(db.get('k').asI64()).toBe(1n)
  })

  it('state and stream events commit together or not at all', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db
      .transaction()
      .keys(['stock/sku-1'])
      .execute((tx) => tx.set('stock/sku-1', 10n))
    const info = await db
      .transaction()
      .keys(['stock/sku-1'])
      .streams(['cart-42'])
      .execute((tx) => {
        tx.update('stock/sku-1', (v) => TypedValue.i64(v!.asI64() - 1n))
        const a = tx.appendToStream('cart-42', [added('sku-1')], { expectedStreamVersion: 'no_stream' })
        // The same transaction sees its own append.
        const b = tx.appendToStream('cart-42', [added('sku-1')], { expectedStreamVersion: 0n })
        return [a, b]
      })
    expect(info.result).toEqual([
      { nextExpectedStreamVersion: 0n, createdNewStream: true },
      { nextExpectedStreamVersion: 1n, createdNewStream: false },
    ])
    expect(info.eventsWritten).toBe(2)
    const head = db.head()

    // A failed expected version: the state write is dropped too.
    await expectCode(
      db
        .transaction()
        .keys(['stock/sku-1'])
        .streams(['cart-42'])
        .execute((tx) => {
          tx.update('stock/sku-1', (v) => TypedValue.i64(v!.asI64() - 1n))
          tx.appendToStream('cart-42', [added('sku-1')], { expectedStreamVersion: 0n })
        }),
      'CONFLICT',
    )
    // A throwing execute after a successful append: the append is dropped too.
    await expect(
      db
        .transaction()
        .keys(['stock/sku-1'])
        .streams(['cart-42'])
        .execute((tx) => {
          tx.update('stock/sku-1', (v) => TypedValue.i64(v!.asI64() - 1n))
          tx.appendToStream('cart-42', [added('sku-1')], { expectedStreamVersion: 1n })
          throw new Error('business rule')
        }),
    ).rejects.toThrow('business rule')
    expect(db.get('stock/sku-1').asI64()).toBe(9n)
    expect(db.head()).toBe(head)
    expect((await db.readStream('cart-42')).currentStreamVersion).toBe(1n)
    // The stream's next append still expects 1n: nothing of the failed ones took a version.
    await db.appendToStream('cart-42', [added('x')], { expectedStreamVersion: 1n })
  })

  it('undeclared streams and bad input are refused, nothing written', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await expectCode(
      db.transaction().execute((tx) => tx.appendToStream('s-1', [added('a')])),
      'UNDECLARED_KEY',
    )
    await expectCode(db.appendToStream('', [added('a')]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('x'.repeat(256), [added('a')]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('é'.repeat(128), [added('a')]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('\uD800', [added('a')]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream(5 as unknown as string, [added('a')]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('s-1', []), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('s-1', 'x' as never), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('s-1', [{ data: 1 } as never]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('s-1', [{ type: '' }]), 'INVALID_ARGUMENT')
    await expectCode(db.appendToStream('s-1', [added('a'), { type: 'T', data: () => 1 }]), 'INVALID_ARGUMENT')
    for (const expectedStreamVersion of [-1n, 1, 'latest', null, 1n << 64n]) {
      await expectCode(
        db.appendToStream('s-1', [added('a')], { expectedStreamVersion } as never),
        'INVALID_ARGUMENT',
      )
    }
    await expectCode(db.appendToStream('s-1', [added('a')], 5 as never), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { from: -1n }), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { from: 1 as never }), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { maxCount: -1 }), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { direction: 'up' as never }), 'INVALID_ARGUMENT')
    await expectCode(db.readStream(''), 'INVALID_ARGUMENT')
    await expectCode(db.streamExists(''), 'INVALID_ARGUMENT')
    await expectCode(db.aggregateStream('s-1', {} as never), 'INVALID_ARGUMENT')
    expect(() => db.streams({ prefix: 5 as never })).toThrow(/prefix/)
    // Values with no string form (a null-prototype object) are described, not converted: the
    // conversion threw a raw TypeError in place of the refusal.
    const bare = Object.create(null) as never
    await expectCode(db.appendToStream(bare, [added('a')]), 'INVALID_ARGUMENT')
    await expectCode(
      db.appendToStream('s-1', [added('a')], { expectedStreamVersion: bare }),
      'INVALID_ARGUMENT',
    )
    await expectCode(db.readStream(bare), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { from: bare }), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { maxCount: bare }), 'INVALID_ARGUMENT')
    await expectCode(db.readStream('s-1', { direction: bare }), 'INVALID_ARGUMENT')
    await expectCode(db.streamExists(bare), 'INVALID_ARGUMENT')
    await expectCode(() => db.streams({ prefix: bare }), 'INVALID_ARGUMENT')
    await expectCode(() => db.transaction().streams([bare]), 'INVALID_ARGUMENT')
    await expectCode(
      db
        .transaction()
        .streams(['s-1'])
        .execute((tx) => tx.appendToStream(bare, [added('a')])),
      'UNDECLARED_KEY',
    )
    await expectCode(() => db.get(bare), 'INVALID_ARGUMENT')
    expect(db.head()).toBe(0)
    expect([...db.streams()]).toEqual([])
    // The longest name is fine, and the database is still usable.
    const longest = 'é'.repeat(127) + 'x'
    await db.appendToStream(longest, [added('a')])
    expect((await db.readStream(longest)).events.length).toBe(1)
  })

  it('appendToStream never throws: every refusal is a rejected promise, counted in metrics() once it reaches the writer', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    // Options read field by field: a getter that fails on its second read must not escape as a throw.
    let reads = 0
    const flaky = {
      get idempotencyKey(): string {
        if (reads++ > 0) throw new RangeError('read twice')
        return undefined as never
      },
    }
    const calls: [string, () => Promise<unknown>][] = [
      ['a bad name', () => db.appendToStream('', [added('a')])],
      ['bad options', () => db.appendToStream('s-1', [added('a')], null as never)],
      [
        'a bad expected version',
        () => db.appendToStream('s-1', [added('a')], { expectedStreamVersion: -1n }),
      ],
      ['options whose getter fails', () => db.appendToStream('s-1', [added('a')], flaky)],
      ['a bad key', () => db.appendToStream('s-1', [added('a')], { idempotencyKey: '' })],
      ['no events', () => db.appendToStream('s-1', [])],
    ]
    for (const [what, call] of calls) {
      let promise: Promise<unknown> | undefined
      expect(() => {
        promise = call()
      }, what).not.toThrow()
      await expect(promise, what).rejects.toBeInstanceOf(Error)
    }
    expect(db.head()).toBe(0)
    // Refusals in the writer count as failed transactions; a conflict is counted as one too.
    const before = (await db.metrics()).transactions
    await expectCode(db.appendToStream('s-1', [added('a')], { expectedStreamVersion: 0n }), 'CONFLICT')
    await db.appendToStream('s-1', [added('a')], { expectedStreamVersion: 'no_stream' })
    const after = (await db.metrics()).transactions
    expect({
      failed: after.failed - before.failed,
      conflicts: after.conflicts - before.conflicts,
      committed: after.committed - before.committed,
    }).toEqual({ failed: 1, conflicts: 1, committed: 1 })
  })

  it('subscribe filters by stream, stream prefix and event type', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('cart-1', [added('a'), { type: 'Removed', data: 'a' }])
    await db.appendToStream('order-1', [added('o')])
    await db.transaction().execute((tx) => tx.log('ItemAdded', { sku: 'plain' }))
    await db.appendToStream('cart-2', [added('b')])
    await db.appendToStream('cart', [added('no dash')])
    const collect = async (options: Parameters<typeof db.subscribe>[0], count: number) => {
      const feed = db.subscribe({ from: 1, ...options })
      const got: string[] = []
      for await (const e of feed) {
        got.push(`${e.stream?.name ?? '-'}:${e.stream?.version ?? '-'}:${e.type}`)
        if (got.length === count) break
      }
      return got
    }
    // Ends with the last event, so anything wrongly skipped or let through shows.
    expect(await collect({ streamPrefix: 'cart-' }, 3)).toEqual([
      'cart-1:0:ItemAdded',
      'cart-1:1:Removed',
      'cart-2:0:ItemAdded',
    ])
    expect(await collect({ streams: ['order-1', 'cart'] }, 2)).toEqual([
      'order-1:0:ItemAdded',
      'cart:0:ItemAdded',
    ])
    expect(await collect({ eventTypes: ['ItemAdded'], streamPrefix: 'c' }, 3)).toEqual([
      'cart-1:0:ItemAdded',
      'cart-2:0:ItemAdded',
      'cart:0:ItemAdded',
    ])
    expect(await collect({ eventTypes: ['ItemAdded'] }, 5)).toEqual([
      'cart-1:0:ItemAdded',
      'order-1:0:ItemAdded',
      '-:-:ItemAdded',
      'cart-2:0:ItemAdded',
      'cart:0:ItemAdded',
    ])
    // A feed that is live delivers matching new commits only.
    const feed = db.subscribe({ streams: ['cart-9'] })
    const next = feed[Symbol.asyncIterator]().next()
    await db.appendToStream('cart-8', [added('x')])
    await db.appendToStream('cart-9', [added('y')])
    expect((await next).value?.stream).toEqual({ name: 'cart-9', version: 0n })
    feed.close()
    await expectCode(() => db.subscribe({ streams: 'cart-1' as never }), 'INVALID_ARGUMENT')
    await expectCode(() => db.subscribe({ streams: [''] }), 'INVALID_ARGUMENT')
    await expectCode(() => db.subscribe({ eventTypes: [1 as never] }), 'INVALID_ARGUMENT')
    await expectCode(() => db.subscribe({ streamPrefix: '' }), 'INVALID_ARGUMENT')
  })

  it('a read-only database reads streams and refuses appends; a closed one refuses everything', async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir, { eventLog })
    await db.appendToStream('ro-1', [added('a')])
    {
      await using ro = await Azoth.openReadOnly(dir)
      expect((await ro.readStream('ro-1')).currentStreamVersion).toBe(0n)
      expect([...ro.streams()]).toEqual([{ name: 'ro-1', version: 0n }])
      await expectCode(ro.appendToStream('ro-1', [added('b')]), 'READ_ONLY')
      await db.appendToStream('ro-1', [added('c')])
      expect((await ro.readStream('ro-1')).events.map((e) => e.stream?.version)).toEqual([0n, 1n])
    }
    await db.close()
    await expectCode(db.appendToStream('ro-1', [added('d')]), 'CLOSED')
    await expectCode(db.readStream('ro-1'), 'CLOSED')
    await expectCode(db.aggregateStream('ro-1', { initialState: () => 0, evolve: (s) => s }), 'CLOSED')
    await expectCode(db.streamExists('ro-1'), 'CLOSED')
    await expectCode(() => db.streams(), 'CLOSED')
  })

  it('projector handlers see the stream of each event', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('p-1', [added('a'), added('b')])
    await db.transaction().execute((tx) => tx.log('ItemAdded', { sku: 'plain' }))
    const seen: unknown[] = []
    const batchSeen: unknown[] = []
    const projector = db.projector({
      name: 'streams',
      handlers: [
        { eventTypes: ['ItemAdded'], handle: (e) => void seen.push(e.stream) },
        {
          eventTypes: '*',
          handle: () => {},
          handleBatch: (events) => void batchSeen.push(...events.map((e) => e.stream?.version)),
        },
      ],
    })
    await projector.runOnce()
    expect(seen).toEqual([{ name: 'p-1', version: 0n }, { name: 'p-1', version: 1n }, undefined])
    expect(batchSeen).toEqual([0n, 1n, undefined])
  })

  it('streams survive reopen', async () => {
    const dir = tempDir()
    {
      await using db = await Azoth.open(dir, { eventLog })
      await db.appendToStream('r-1', [added('a'), added('b')])
    }
    await using db = await Azoth.open(dir, { eventLog })
    await db.appendToStream('r-1', [added('c')], { expectedStreamVersion: 1n })
    expect((await db.readStream('r-1')).events.map((e) => e.stream?.version)).toEqual([0n, 1n, 2n])
  })
})

describe('streamCategory', () => {
  it('is the part before the first dash', () => {
    expect(streamCategory('cart-42')).toBe('cart')
    expect(streamCategory('cart-42-x')).toBe('cart')
    expect(streamCategory('plain')).toBe('plain')
  })
})
