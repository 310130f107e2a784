import { getAzothEventStore } from '@azothdb/emmett'
import {
  CommandHandler,
  DeciderCommandHandler,
  DeciderSpecification,
  IllegalStateError,
  isExpectedVersionConflictError,
} from '@event-driven-io/emmett'
import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import {
  addItem,
  type Cart,
  type CartCommand,
  type CartEvent,
  confirm,
  decide,
  evolve,
  initialState,
} from './support/cart.js'
import { tempDir } from './support/temp-dir.js'

describe("Emmett's DeciderSpecification", () => {
  // The decider alone, as Emmett users test it; the tests below run the same decider on Azoth.
  const given = DeciderSpecification.for({ decide, evolve, initialState })

  it('decides from given events', () => {
    given([{ type: 'ItemAdded', data: { sku: 'a', qty: 2 } }])
      .when(confirm)
      .then([{ type: 'CartConfirmed', data: { items: 2 } }])
    given([]).when(confirm).thenThrows(IllegalStateError)
  })
})

describe.each(['lmdb', 'file'] as const)("Emmett's command handlers on Azoth (eventLog %s)", (eventLog) => {
  it('DeciderCommandHandler loads, decides and appends with the expected version', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const eventStore = getAzothEventStore(db)
    const handle = DeciderCommandHandler<Cart, CartCommand, CartEvent>({
      decide,
      evolve,
      initialState,
      mapToStreamId: (id) => `cart-${id}`,
    })
    const first = await handle(eventStore, '42', addItem('a', 2))
    expect(first.nextExpectedStreamVersion).toBe(1n)
    expect(first.createdNewStream).toBe(true)
    expect(first.newState).toEqual({ status: 'open', items: 2 })
    const second = await handle(eventStore, '42', [addItem('b'), confirm])
    expect(second.nextExpectedStreamVersion).toBe(3n)
    expect(second.lastEventGlobalPosition).toBe(3n)
    expect(second.newEvents.map((e) => e.type)).toEqual(['ItemAdded', 'CartConfirmed'])
    await expect(handle(eventStore, '42', addItem('c'))).rejects.toBeInstanceOf(IllegalStateError)

    const stored = await db.readStream('cart-42')
    expect(stored.events.map((e) => [e.type, e.stream?.version])).toEqual([
      ['ItemAdded', 0n],
      ['ItemAdded', 1n],
      ['CartConfirmed', 2n],
    ])
    // An explicit expected version that is stale fails fast, at the read.
    await expect(handle(eventStore, '7', addItem('a'), { expectedStreamVersion: 5n })).rejects.toSatisfy(
      isExpectedVersionConflictError,
    )
  })

  it('two CommandHandler calls on one stream from the same state: one conflicts, and retries when asked', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const eventStore = getAzothEventStore(db)
    await eventStore.appendToStream<CartEvent>('cart-1', [{ type: 'ItemAdded', data: { sku: 'a', qty: 1 } }])

    // Both decisions wait until both have loaded the cart, so both append expecting position 1.
    const race = (retry: boolean) => {
      let loaded = 0
      let release!: () => void
      const bothLoaded = new Promise<void>((resolve) => {
        release = resolve
      })
      const calls: number[] = []
      const handle = CommandHandler<Cart, CartEvent>({
        evolve,
        initialState,
        ...(retry ? { retry: { onVersionConflict: { retries: 5, minTimeout: 1, maxTimeout: 5 } } } : {}),
      })
      const decideAfterBoth = (n: number) => async (cart: Cart) => {
        calls.push(n)
        if (++loaded === 2) release()
        await bothLoaded
        return decide(addItem(`from-${n}`), cart)
      }
      return {
        calls,
        run: Promise.allSettled([1, 2].map((n) => handle(eventStore, 'cart-1', decideAfterBoth(n)))),
      }
    }

    const noRetry = race(false)
    const [a, b] = await noRetry.run
    const outcomes = [a!.status, b!.status].sort()
    expect(outcomes).toEqual(['fulfilled', 'rejected'])
    const rejected = [a, b].find((r) => r!.status === 'rejected') as PromiseRejectedResult
    expect(isExpectedVersionConflictError(rejected.reason)).toBe(true)
    expect(noRetry.calls).toHaveLength(2)
    expect((await eventStore.readStream('cart-1')).currentStreamVersion).toBe(2n)

    const withRetry = race(true)
    const results = await withRetry.run
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    // One of them ran its decision a second time, on the state that includes the other's event.
    expect(withRetry.calls).toHaveLength(3)
    const positions = results.map(
      (r) => (r as PromiseFulfilledResult<{ nextExpectedStreamVersion: bigint }>).value,
    )
    expect(positions.map((p) => p.nextExpectedStreamVersion).sort()).toEqual([3n, 4n])
    const final = await eventStore.aggregateStream('cart-1', { evolve, initialState })
    expect(final.state.items).toBe(4)
    expect(final.currentStreamVersion).toBe(4n)
  })
})
