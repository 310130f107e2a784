import { Azoth, type AzothEvent, ExpectedVersionConflictError, handleCommand, isAzothError } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

interface Cart {
  readonly items: string[]
  readonly closed: boolean
}
type AddItem = { sku: string }

const initialState = (): Cart => ({ items: [], closed: false })
const evolve = (cart: Cart, event: AzothEvent): Cart => {
  if (event.type === 'ItemAdded') return { ...cart, items: [...cart.items, (event.payload as AddItem).sku] }
  if (event.type === 'CartClosed') return { ...cart, closed: true }
  return cart
}
const options = { evolve, initialState }

/** A decider: adds an item unless the cart is closed or already holds it. */
const addItem = (command: AddItem) => (cart: Cart) => {
  if (cart.closed) throw new Error('cart is closed')
  return cart.items.includes(command.sku) ? [] : { type: 'ItemAdded', data: { sku: command.sku } }
}

const versions = async (db: Azoth, stream: string) =>
  (await db.readStream(stream)).events.map((e) => e.stream?.version)

describe.each(['lmdb', 'file'] as const)('handleCommand (eventLog %s)', (eventLog) => {
  it('loads, decides, appends with the loaded version and returns the new state', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const first = await handleCommand(db, 'cart-1', addItem({ sku: 'a' }), options)
    expect(first.newState).toEqual({ items: ['a'], closed: false })
    expect(first.createdNewStream).toBe(true)
    expect(first.nextExpectedStreamVersion).toBe(0n)
    expect(first.newEvents.map((e) => [e.id, e.type, e.stream, e.payload])).toEqual([
      [1, 'ItemAdded', { name: 'cart-1', version: 0n }, { sku: 'a' }],
    ])

    const two = await handleCommand(
      db,
      'cart-1',
      () => [
        { type: 'ItemAdded', data: { sku: 'b' } },
        { type: 'CartClosed', metadata: { correlationId: 'c-1' } },
      ],
      options,
    )
    expect(two).toMatchObject({ nextExpectedStreamVersion: 2n, createdNewStream: false })
    expect(two.newState).toEqual({ items: ['a', 'b'], closed: true })
    expect(two.newEvents.map((e) => [e.stream?.version, e.type, e.metadata])).toEqual([
      [1n, 'ItemAdded', undefined],
      [2n, 'CartClosed', { correlationId: 'c-1' }],
    ])
    // The returned state is what a later load computes.
    expect((await db.aggregateStream('cart-1', options)).state).toEqual(two.newState)

    // An empty decision writes nothing and reports the stream as it is.
    const head = db.head()
    const none = await handleCommand(db, 'cart-2', () => [], options)
    expect(none).toEqual({
      newState: initialState(),
      newEvents: [],
      nextExpectedStreamVersion: undefined,
      createdNewStream: false,
      duplicate: false,
    })
    const again = await handleCommand(db, 'cart-1', () => [], options)
    expect(again.nextExpectedStreamVersion).toBe(2n)
    expect(db.head()).toBe(head)
  })

  it('concurrent handlers on one stream: the one that conflicts loads again, decides again, and both land gaplessly', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await handleCommand(db, 'cart-7', addItem({ sku: 'seed' }), options)
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slowSeen: string[][] = []
    // The slow handler decides on version 0, then waits until the fast one has appended version 1.
    const slow = handleCommand(
      db,
      'cart-7',
      async (cart: Cart) => {
        slowSeen.push(cart.items)
        if (slowSeen.length === 1) await gate
        return { type: 'ItemAdded', data: { sku: 'slow' } }
      },
      options,
    )
    const fast = await handleCommand(db, 'cart-7', addItem({ sku: 'fast' }), options)
    release()
    const slowResult = await slow
    expect(fast.nextExpectedStreamVersion).toBe(1n)
    // Its first decision was on the stale state; the retry saw the fast handler's event.
    expect(slowSeen).toEqual([['seed'], ['seed', 'fast']])
    expect(slowResult.nextExpectedStreamVersion).toBe(2n)
    expect(slowResult.newState.items).toEqual(['seed', 'fast', 'slow'])
    expect(await versions(db, 'cart-7')).toEqual([0n, 1n, 2n])
  })

  it('many concurrent handlers on one stream all land, each event once, versions gapless', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const n = 12
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        handleCommand(db, 'cart-9', addItem({ sku: `s${i}` }), { ...options, maxRetries: n }),
      ),
    )
    const read = await db.readStream('cart-9')
    expect(read.events.map((e) => e.stream?.version)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)))
    expect(new Set(read.events.map((e) => (e.payload as AddItem).sku)).size).toBe(n)
    expect(new Set(results.map((r) => r.nextExpectedStreamVersion)).size).toBe(n)
    expect(results.filter((r) => r.createdNewStream)).toHaveLength(1)
  })

  it('a retried command with its idempotency key appends nothing and returns the first outcome', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await handleCommand(db, 'cart-5', addItem({ sku: 'a' }), options)
    const addTwo = () => [
      { type: 'ItemAdded', data: { sku: 'b' } },
      { type: 'ItemAdded', data: { sku: 'c' } },
    ]
    const first = await handleCommand(db, 'cart-5', addTwo, { ...options, idempotencyKey: 'req-1' })
    // The stream moves on before the retry: the retry must still answer as the first command did.
    await handleCommand(db, 'cart-5', addItem({ sku: 'd' }), options)
    const retry = await handleCommand(db, 'cart-5', addTwo, { ...options, idempotencyKey: 'req-1' })
    expect(first.duplicate).toBe(false)
    expect(retry.duplicate).toBe(true)
    expect(retry.newState).toEqual({ items: ['a', 'b', 'c'], closed: false })
    expect(retry.newState).toEqual(first.newState)
    expect(retry.newEvents).toEqual(first.newEvents)
    expect(retry.nextExpectedStreamVersion).toBe(2n)
    expect(await versions(db, 'cart-5')).toEqual([0n, 1n, 2n, 3n])
  })
})

