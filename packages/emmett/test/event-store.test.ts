import { getAzothEventStore } from '@azothdb/emmett'
import {
  type Event,
  ExpectedVersionConflictError,
  isExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  type ReadStreamOptions,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from '@event-driven-io/emmett'
import { Azoth, isAzothError } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

type ItemAdded = Event<'ItemAdded', { sku: string; qty: number }>
const added = (sku: string, qty = 1): ItemAdded => ({ type: 'ItemAdded', data: { sku, qty } })

async function conflictOf(action: Promise<unknown>): Promise<ExpectedVersionConflictError> {
  const error = await action.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ExpectedVersionConflictError)
  expect(isExpectedVersionConflictError(error)).toBe(true)
  return error as ExpectedVersionConflictError
}

describe.each(['lmdb', 'file'] as const)('getAzothEventStore (eventLog %s)', (eventLog) => {
  it('counts stream positions from 1 as Emmett does, and reports global positions', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.appendToStream('other-1', [{ type: 'Unrelated' }])
    const store = getAzothEventStore(db)
    expect(await store.streamExists('cart-42')).toBe(false)
    const first = await store.appendToStream('cart-42', [added('a'), added('b')], {
      expectedStreamVersion: STREAM_DOES_NOT_EXIST,
    })
    expect(first).toEqual({
      nextExpectedStreamVersion: 2n,
      createdNewStream: true,
      lastEventGlobalPosition: 3n,
    })
    const second = await store.appendToStream('cart-42', [added('c', 2)], { expectedStreamVersion: 2n })
    expect(second).toEqual({
      nextExpectedStreamVersion: 3n,
      createdNewStream: false,
      lastEventGlobalPosition: 4n,
    })
    expect(await store.streamExists('cart-42')).toBe(true)

    const read = await store.readStream<ItemAdded>('cart-42')
    expect(read.currentStreamVersion).toBe(3n)
    expect(read.streamExists).toBe(true)
    expect(read.events).toEqual([
      {
        type: 'ItemAdded',
        data: { sku: 'a', qty: 1 },
        kind: 'Event',
        metadata: { messageId: '2', streamName: 'cart-42', streamPosition: 1n, globalPosition: 2n },
      },
      {
        type: 'ItemAdded',
        data: { sku: 'b', qty: 1 },
        kind: 'Event',
        metadata: { messageId: '3', streamName: 'cart-42', streamPosition: 2n, globalPosition: 3n },
      },
      {
        type: 'ItemAdded',
        data: { sku: 'c', qty: 2 },
        kind: 'Event',
        metadata: { messageId: '4', streamName: 'cart-42', streamPosition: 3n, globalPosition: 4n },
      },
    ])
    // The database's own API sees the same events at Azoth's versions (from 0).
    expect((await db.readStream('cart-42')).currentStreamVersion).toBe(2n)
  })

  it('reads inclusive ranges of positions and counts', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    await store.appendToStream(
      's-1',
      ['a', 'b', 'c', 'd', 'e'].map((sku) => added(sku)),
    )
    const skus = async (options: ReadStreamOptions<bigint, ItemAdded>) =>
      (await store.readStream<ItemAdded>('s-1', options)).events.map((e) => e.data.sku).join('')
    expect(await skus({ from: 2n, to: 4n })).toBe('bcd')
    expect(await skus({ from: 0n })).toBe('abcde')
    expect(await skus({ from: 4n })).toBe('de')
    expect(await skus({ to: 1n })).toBe('a')
    expect(await skus({ to: 0n })).toBe('')
    expect(await skus({ from: 2n, maxCount: 2n })).toBe('bc')
    expect(await skus({ maxCount: 0n })).toBe('abcde')
    expect(await skus({ from: 9n })).toBe('')
    const none = await store.readStream('s-2')
    expect(none).toEqual({ currentStreamVersion: 0n, events: [], streamExists: false })
  })

  it("maps each of Emmett's expected versions and throws Emmett's conflict error with Azoth's as cause", async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    const exists = await conflictOf(
      store.appendToStream('s-1', [added('a')], { expectedStreamVersion: STREAM_EXISTS }),
    )
    expect(exists.current).toBe('0')
    expect(exists.expected).toBe('STREAM_EXISTS')
    await conflictOf(store.appendToStream('s-1', [added('a')], { expectedStreamVersion: 1n }))
    await store.appendToStream('s-1', [added('a')], { expectedStreamVersion: 0n })
    const twice = await conflictOf(store.appendToStream('s-1', [added('b')], { expectedStreamVersion: 0n }))
    expect(twice.current).toBe('1')
    expect(twice.errorCode).toBe(412)
    expect(isAzothError(twice.cause, 'CONFLICT')).toBe(true)
    expect((twice.cause as { details: unknown }).details).toEqual({
      stream: 's-1',
      expected: 'no_stream',
      actual: 0n,
    })
    await conflictOf(
      store.appendToStream('s-1', [added('b')], { expectedStreamVersion: STREAM_DOES_NOT_EXIST }),
    )
    await store.appendToStream('s-1', [added('b')], { expectedStreamVersion: STREAM_EXISTS })
    await store.appendToStream('s-1', [added('c')], { expectedStreamVersion: NO_CONCURRENCY_CHECK })
    await store.appendToStream('s-1', [added('d')], { expectedStreamVersion: 3n })
    // Nothing of a refused append was written.
    expect((await store.readStream<ItemAdded>('s-1')).events.map((e) => e.data.sku)).toEqual([
      'a',
      'b',
      'c',
      'd',
    ])

    // Reads check an expected version too, as Emmett's stores do.
    await conflictOf(store.readStream('s-1', { expectedStreamVersion: 3n }))
    expect((await store.readStream('s-1', { expectedStreamVersion: 4n })).events).toHaveLength(4)
    await conflictOf(store.readStream('s-2', { expectedStreamVersion: STREAM_EXISTS }))
  })

  it('aggregates a stream (or a range of it) and reports the position of the last event folded', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    const fold = { initialState: () => 0, evolve: (total: number, e: ItemAdded) => total + e.data.qty }
    expect(await store.aggregateStream('cart-1', fold)).toEqual({
      currentStreamVersion: 0n,
      state: 0,
      streamExists: false,
    })
    await store.appendToStream('other-1', [{ type: 'Unrelated', data: {} }])
    await store.appendToStream('cart-1', [added('a', 1), added('b', 2), added('c', 4)])
    expect(await store.aggregateStream('cart-1', fold)).toEqual({
      currentStreamVersion: 3n,
      state: 7,
      streamExists: true,
      lastEventGlobalPosition: 4n,
    })
    expect(await store.aggregateStream('cart-1', { ...fold, read: { to: 2n } })).toEqual({
      currentStreamVersion: 2n,
      state: 3,
      streamExists: true,
      lastEventGlobalPosition: 3n,
    })
    await conflictOf(store.aggregateStream('cart-1', { ...fold, read: { expectedStreamVersion: 2n } }))
    const seen: unknown[] = []
    await store.aggregateStream('cart-1', {
      initialState: () => null,
      evolve: (_: null, e: ItemAdded & { metadata: { streamPosition: bigint } }) => {
        seen.push(e.metadata.streamPosition)
        return null
      },
    })
    expect(seen).toEqual([1n, 2n, 3n])
  })

  it('keeps metadata given at append (its messageId wins) and round-trips data CBOR can carry', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    type Stamped = Event<
      'Stamped',
      { at: Date; amount: bigint },
      { messageId: string; correlationId: string }
    >
    const at = new Date('2026-01-02T03:04:05.678Z')
    await store.appendToStream<Stamped>('s-1', [
      {
        type: 'Stamped',
        data: { at, amount: 2n ** 70n },
        metadata: { messageId: 'm-1', correlationId: 'c-1' },
      },
    ])
    const [event] = (await store.readStream<Stamped>('s-1')).events
    expect(event!.data).toEqual({ at, amount: 2n ** 70n })
    expect(event!.metadata).toEqual({
      messageId: 'm-1',
      correlationId: 'c-1',
      streamName: 's-1',
      streamPosition: 1n,
      globalPosition: 1n,
    })
  })

  it('reads appended metadata as a plain copy: its keys in order, an own __proto__ key kept as a key', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const recorded: Record<string, unknown>[] = []
    const store = getAzothEventStore(db, {
      hooks: { onAfterCommit: (events) => void recorded.push(...events.map((e) => e.metadata)) },
    })
    const given = JSON.parse('{"by":"u1","__proto__":{"admin":true},"messageId":7,"7":"seven"}')
    await store.appendToStream('m-1', [{ ...added('a'), metadata: given }])
    const read = (await store.readStream('m-1')).events[0]!.metadata as Record<string, unknown>
    const folded = (
      await store.aggregateStream('m-1', {
        initialState: () => ({}),
        evolve: (_: object, e: ItemAdded & { metadata: object }) => e.metadata,
      })
    ).state as Record<string, unknown>
    for (const metadata of [read, folded, recorded[0]!]) {
      expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype)
      expect(Object.keys(metadata)).toEqual([
        '7',
        'by',
        '__proto__',
        'messageId',
        'streamName',
        'streamPosition',
        'globalPosition',
      ])
      // A messageId that is not a string gives way to the global position, in the key's own place.
      expect(metadata['messageId']).toBe('1')
      expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toEqual({ admin: true })
      expect((metadata as { admin?: unknown }).admin).toBeUndefined()
    }
    // Each read gives its own copy.
    const again = (await store.readStream('m-1')).events[0]!.metadata
    expect(again).toEqual(read)
    expect(again).not.toBe(read)
  })

  it('downcasts at append and upcasts at read (schema versioning)', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    type V2 = Event<'Renamed', { name: { first: string; last: string } }>
    type V1 = Event<'Renamed', { name: string }>
    const downcast = (e: V2): V1 => ({
      type: 'Renamed',
      data: { name: `${e.data.name.first} ${e.data.name.last}` },
    })
    const upcast = (e: V1): V2 => {
      const [first = '', last = ''] = e.data.name.split(' ')
      return { type: 'Renamed', data: { name: { first, last } } }
    }
    await store.appendToStream<V2, V1>(
      'p-1',
      [{ type: 'Renamed', data: { name: { first: 'Ada', last: 'L' } } }],
      {
        schema: { versioning: { downcast } },
      },
    )
    expect((await db.readStream('p-1')).events[0]!.payload).toEqual({ name: 'Ada L' })
    const read = await store.readStream<V2, V1>('p-1', { schema: { versioning: { upcast } } })
    expect(read.events[0]!.data).toEqual({ name: { first: 'Ada', last: 'L' } })
    const folded = await store.aggregateStream<string, V2, V1>('p-1', {
      initialState: () => '',
      evolve: (_: string, e: V2) => e.data.name.first,
      read: { schema: { versioning: { upcast } } },
    })
    expect(folded.state).toBe('Ada')
  })

  it('refuses bad input with INVALID_ARGUMENT, writes nothing and stays usable', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    const bad: [string, () => Promise<unknown>][] = [
      ['expected -1n', () => store.appendToStream('s-1', [added('a')], { expectedStreamVersion: -1n })],
      [
        'expected 1 (a number)',
        () => store.appendToStream('s-1', [added('a')], { expectedStreamVersion: 1 as never }),
      ],
      [
        'expected junk',
        () => store.appendToStream('s-1', [added('a')], { expectedStreamVersion: 'junk' as never }),
      ],
      ['options null', () => store.appendToStream('s-1', [added('a')], null as never)],
      ['no events', () => store.appendToStream('s-1', [])],
      ['events not an array', () => store.appendToStream('s-1', 'x' as never)],
      ['event without type', () => store.appendToStream('s-1', [{ data: {} } as never])],
      ['empty stream name', () => store.appendToStream('', [added('a')])],
      ['stream name a number', () => store.appendToStream(7 as never, [added('a')])],
      ['from -1n', () => store.readStream('s-1', { from: -1n })],
      ['to a number', () => store.readStream('s-1', { to: 2 as never })],
      ['maxCount 2^60', () => store.readStream('s-1', { maxCount: 2n ** 60n })],
      ['read options a string', () => store.readStream('s-1', 'x' as never)],
      ['aggregate without evolve', () => store.aggregateStream('s-1', { initialState: () => 0 } as never)],
      [
        'aggregate read null',
        () =>
          store.aggregateStream('s-1', {
            initialState: () => 0,
            evolve: (s: number) => s,
            read: null as never,
          }),
      ],
    ]
    for (const [name, action] of bad) {
      const error = await expectCode(action, 'INVALID_ARGUMENT')
      expect(error, name).toBeDefined()
    }
    expect(db.streams().next().done).toBe(true)
    await store.appendToStream('s-1', [added('a')], { expectedStreamVersion: STREAM_DOES_NOT_EXIST })
    expect((await store.readStream('s-1')).events).toHaveLength(1)
    await expectCode(() => getAzothEventStore({} as never), 'INVALID_ARGUMENT')
  })

  it('rejects with CLOSED once the database is closed', async () => {
    const db = await Azoth.open(tempDir(), { eventLog })
    const store = getAzothEventStore(db)
    await store.appendToStream('s-1', [added('a')])
    await db.close()
    await expectCode(store.appendToStream('s-1', [added('b')]), 'CLOSED')
    await expectCode(store.readStream('s-1'), 'CLOSED')
    await expectCode(
      store.aggregateStream('s-1', { initialState: () => 0, evolve: (s: number) => s }),
      'CLOSED',
    )
    await expectCode(store.streamExists('s-1'), 'CLOSED')
  })
})
