import { decodeEvent, encodeEnvelope, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'

const envelope = (n: number) => encodeEnvelope({ type: 'x', timestamp: 0, payload: n })

describe('an external event log behind the store', () => {
  it('writes events to the log and reads them from it, atomically per transaction', async () => {
    const log = new MemoryEventLog()
    const store = await openLmdbStore(tempDir(), { eventLog: log })
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.commit((tx) => {
          tx.put(`k${i}`, TypedValue.i64(i))
          tx.appendEvent('e', { i })
          if (i === 4) throw new Error('no')
        }),
      ),
    )
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
    expect(log.head()).toBe(9)
    expect(log.synced).toBe(9)
    expect(store.head()).toBe(9)
    expect(
      [...store.events({ from: 3, limit: 2 })].map(
        (r) => decodeEvent<{ i: number }>(r.id, r.bytes).payload.i,
      ),
    ).toEqual([2, 3])
    expect(decodeEvent(9, store.getEvent(9)!).payload).toEqual({ i: 9 })
    await store.close()
  })

  it('cuts a log that ran ahead of the store back to the committed head on open', async () => {
    const dir = tempDir()
    const log = new MemoryEventLog()
    const store = await openLmdbStore(dir, { eventLog: log })
    await store.commit((tx) => tx.appendEvent('e', 1))
    await store.close()
    // A crash after the log append but before LMDB committed leaves extra records.
    log.append(2, [envelope(2), envelope(3)])
    const reopened = await openLmdbStore(dir, { eventLog: log })
    expect(log.head()).toBe(1)
    expect(log.truncations).toContain(1)
    const info = await reopened.commit((tx) => tx.appendEvent('e', 2))
    expect(info.firstEventId).toBe(2)
    await reopened.close()
  })

  it('refuses a log that lacks committed events with CORRUPTION', async () => {
    const dir = tempDir()
    const log = new MemoryEventLog()
    const store = await openLmdbStore(dir, { eventLog: log })
    await store.commit((tx) => tx.appendEvent('e', 1))
    await store.close()
    await expect(openLmdbStore(dir, { eventLog: new MemoryEventLog() })).rejects.toMatchObject({
      code: 'CORRUPTION',
    })
    // A reader too: it must not serve a head whose events are gone (a silent wrong answer).
    await expect(
      openLmdbStore(dir, { eventLog: new MemoryEventLog(), readOnly: true }),
    ).rejects.toMatchObject({ code: 'CORRUPTION' })
  })

  it('a reader leaves a log that ran ahead alone: only the writer cuts it back', async () => {
    const dir = tempDir()
    const log = new MemoryEventLog()
    const store = await openLmdbStore(dir, { eventLog: log })
    await store.commit((tx) => tx.appendEvent('e', 1))
    await store.close()
    log.append(2, [envelope(2)])
    const reader = await openLmdbStore(dir, { eventLog: log, readOnly: true })
    expect(reader.head()).toBe(1)
    expect(log.head()).toBe(2)
    expect(log.truncations).toEqual([])
    await reader.close()
  })

  it('refuses to switch where the events live with CONFIG', async () => {
    const a = tempDir()
    await (await openLmdbStore(a)).close()
    await expect(openLmdbStore(a, { eventLog: new MemoryEventLog() })).rejects.toMatchObject({
      code: 'CONFIG',
    })
    const b = tempDir()
    await (await openLmdbStore(b, { eventLog: new MemoryEventLog() })).close()
    await expect(openLmdbStore(b)).rejects.toMatchObject({ code: 'CONFIG' })
  })

  it('a failing log sync fails the whole group, leaves nothing behind, and the store goes on', async () => {
    const log = new MemoryEventLog()
    const store = await openLmdbStore(tempDir(), { eventLog: log })
    await store.commit((tx) => tx.appendEvent('e', 0))
    log.failNextSync = true
    const failed = await Promise.allSettled([
      store.commit((tx) => {
        tx.put('a', TypedValue.i64(1n))
        tx.appendEvent('e', 1)
      }),
      store.commit((tx) => tx.appendEvent('e', 2)),
    ])
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'IO' })
    expect(store.exists('a')).toBe(false)
    expect(store.head()).toBe(1)
    expect(log.head()).toBe(1)
    const info = await store.commit((tx) => tx.appendEvent('e', 3))
    expect(info.firstEventId).toBe(2)
    await store.close()
  })
  it("syncs the log before LMDB commits in 'relaxed' mode too: a power loss never leaves LMDB counting lost events", async () => {
    const log = new MemoryEventLog()
    const store = await openLmdbStore(tempDir(), { eventLog: log, durability: 'relaxed' })
    for (let i = 1; i <= 5; i++) {
      const info = await store.commit((tx) => {
        tx.put('k', TypedValue.i64(i))
        tx.appendEvent('e', { i })
      })
      expect(info.firstEventId).toBe(i)
      // LMDB's pages may reach the disk any time after its commit: the events they count must be there first.
      expect(log.synced).toBe(i)
    }
    await store.close()
  })
})
