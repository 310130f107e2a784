import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { decodeEvent, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { codeOf } from './support/code-of.js'
import { tempDir } from './support/temp-dir.js'

describe('LmdbStore reads and writes', () => {
  it('commits state and events and reads them back', async () => {
    const store = await openLmdbStore(tempDir())
    const info = await store.commit((tx) => {
      tx.put('alice', TypedValue.i64(100n))
      tx.put(new Uint8Array([1, 2, 3]), TypedValue.bytes(new Uint8Array([9])))
      tx.appendEvent('opened', { who: 'alice' }, { correlationId: 'c1' })
      tx.appendRawEvent('blob', new Uint8Array([7, 7]))
      return 'done'
    })
    expect(info).toEqual({
      firstEventId: 1,
      lastEventId: 2,
      eventsWritten: 2,
      stateKeysWritten: 2,
      stateKeysDeleted: 0,
      result: 'done',
      duplicate: false,
    })
    expect(store.get('alice')?.asI64()).toBe(100n)
    expect(store.get(new Uint8Array([1, 2, 3]))?.asBytes()).toEqual(new Uint8Array([9]))
    expect(store.exists('alice')).toBe(true)
    expect(store.exists('bob')).toBe(false)
    expect(store.get('bob')).toBeUndefined()
    expect(store.head()).toBe(2)
    const events = [...store.events()].map((r) => decodeEvent(r.id, r.bytes))
    expect(events.map((e) => [e.id, e.type, e.payload, e.metadata])).toEqual([
      [1, 'opened', { who: 'alice' }, { correlationId: 'c1' }],
      [2, 'blob', new Uint8Array([7, 7]), undefined],
    ])
    expect(decodeEvent(2, store.getEvent(2)!).type).toBe('blob')
    expect(store.getEvent(3)).toBeUndefined()
    await store.close()
  })

  it('deletes keys and counts what each transaction did', async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => {
      tx.put('a', TypedValue.i64(1n))
      tx.put('b', TypedValue.i64(2n))
    })
    const info = await store.commit((tx) => {
      tx.delete('a')
      tx.put('c', TypedValue.string('x'))
      expect(tx.exists('a')).toBe(false)
      expect(tx.get('c')?.asString()).toBe('x')
    })
    expect(info.stateKeysDeleted).toBe(1)
    expect(info.stateKeysWritten).toBe(1)
    expect(info.firstEventId).toBeUndefined()
    expect(store.get('a')).toBeUndefined()
    expect([...store.scan('')].map((e) => e.key)).toEqual(['b', 'c']) // an empty prefix scans everything
    await store.close()
  })

  it('scans prefixes and ranges lazily, forwards and backwards, with limits', async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => {
      for (const k of ['a/1', 'a/2', 'a/3', 'b/1', 'a0', 'a']) tx.put(k, TypedValue.string(k))
    })
    const keys = (it: Iterable<{ key: unknown }>) => [...it].map((e) => e.key)
    expect(keys(store.scan('a/'))).toEqual(['a/1', 'a/2', 'a/3'])
    expect(keys(store.scan('a/', { reverse: true }))).toEqual(['a/3', 'a/2', 'a/1'])
    expect(keys(store.scan('a/', { limit: 2 }))).toEqual(['a/1', 'a/2'])
    expect(keys(store.range('a/2', 'b/1'))).toEqual(['a/2', 'a/3', 'a0'])
    expect(keys(store.range('a/2', 'b/1', { reverse: true }))).toEqual(['a0', 'a/3', 'a/2'])
    expect(keys(store.range('b', 'a'))).toEqual([])
    const bytesKeys = keys(store.scan(new Uint8Array([0x62])))
    expect(bytesKeys).toEqual([new Uint8Array([0x62, 0x2f, 0x31])])
    await store.close()
  })

  it('iterates events from and to any id, with a limit', async () => {
    const store = await openLmdbStore(tempDir(), { eventChunkBytes: 64 })
    for (let g = 0; g < 5; g++) {
      await Promise.all(
        Array.from({ length: 7 }, (_, i) =>
          store.commit((tx) => tx.appendEvent('e', { g, i, pad: 'x'.repeat(i * 5) })),
        ),
      )
    }
    expect(store.head()).toBe(35)
    for (let from = 1; from <= 35; from++) {
      const ids = [...store.events({ from })].map((r) => r.id)
      expect(ids).toEqual(Array.from({ length: 36 - from }, (_, i) => from + i))
      expect(decodeEvent(from, store.getEvent(from)!).id).toBe(from)
    }
    expect([...store.events({ from: 10, to: 12 })].map((r) => r.id)).toEqual([10, 11, 12])
    expect([...store.events({ from: 30, limit: 2 })].map((r) => r.id)).toEqual([30, 31])
    expect([...store.events({ from: 40 })]).toEqual([])
    await store.close()
  })
})