describe('handleCommand failures', () => {
  it('throws the CONFLICT once the retry budget is spent, having written nothing of its own', async () => {
    await using db = await Azoth.open(tempDir())
    let decisions = 0
    // Every decision is overtaken: another writer appends to the stream before the append.
    const overtaken = (stream: string) => async () => {
      decisions++
      await db.appendToStream(stream, [{ type: 'ItemAdded', data: { sku: `rival-${decisions}` } }])
      return { type: 'ItemAdded', data: { sku: 'mine' } }
    }
    const e = await expectCode(
      handleCommand(db, 'cart-3', overtaken('cart-3'), { ...options, maxRetries: 2 }),
      'CONFLICT',
    )
    expect(e).toBeInstanceOf(ExpectedVersionConflictError)
    expect(e).toMatchObject({ stream: 'cart-3', expected: 1n, actual: 2n })
    expect(decisions).toBe(3)
    const skus = (await db.readStream('cart-3')).events.map((ev) => (ev.payload as AddItem).sku)
    expect(skus).toEqual(['rival-1', 'rival-2', 'rival-3'])

    decisions = 0
    await expectCode(
      handleCommand(db, 'cart-4', overtaken('cart-4'), { ...options, maxRetries: 0 }),
      'CONFLICT',
    )
    expect(decisions).toBe(1)
  })

  it('an error thrown by decide (or evolve) passes through unchanged and nothing is written', async () => {
    await using db = await Azoth.open(tempDir())
    await handleCommand(db, 'cart-5', () => [{ type: 'CartClosed' }], options)
    const head = db.head()
    await expect(handleCommand(db, 'cart-5', addItem({ sku: 'x' }), options)).rejects.toThrow(
      'cart is closed',
    )
    const boom = new RangeError('evolve failed')
    const failing = {
      initialState,
      evolve: () => {
        throw boom
      },
    }
    await expect(handleCommand(db, 'cart-5', () => [], failing)).rejects.toBe(boom)
    const rejecting = async () => {
      throw boom
    }
    await expect(handleCommand(db, 'cart-5', rejecting, options)).rejects.toBe(boom)
    expect(db.head()).toBe(head)
  })

  it('a given expectedStreamVersion must hold at every load; the append expects the loaded version', async () => {
    await using db = await Azoth.open(tempDir())
    await handleCommand(db, 'cart-6', addItem({ sku: 'a' }), options)
    let decided = 0
    const decide = () => {
      decided++
      return { type: 'ItemAdded', data: { sku: 'b' } }
    }
    const stale = await expectCode(
      handleCommand(db, 'cart-6', decide, { ...options, expectedStreamVersion: 'no_stream' }),
      'CONFLICT',
    )
    expect(stale).toMatchObject({ expected: 'no_stream', actual: 0n })
    expect(decided).toBe(0)
    const ok = await handleCommand(db, 'cart-6', decide, { ...options, expectedStreamVersion: 0n })
    expect(ok.nextExpectedStreamVersion).toBe(1n)
    expect(decided).toBe(1)
    // Pinned at 1n, overtaken during decide: the reload is at 2n, so it fails without deciding again.
    const overtaken = await expectCode(
      handleCommand(
        db,
        'cart-6',
        async () => {
          decided++
          await db.appendToStream('cart-6', [{ type: 'ItemAdded', data: { sku: 'rival' } }])
          return { type: 'ItemAdded', data: { sku: 'mine' } }
        },
        { ...options, expectedStreamVersion: 1n },
      ),
      'CONFLICT',
    )
    expect(overtaken).toMatchObject({ expected: 1n, actual: 2n })
    expect(decided).toBe(2)
    // 'stream_exists' holds on every load, so an overtaken decision is retried on the new state.
    let rivals = 0
    const retried = await handleCommand(
      db,
      'cart-6',
      async (cart: Cart) => {
        if (rivals++ === 0)
          await db.appendToStream('cart-6', [{ type: 'ItemAdded', data: { sku: 'rival-2' } }])
        return { type: 'ItemAdded', data: { sku: `after-${cart.items.length}` } }
      },
      { ...options, expectedStreamVersion: 'stream_exists' },
    )
    expect(rivals).toBe(2)
    expect(retried.newState.items.at(-1)).toBe('after-4')
    expect(await versions(db, 'cart-6')).toEqual([0n, 1n, 2n, 3n, 4n])
  })

  it('bad arguments are INVALID_ARGUMENT and write nothing; the database stays usable', async () => {
    await using db = await Azoth.open(tempDir())
    const decide = addItem({ sku: 'a' })
    const cases: [string, () => Promise<unknown>][] = [
      ['no database', () => handleCommand(null as never, 'c-1', decide, options)],
      ['empty stream', () => handleCommand(db, '', decide, options)],
      ['stream not a string', () => handleCommand(db, 5 as never, decide, options)],
      ['decide not a function', () => handleCommand(db, 'c-1', 'x' as never, options)],
      ['no options', () => handleCommand(db, 'c-1', decide, undefined as never)],
      ['no evolve', () => handleCommand(db, 'c-1', decide, { initialState } as never)],
      [
        'initialState not a function',
        () => handleCommand(db, 'c-1', decide, { evolve, initialState: {} } as never),
      ],
      ['negative maxRetries', () => handleCommand(db, 'c-1', decide, { ...options, maxRetries: -1 })],
      ['fractional maxRetries', () => handleCommand(db, 'c-1', decide, { ...options, maxRetries: 1.5 })],
      ['huge maxRetries', () => handleCommand(db, 'c-1', decide, { ...options, maxRetries: 1e9 })],
      [
        'bad expected version',
        () => handleCommand(db, 'c-1', decide, { ...options, expectedStreamVersion: -1n }),
      ],
      [
        'idempotency key not a string',
        () => handleCommand(db, 'c-1', decide, { ...options, idempotencyKey: 7 as never }),
      ],
      ['unknown option', () => handleCommand(db, 'c-1', decide, { ...options, retries: 2 } as never)],
      ['decision not an event', () => handleCommand(db, 'c-1', () => 'ItemAdded' as never, options)],
      ['decision undefined', () => handleCommand(db, 'c-1', () => undefined as never, options)],
      ['event without a type', () => handleCommand(db, 'c-1', () => ({ data: 1 }) as never, options)],
    ]
    for (const [name, call] of cases) {
      const e = await expectCode(call(), 'INVALID_ARGUMENT')
      expect(isAzothError(e), name).toBe(true)
    }
    expect(db.head()).toBe(0)
    expect((await handleCommand(db, 'c-1', decide, options)).nextExpectedStreamVersion).toBe(0n)
  })
})
