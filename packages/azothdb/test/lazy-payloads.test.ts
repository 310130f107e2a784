import { deepStrictEqual } from 'node:assert'
import { inspect } from 'node:util'
import { Azoth, type AzothEvent, fixedClock, isAzothError } from 'azothdb'
import { addExtension } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

/** A payload that encodes fine and throws when decoded: every decode of it shows in `poisonDecodes`. */
class Poison {
  constructor(readonly note: string) {}
}
/** A payload that decodes to `{ counted: note }`: every decode of it shows in `countedDecodes`. */
class Counted {
  constructor(readonly note: string) {}
}
let poisonDecodes = 0
let countedDecodes = 0
addExtension({
  Class: Poison,
  tag: 40_511,
  encode: (p: Poison, encode: (value: unknown) => Uint8Array) => encode(p.note),
  decode: () => {
    poisonDecodes++
    throw new Error('a payload nobody read was decoded')
  },
})
addExtension({
  Class: Counted,
  tag: 40_512,
  encode: (p: Counted, encode: (value: unknown) => Uint8Array) => encode(p.note),
  // What a read returns is a plain object, not a Counted: the extension's type cannot say so.
  decode: ((note: unknown) => {
    countedDecodes++
    return { counted: note }
  }) as unknown as (item: unknown) => Counted,
})

/** Events 1-4: a plain payload, a poisoned one in a stream, a counted one with metadata, a poisoned one. */
async function seed(db: Azoth): Promise<void> {
  await db.transaction().execute((tx) => tx.log('Plain', { n: 1 }))
  await db.appendToStream('cart-1', [{ type: 'Poisoned', data: new Poison('in a stream') }])
  await db
    .transaction()
    .execute((tx) => tx.log('Counted', new Counted('c'), { correlationId: 'req-7', causationId: '2' }))
  await db.transaction().execute((tx) => tx.log('Poisoned', new Poison('plain')))
  poisonDecodes = 0
  countedDecodes = 0
}

/** Reads the payload, returning the error it raises. */
function payloadError(event: AzothEvent): unknown {
  try {
    void event.payload
  } catch (e) {
    return e
  }
  return undefined
}

