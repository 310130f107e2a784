import { Azoth, type AzothEvent, isAzothError } from 'azothdb'
import { addExtension } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

/** A payload that encodes fine and throws when decoded: any decode of it shows in `decodes`. */
class Poison {
  constructor(readonly note: string) {}
}
let decodes = 0
addExtension({
  Class: Poison,
  tag: 40_501,
  encode: (p: Poison, encode: (value: unknown) => Uint8Array) => encode(p.note),
  decode: () => {
    decodes++
    throw new Error('a filtered-out payload was decoded')
  },
})

const label = (e: AzothEvent) => `${e.stream?.name ?? '-'}:${e.type}:${String(e.payload)}`

async function mixedLog(db: Azoth): Promise<void> {
  await db.appendToStream('cart-1', [{ type: 'ItemAdded', data: 'a' }])
  await db.appendToStream('order-1', [{ type: 'ItemAdded', data: new Poison('order') }])
  await db.transaction().execute((tx) => tx.log('ItemAdded', new Poison('plain')))
  await db.appendToStream('cart-2', [
    { type: 'ItemRemoved', data: 'b' },
    { type: 'Audited', data: new Poison('type') },
  ])
  await db.appendToStream('cart', [{ type: 'ItemAdded', data: new Poison('no dash') }])
  await db.appendToStream('cart-1', [{ type: 'ItemRemoved', data: 'c' }])
}

describe.each(['lmdb', 'file'] as const)(
  'filters by stream, prefix and type decode no payload they leave out (eventLog %s)',
  (eventLog) => {
    it('the poison is real: an unfiltered feed fails on it with CORRUPTION', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      await mixedLog(db)
      decodes = 0
      const feed = db.subscribe({ from: 1 })
      const seen: string[] = []
      const error = await (async () => {
        for await (const e of feed) seen.push(label(e))
      })().catch((e: unknown) => e)
      expect(isAzothError(error, 'CORRUPTION')).toBe(true)
      expect(seen).toEqual(['cart-1:ItemAdded:a'])
      expect(decodes).toBe(1)
    })

    it('subscribe: streams, streamPrefix and eventTypes', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      await mixedLog(db)
      decodes = 0
      const collect = async (options: Parameters<typeof db.subscribe>[0], count: number) => {
        const got: string[] = []
        for await (const e of db.subscribe({ from: 1, ...options })) {
          got.push(label(e))
          if (got.length === count) break
        }
        return got
      }
      expect(await collect({ streams: ['cart-1'] }, 2)).toEqual([
        'cart-1:ItemAdded:a',
        'cart-1:ItemRemoved:c',
      ])
      expect(await collect({ streamPrefix: 'cart-', eventTypes: ['ItemAdded', 'ItemRemoved'] }, 3)).toEqual([
        'cart-1:ItemAdded:a',
        'cart-2:ItemRemoved:b',
        'cart-1:ItemRemoved:c',
      ])
      expect(decodes).toBe(0)
    })

    it('projectors: db.projector({ filter }) and projectorBuilder().withFilter(), cursor at the head', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      await db.migrate([
        { version: 1, name: 'seen', up: (tx) => tx.exec('CREATE TABLE seen (p TEXT, label TEXT)') },
      ])
      await mixedLog(db)
      decodes = 0
      const into = (projector: string) => ({
        eventTypes: '*' as const,
        handle: (e: AzothEvent, tx: { run: (sql: string, params: unknown[]) => unknown }) =>
          void tx.run('INSERT INTO seen VALUES (?, ?)', [projector, label(e)]),
      })
      const byPrefix = db.projector({
        name: 'by-prefix',
        handlers: [into('by-prefix')],
        filter: { streamPrefix: 'cart-', eventTypes: ['ItemAdded', 'ItemRemoved'] },
      })
      const byStream = db
        .projectorBuilder()
        .withName('by-stream')
        .withHandler(into('by-stream'))
        .withFilter({ streams: ['cart-1'] })
        .build()
      expect((await byPrefix.runOnce()).cursor).toBe(db.head())
      expect((await byStream.runOnce()).cursor).toBe(db.head())
      const rows = await db.query<{ p: string; label: string }>('SELECT p, label FROM seen ORDER BY rowid')
      expect(rows).toEqual([
        { p: 'by-prefix', label: 'cart-1:ItemAdded:a' },
        { p: 'by-prefix', label: 'cart-2:ItemRemoved:b' },
        { p: 'by-prefix', label: 'cart-1:ItemRemoved:c' },
        { p: 'by-stream', label: 'cart-1:ItemAdded:a' },
        { p: 'by-stream', label: 'cart-1:ItemRemoved:c' },
      ])
      expect(decodes).toBe(0)
      expect(() =>
        db.projector({ name: 'bad', handlers: [into('bad')], filter: { streams: 'cart-1' as never } }),
      ).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    })
  },
)
