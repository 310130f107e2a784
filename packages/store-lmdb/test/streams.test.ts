import { join } from 'node:path'
import { decodeEvent, ExpectedVersionConflictError, TypedValue, type WriteContext } from '@azothdb/core'
import { crc32c } from '@azothdb/core/internal'
import { DATA_FILE, type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { flipBit, occurrences } from './support/bit-flips.js'
import { codeOf } from './support/code-of.js'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'
import { cannotMountTmpfs, mountTmpfs } from './support/tmpfs.js'

const ev = (n: number) => ({ type: 'T', data: n })

type Db = import('lmdb').Database<Uint8Array, Uint8Array>

/** Opens the store's LMDB environment directly (the store must be closed). */
function rawEnv(dir: string) {
  return open<Uint8Array, Uint8Array>({
    path: join(dir, 'data.mdb'),
    maxDbs: 8,
    keyEncoding: 'binary',
    encoding: 'binary',
  })
}

/** An index entry's value: `count` events with ids from `id`. */
function run(id: number, count: number): Buffer {
  const value = Buffer.alloc(12)
  value.writeBigUInt64BE(BigInt(id), 0)
  value.writeUInt32BE(count, 8)
  return value
}

/** An index entry's value holding several runs, each `[id, count]`. */
function runs(...list: [number, number][]): Buffer {
  return Buffer.concat(list.map(([id, count]) => run(id, count)))
}

/** A head's value: last version and id, the runs of its open block, and its checksum. */
function headBytes(name: string, version: bigint, id: number, ...block: [number, number][]): Buffer {
  const value = Buffer.alloc(16 + 12 * block.length + 4)
  value.writeBigUInt64BE(version, 0)
  value.writeBigUInt64BE(BigInt(id), 8)
  runs(...block).copy(value, 16)
  const end = value.length - 4
  value.writeUInt32BE(crc32c(value, 0, end, crc32c(Buffer.from(name))), end)
  return value
}

function indexKey(name: string, version: bigint): Buffer {
  const n = Buffer.from(name)
  const key = Buffer.alloc(1 + n.length + 8)
  key[0] = n.length
  n.copy(key, 1)
  key.writeBigUInt64BE(version, 1 + n.length)
  return key
}

/** The code both stream reads of the store end with (readStream's iterator and visitStream), which must agree. */
async function readCode(store: LmdbStore, stream: string, range?: Parameters<LmdbStore['readStream']>[1]) {
  const iterated = await codeOf(() => [...store.readStream(stream, range)])
  expect(await codeOf(() => store.visitStream(stream, range, () => {}))).toBe(iterated)
  return iterated
}

describe('the stream index', () => {
  it("members of one group see earlier members' appends; a failing member leaves no trace", async () => {
    const store = await openLmdbStore(tempDir())
    const results = await Promise.allSettled([
      store.commit((tx) => tx.appendToStream('s-1', [ev(1), ev(2)], 'no_stream')),
      store.commit((tx) => tx.appendToStream('s-1', [ev(3)], 'no_stream')),
      store.commit((tx) => {
        tx.appendToStream('s-1', [ev(4)], 1n)
        throw new Error('abort after the append')
      }),
      store.commit((tx) => tx.appendToStream('s-1', [ev(5)], 1n)),
      store.commit((tx) => {
        tx.put('k', TypedValue.i64(1n))
        return tx.appendToStream('s-2', [ev(6)])
      }),
    ])
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ])
    const conflict = (results[1] as PromiseRejectedResult).reason
    expect(conflict).toBeInstanceOf(ExpectedVersionConflictError)
    expect(conflict.details).toEqual({ stream: 's-1', expected: 'no_stream', actual: 1n })
    expect(store.commitStats().groups).toBeLessThanOrEqual(2)
    const records = [...store.readStream('s-1')]
    expect(records.map((r) => [r.version, decodeEvent(r.id, r.bytes).payload])).toEqual([
      [0n, 1],
      [1n, 2],
      [2n, 5],
    ])
    expect(store.streamVersion('s-1')).toBe(2n)
    expect(store.streamVersion('s-3')).toBeUndefined()
    expect([...store.streams()]).toEqual([
      { name: 's-1', version: 2n },
      { name: 's-2', version: 0n },
    ])
    await store.close()
  })

  it('the writer checks names and expected versions of appends to streams new and already in the group', async () => {
    const store = await openLmdbStore(tempDir())
    const results = await Promise.allSettled([
      store.commit((tx) => tx.appendToStream('s-1', [ev(1)], 'no_stream')),
      store.commit((tx) => tx.appendToStream('', [ev(2)])),
      store.commit((tx) => tx.appendToStream('\uD800', [ev(3)])),
      store.commit((tx) => tx.appendToStream('x'.repeat(256), [ev(4)])),
      store.commit((tx) => tx.appendToStream(5 as unknown as string, [ev(5)])),
      store.commit((tx) => tx.appendToStream('s-1', [ev(6)], -1n)),
      store.commit((tx) => tx.appendToStream('s-1', [ev(7)], 'some' as never)),
      // Three times to one stream in one transaction: each append follows the one before.
      store.commit((tx) => {
        tx.appendToStream('s-1', [ev(8)], 0n)
        tx.appendToStream('s-1', [ev(9), ev(10)], 1n)
        return tx.appendToStream('s-1', [ev(11)], 3n)
      }),
      store.commit((tx) => tx.appendToStream('s-1', [ev(12)], 3n)),
    ])
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code))
    expect(codes).toEqual([
      'ok',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'ok',
      'CONFLICT',
    ])
    expect((results[7] as PromiseFulfilledResult<{ result: unknown }>).value.result).toEqual({
      nextExpectedStreamVersion: 4n,
      createdNewStream: false,
    })
    expect((results[8] as PromiseRejectedResult).reason.details).toEqual({
      stream: 's-1',
      expected: 3n,
      actual: 4n,
    })
    expect([...store.readStream('s-1')].map((r) => decodeEvent(r.id, r.bytes).payload)).toEqual([
      1, 8, 9, 10, 11,
    ])
    expect([...store.streams()]).toEqual([{ name: 's-1', version: 4n }])
    await store.close()
  })

  it("an append started while another append's events are encoded is refused; that transaction writes nothing", async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => tx.appendToStream('a', [ev(0)]))
    // Event data whose getter appends (to another stream, then to the same one) while it is encoded.
    const reentrant = (tx: WriteContext, target: string) => ({
      type: 'T',
      data: {
        get n() {
          tx.appendToStream(target, [ev(1)])
          return 1
        },
      },
    })
    const results = await Promise.allSettled([
      store.commit((tx) => tx.appendToStream('a', [reentrant(tx, 'b')], 0n)),
      store.commit((tx) => tx.appendToStream('a', [reentrant(tx, 'a')], 0n)),
      store.commit((tx) => tx.appendToStream('c', [ev(2)], 'no_stream')),
    ])
    expect(
      results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code)),
    ).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'ok'])
    expect([...store.streams()]).toEqual([
      { name: 'a', version: 0n },
      { name: 'c', version: 0n },
    ])
    expect((await store.verify()).ok).toBe(true)
    await store.commit((tx) => tx.appendToStream('a', [ev(3)], 0n))
    expect([...store.readStream('a')].map((r) => decodeEvent(r.id, r.bytes).payload)).toEqual([0, 3])
    await store.close()
  })

  it('lives in stream-index and stream-heads with the documented layout, for an external log too', async () => {
    for (const eventLog of [undefined, new MemoryEventLog()]) {
      const dir = tempDir()
      const store = await openLmdbStore(dir, eventLog === undefined ? {} : { eventLog })
      await store.commit((tx) => tx.appendEvent('plain', null))
      await store.commit((tx) => tx.appendToStream('cart-7', [ev(1), ev(2)]))
      // Appends that follow each other in the log extend one run.
      await store.commit((tx) => tx.appendToStream('cart-7', [ev(3)]))
      await store.commit((tx) => tx.appendToStream('cart-8', [ev(4)]))
      const env = () => rawEnv(dir)
      const layout = async () => {
        await store.close()
        const raw = env()
        const named = { keyEncoding: 'binary', encoding: 'binary' } as const
        const index = raw.openDB<Uint8Array, Uint8Array>({ name: 'stream-index', ...named })
        const heads = raw.openDB<Uint8Array, Uint8Array>({ name: 'stream-heads', ...named })
        const out = {
          index: [...index.getRange({})].map(({ key, value }) => [
            Buffer.from(key).toString('hex'),
            Buffer.from(value),
          ]),
          heads: [...heads.getRange({})].map(({ key, value }) => [
            Buffer.from(key).toString('utf8'),
            Buffer.from(value),
          ]),
        }
        await raw.close()
        return out
      }
      // A stream's runs wait in its head's open block: the index has no entry yet.
      expect(await layout()).toEqual({
        index: [],
        heads: [
          ['cart-7', headBytes('cart-7', 2n, 4, [2, 3])],
          ['cart-8', headBytes('cart-8', 0n, 5, [5, 1])],
        ],
      })
      // 16 appends more, each after an event of another stream: 17 runs move to one index entry.
      const reopened = await openLmdbStore(dir, eventLog === undefined ? {} : { eventLog })
      for (let i = 0; i < 16; i++) {
        await reopened.commit((tx) => tx.appendEvent('plain', null))
        await reopened.commit((tx) => tx.appendToStream('cart-7', [ev(10 + i)]))
      }
      await reopened.commit((tx) => tx.appendEvent('plain', null))
      await reopened.commit((tx) => tx.appendToStream('cart-7', [ev(30)]))
      const ids = Array.from({ length: 16 }, (_, i) => 7 + 2 * i)
      expect([...reopened.readStream('cart-7')].map((r) => r.id)).toEqual([2, 3, 4, ...ids, 39])
      await reopened.close()
      const raw = env()
      const named = { keyEncoding: 'binary', encoding: 'binary' } as const
      const index = raw.openDB<Uint8Array, Uint8Array>({ name: 'stream-index', ...named })
      const heads = raw.openDB<Uint8Array, Uint8Array>({ name: 'stream-heads', ...named })
      expect(
        [...index.getRange({})].map(({ key, value }) => [
          Buffer.from(key).toString('hex'),
          Buffer.from(value),
        ]),
      ).toEqual([
        [indexKey('cart-7', 0n).toString('hex'), runs([2, 3], ...ids.map((id): [number, number] => [id, 1]))],
      ])
      expect(Buffer.from(heads.getBinary(Buffer.from('cart-7'))!)).toEqual(
        headBytes('cart-7', 19n, 39, [39, 1]),
      )
      await raw.close()
    }
  })

  it('reads every range of a stream whose runs fill several index entries and an open block', async () => {
    for (const eventLog of [undefined, new MemoryEventLog()]) {
      const store = await openLmdbStore(tempDir(), eventLog === undefined ? {} : { eventLog })
      try {
        // 60 single-event appends, each after an event of no stream: 60 runs, three index entries
        // of 17 and an open block of 9.
        for (let i = 0; i < 60; i++) {
          await store.commit((tx) => tx.appendEvent('plain', null))
          await store.commit((tx) => tx.appendToStream('s', [ev(i)]))
        }
        const versions = (range: Parameters<typeof store.readStream>[1]) => {
          const read = [...store.readStream('s', range)].map((r) => Number(r.version))
          const visited: number[] = []
          store.visitStream('s', range, (_id, _bytes, header) => visited.push(Number(header.stream!.version)))
          expect(visited).toEqual(read)
          return read
        }
        const span = (from: number, to: number) =>
          from <= to ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : []
        for (let from = 0; from <= 64; from += 3) {
          for (let to = 0; to <= 64; to += 5) {
            expect(versions({ from: BigInt(from), to: BigInt(to) })).toEqual(span(from, Math.min(to, 59)))
            expect(versions({ direction: 'backward', from: BigInt(from), to: BigInt(to) })).toEqual(
              span(to, Math.min(from, 59)).reverse(),
            )
          }
        }
        expect(versions({ direction: 'backward', from: 20n, maxCount: 4 })).toEqual([20, 19, 18, 17])
        expect((await store.verify()).problems).toEqual([])
      } finally {
        await store.close()
      }
    }
  })

  /** Rewrites stream `a-1`'s layout (the store is closed): its head, then its index entries. */
  const relayout = async (dir: string, head: Buffer, entries: [bigint, Buffer][]) => {
    const env = rawEnv(dir)
    const named = { keyEncoding: 'binary', encoding: 'binary' } as const
    const index = env.openDB<Uint8Array, Uint8Array>({ name: 'stream-index', ...named })
    const heads = env.openDB<Uint8Array, Uint8Array>({ name: 'stream-heads', ...named })
    for (const { key } of index.getRange({})) await index.remove(Buffer.from(key))
    await heads.put(Buffer.from('a-1'), head)
    for (const [version, value] of entries) await index.put(indexKey('a-1', version), value)
    await env.close()
  }

  it('damage to the index is CORRUPTION, never another event or a stream with a hole', async () => {
    const dir = tempDir()
    let store = await openLmdbStore(dir)
    await store.commit((tx) => tx.appendToStream('a-1', [ev(1), ev(2), ev(3)]))
    await store.commit((tx) => tx.appendToStream('b-1', [ev(4)]))
    await store.close()
    // The layout a stream has once its runs moved to the index: intact, it reads back whole.
    await relayout(dir, headBytes('a-1', 2n, 3), [[0n, run(1, 3)]])
    store = await openLmdbStore(dir)
    expect([...store.readStream('a-1')].map((r) => r.id)).toEqual([1, 2, 3])
    expect([...store.readStream('a-1', { direction: 'backward', from: 1n })].map((r) => r.id)).toEqual([2, 1])
    await store.close()
    // Version 1 of a-1 points at b-1's event.
    await relayout(dir, headBytes('a-1', 2n, 3), [
      [0n, run(1, 1)],
      [1n, run(4, 2)],
    ])
    store = await openLmdbStore(dir)
    expect(await readCode(store, 'a-1')).toBe('CORRUPTION')
    expect([...store.readStream('a-1', { to: 0n })]).toHaveLength(1)
    await store.close()
    // So does the open block of its head (with a valid checksum).
    await relayout(dir, headBytes('a-1', 2n, 4, [4, 1]), [[0n, run(1, 2)]])
    store = await openLmdbStore(dir)
    expect(await readCode(store, 'a-1')).toBe('CORRUPTION')
    expect([...store.readStream('a-1', { to: 1n })]).toHaveLength(2)
    await store.close()
    // Version 1 is missing: a gap.
    await relayout(dir, headBytes('a-1', 2n, 3), [
      [0n, run(1, 1)],
      [2n, run(3, 1)],
    ])
    store = await openLmdbStore(dir)
    expect(await readCode(store, 'a-1')).toBe('CORRUPTION')
    expect(await readCode(store, 'a-1', { from: 2n })).not.toBe('CORRUPTION')
    expect(await readCode(store, 'a-1', { from: 1n })).toBe('CORRUPTION')
    expect(await readCode(store, 'a-1', { direction: 'backward' })).toBe('CORRUPTION')
    await store.close()
    // The entries before the head's block are missing, forward and backward.
    await relayout(dir, headBytes('a-1', 2n, 3, [3, 1]), [])
    store = await openLmdbStore(dir)
    expect(await readCode(store, 'a-1')).toBe('CORRUPTION')
    expect(await readCode(store, 'a-1', { direction: 'backward' })).toBe('CORRUPTION')
    expect([...store.readStream('a-1', { from: 2n })].map((r) => r.id)).toEqual([3])
    await store.close()
    // An entry of the wrong size, one of no events, and a head whose block does not end at its event.
    for (const [head, entry] of [
      [headBytes('a-1', 2n, 3), run(1, 0)],
      [headBytes('a-1', 2n, 3), Buffer.from([1])],
      [headBytes('a-1', 2n, 3, [2, 1]), run(1, 2)],
    ] as const) {
      await relayout(dir, head, [[0n, entry]])
      store = await openLmdbStore(dir)
      expect(await readCode(store, 'a-1')).toBe('CORRUPTION')
      await store.close()
    }
  })

  it('a flipped bit in one event of a run is CORRUPTION naming it; the events before it read back', async () => {
    const dir = tempDir()
    let store = await openLmdbStore(dir)
    await store.commit((tx) => tx.appendEvent('plain', null))
    // One append, one run of 20 events in one entry, read back as one copy of the run.
    await store.commit((tx) =>
      tx.appendToStream(
        'r-1',
        Array.from({ length: 20 }, (_, i) => ({ type: 'T', data: { n: i, pad: `event-${i}-`.repeat(4) } })),
      ),
    )
    const victim = Buffer.from(store.getEvent(9)!)
    await store.close()
    expect(
      flipBit(join(dir, DATA_FILE), (data) => occurrences(data, victim), victim.length - 3, 2),
    ).toBeGreaterThan(0)
    store = await openLmdbStore(dir)
    try {
      let error: unknown
      try {
        for (const _ of store.readStream('r-1')) {
        }
      } catch (e) {
        error = e
      }
      expect(error).toMatchObject({ code: 'CORRUPTION', details: { where: 'event', eventId: 9 } })
      expect([...store.readStream('r-1', { to: 6n })].map((r) => decodeEvent(r.id, r.bytes).payload)).toEqual(
        Array.from({ length: 7 }, (_, i) => ({ n: i, pad: `event-${i}-`.repeat(4) })),
      )
      expect(await codeOf(() => [...store.readStream('r-1', { from: 7n, direction: 'backward' })])).toBe(
        'CORRUPTION',
      )
      expect([...store.readStream('r-1', { from: 8n })].map((r) => r.id)).toEqual(
        Array.from({ length: 12 }, (_, i) => 10 + i),
      )
    } finally {
      await store.close()
    }
  })

  it.each([
    ['the LMDB log', false],
    ['an external log', true],
  ])('reads long streams whose events share entries with other streams (%s)', async (_, external) => {
    const dir = tempDir()
    const store = await openLmdbStore(dir, external ? { eventLog: new MemoryEventLog() } : {})
    try {
      // Three streams written round-robin, 7 events each per commit, 100 commits: 700 events per
      // stream in runs of 7 inside shared entries, more than one read batch.
      const names = ['p-1', 'p-2', 'p-3']
      for (let round = 0; round < 100; round++) {
        await store.commit((tx) => {
          for (const [s, name] of names.entries()) {
            tx.appendToStream(
              name,
              Array.from({ length: 7 }, (_, i) => ev(s * 1_000_000 + round * 7 + i)),
            )
          }
        })
      }
      const payloads = (records: Iterable<{ id: number; bytes: Uint8Array }>) =>
        [...records].map((r) => decodeEvent(r.id, r.bytes).payload)
      const all = Array.from({ length: 700 }, (_, v) => 2_000_000 + v)
      expect(payloads(store.readStream('p-3'))).toEqual(all)
      expect(payloads(store.readStream('p-3', { direction: 'backward' }))).toEqual([...all].reverse())
      expect(payloads(store.readStream('p-3', { from: 250n, to: 600n }))).toEqual(all.slice(250, 601))
      expect(payloads(store.readStream('p-3', { from: 650n, direction: 'backward', maxCount: 300 }))).toEqual(
        all.slice(351, 651).reverse(),
      )
      // Versions and global ids come back with each event.
      const records = [...store.readStream('p-2', { from: 255n, maxCount: 3 })]
      expect(records.map((r) => r.version)).toEqual([255n, 256n, 257n])
      expect(records.map((r) => r.id)).toEqual([
        36 * 21 + 7 + 3 + 1,
        36 * 21 + 7 + 4 + 1,
        36 * 21 + 7 + 5 + 1,
      ])
    } finally {
      await store.close()
    }
  })

  it('verify() checks the index against the events and the heads; a damaged head is CORRUPTION, not a wrong version', async () => {
    for (const eventLog of [undefined, new MemoryEventLog()]) {
      const dir = tempDir()
      const open = () => openLmdbStore(dir, eventLog === undefined ? {} : { eventLog })
      let store = await open()
      await store.commit((tx) => tx.appendToStream('a-1', [ev(1), ev(2), ev(3)]))
      await store.commit((tx) => tx.appendToStream('b-1', [ev(4)]))
      await store.commit((tx) => tx.appendToStream('a-1', [ev(5)], 2n))
      const healthy = await store.verify()
      expect(healthy.problems).toEqual([])
      expect(healthy.checked.streamEvents).toBe(5)
      await store.close()
      const damage = async (fn: (dbs: { index: Db; heads: Db }) => unknown) => {
        const env = rawEnv(dir)
        const named = { keyEncoding: 'binary', encoding: 'binary' } as const
        await fn({
          index: env.openDB<Uint8Array, Uint8Array>({ name: 'stream-index', ...named }),
          heads: env.openDB<Uint8Array, Uint8Array>({ name: 'stream-heads', ...named }),
        })
        await env.close()
      }
      const problemsOf = async () => {
        store = await open()
        const report = await store.verify()
        await store.close()
        return report.problems.map((p) => [p.kind, p.where]).sort()
      }
      // Part of a-1 in the index, the rest in its head's block: intact.
      const mixed = headBytes('a-1', 3n, 5, [5, 1])
      await damage(async ({ index, heads }) => {
        await heads.put(Buffer.from('a-1'), mixed)
        await index.put(indexKey('a-1', 0n), run(1, 3))
      })
      expect(await problemsOf()).toEqual([])
      // One bit of a head's version flipped: the checksum catches it on every read and append.
      await damage(async ({ heads }) => {
        const bad = Buffer.from(mixed)
        bad[7]! ^= 0x01
        await heads.put(Buffer.from('a-1'), bad)
      })
      store = await open()
      expect(await codeOf(() => store.commit((tx) => tx.appendToStream('a-1', [ev(6)], 3n)))).toBe(
        'CORRUPTION',
      )
      expect(await codeOf(() => store.commit((tx) => tx.appendToStream('a-1', [ev(6)], 2n)))).toBe(
        'CORRUPTION',
      )
      expect(await codeOf(() => store.streamVersion('a-1'))).toBe('CORRUPTION')
      expect(await codeOf(() => [...store.streams('a-')])).toBe('CORRUPTION')
      // Other streams are untouched.
      await store.commit((tx) => tx.appendToStream('b-1', [ev(7)], 0n))
      await store.close()
      expect(await problemsOf()).toEqual([['stream-index', "stream 'a-1'"]])
      await damage(({ heads }) => heads.put(Buffer.from('a-1'), mixed))
      expect(await problemsOf()).toEqual([])
      // Heads with a valid checksum that do not continue the index: a block that does not end at
      // the head's event, and a head past the index with no block.
      for (const stale of [headBytes('a-1', 2n, 3, [5, 1]), headBytes('a-1', 3n, 5)]) {
        await damage(({ heads }) => heads.put(Buffer.from('a-1'), stale))
        expect(await problemsOf()).toEqual([['stream-index', "stream 'a-1'"]])
      }
      // A head whose block starts past version 0 with no index entries before it.
      await damage(async ({ index, heads }) => {
        await heads.put(Buffer.from('a-1'), mixed)
        await index.remove(indexKey('a-1', 0n))
      })
      expect(await problemsOf()).toEqual([['stream-index', "stream 'a-1'"]])
      // Entries naming another stream's event and a later version of this one (ids not rising).
      await damage(async ({ index }) => {
        await index.put(indexKey('a-1', 0n), run(1, 1))
        await index.put(indexKey('a-1', 1n), run(4, 2))
      })
      expect(await problemsOf()).toEqual([
        ['stream-index', "stream 'a-1' version 1"],
        ['stream-index', "stream 'a-1' version 2"],
        ['stream-index', "stream 'a-1' version 3"],
      ])
      // A gap: versions 0 and 1 in the index, then the block at 3.
      await damage(async ({ index }) => {
        await index.remove(indexKey('a-1', 1n))
        await index.put(indexKey('a-1', 0n), run(1, 2))
      })
      expect(await problemsOf()).toEqual([['stream-index', "stream 'a-1'"]])
      // A stream held by its head's block alone, whose block names another stream's event.
      await damage(async ({ index, heads }) => {
        await index.remove(indexKey('a-1', 0n))
        await heads.put(Buffer.from('a-1'), headBytes('a-1', 3n, 5, [1, 2], [4, 2]))
      })
      expect(await problemsOf()).toEqual([['stream-index', "stream 'a-1' version 2"]])
    }
  })

  it('a store written before streams existed gets an empty index when opened for writing', async () => {
    const dir = tempDir()
    let store = await openLmdbStore(dir)
    await store.commit((tx) => tx.appendEvent('old', 1))
    await store.close()
    const env = rawEnv(dir)
    for (const name of ['stream-index', 'stream-heads']) {
      await env.openDB({ name, keyEncoding: 'binary', encoding: 'binary' }).drop()
    }
    await env.close()
    store = await openLmdbStore(dir, { readOnly: true })
    expect(store.streamVersion('s-1')).toBeUndefined()
    expect([...store.readStream('s-1')]).toEqual([])
    expect([...store.streams()]).toEqual([])
    await store.close()
    store = await openLmdbStore(dir)
    await store.commit((tx) => tx.appendToStream('s-1', [ev(1)], 'no_stream'))
    expect([...store.readStream('s-1')].map((r) => r.id)).toEqual([2])
    await store.close()
  })

  it('visitStream without a visitor function is INVALID_ARGUMENT, for a stream with events or none', async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => tx.appendToStream('v-1', [ev(1)]))
    for (const stream of ['v-1', 'v-none']) {
      const visit = 'not a function' as unknown as Parameters<LmdbStore['visitStream']>[2]
      expect(await codeOf(() => store.visitStream(stream, undefined, visit))).toBe('INVALID_ARGUMENT')
    }
    await store.close()
  })

  it("a read-only store follows the writer's streams", async () => {
    const dir = tempDir()
    const writer = await openLmdbStore(dir)
    await writer.commit((tx) => tx.appendToStream('f-1', [ev(1)]))
    const reader = await openLmdbStore(dir, { readOnly: true })
    expect(reader.streamVersion('f-1')).toBe(0n)
    await writer.commit((tx) => tx.appendToStream('f-1', [ev(2)], 0n))
    expect(reader.streamVersion('f-1')).toBe(1n)
    expect([...reader.readStream('f-1')].map((r) => r.version)).toEqual([0n, 1n])
    await reader.close()
    await writer.close()
  })
})

