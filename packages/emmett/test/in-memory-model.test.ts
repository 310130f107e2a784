import { getAzothEventStore } from '@azothdb/emmett'
import {
  type Event,
  type EventStore,
  type ExpectedStreamVersion,
  getInMemoryEventStore,
  isExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from '@event-driven-io/emmett'
import { Azoth } from 'azothdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

// Emmett's in-memory event store is the model: an Emmett application must see the same results,
// positions and conflicts from the adapter, across reopens of the database.

type Tick = Event<'Tick', { n: number }>

type Op =
  | { kind: 'append'; stream: string; count: number; expected: ExpectedStreamVersion | undefined }
  | { kind: 'read'; stream: string; expected: ExpectedStreamVersion | undefined }
  | { kind: 'aggregate'; stream: string }
  | { kind: 'exists'; stream: string }
  | { kind: 'reopen' }

const stream = fc.constantFrom('cart-1', 'cart-2', 'order-1')
const expected = fc.option(
  fc.oneof(
    fc.constantFrom(NO_CONCURRENCY_CHECK, STREAM_EXISTS, STREAM_DOES_NOT_EXIST),
    fc.bigInt({ min: 0n, max: 6n }),
  ),
  { nil: undefined },
)
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      stream,
      count: fc.integer({ min: 1, max: 3 }),
      expected,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), stream, expected }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('aggregate' as const), stream }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exists' as const), stream }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

/** What an Emmett application can observe of an operation, without the random message ids. */
async function observe(
  store: EventStore,
  o: Exclude<Op, { kind: 'reopen' }>,
  next: () => number,
): Promise<unknown> {
  try {
    switch (o.kind) {
      case 'append': {
        const events: Tick[] = Array.from({ length: o.count }, () => ({ type: 'Tick', data: { n: next() } }))
        return await store.appendToStream(
          o.stream,
          events,
          o.expected === undefined ? undefined : { expectedStreamVersion: o.expected },
        )
      }
      case 'read': {
        const read = await store.readStream<Tick>(
          o.stream,
          o.expected === undefined ? undefined : { expectedStreamVersion: o.expected },
        )
        return {
          ...read,
          events: read.events.map(({ type, data, metadata }) => ({
            type,
            data,
            streamName: metadata.streamName,
            streamPosition: metadata.streamPosition,
            globalPosition: (metadata as { globalPosition?: bigint }).globalPosition,
          })),
        }
      }
      case 'aggregate': {
        const { currentStreamVersion, state, streamExists } = await store.aggregateStream(o.stream, {
          initialState: () => [] as number[],
          evolve: (seen: number[], e: Tick) => [...seen, e.data.n],
        })
        return { currentStreamVersion, state, streamExists }
      }
      case 'exists':
        return await store.streamExists(o.stream)
    }
  } catch (e) {
    if (!isExpectedVersionConflictError(e)) throw e
    return { conflict: { current: e.current, expected: e.expected } }
  }
}

describe.each(['lmdb', 'file'] as const)(
  'the adapter against Emmett in-memory store (eventLog %s)',
  (eventLog) => {
    it('gives the same results, positions and conflicts', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
          const dir = tempDir()
          const model = getInMemoryEventStore()
          let db = await Azoth.open(dir, { eventLog, durability: 'relaxed' })
          let store = getAzothEventStore(db)
          let counter = 0
          let modelCounter = 0
          try {
            for (const o of ops) {
              if (o.kind === 'reopen') {
                await db.close()
                db = await Azoth.open(dir, { eventLog, durability: 'relaxed' })
                store = getAzothEventStore(db)
                continue
              }
              const got = await observe(store, o, () => counter++)
              const want = await observe(model, o, () => modelCounter++)
              if (
                o.kind === 'append' &&
                typeof want === 'object' &&
                want !== null &&
                'nextExpectedStreamVersion' in want
              ) {
                // The in-memory store does not report a global position; Azoth's is the log's length.
                expect(got).toMatchObject(want)
              } else {
                expect(
                  got,
                  JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)),
                ).toEqual(want)
              }
            }
          } finally {
            await db.close()
          }
        }),
        { numRuns: 25 },
      )
    }, 120_000)
  },
)
