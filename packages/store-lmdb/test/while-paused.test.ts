import { type CommitResult, isAzothError, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Tracked<T> {
  readonly settled: boolean
  readonly promise: Promise<T>
}

/** A promise's outcome so far, without waiting for it. */
function track<T>(p: Promise<T>): Tracked<T> {
  const state = { settled: false, promise: p }
  p.then(
    () => {
      state.settled = true
    },
    () => {
      state.settled = true
    },
  )
  return state
}

describe('whilePaused', () => {
  it('holds commits issued during fn (they wait, not fail) and lets them land afterwards', async () => {
    const store = await openLmdbStore(tempDir())
    await store.commit((tx) => tx.appendEvent('e', 0))
    const inFlight = store.commit((tx) => tx.appendEvent('e', 1))
    const held: Tracked<CommitResult>[] = []
    const result = await store.whilePaused(async (head) => {
      await inFlight // pause waited for it: it is already committed
      expect(head).toBe(2)
      expect(store.paused).toBe(true)
      for (let i = 0; i < 5; i++) held.push(track(store.commit((tx) => tx.put(`k${i}`, TypedValue.i64(i)))))
      await sleep(30)
      expect(held.some((h) => h.settled)).toBe(false)
      expect(store.exists('k0')).toBe(false)
      return 'copied'
    })
    expect(result).toBe('copied')
    expect(store.paused).toBe(false)
    const infos = await Promise.all(held.map((h) => h.promise))
    expect(infos.map((i) => i.stateKeysWritten)).toEqual([1, 1, 1, 1, 1])
    expect(store.get('k4')?.asI64()).toBe(4n)
    await store.close()
  })

  it('resumes when fn throws or rejects, rethrows its error, and the held commits land', async () => {
    const store = await openLmdbStore(tempDir())
    for (const fail of [
      () => {
        throw new Error('sync failure')
      },
      async () => {
        await sleep(5)
        throw new Error('async failure')
      },
    ]) {
      let pending: Promise<unknown> | undefined
      const error = await store
        .whilePaused(() => {
          pending = store.commit((tx) => tx.appendEvent('held', {}))
          return fail()
        })
        .then(
          () => 'resolved',
          (e: unknown) => e,
        )
      expect(String(error)).toMatch(/failure/)
      expect(store.paused).toBe(false)
      await pending
    }
    expect(store.head()).toBe(2)
    await store.close()
  })

  it('overlapping scopes share the pause: commits wait until the last one ends', async () => {
    const store = await openLmdbStore(tempDir())
    let endFirst!: () => void
    let endSecond!: () => void
    const first = store.whilePaused(() => new Promise<void>((resolve) => (endFirst = resolve)))
    const second = store.whilePaused(() => new Promise<void>((resolve) => (endSecond = resolve)))
    await sleep(5)
    const held = track(store.commit((tx) => tx.appendEvent('e', 1)))
    endFirst()
    await first
    await sleep(30)
    expect(store.paused).toBe(true)
    expect(held.settled).toBe(false)
    endSecond()
    await second
    expect((await held.promise).firstEventId).toBe(1)
    expect(store.paused).toBe(false)
    await store.close()
  })

  it('a closed store or a missing function: CLOSED / INVALID_ARGUMENT, and nothing stays paused', async () => {
    const store = await openLmdbStore(tempDir())
    const bad = await store.whilePaused(undefined as never).catch((e: unknown) => e)
    expect(isAzothError(bad, 'INVALID_ARGUMENT')).toBe(true)
    expect(store.paused).toBe(false)
    await store.close()
    const closed = await store.whilePaused(() => 1).catch((e: unknown) => e)
    expect(isAzothError(closed, 'CLOSED')).toBe(true)
  })

  it('closing the store inside fn lets the held commits through; the scope still ends cleanly', async () => {
    const store = await openLmdbStore(tempDir())
    let held: Promise<unknown> | undefined
    await store.whilePaused(async () => {
      held = store.commit((tx) => tx.appendEvent('e', 1))
      await store.close()
    })
    await expect(held).resolves.toMatchObject({ firstEventId: 1 })
    expect(store.paused).toBe(false)
  })
})