describe('values of every size read back exactly', () => {
  it('reads strings, bytes and json of growing sizes without trailing garbage, in and out of the writer', async () => {
    const store = await openLmdbStore(tempDir())
    const sizes = [0, 1, 7, 100, 5000, 70_000, 1_000_000]
    await store.commit((tx) => {
      for (const n of sizes) {
        tx.put(`s${n}`, TypedValue.string('x'.repeat(n)))
        tx.put(`b${n}`, TypedValue.bytes(new Uint8Array(n).fill(3)))
      }
    })
    for (const n of [...sizes, ...sizes.reverse()]) {
      expect(store.get(`s${n}`)?.asString().length).toBe(n)
      expect(store.get(`b${n}`)?.asBytes().length).toBe(n)
      expect(store.getBytes(`s${n}`)?.length).toBe(n + 1)
    }
    await store.commit((tx) => {
      for (const n of sizes) {
        expect(tx.get(`s${n}`)?.asString().length).toBe(n)
        expect(tx.getBytes(`b${n}`)?.length).toBe(n + 1)
      }
    })
    await store.close()
  })
})

describe('Buffer keys', () => {
  it('copies caller-owned key buffers and never mutates them', async () => {
    const store = await openLmdbStore(tempDir())
    const key = Buffer.from('pre/1')
    await store.commit((tx) => {
      tx.put(key, TypedValue.i64(1n))
      key.write('pre/2') // the caller reuses its buffer inside the transaction
      tx.put(key, TypedValue.i64(2n))
    })
    const prefix = Buffer.from('pre/')
    const found = [...store.scan(prefix)].map((e) => [
      Buffer.from(e.key as Uint8Array).toString(),
      e.value.asI64(),
    ])
    expect(found).toEqual([
      ['pre/1', 1n],
      ['pre/2', 2n],
    ])
    expect(prefix.toString()).toBe('pre/')
    await store.close()
  })
})

describe('group commit atomicity', () => {
  it('a throwing transaction leaves no trace while its neighbours in the same group commit', async () => {
    const store = await openLmdbStore(tempDir())
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.commit((tx) => {
          tx.put(`k${i}`, TypedValue.i64(i))
          tx.appendEvent('wrote', { i })
          if (i % 7 === 3) {
            tx.put('poison', TypedValue.bool(true))
            throw new Error(`fail ${i}`)
          }
        }),
      ),
    )
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))
    expect(failed).toEqual([3, 10, 17, 24, 31, 38, 45])
    expect(store.commitStats().maxGroupSize).toBeGreaterThan(1)
    expect(store.exists('poison')).toBe(false)
    for (const i of failed) expect(store.exists(`k${i}`)).toBe(false)
    const events = [...store.events()].map((r) => decodeEvent<{ i: number }>(r.id, r.bytes))
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 43 }, (_, i) => i + 1))
    expect(events.map((e) => e.payload.i)).toEqual(
      Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 7 !== 3),
    )
    // Ids are handed out in commit order, matching what each caller was told.
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled')
        expect(events.find((e) => e.payload.i === i)?.id).toBe(r.value.firstEventId)
    }
    await store.close()
  })

  it('later members of a group see earlier members, and their own writes', async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => tx.put('n', TypedValue.i64(0n)))
    await Promise.all(
      Array.from({ length: 100 }, () =>
        store.commit((tx) => {
          const n = tx.get('n')!.asI64()
          tx.put('n', TypedValue.i64(n + 1n))
          expect(tx.get('n')!.asI64()).toBe(n + 1n)
        }),
      ),
    )
    expect(store.get('n')?.asI64()).toBe(100n)
    await store.close()
  })

  it('refuses a write function that returns a promise, keeping none of its writes', async () => {
    const store = await openLmdbStore(tempDir())
    const code = await codeOf(
      store.commit(async (tx) => {
        tx.put('x', TypedValue.i64(1n))
      }),
    )
    expect(code).toBe('INVALID_ARGUMENT')
    expect(store.exists('x')).toBe(false)
    await store.close()
  })
})

