import { isAzothError } from '@azothdb/core'
import { eventIdBytes } from '@azothdb/core/internal'
import { describe, expect, it } from 'vitest'
import { ChunkRecords } from '../src/chunk-records.js'
import { buildChunks } from '../src/event-chunks.js'

type Entry = { key: Uint8Array; value: Uint8Array }

/** Chunk entries of `count` one-byte events from id 1, `perChunk` per chunk. */
function entries(count: number, perChunk: number): Entry[] {
  const events = Array.from({ length: count }, (_, i) => Uint8Array.of(i + 1))
  const out: Entry[] = []
  for (let first = 1; first <= count; first += perChunk) {
    for (const [key, value] of buildChunks(first, events.slice(first - 1, first - 1 + perChunk), 1 << 20)) {
      out.push({ key, value })
    }
  }
  return out
}

/** A range over `list` that counts how often it is opened and closed. */
function range(list: Entry[]) {
  const counts = { opened: 0, closed: 0 }
  const open = () => {
    counts.opened++
    const inner = list[Symbol.iterator]()
    return {
      next: () => inner.next(),
      return: () => {
        counts.closed++
        return { done: true as const, value: undefined }
      },
    }
  }
  return { open, counts }
}

describe('ChunkRecords', () => {
  it('yields from, to and limit exactly, opens the range at the first next() and closes it once', () => {
    const { open, counts } = range(entries(50, 7))
    const it = new ChunkRecords(open, 9, 40, 20)
    expect(counts.opened).toBe(0)
    const ids = [...it].map((r) => r.id)
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => 9 + i))
    expect(counts).toEqual({ opened: 1, closed: 1 })
    expect(it.next().done).toBe(true)
    expect(counts.closed).toBe(1)
  })

  it('closes the range when the caller stops early', () => {
    const { open, counts } = range(entries(50, 7))
    for (const r of new ChunkRecords(open, 1, 50, Number.POSITIVE_INFINITY)) if (r.id === 3) break
    expect(counts).toEqual({ opened: 1, closed: 1 })
  })

  it('a damaged chunk ends the iteration: the error once, the range closed, nothing after it', () => {
    const list = entries(12, 4)
    const value = list[1]!.value.slice()
    new DataView(value.buffer).setUint32(8, 0) // the second event's end offset before its start
    list[1] = { key: eventIdBytes(5), value }
    const { open, counts } = range(list)
    const it = new ChunkRecords(open, 1, 12, 100)
    const seen: number[] = []
    let error: unknown
    try {
      for (const r of it) seen.push(r.id)
    } catch (e) {
      error = e
    }
    expect(isAzothError(error, 'CORRUPTION')).toBe(true)
    expect(seen).toEqual([1, 2, 3, 4, 5])
    expect(counts.closed).toBe(1)
    expect(it.next().done).toBe(true)
  })

  it('a gap between chunks and a failing range both end the iteration with the range closed', () => {
    const gap = entries(12, 4)
    gap.splice(1, 1)
    const g = range(gap)
    const it = new ChunkRecords(g.open, 1, 12, 100)
    expect(() => [...it]).toThrow(/gap/)
    expect(g.counts.closed).toBe(1)
    expect(it.next().done).toBe(true)

    let closed = 0
    const failing = new ChunkRecords(
      () => ({
        next: () => {
          throw new Error('disk gone')
        },
        return: () => {
          closed++
          return { done: true as const, value: undefined }
        },
      }),
      1,
      12,
      100,
    )
    expect(() => failing.next()).toThrow('disk gone')
    expect(closed).toBe(1)
    expect(failing.next().done).toBe(true)
  })
  it('entries that end before `to` (at most the head) are CORRUPTION naming the first missing event', () => {
    const short = entries(12, 4).slice(0, 2)
    const seen: number[] = []
    let error: unknown
    try {
      for (const r of new ChunkRecords(range(short).open, 2, 12, 100)) seen.push(r.id)
    } catch (e) {
      error = e
    }
    expect(seen).toEqual([2, 3, 4, 5, 6, 7, 8])
    expect(error).toMatchObject({
      code: 'CORRUPTION',
      details: { where: 'event', eventId: 9, reason: 'missing' },
    })
    // Not when the range ends with them; but no chunk at all below `to` is.
    expect([...new ChunkRecords(range(short).open, 2, 8, 100)].length).toBe(7)
    expect(() => [...new ChunkRecords(() => undefined, 1, 3, 100)]).toThrow(/event 1 is missing/)
  })
})
