import { type StateEntry, type StateSnapshot, TypedValue } from '@azothdb/core'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { codeOf } from './support/code-of.js'
import { tempDir } from './support/temp-dir.js'

/** Lets lmdb-js's per-turn read transaction expire (it resets on a setTimeout(0)). */
const nextTurns = () => new Promise((resolve) => setTimeout(resolve, 2))

const KEYS = Array.from({ length: 20 }, (_, i) => `k/${String(i).padStart(2, '0')}`)

/** In one commit: sets every key of KEYS to `n`, deletes the first one and sets `k/new` to `n`. */
function rewrite(store: LmdbStore, n: number) {
  return store.commit((tx) => {
    for (const k of KEYS) tx.put(k, TypedValue.i64(n))
    tx.delete(KEYS[0]!)
    tx.put('k/new', TypedValue.i64(n))
  })
}

async function seeded(): Promise<LmdbStore> {
  const store = await openLmdbStore(tempDir(), { durability: 'relaxed' })
  await store.commit((tx) => {
    for (const k of KEYS) tx.put(k, TypedValue.i64(0))
  })
  return store
}

const entries = (it: Iterable<StateEntry>) => [...it].map((e) => [e.key, e.value.asI64()] as const)
const original = KEYS.map((k) => [k, 0n] as const)
/** The entries under `k/` after `rewrite(store, n)`. */
const rewritten = (n: bigint) => [...KEYS.slice(1).map((k) => [k, n] as const), ['k/new', n] as const]

/**
 * Reads `it` one entry at a time, committing a rewrite of every key (and awaiting it, so event-loop
 * turns pass) before each next().
 */
async function drainWhileCommitting(store: LmdbStore, it: Iterator<StateEntry>, from: number) {
  const seen: (readonly [unknown, bigint])[] = []
  for (let n = from; ; n++) {
    const r = it.next()
    if (r.done) return seen
    seen.push([r.value.key, r.value.value.asI64()])
    await rewrite(store, n)
    await nextTurns()
  }
}

describe('snapshots', () => {
  it('keep their values while commits change them, across awaits; a fresh snapshot sees the new values', async () => {
    const store = await seeded()
    await store.commit((tx) => tx.put(new Uint8Array([1, 2]), TypedValue.string('bytes key')))
    const snap = store.snapshot()
    const bytesBefore = snap.getBytes('k/05')
    for (let n = 1; n <= 20; n++) {
      await rewrite(store, n)
      await store.commit((tx) => tx.delete(new Uint8Array([1, 2])))
      await nextTurns()
      expect(store.get('k/05')?.asI64()).toBe(BigInt(n)) // the store moved on
      expect(snap.get('k/05')?.asI64()).toBe(0n)
      expect(snap.getBytes('k/05')).toEqual(bytesBefore)
      expect(snap.exists(KEYS[0]!)).toBe(true)
      expect(snap.exists('k/new')).toBe(false)
      expect(snap.get('k/new')).toBeUndefined()
      expect(snap.get(new Uint8Array([1, 2]))?.asString()).toBe('bytes key')
    }
    const fresh = store.snapshot()
    expect(fresh.get('k/05')?.asI64()).toBe(20n)
    expect(fresh.exists(KEYS[0]!)).toBe(false)
    expect(entries(fresh.scan('k/'))).toEqual(rewritten(20n))
    expect(fresh.exists(new Uint8Array([1, 2]))).toBe(false)
    expect(fresh.getBytes('k/05')).toEqual(store.getBytes('k/05'))
    // The old one still reads its own moment.
    expect(entries(snap.scan('k/'))).toEqual(original)
    fresh.close()
    snap.close()
    await store.close()
  })

  it('a scan of a snapshot stays on the snapshot while commits land between next() calls, also when started late', async () => {
    const store = await seeded()
    const snap = store.snapshot()
    // Started before the commits.
    expect(await drainWhileCommitting(store, snap.scan('k/'), 1)).toEqual(original)
    // Started after many commits landed: still the snapshot's state (a plain scan would see now).
    expect(await drainWhileCommitting(store, snap.range('k/', 'k/zz', { reverse: true }), 100)).toEqual(
      [...original].reverse(),
    )
    expect(entries(snap.scan('k/', { limit: 3 }))).toEqual(original.slice(0, 3))
    expect(entries(snap.range('k/05', 'k/08'))).toEqual(original.slice(5, 8))
    // The same calls on the store see the latest commit.
    expect(entries(store.scan('k/', { limit: 1 }))).toEqual([['k/01', 119n]])
    snap.close()
    await store.close()
  })

  it('validate keys and decode values like the store', async () => {
    const store = await openLmdbStore(tempDir(), { limits: { maxKeyBytes: 8 } })
    await store.commit((tx) => tx.put('a', TypedValue.json({ x: [1, 2] })))
    using snap = store.snapshot()
    expect(snap.get('a')?.asJson()).toEqual({ x: [1, 2] })
    expect(snap.getBytes('a')).toEqual(store.getBytes('a'))
    expect([...snap.scan('')].map((e) => e.value.asJson())).toEqual([{ x: [1, 2] }])
    const reads = [
      (s: LmdbStore | StateSnapshot) => s.get('k'.repeat(9)),
      (s: LmdbStore | StateSnapshot) => s.exists(''),
      (s: LmdbStore | StateSnapshot) => s.getBytes(''),
      (s: LmdbStore | StateSnapshot) => [...s.range('a', 'k'.repeat(9))],
      (s: LmdbStore | StateSnapshot) => s.get('a')?.asI64(),
    ]
    for (const read of reads) {
      const code = await codeOf(() => read(snap))
      expect(code).toMatch(/^[A-Z_]+$/)
      expect(code).toBe(await codeOf(() => read(store)))
    }
    await store.close()
  })
})

