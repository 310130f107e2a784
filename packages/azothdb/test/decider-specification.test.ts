import { AssertionError } from 'node:assert'
import { Azoth, type AzothEvent, handleCommand, isAzothError } from 'azothdb'
import { type Decider, DeciderSpecification } from 'azothdb/testing'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

type Command = { type: 'AddItem'; sku: string; qty?: number } | { type: 'Checkout' }
interface Cart {
  readonly items: Record<string, number>
  readonly checkedOut: boolean
}

class CartEmpty extends Error {}

const cart: Decider<Command, Cart> = {
  initialState: () => ({ items: {}, checkedOut: false }),
  evolve: (state, event: AzothEvent) => {
    const data = event.payload as { sku: string; qty: number }
    if (event.type === 'ItemAdded') {
      return { ...state, items: { ...state.items, [data.sku]: (state.items[data.sku] ?? 0) + data.qty } }
    }
    if (event.type === 'CheckedOut') return { ...state, checkedOut: true }
    return state
  },
  decide: (command, state) => {
    if (state.checkedOut) throw new Error('already checked out')
    if (command.type === 'AddItem') {
      return { type: 'ItemAdded', data: { sku: command.sku, qty: command.qty ?? 1 } }
    }
    if (Object.keys(state.items).length === 0) throw new CartEmpty('empty cart')
    return [{ type: 'CheckedOut', metadata: { correlationId: 'k-1' } }]
  },
}

const given = DeciderSpecification.for(cart)
const added = (sku: string, qty = 1) => ({ type: 'ItemAdded', data: { sku, qty } })

/** What the spec throws (it must throw an AssertionError). */
function failureOf(fn: () => void): AssertionError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(AssertionError)
    return e as AssertionError
  }
  throw new Error('the specification did not fail')
}