describe('bad input', () => {
  it('rejects oversized keys, values and events before writing anything', async () => {
    const store = await openLmdbStore(tempDir(), {
      limits: { maxKeyBytes: 16, maxValueBytes: 64, maxEventBytes: 128, maxTransactionEventBytes: 300 },
    })
    const attempt = (fn: Parameters<typeof store.commit>[0]) => codeOf(store.commit(fn))
    expect(await attempt((tx) => tx.put('k'.repeat(17), TypedValue.i64(1n)))).toBe('KEY_TOO_LARGE')
    expect(
      await attempt((tx) => {
        tx.put('ok', TypedValue.i64(1n))
        tx.put('big', TypedValue.string('v'.repeat(100)))
      }),
    ).toBe('VALUE_TOO_LARGE')
    expect(await attempt((tx) => tx.appendEvent('e', { s: 'x'.repeat(200) }))).toBe('EVENT_TOO_LARGE')
    expect(
      await attempt((tx) => {
        for (let i = 0; i < 4; i++) tx.appendEvent('e', { s: 'x'.repeat(90) })
      }),
    ).toBe('EVENT_TOO_LARGE')
    expect(await attempt((tx) => tx.put('', TypedValue.i64(1n)))).toBe('INVALID_ARGUMENT')
    expect(await attempt((tx) => tx.put('x', 5 as never))).toBe('INVALID_ARGUMENT')
    expect(await attempt((tx) => tx.appendEvent('', {}))).toBe('INVALID_ARGUMENT')
    expect(store.exists('ok')).toBe(false)
    expect(store.head()).toBe(0)
    expect(await codeOf(() => store.get('k'.repeat(17)))).toBe('KEY_TOO_LARGE')
    // Still usable.
    await store.commit((tx) => tx.put('ok', TypedValue.i64(2n)))
    expect(store.get('ok')?.asI64()).toBe(2n)
    await store.close()
  })

  it('rejects unknown options and bad values with CONFIG', async () => {
    expect(await codeOf(openLmdbStore(tempDir(), { durability: 'fast' as never }))).toBe('CONFIG')
    expect(await codeOf(openLmdbStore(tempDir(), { bogus: 1 } as never))).toBe('CONFIG')
    expect(await codeOf(openLmdbStore(tempDir(), { limits: { maxKeyBytes: 0 } }))).toBe('CONFIG')
    // Sizes are positive integers; a refused open creates nothing.
    for (const bad of [0, -1, 1.5, Number.NaN, '1024', null]) {
      const dir = join(tempDir(), 'store')
      expect(await codeOf(openLmdbStore(dir, { eventChunkBytes: bad as never }))).toBe('CONFIG')
      expect(await codeOf(openLmdbStore(dir, { mapSize: bad as never }))).toBe('CONFIG')
      expect(existsSync(dir)).toBe(false)
    }
  })

  it('reports a missing directory for read-only opens and create: false', async () => {
    const dir = `${tempDir()}/missing`
    expect(await codeOf(openLmdbStore(dir, { readOnly: true }))).toBe('NOT_FOUND')
    expect(await codeOf(openLmdbStore(dir, { create: false }))).toBe('NOT_FOUND')
  })

  it('rejects every call after close with CLOSED', async () => {
    const store = await openLmdbStore(tempDir())
    await store.close()
    expect(await codeOf(store.commit((tx) => tx.put('a', TypedValue.i64(1n))))).toBe('CLOSED')
    expect(await codeOf(() => store.get('a'))).toBe('CLOSED')
    expect(await codeOf(() => store.head())).toBe('CLOSED')
    await store.close() // idempotent
  })

  it('a second writer in the same process gets LOCKED; the lock is released on close', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    expect(await codeOf(openLmdbStore(dir))).toBe('LOCKED')
    await store.close()
    const again = await openLmdbStore(dir)
    await again.close()
  })

  it('refuses writes on a read-only store', async () => {
    const dir = tempDir()
    const w = await openLmdbStore(dir)
    const r = await openLmdbStore(dir, { readOnly: true })
    expect(await codeOf(r.commit((tx) => tx.put('a', TypedValue.i64(1n))))).toBe('READ_ONLY')
    // Each head() must see the commit just acknowledged, not the snapshot lmdb-js cached this turn.
    for (let i = 1; i <= 20; i++) {
      await w.commit((tx) => tx.appendEvent('e', i))
      expect(r.head()).toBe(i)
    }
    await r.close()
    await w.close()
  })
})