describe('closing snapshots', () => {
  it('close and dispose release the snapshot: later reads raise CLOSED, closing twice is harmless', async () => {
    const store = await seeded()
    const snap = store.snapshot()
    const started = snap.scan('k/')
    started.next()
    const notStarted = snap.range('k/', 'k/zz')
    snap.close()
    snap.close()
    snap[Symbol.dispose]()
    for (const read of [
      () => snap.get('k/01'),
      () => snap.getBytes('k/01'),
      () => snap.exists('k/01'),
      () => snap.scan('k/'),
      () => snap.range('k/', 'k/zz'),
      () => started.next(),
      () => notStarted.next(),
    ]) {
      expect(await codeOf(read)).toBe('CLOSED')
    }
    let kept: StateSnapshot | undefined
    {
      using scoped = store.snapshot()
      kept = scoped
      expect(scoped.get('k/01')?.asI64()).toBe(0n)
    }
    expect(await codeOf(() => kept.get('k/01'))).toBe('CLOSED')
    await store.close()
  })

  it('each close releases its LMDB reader: many snapshots of different commits in turn never run out', async () => {
    const store = await seeded()
    // LMDB has 126 readers; each of these snapshots sees a different commit.
    for (let n = 1; n <= 300; n++) {
      await store.commit((tx) => tx.put('n', TypedValue.i64(n)))
      using snap = store.snapshot()
      const it = snap.scan('k/')
      it.next() // an unfinished iterator holds a cursor: closing the snapshot ends it too
      expect(snap.get('n')?.asI64()).toBe(BigInt(n))
    }
    await store.close()
  })

  it('too many open snapshots raise IO; closing them makes room again', async () => {
    const store = await seeded()
    const open: StateSnapshot[] = []
    let code = 'no error'
    for (let n = 1; n <= 400 && code === 'no error'; n++) {
      await store.commit((tx) => tx.put('n', TypedValue.i64(n)))
      code = await codeOf(() => open.push(store.snapshot()))
    }
    expect(code).toBe('IO')
    // The 16 KiB lock file the store creates has room for about 250 readers (LMDB sizes its
    // reader table from the file).
    expect(open.length).toBeGreaterThan(200)
    for (const s of open) s.close()
    await store.commit((tx) => tx.put('n', TypedValue.i64(0)))
    using again = store.snapshot()
    expect(again.get('n')?.asI64()).toBe(0n)
    await store.close()
  })

  it('closing the store closes open snapshots and their iterators without waiting for them', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => {
      for (const k of KEYS) tx.put(k, TypedValue.i64(0))
    })
    const snap = store.snapshot()
    const it = snap.scan('k/')
    expect(it.next().done).toBe(false)
    await rewrite(store, 1)
    await nextTurns()
    const other = store.snapshot()
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('close hung')), 5000))
    await Promise.race([store.close(), timeout])
    expect(await codeOf(() => snap.get('k/01'))).toBe('CLOSED')
    expect(await codeOf(() => other.exists('k/01'))).toBe('CLOSED')
    expect(await codeOf(() => it.next())).toBe('CLOSED')
    expect(await codeOf(() => store.snapshot())).toBe('CLOSED')
    snap.close() // harmless after the store closed
    other[Symbol.dispose]()
    // LMDB was closed properly: the store reopens with everything in it.
    const reopened = await openLmdbStore(dir)
    expect(reopened.get('k/05')?.asI64()).toBe(1n)
    await reopened.close()
  })
})

describe('snapshots of a read-only store', () => {
  it('see the writer’s latest commit when taken, and keep it', async () => {
    const dir = tempDir()
    const w = await openLmdbStore(dir)
    const r = await openLmdbStore(dir, { readOnly: true })
    for (let n = 1; n <= 5; n++) {
      await w.commit((tx) => tx.put('n', TypedValue.i64(n)))
      using snap = r.snapshot()
      expect(snap.get('n')?.asI64()).toBe(BigInt(n))
      await w.commit((tx) => tx.put('n', TypedValue.i64(100 + n)))
      await nextTurns()
      expect(snap.get('n')?.asI64()).toBe(BigInt(n))
    }
    await r.close()
    await w.close()
  })
})

describe('plain scans', () => {
  it('scan() and range() iterators are snapshot-consistent while commits land between next() calls', async () => {
    const store = await seeded()
    expect(await drainWhileCommitting(store, store.scan('k/'), 1)).toEqual(original)
    // Each iterator reads the state of its first next(): now every key holds 20 and k/00 is gone.
    expect(await drainWhileCommitting(store, store.range('k/', 'k/zz'), 100)).toEqual(rewritten(20n))
    expect(await drainWhileCommitting(store, store.scan('k/', { reverse: true }), 200)).toEqual(
      [...rewritten(119n)].reverse(),
    )
    expect(await drainWhileCommitting(store, store.range('k/', 'k/zz', { reverse: true }), 300)).toEqual(
      [...rewritten(219n)].reverse(),
    )
    await store.close()
  })
})
