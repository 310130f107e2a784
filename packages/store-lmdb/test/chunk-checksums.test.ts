import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { DATA_FILE, openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assembleChunkChecksumsWasm } from '../scripts/build-chunk-checksums-wasm.js'
import { CHUNK_CHECKSUMS_WASM } from '../src/chunk-checksums-wasm.js'
import { ChunkRecords } from '../src/chunk-records.js'
import { buildChunks, Chunk } from '../src/event-chunks.js'
import { flipBit, occurrences } from './support/bit-flips.js'
import { tempDir } from './support/temp-dir.js'

/** Whether the JavaScript path (one event at a time) finds event `index` of `chunk` intact. */
function intact(chunk: Chunk, index: number): boolean {
  try {
    chunk.event(index)
    return true
  } catch (e) {
    if (isAzothError(e, 'CORRUPTION')) return false
    throw e
  }
}

const chunkArb = fc.record({
  // Ids around 2^32 too: the bulk check carries into the id's high word itself.
  firstId: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 + 40 })),
  lengths: fc.array(fc.nat(300), { minLength: 1, maxLength: 60 }),
  seed: fc.nat(255),
  // A flipped bit anywhere in the chunk (its header included), or none.
  flip: fc.option(fc.record({ at: fc.nat(), bit: fc.nat(7) })),
  from: fc.nat(),
  to: fc.nat(),
})

