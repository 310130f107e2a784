import { AssertionError } from 'node:assert'
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fixedClock, isAzothError, type Migration, type SqlEventHandler } from 'azothdb'
import { ProjectionSpecification } from 'azothdb/testing'
import { describe, expect, it } from 'vitest'

const migrations: Migration[] = [
  {
    version: 1,
    name: 'cart totals',
    up: (tx) =>
      tx.exec('CREATE TABLE cart_totals (cart TEXT PRIMARY KEY, total INTEGER NOT NULL, at INTEGER)'),
  },
]

const cartTotals: SqlEventHandler = {
  name: 'cart totals',
  eventTypes: ['ItemAdded'],
  handle: (e, tx) => {
    const { price } = e.payload as { price: number }
    if (price < 0) throw new RangeError(`negative price in event ${e.id}`)
    tx.run(
      'INSERT INTO cart_totals (cart, total, at) VALUES (?, ?, ?) ' +
        'ON CONFLICT (cart) DO UPDATE SET total = total + excluded.total, at = excluded.at',
      [e.stream?.name ?? 'none', price, e.timestamp],
    )
  },
}

const spec = ProjectionSpecification.for({ handlers: [cartTotals], migrations })
const item = (cart: string | undefined, price: number) => ({
  type: 'ItemAdded',
  stream: cart,
  data: { price },
})

const leftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith('azothdb-projection-spec-'))

async function failureOf(run: Promise<void>): Promise<AssertionError> {
  const e = await run.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(AssertionError)
  return e as AssertionError
}

describe('ProjectionSpecification', () => {
  it('thenRows: the rows after the given and the when events', async () => {
    await spec
      .given([item('cart-1', 3), item('cart-2', 10)])
      .when([item('cart-1', 4), { type: 'Unrelated', data: 1 }])
      .thenRows('SELECT cart, total FROM cart_totals ORDER BY cart', [
        { cart: 'cart-1', total: 7 },
        { cart: 'cart-2', total: 10 },
      ])
    await spec
      .given()
      .when(item(undefined, 5))
      .thenRows('SELECT cart, total FROM cart_totals', [{ cart: 'none', total: 5 }])
  })

  it('a wrong expectation fails with an AssertionError that shows the rows', async () => {
    const e = await failureOf(
      spec
        .given([item('cart-1', 3)])
        .when([item('cart-1', 4)])
        .thenRows('SELECT cart, total FROM cart_totals', [{ cart: 'cart-1', total: 8 }]),
    )
    expect(e.message).toContain('SELECT cart, total FROM cart_totals returned other rows than expected')
    expect(e.message).toMatch(/\+\s+total: 7/)
    expect(e.message).toMatch(/-\s+total: 8/)
    expect(e.actual).toEqual([{ cart: 'cart-1', total: 7 }])
  })

  it('then: a check with a query function over the projection; its failure is the spec failure', async () => {
    const clock = fixedClock(Date.UTC(2026, 0, 2))
    let rows: unknown[] = []
    await ProjectionSpecification.for({ handlers: [cartTotals], migrations, clock })
      .given([])
      .when([item('cart-9', 1)])
      .then(async (query) => {
        rows = await query('SELECT cart, at FROM cart_totals WHERE cart = ?', ['cart-9'])
      })
    expect(rows).toEqual([{ cart: 'cart-9', at: Date.UTC(2026, 0, 2) }])
    const own = new Error('my check failed')
    await expect(
      spec
        .given([])
        .when([item('cart-9', 1)])
        .then(() => {
          throw own
        }),
    ).rejects.toBe(own)
  })

  it('the projector filter applies', async () => {
    await ProjectionSpecification.for({
      handlers: [cartTotals],
      migrations,
      filter: { streamPrefix: 'cart-' },
    })
      .given([item('order-1', 2)])
      .when([item('cart-1', 1), item(undefined, 9)])
      .thenRows('SELECT cart, total FROM cart_totals', [{ cart: 'cart-1', total: 1 }])
  })

  it('thenThrows: the handler error of the when events; fails when projecting succeeds or the check refuses', async () => {
    let seen: unknown
    await spec
      .given([item('cart-1', 1)])
      .when([item('cart-1', -1)])
      .thenThrows((e) => {
        seen = e
        return e instanceof RangeError
      })
    expect((seen as Error).message).toBe('negative price in event 2')
    await spec.given().when(item('cart-1', -1)).thenThrows()
    const succeeded = await failureOf(spec.given().when(item('cart-1', 1)).thenThrows())
    expect(succeeded.message).toContain('was expected to fail, but it succeeded')
    const refused = await failureOf(
      spec
        .given()
        .when(item('cart-1', -1))
        .thenThrows((e) => e instanceof TypeError),
    )
    expect(refused.message).toContain('which the check refused')
    expect(refused.message).toContain('negative price')
  })

  it('a failing given event fails the specification (not the expectation), and no temporary directory is left', async () => {
    const before = leftovers()
    const e = await spec
      .given([item('cart-1', -1)])
      .when([item('cart-1', 1)])
      .thenRows('SELECT 1', [])
      .then(
        () => undefined,
        (err: unknown) => err,
      )
    expect(isAzothError(e, 'PROJECTION_FAILED')).toBe(true)
    expect(leftovers()).toEqual(before)
  })

  it('misuse is INVALID_ARGUMENT', () => {
    expect(() => ProjectionSpecification.for({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => spec.given([{ data: 1 } as never])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => spec.given().when('ItemAdded' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
  })
})
