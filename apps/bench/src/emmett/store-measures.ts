import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett'
import type { Measure } from '../harness.js'
import type { EmmettSide } from './emmett-side.js'
import { type ItemAdded, itemsAdded } from './item-added.js'

// The workloads of the Emmett sections, written once against Emmett's `EventStore` so both sides
// of a case make exactly the same calls with the same events.

/** Appends `perStream` events to each of `streams` carts (`cart-0`...), one append per cart. */
export async function fillCarts(side: EmmettSide, streams: number, perStream: number): Promise<void> {
  const events = itemsAdded(perStream)
  for (let i = 0; i < streams; i++) {
    await side.call(() =>
      side.store.appendToStream(`cart-${i}`, events, { expectedStreamVersion: STREAM_DOES_NOT_EXIST }),
    )
  }
}

/**
 * `callers` callers at once, each making `perCaller` appends of `eventsPerAppend` events to a stream
 * of its own, each with the expected version its previous append returned. Units: events appended.
 */
export function appendMeasure(
  open: () => Promise<EmmettSide>,
  callers: number,
  perCaller: number,
  eventsPerAppend = 1,
): Measure {
  let side: EmmettSide
  let round = 0
  const events = itemsAdded(eventsPerAppend)
  return {
    setup: async () => {
      side = await open()
    },
    run: async () => {
      round++
      await Promise.all(
        Array.from({ length: callers }, async (_, caller) => {
          const stream = `cart-${round}.${caller}`
          let expected: bigint | typeof STREAM_DOES_NOT_EXIST = STREAM_DOES_NOT_EXIST
          for (let k = 0; k < perCaller; k++) {
            const at = expected
            const r: { nextExpectedStreamVersion: bigint } = await side.call(() =>
              side.store.appendToStream(stream, events, { expectedStreamVersion: at }),
            )
            expected = r.nextExpectedStreamVersion
          }
        }),
      )
      return callers * perCaller * eventsPerAppend
    },
    report: () => side.report?.() ?? {},
    teardown: () => side.close(),
  }
}

/** `aggregateStream` of one `events`-event cart, `reads` times one after another. Units: aggregates. */
export function aggregateMeasure(open: () => Promise<EmmettSide>, events: number, reads: number): Measure {
  let side: EmmettSide
  return {
    setup: async () => {
      side = await open()
      await fillCarts(side, 1, events)
    },
    run: async () => {
      for (let r = 0; r < reads; r++) {
        const { state } = await side.call(() =>
          side.store.aggregateStream('cart-0', {
            initialState: () => 0,
            evolve: (sum: number, e: ItemAdded) => sum + e.data.qty,
          }),
        )
        if (state !== events) throw new Error(`aggregateStream folded ${state} of ${events} events`)
      }
      return reads
    },
    report: () => side.report?.() ?? {},
    teardown: () => side.close(),
  }
}

/**
 * Every event of a store of `streams` carts of `perStream` events, read with `readStream` of each
 * cart one after another (the store holds nothing else). Units: events read.
 */
export function readAllMeasure(open: () => Promise<EmmettSide>, streams: number, perStream: number): Measure {
  let side: EmmettSide
  return {
    setup: async () => {
      side = await open()
      await fillCarts(side, streams, perStream)
    },
    run: async () => {
      let read = 0
      for (let i = 0; i < streams; i++) {
        const { events } = await side.call(() => side.store.readStream<ItemAdded>(`cart-${i}`))
        for (const e of events) read += e.data.qty
      }
      if (read !== streams * perStream) throw new Error(`read ${read} of ${streams * perStream} events`)
      return read
    },
    report: () => side.report?.() ?? {},
    teardown: () => side.close(),
  }
}

/**
 * Projection catch-up: a store of `streams` carts of `perStream` events, and per run the side's
 * projection of them into `cart_totals` rebuilt from the first event. Units: events applied.
 */
export function catchUpMeasure(open: () => Promise<EmmettSide>, streams: number, perStream: number): Measure {
  let side: EmmettSide
  const events = streams * perStream
  return {
    setup: async () => {
      side = await open()
      if (side.catchUp === undefined) throw new Error('this side has no projection catch-up')
      await fillCarts(side, streams, perStream)
    },
    run: async () => {
      const items = await side.catchUp!()
      if (items !== events) throw new Error(`the read model holds ${items} of ${events} events`)
      return events
    },
    report: () => side.report?.() ?? {},
    teardown: () => side.close(),
  }
}

/**
 * Every event of a store of `streams` carts of `perStream` events, read in global order with the
 * side's global read. Units: events read.
 */
export function globalReadMeasure(
  open: () => Promise<EmmettSide>,
  streams: number,
  perStream: number,
): Measure {
  let side: EmmettSide
  return {
    setup: async () => {
      side = await open()
      await fillCarts(side, streams, perStream)
    },
    run: async () => {
      const read = await side.readAll()
      if (read !== streams * perStream) throw new Error(`read ${read} of ${streams * perStream} events`)
      return read
    },
    report: () => side.report?.() ?? {},
    teardown: () => side.close(),
  }
}