// Thousands of runs each: about 2 s on an idle machine, past vitest's default 5 s on a loaded one.
describe('bulk checksums of event chunks', { timeout: 120_000 }, () => {
  it('ships the module that scripts/build-chunk-checksums-wasm.ts assembles from the generator', async () => {
    expect(
      Buffer.from(CHUNK_CHECKSUMS_WASM, 'base64').equals(Buffer.from(await assembleChunkChecksumsWasm())),
    ).toBe(true)
  })

  it('proves intact exactly the events the one-at-a-time check finds intact, up to the first damaged one', () => {
    fc.assert(
      fc.property(chunkArb, ({ firstId, lengths, seed, flip, from, to }) => {
        const events = lengths.map((n, i) =>
          Uint8Array.from({ length: n }, (_, k) => (seed + i * 7 + k) & 0xff),
        )
        const [[, value]] = [...buildChunks(firstId, events, Number.MAX_SAFE_INTEGER)] as [
          [Uint8Array, Uint8Array],
        ]
        const stored = new Uint8Array(value.length + 3).subarray(3) // not at the buffer's start
        stored.set(value)
        if (flip !== null) stored[flip.at % stored.length]! ^= 1 << flip.bit
        // The checksummer's scratch holds the intact chunk first: a check that read bytes it did
        // not copy would read the intact ones there.
        new Chunk(firstId, value).verify(0, lengths.length)
        let chunk: Chunk
        try {
          chunk = new Chunk(firstId, stored)
        } catch (e) {
          if (isAzothError(e, 'CORRUPTION')) return // a damaged count or last offset: refused whole
          throw e
        }
        const lo = Math.min(from % (chunk.count + 1), to % (chunk.count + 1))
        const hi = Math.max(from % (chunk.count + 1), to % (chunk.count + 1))
        const proven = chunk.verify(lo, hi)
        expect(proven).toBeGreaterThanOrEqual(lo)
        expect(proven).toBeLessThanOrEqual(hi)
        for (let i = lo; i < proven; i++) {
          expect(intact(chunk, i)).toBe(true)
          expect(chunk.verifiedEvent(i)).toEqual(chunk.event(i))
        }
        // Where the bulk check stopped early, the event it stopped at is damaged.
        if (proven < hi && hi - lo >= 4) expect(intact(chunk, proven)).toBe(false)
        if (flip === null && hi - lo >= 4) expect(proven).toBe(hi)
      }),
      { numRuns: 2000 },
    )
  })

  it('a flipped bit in any byte of an event, or of its stored checksum, is CORRUPTION naming it after every event before it', () => {
    fc.assert(
      fc.property(
        fc.record({
          lengths: fc.array(fc.nat(300), { minLength: 1, maxLength: 80 }),
          chunkBytes: fc.integer({ min: 1, max: 4000 }),
          victim: fc.nat(),
          at: fc.nat(),
          bit: fc.nat(7),
          inChecksum: fc.boolean(),
          from: fc.nat(),
          to: fc.nat(),
          limit: fc.option(fc.nat(), { nil: Number.POSITIVE_INFINITY }),
        }),
        ({ lengths, chunkBytes, victim, at, bit, inChecksum, from, to, limit }) => {
          const n = lengths.length
          const events = lengths.map((len, i) =>
            Uint8Array.from({ length: len }, (_, k) => (i * 31 + k * 7) & 0xff),
          )
          const entries = [...buildChunks(1, events, chunkBytes)].map(([key, value]) => ({ key, value }))
          // Flip the bit in the chunk holding the victim: in its bytes, or in its checksum when it
          // has none (an empty event).
          const victimId = (victim % n) + 1
          let first = 1
          for (const entry of entries) {
            const count = new DataView(entry.value.buffer).getUint32(0)
            if (victimId < first + count) {
              const index = victimId - first
              const view = new DataView(entry.value.buffer)
              const start = index === 0 ? 0 : view.getUint32(4 + 4 * (index - 1))
              const length = view.getUint32(4 + 4 * index) - start
              const offset =
                inChecksum || length === 0
                  ? 4 + 4 * count + 4 * index + (at % 4)
                  : 4 + 8 * count + start + (at % length)
              entry.value[offset]! ^= 1 << bit
              break
            }
            first += count
          }
          const lo = (from % n) + 1
          const hi = lo + (to % (n - lo + 1))
          const records = new ChunkRecords(() => entries[Symbol.iterator](), lo, hi, limit)
          const seen: { id: number; bytes: Uint8Array }[] = []
          let error: unknown
          try {
            for (const r of records) seen.push({ id: r.id, bytes: new Uint8Array(r.bytes) })
          } catch (e) {
            error = e
          }
          const wanted = Array.from({ length: Math.min(hi - lo + 1, limit) }, (_, i) => lo + i)
          const intact = wanted.includes(victimId) ? wanted.slice(0, victimId - lo) : wanted
          expect(seen).toEqual(intact.map((id) => ({ id, bytes: events[id - 1] })))
          if (intact.length === wanted.length) expect(error).toBeUndefined()
          else {
            expect(isAzothError(error, 'CORRUPTION')).toBe(true)
            expect((error as { details: unknown }).details).toMatchObject({
              where: 'event',
              eventId: victimId,
            })
          }
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('events() and verify() over multi-event chunks: every event before a flipped one, then CORRUPTION naming it', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir, { durability: 'relaxed' })
    const written: Uint8Array[] = []
    for (let c = 0; c < 3; c++) {
      await store.commit((tx) => {
        for (let i = 0; i < 50; i++) tx.appendEvent('deposited', { n: c * 50 + i, memo: 'x'.repeat(i) })
      })
    }
    for (const r of store.events()) written.push(new Uint8Array(r.bytes))
    await store.close()
    // Events 77 and 90 sit in the second chunk (ids 51-100); flip a bit in the middle of each.
    for (const id of [77, 90]) {
      const victim = written[id - 1]!
      expect(
        flipBit(join(dir, DATA_FILE), (d) => occurrences(d, victim), victim.length >> 1, 2),
      ).toBeGreaterThan(0)
    }
    const damaged = await openLmdbStore(dir)
    try {
      const seen: Uint8Array[] = []
      let error: unknown
      try {
        for (const r of damaged.events()) seen.push(new Uint8Array(r.bytes))
      } catch (e) {
        error = e
      }
      expect(isAzothError(error, 'CORRUPTION')).toBe(true)
      expect((error as { details: unknown }).details).toMatchObject({ where: 'event', eventId: 77 })
      expect(seen).toEqual(written.slice(0, 76))
      // Reads between, after or before the damaged events still return what was written.
      const bytesOf = (range: { from?: number; to?: number }) =>
        [...damaged.events(range)].map((r) => new Uint8Array(r.bytes))
      expect(bytesOf({ from: 78, to: 89 })).toEqual(written.slice(77, 89))
      expect(bytesOf({ from: 91 })).toEqual(written.slice(90))
      expect(bytesOf({ from: 51, to: 76 })).toEqual(written.slice(50, 76))
      // verify() checks the chunk in bulk and still names each damaged event, and only those.
      const report = await damaged.verify()
      expect(report.problems).toEqual([
        expect.objectContaining({ kind: 'event-checksum', eventId: 77 }),
        expect.objectContaining({ kind: 'event-checksum', eventId: 90 }),
      ])
      expect(report.checked.events).toBe(150)
    } finally {
      await damaged.close()
    }
  })
})