describe('pause, resume and seal', () => {
  it('pause waits for in-flight commits and holds new ones until resume', async () => {
    const store = await openLmdbStore(tempDir())
    const first = store.commit((tx) => tx.appendEvent('e', 1))
    const head = await store.pause()
    await first
    expect(head).toBe(1)
    expect(store.paused).toBe(true)
    let done = false
    const held = store
      .commit((tx) => tx.appendEvent('e', 2))
      .then(() => {
        done = true
      })
    await new Promise((r) => setTimeout(r, 30))
    expect(done).toBe(false)
    expect(store.head()).toBe(1)
    store.resume()
    await held
    expect(store.head()).toBe(2)
    await store.close()
  })

  it('seal refuses new commits with SEALED until unseal, and is not persisted', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => tx.appendEvent('e', 1))
    expect(await store.seal()).toBe(1)
    expect(store.sealedAt).toBe(1)
    expect(await codeOf(store.commit((tx) => tx.appendEvent('e', 2)))).toBe('SEALED')
    store.unseal()
    await store.commit((tx) => tx.appendEvent('e', 2))
    await store.seal()
    await store.close()
    const reopened = await openLmdbStore(dir)
    expect(reopened.sealedAt).toBeUndefined()
    await reopened.commit((tx) => tx.appendEvent('e', 3))
    await reopened.close()
  })

  it('close waits for queued commits and answers all of them', async () => {
    const store = await openLmdbStore(tempDir())
    const pending = Array.from({ length: 20 }, (_, i) => store.commit((tx) => tx.appendEvent('e', i)))
    await store.close()
    const settled = await Promise.allSettled(pending)
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true)
  })

  it('notifies commit listeners with the new head', async () => {
    const store = await openLmdbStore(tempDir())
    const heads: number[] = []
    const off = store.onCommit((h) => heads.push(h))
    await store.commit((tx) => tx.appendEvent('e', 1))
    await store.commit((tx) => tx.put('x', TypedValue.i64(1n)))
    await store.commit((tx) => tx.appendEvent('e', 2))
    off()
    await store.commit((tx) => tx.appendEvent('e', 3))
    expect(heads).toEqual([1, 2])
    await store.close()
  })
})

describe('determinism', () => {
  it('the same transactions with a fixed clock give the same digest and event bytes', async () => {
    const run = async () => {
      const store = await openLmdbStore(tempDir(), {
        clock: { now: () => 1_700_000_000_000, sleep: async () => {} },
      })
      for (let i = 0; i < 20; i++) {
        await store.commit((tx) => {
          tx.put(`k${i % 5}`, TypedValue.json({ b: i, a: [i] }))
          tx.appendEvent('t', { i })
        })
      }
      const out = {
        digest: store.stateDigest(),
        events: [...store.events()].map((e) => Buffer.from(e.bytes).toString('hex')),
      }
      await store.close()
      return out
    }
    expect(await run()).toEqual(await run())
  })
})