describe('DeciderSpecification', () => {
  it('given/when/then passes when the decision matches, called either way', () => {
    given([])
      .when({ type: 'AddItem', sku: 'a' })
      .then([added('a')])
    given().when({ type: 'AddItem', sku: 'a', qty: 2 }).then(added('a', 2))
    given
      .given([added('a')])
      .when({ type: 'Checkout' })
      .then([{ type: 'CheckedOut', metadata: { correlationId: 'k-1' } }])
  })

  it('a wrong expectation fails with an AssertionError whose message shows the difference', () => {
    const e = failureOf(() =>
      given([])
        .when({ type: 'AddItem', sku: 'a', qty: 3 })
        .then([added('a', 2)]),
    )
    expect(e.message).toContain('decided other events than expected')
    // Node's line diff: the decided value marked +, the expected one -.
    expect(e.message).toMatch(/\+\s+qty: 3/)
    expect(e.message).toMatch(/-\s+qty: 2/)
    expect(e.actual).toEqual([{ type: 'ItemAdded', data: { sku: 'a', qty: 3 } }])
    const count = failureOf(() =>
      given([])
        .when({ type: 'AddItem', sku: 'a' })
        .then([added('a'), added('a')]),
    )
    expect(count.message).toContain('decided other events than expected')
    const type = failureOf(() =>
      given([added('a')])
        .when({ type: 'Checkout' })
        .then([{ type: 'CheckedOut' }]),
    )
    expect(type.message).toContain('correlationId')
  })

  it('compares events as stored: a class instance is its fields, omitted data is null', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const paying: Decider<null, null> = {
      initialState: () => null,
      evolve: (s) => s,
      decide: () => [{ type: 'Paid', data: { amount: new Money(5) } }, { type: 'Closed' }],
    }
    DeciderSpecification.for(paying)([])
      .when(null)
      .then([
        { type: 'Paid', data: { amount: { cents: 5 } } },
        { type: 'Closed', data: null },
      ])
  })

  it('given events reach evolve as a read returns them: decoded, with ids and stream versions', () => {
    const seen: unknown[] = []
    const recording: Decider<null, number> = {
      initialState: () => 0,
      evolve: (n, e) => {
        seen.push([e.id, e.stream?.version, e.type, e.payload])
        return n + 1
      },
      decide: (_, n) => ({ type: 'Counted', data: { n } }),
    }
    class Money {
      constructor(readonly cents: number) {}
    }
    DeciderSpecification.for(recording)
      .given([{ type: 'X', data: new Money(5) }, { type: 'Y' }])
      .when(null)
      .then({ type: 'Counted', data: { n: 2 } })
    expect(seen).toEqual([
      [1, 0n, 'X', { cents: 5 }],
      [2, 1n, 'Y', null],
    ])
    expect(Object.getPrototypeOf((seen[0] as unknown[])[3])).toBe(Object.prototype)
  })

  it('thenNothingHappened', () => {
    const idle: Decider<null, null> = { initialState: () => null, evolve: (s) => s, decide: () => [] }
    DeciderSpecification.for(idle)([]).when(null).thenNothingHappened()
    const e = failureOf(() => given([]).when({ type: 'AddItem', sku: 'a' }).thenNothingHappened())
    expect(e.message).toContain('decided events, where none were expected')
    expect(e.message).toContain("sku: 'a'")
  })

  it('thenThrows: any error, an error class, a check, or both; fails readably otherwise', () => {
    given([]).when({ type: 'Checkout' }).thenThrows()
    given([]).when({ type: 'Checkout' }).thenThrows(CartEmpty)
    given([])
      .when({ type: 'Checkout' })
      .thenThrows((e) => e.message === 'empty cart')
    given([])
      .when({ type: 'Checkout' })
      .thenThrows(CartEmpty, (e) => e.message === 'empty cart')
    given([added('a'), { type: 'CheckedOut' }])
      .when({ type: 'AddItem', sku: 'b' })
      .thenThrows(Error)

    const none = failureOf(() => given([]).when({ type: 'AddItem', sku: 'a' }).thenThrows())
    expect(none.message).toContain('was expected to throw, but decided')
    expect(none.message).toContain("sku: 'a'")
    const wrongClass = failureOf(() =>
      given([added('a'), { type: 'CheckedOut' }])
        .when({ type: 'Checkout' })
        .thenThrows(CartEmpty),
    )
    expect(wrongClass.message).toContain('not an instance of CartEmpty')
    expect(wrongClass.message).toContain('already checked out')
    const refused = failureOf(() =>
      given([])
        .when({ type: 'Checkout' })
        .thenThrows((e) => e.message === 'something else'),
    )
    expect(refused.message).toContain('which the check refused')
    // A check may assert on its own; its error passes through.
    const own = new Error('my assertion')
    expect(() =>
      given([])
        .when({ type: 'Checkout' })
        .thenThrows(() => {
          throw own
        }),
    ).toThrow(own)
  })

  it('the same decider runs in handleCommand against a database', async () => {
    await using db = await Azoth.open(tempDir())
    const run = (command: Command) =>
      handleCommand(db, 'cart-1', (state: Cart) => cart.decide(command, state), {
        evolve: cart.evolve,
        initialState: cart.initialState,
      })
    await run({ type: 'AddItem', sku: 'a', qty: 2 })
    const done = await run({ type: 'Checkout' })
    expect(done.newState).toEqual({ items: { a: 2 }, checkedOut: true })
    const stored = (await db.readStream('cart-1')).events.map((e) => ({ type: e.type, data: e.payload }))
    // The stored events, read back, make a given: the decider refuses what the database would.
    given(stored.slice(0, 1))
      .when({ type: 'Checkout' })
      .then([{ type: 'CheckedOut', metadata: { correlationId: 'k-1' } }])
    given(stored)
      .when({ type: 'AddItem', sku: 'b' })
      .thenThrows((e) => e.message === 'already checked out')
  })

  it('misuse is INVALID_ARGUMENT', async () => {
    const invalid = (fn: () => unknown) => {
      let error: unknown
      try {
        fn()
      } catch (e) {
        error = e
      }
      expect(isAzothError(error, 'INVALID_ARGUMENT'), String(error)).toBe(true)
    }
    invalid(() => DeciderSpecification.for({} as never))
    invalid(() => given(['x' as never]))
    invalid(() =>
      given([])
        .when({ type: 'AddItem', sku: 'a' })
        .then(['ItemAdded' as never]),
    )
    const asyncDecider = { ...cart, decide: async () => added('a') } as unknown as Decider<Command, Cart>
    invalid(() => DeciderSpecification.for(asyncDecider)([]).when({ type: 'Checkout' }).then([]))
    // A specification is run by its then*, not awaited.
    const awaited = await Promise.resolve(given([]).when({ type: 'Checkout' })).then(
      () => 'resolved',
      (e: unknown) => e,
    )
    expect(isAzothError(awaited, 'INVALID_ARGUMENT')).toBe(true)
  })
})
