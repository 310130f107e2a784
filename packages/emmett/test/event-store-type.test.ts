import { type AzothEventStore, getAzothEventStore } from '@azothdb/emmett'
import type {
  AppendToStreamResultWithGlobalPosition,
  EventStore,
  EventStoreReadEventMetadata,
  ReadEventMetadataWithGlobalPosition,
} from '@event-driven-io/emmett'
import { Azoth, defineEvents } from 'azothdb'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

// The type checker runs this file too (pnpm typecheck): the adapter must be Emmett's EventStore as
// Emmett's published declarations define it, not a look-alike.
describe("getAzothEventStore is Emmett's EventStore", () => {
  it('assigns to EventStore, with global positions in its read metadata', async () => {
    await using db = await Azoth.open(tempDir())
    const store: EventStore = getAzothEventStore(db)
    const withPositions: EventStore<ReadEventMetadataWithGlobalPosition> = getAzothEventStore(db)
    expectTypeOf<AzothEventStore>().toExtend<EventStore<ReadEventMetadataWithGlobalPosition>>()
    expectTypeOf<EventStoreReadEventMetadata<AzothEventStore>['globalPosition']>().toEqualTypeOf<bigint>()
    expectTypeOf<
      Awaited<ReturnType<AzothEventStore['appendToStream']>>
    >().toEqualTypeOf<AppendToStreamResultWithGlobalPosition>()
    expect(await store.streamExists('s-1')).toBe(false)
    expect(await withPositions.streamExists('s-1')).toBe(false)
  })

  it('takes a database with typed events too (and any projection backend)', async () => {
    await using db = await Azoth.open(tempDir(), { events: defineEvents<{ ItemAdded: { sku: string } }>() })
    const store = getAzothEventStore(db)
    await store.appendToStream('cart-1', [{ type: 'ItemAdded', data: { sku: 'a' } }])
    expect((await db.readStream('cart-1')).events[0]?.payload).toEqual({ sku: 'a' })
  })
})
