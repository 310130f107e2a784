import { getAzothEventStore } from '@azothdb/emmett'
import {
  type Event,
  type EventStore,
  getInMemoryEventStore,
  type ReadEvent,
  STREAM_DOES_NOT_EXIST,
} from '@event-driven-io/emmett'
import { Azoth } from 'azothdb'
import { describe, expect, it, vi } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

type ItemAdded = Event<'ItemAdded', { sku: string; qty: number }>
const added = (sku: string, qty = 1): ItemAdded => ({ type: 'ItemAdded', data: { sku, qty } })

/** The same appends, one failing on its expected version, against `store`. */
async function appendSome(store: EventStore): Promise<void> {
  await store.appendToStream('cart-1', [added('a'), added('b')], {
    expectedStreamVersion: STREAM_DOES_NOT_EXIST,
  })
  await store.appendToStream('cart-2', [{ ...added('c', 3), metadata: { messageId: 'given-id', by: 'u1' } }])
  await expect(store.appendToStream('cart-1', [added('x')], { expectedStreamVersion: 7n })).rejects.toThrow()
  await store.appendToStream('cart-1', [added('d')], { expectedStreamVersion: 2n })
}

/** What a hook saw, without the message ids Emmett's in-memory store draws at random. */
function seen(batches: ReadEvent[][]) {
  return batches.map((batch) =>
    batch.map(({ type, data, metadata }) => {
      const { messageId: _, ...rest } = metadata as Record<string, unknown>
      return { type, data, metadata: rest }
    }),
  )
}

describe.each(['lmdb', 'file'] as const)('hooks.onAfterCommit (eventLog %s)', (eventLog) => {
  it("is called once per successful append with what Emmett's own store hands it", async () => {
    const ours: ReadEvent[][] = []
    const theirs: ReadEvent[][] = []
    await using db = await Azoth.open(tempDir(), { eventLog })
    await appendSome(getAzothEventStore(db, { hooks: { onAfterCommit: (events) => void ours.push(events) } }))
    await appendSome(
      getInMemoryEventStore({ hooks: { onAfterCommit: (events) => void theirs.push(events) } }),
    )
    expect(ours).toHaveLength(3)
    expect(seen(ours)).toEqual(seen(theirs))
    // The metadata a later read shows, message ids included.
    const read = await getAzothEventStore(db).readStream('cart-1')
    expect(ours[0]!.concat(ours[2]!)).toEqual(read.events)
    expect(ours[1]![0]!.metadata).toMatchObject({ messageId: 'given-id', by: 'u1', globalPosition: 3n })
  })

  it('a hook that throws is logged and the append still succeeds, as in Emmett', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const store = getAzothEventStore(db, {
        hooks: {
          onAfterCommit: () => {
            throw new Error('webhook down')
          },
        },
      })
      const result = await store.appendToStream('cart-1', [added('a')])
      expect(result.nextExpectedStreamVersion).toBe(1n)
      expect(logged).toHaveBeenCalledOnce()
      expect((await db.readStream('cart-1')).events).toHaveLength(1)
    } finally {
      logged.mockRestore()
    }
  })

  it('bad options are INVALID_ARGUMENT', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    for (const options of [null, 5, { hooks: 3 }, { hooks: { onAfterCommit: 'x' } }]) {
      await expectCode(() => getAzothEventStore(db, options as never), 'INVALID_ARGUMENT')
    }
  })
})