describe.each(['lmdb', 'file'] as const)('payloads are decoded on first access (eventLog %s)', (eventLog) => {
  it('db.events(): id, type, timestamp, stream and metadata come without decoding any payload', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog, clock: fixedClock(1_234) })
    await seed(db)
    const seen = [...db.events()].map((e) => [e.id, e.type, e.timestamp, e.stream?.name, e.metadata])
    expect(seen).toEqual([
      [1, 'Plain', 1_234, undefined, undefined],
      [2, 'Poisoned', 1_234, 'cart-1', undefined],
      [3, 'Counted', 1_234, undefined, { correlationId: 'req-7', causationId: '2' }],
      [4, 'Poisoned', 1_234, undefined, undefined],
    ])
    expect(poisonDecodes).toBe(0)
    expect(countedDecodes).toBe(0)
  })

  it('a payload is decoded once, on first access; the same value comes back after', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await seed(db)
    const counted = [...db.events({ from: 3, to: 3 })][0]!
    expect(countedDecodes).toBe(0)
    const first = counted.payload
    expect(first).toEqual({ counted: 'c' })
    expect(counted.payload).toBe(first)
    expect({ ...counted }.payload).toBe(first)
    expect(countedDecodes).toBe(1)
  })

  it('a damaged payload raises CORRUPTION naming the event at each read; its neighbours still read', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await seed(db)
    const events = [...db.events()]
    for (const id of [2, 4]) {
      const event = events[id - 1]!
      for (let attempt = 0; attempt < 2; attempt++) {
        const e = payloadError(event)
        expect(isAzothError(e, 'CORRUPTION')).toBe(true)
        expect((e as Error).message).toContain(`event ${id}`)
        expect((e as { details: { where: string } }).details.where).toBe(`payload of event ${id}`)
      }
    }
    expect(poisonDecodes).toBe(4)
    expect(events[0]!.payload).toEqual({ n: 1 })
    expect(events[2]!.payload).toEqual({ counted: 'c' })
    // The database is unharmed: it commits and reads on.
    await db.transaction().execute((tx) => tx.log('After', 5))
    expect([...db.events({ from: 5 })].map((e) => e.payload)).toEqual([5])
  })

  it('readStream and subscribe (with and without a filter) leave payloads alone until read', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await seed(db)
    const { events } = await db.readStream('cart-1')
    expect(events.map((e) => [e.type, e.stream?.version])).toEqual([['Poisoned', 0n]])
    const types = async (options: Parameters<typeof db.subscribe>[0]) => {
      const got: string[] = []
      for await (const e of db.subscribe({ from: 1, ...options })) {
        got.push(`${e.id}:${e.type}`)
        if (e.id === 4) break
      }
      return got
    }
    expect(await types({})).toEqual(['1:Plain', '2:Poisoned', '3:Counted', '4:Poisoned'])
    expect(await types({ eventTypes: ['Poisoned'] })).toEqual(['2:Poisoned', '4:Poisoned'])
    expect(poisonDecodes).toBe(0)
    expect(isAzothError(payloadError(events[0]!), 'CORRUPTION')).toBe(true)
  })

  it('a projector handler that ignores payloads passes poisoned events; one that reads them fails', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await db.migrate([
      { version: 1, name: 'seen', up: (tx) => tx.exec('CREATE TABLE seen (id INT, type TEXT)') },
    ])
    await seed(db)
    const types = db.projector({
      name: 'types',
      handlers: [
        {
          eventTypes: '*',
          handle: (e: AzothEvent, tx: { run: (sql: string, params: unknown[]) => unknown }) =>
            void tx.run('INSERT INTO seen VALUES (?, ?)', [e.id, e.type]),
        },
      ],
    })
    expect((await types.runOnce()).cursor).toBe(4)
    expect(await db.query('SELECT id, type FROM seen ORDER BY id')).toHaveLength(4)
    expect(poisonDecodes).toBe(0)
    const readers = db.projector({
      name: 'readers',
      handlers: [{ eventTypes: ['Poisoned'], handle: (e: AzothEvent) => void JSON.stringify(e.payload) }],
    })
    await expect(readers.runOnce()).rejects.toSatisfy(
      (e: Error) => isAzothError(e, 'PROJECTION_FAILED') && isAzothError(e.cause, 'CORRUPTION'),
    )
  })
})

describe('a lazily decoded event compares, copies and serialises like a plain object', () => {
  it('toEqual, toStrictEqual, deepStrictEqual, spread, structuredClone, JSON, keys and freeze see the payload', async () => {
    await using db = await Azoth.open(tempDir(), { clock: fixedClock(99) })
    await db.appendToStream('order-1', [{ type: 'Placed', data: { total: 5, items: ['a'] } }])
    const read = () => [...db.events()][0]!
    const expected = {
      id: 1,
      type: 'Placed',
      timestamp: 99,
      metadata: undefined,
      stream: { name: 'order-1', version: 0n },
      payload: { total: 5, items: ['a'] },
    }
    expect(read()).toEqual(expected)
    expect(read()).toStrictEqual(expected)
    deepStrictEqual(read(), expected)
    expect(Object.getPrototypeOf(read())).toBe(Object.prototype)
    expect(inspect(read())).toMatch(/^\{\n {2}id: 1,/)
    expect(Object.keys(read())).toEqual(['id', 'type', 'timestamp', 'metadata', 'stream', 'payload'])
    expect({ ...read() }).toEqual(expected)
    expect(Object.getOwnPropertyDescriptor({ ...read() }, 'payload')?.value).toEqual(expected.payload)
    expect(structuredClone(read())).toEqual(expected)
    expect(JSON.parse(JSON.stringify({ ...read(), stream: undefined }))).toEqual({
      id: 1,
      type: 'Placed',
      timestamp: 99,
      payload: { total: 5, items: ['a'] },
    })
    const frozen = Object.freeze(read())
    expect(frozen.payload).toEqual(expected.payload)
    expect(frozen.payload).toBe(frozen.payload)
  })
})