// A real full disk needs a size-limited tmpfs, which only root can mount: elsewhere this is skipped.
describe.skipIf(cannotMountTmpfs() !== undefined)('stream appends on a full disk', () => {
  it('fail with IO/ENOSPC, take no version, and resume gaplessly when space returns', async () => {
    const tmpfs = mountTmpfs('16m')
    try {
      const dir = join(tmpfs.dir, 'store')
      const child = await runTypeScript(new URL('./fixtures/disk-full-streams.ts', import.meta.url), [
        dir,
        join(tmpfs.dir, 'ballast'),
      ])
      expect(child.stderr).not.toMatch(/unhandledRejection|malloc|corrupt|Abort|Write error/i)
      expect(child.code).toBe(0)
      const run = JSON.parse(child.stdout) as {
        acked: [string, string][]
        failures: { code: string; errno: unknown }[]
      }
      expect(run.failures.length).toBeGreaterThanOrEqual(10)
      for (const failure of run.failures) expect(failure).toEqual({ code: 'IO', errno: 'ENOSPC' })
      const store = await openLmdbStore(dir, { readOnly: true })
      try {
        for (const stream of ['s-a', 's-b']) {
          const ackedVersions = run.acked.filter(([s]) => s === stream).map(([, v]) => BigInt(v))
          // Every acknowledged append is there, and nothing else: versions 0..n without gaps.
          expect(ackedVersions).toEqual(ackedVersions.map((_, i) => BigInt(i)))
          expect([...store.readStream(stream)].map((r) => r.version)).toEqual(ackedVersions)
        }
      } finally {
        await store.close()
      }
    } finally {
      tmpfs.unmount()
    }
  }, 60_000)
})
