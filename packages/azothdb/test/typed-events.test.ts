import { Azoth, type AzothEvent, defineEvents, type EventOf, handleCommand } from 'azothdb'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

// Typed events are types only: these tests run real appends and reads, and the type checker
// (`pnpm typecheck` covers test files) checks the `@ts-expect-error` lines: each must be an error,
// or the check fails.

type CartEvents = {
  ItemAdded: { sku: string; qty: number }
  ItemRemoved: { sku: string }
  CartClosed: null
}
type CartEvent = EventOf<CartEvents>

const items = (state: Map<string, number>, e: CartEvent): Map<string, number> => {
  const next = new Map(state)
  switch (e.type) {
    case 'ItemAdded':
      next.set(e.payload.sku, (next.get(e.payload.sku) ?? 0) + e.payload.qty)
      return next
    case 'ItemRemoved':
      next.delete(e.payload.sku)
      return next
    case 'CartClosed':
      return next
  }
}

describe.each(['lmdb', 'file'] as const)('typed events (eventLog %s)', (eventLog) => {
  it('appends, reads, folds, subscribes and projects with the event map’s types', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog, events: defineEvents<CartEvents>() })
    await db.appendToStream('cart-1', [
      { type: 'ItemAdded', data: { sku: 'a', qty: 2 } },
      { type: 'ItemAdded', data: { sku: 'b', qty: 1 } },
    ])
    await db.transaction().execute((tx) => {
      tx.logMany([['ItemRemoved', { sku: 'b' }], ['CartClosed']])
    })
    await db.writeBatch().appendEvent('ItemAdded', { sku: 'c', qty: 5 }).commit()

    const read = await db.readStream('cart-1')
    expectTypeOf(read.events).toEqualTypeOf<CartEvent[]>()
    const first = read.events[0]!
    if (first.type === 'ItemAdded') expect(first.payload.qty).toBe(2)
    else expect.unreachable('the first event is ItemAdded')

    const { state } = await db.aggregateStream('cart-1', { evolve: items, initialState: () => new Map() })
    expect([...state]).toEqual([
      ['a', 2],
      ['b', 1],
    ])
    expect([...db.events()].map((e) => e.type)).toEqual([
      'ItemAdded',
      'ItemAdded',
      'ItemRemoved',
      'CartClosed',
      'ItemAdded',
    ])

    const feed = db.subscribe({ from: 1, eventTypes: ['ItemAdded'] })
    const skus: string[] = []
    for await (const e of feed) {
      if (e.type === 'ItemAdded') skus.push(e.payload.sku)
      if (skus.length === 3) break
    }
    expect(skus).toEqual(['a', 'b', 'c'])

    await db.migrate([
      { version: 1, name: 'qty', up: (tx) => tx.exec('CREATE TABLE qty (sku TEXT, n INTEGER)') },
    ])
    const projector = db.projector({
      name: 'qty',
      handlers: [
        {
          eventTypes: ['ItemAdded'],
          handle: (e, tx) => {
            if (e.type !== 'ItemAdded') return
            tx.run('INSERT INTO qty VALUES (?, ?)', [e.payload.sku, e.payload.qty])
          },
        },
      ],
    })
    await projector.runOnce()
    expect(await db.query('SELECT sku, n FROM qty ORDER BY rowid')).toEqual([
      { sku: 'a', n: 2 },
      { sku: 'b', n: 1 },
      { sku: 'c', n: 5 },
    ])

    // The builder's handlers and filter are typed by the same map.
    await db.migrate([
      { version: 1, name: 'qty', up: (tx) => tx.exec('CREATE TABLE qty (sku TEXT, n INTEGER)') },
      { version: 2, name: 'removed', up: (tx) => tx.exec('CREATE TABLE removed (sku TEXT)') },
    ])
    const built = db
      .projectorBuilder()
      .withName('removed')
      .withFilter({ eventTypes: ['ItemRemoved'] })
      .withHandler({
        eventTypes: ['ItemRemoved'],
        handle: (e, tx) => {
          expectTypeOf(e).toEqualTypeOf<CartEvent>()
          if (e.type === 'ItemRemoved') tx.run('INSERT INTO removed VALUES (?)', [e.payload.sku])
        },
      })
      .build()
    await built.runOnce()
    expect(await db.query('SELECT sku FROM removed')).toEqual([{ sku: 'b' }])

    const handled = await handleCommand(
      db,
      'cart-2',
      () => ({ type: 'ItemAdded', data: { sku: 'z', qty: 1 } }),
      { evolve: items, initialState: () => new Map<string, number>() },
    )
    expect([...handled.newState]).toEqual([['z', 1]])
  })
})

describe('typed events', () => {
  it('the events option must be what defineEvents returns (CONFIG), and untyped databases see AzothEvent', async () => {
    await expectCode(Azoth.open(tempDir(), { events: {} as never }), 'CONFIG')
    await using db = await Azoth.open(tempDir())
    await db.transaction().execute((tx) => tx.log('anything', { at: 1 }))
    expectTypeOf([...db.events()]).toEqualTypeOf<AzothEvent<unknown, string>[]>()
  })
})

/** Never run: the type checker must reject each marked line. */
export async function rejectedAtCompileTime(db: Azoth<never, CartEvents>): Promise<void> {
  // @ts-expect-error an event type the map does not have
  await db.appendToStream('cart-1', [{ type: 'ItemSold', data: {} }])
  // @ts-expect-error a payload of the wrong shape
  await db.appendToStream('cart-1', [{ type: 'ItemAdded', data: { sku: 1, qty: 1 } }])
  // @ts-expect-error a payload left out where the type has one
  await db.appendToStream('cart-1', [{ type: 'ItemRemoved' }])
  await db.transaction().execute((tx) => {
    // @ts-expect-error tx.log checks the payload too
    tx.log('ItemRemoved', { qty: 1 })
    // @ts-expect-error and requires it
    tx.log('ItemAdded')
    // @ts-expect-error logMany checks each entry's payload
    tx.logMany([['ItemRemoved', { qty: 1 }]])
    // @ts-expect-error and each entry's type
    tx.logMany([['ItemSold', null]])
  })
  // @ts-expect-error so does a write batch
  db.writeBatch().appendEvent('CartClosed2')
  await db.aggregateStream('cart-1', {
    initialState: () => 0,
    // @ts-expect-error the payload of ItemRemoved has no qty
    evolve: (n, e) => (e.type === 'ItemRemoved' ? n + e.payload.qty : n),
  })
  db.projectorBuilder()
    // @ts-expect-error the builder's filter knows the map's types
    .withFilter({ eventTypes: ['ItemSold'] })
    .withHandler({
      // @ts-expect-error and so do its handlers
      eventTypes: ['ItemSold'],
      handle: (e) => {
        // @ts-expect-error whose events are the map's
        if (e.type === 'ItemRemoved') void e.payload.qty
      },
    })
}
