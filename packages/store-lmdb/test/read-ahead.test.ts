import { copyFileSync, renameSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { isAzothError, type Logger, silentLogger } from '@azothdb/core'
import { DATA_FILE, type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import {
  type ChunkReadAheadWorker,
  liveReadAheadWorkers,
  readAheadPatience,
} from '../src/chunk-read-ahead.js'
import { flipBit, occurrences } from './support/bit-flips.js'
import { codeOf } from './support/code-of.js'
import { tempDir } from './support/temp-dir.js'
import { thrown } from './support/thrown.js'

// Scans of more than 8,192 events read ahead on the worker; these logs are longer than that.

/** The marker in event `id`'s payload: found in the data file to damage that event. */
const marker = (id: number): string => `m-${String(id).padStart(6, '0')}-`

/** Writes `groups[i]` events per commit, event `id` carrying `size(id)` bytes of filler after its marker. */
async function writeLog(
  dir: string,
  groups: readonly number[],
  eventChunkBytes: number,
  size: (id: number) => number,
): Promise<number> {
  const store = await openLmdbStore(dir, { durability: 'relaxed', eventChunkBytes })
  let id = 0
  for (const n of groups) {
    await store.commit((tx) => {
      for (let k = 0; k < n; k++) {
        id++
        tx.appendEvent('e', { m: marker(id), fill: 'f'.repeat(size(id)) })
      }
    })
  }
  await store.close()
  return id
}

/** Whether two byte arrays are equal (vitest's deep equality is slow for thousands of them). */
const same = (a: Uint8Array, b: Uint8Array | undefined): boolean =>
  b !== undefined && Buffer.from(a).equals(b)

/** Every event's envelope, read one by one (a path the read-ahead worker never takes). */
function envelopes(store: LmdbStore): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let id = 1; id <= store.head(); id++) out.push(store.getEvent(id)!)
  return out
}

/** Starts the store's read-ahead worker with a long scan and waits until it takes jobs. */
async function bootedWorker(store: LmdbStore): Promise<ChunkReadAheadWorker> {
  const before = new Set(liveReadAheadWorkers)
  const scan = store.events()
  scan.next()
  scan.return?.()
  const worker = [...liveReadAheadWorkers].find((w) => !before.has(w))
  expect(worker).toBeDefined()
  for (let waited = 0; !worker!.booted; waited += 10) {
    expect(waited).toBeLessThan(20_000)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return worker!
}

describe('long event scans read ahead on a worker thread', () => {
  // Scans use the worker only when the load average leaves a core free: this machine's load is
  // not the test's to choose.
  // And they wait for the worker's answers: these tests check what it delivers, and on a machine
  // busy with other tests it may not get a core within a scan's default patience (1 ms).
  const patience = { ...readAheadPatience }
  beforeEach(() => {
    vi.spyOn(os, 'loadavg').mockReturnValue([0, 0, 0])
    readAheadPatience.queuedMs = 30_000
    readAheadPatience.runningMs = 30_000
  })
  afterEach(() => {
    vi.restoreAllMocks()
    Object.assign(readAheadPatience, patience)
  })

  it('return exactly the events of the inline path, over random logs, chunk sizes, ranges and limits', async () => {
    let answered = 0
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          groups: fc.array(fc.integer({ min: 1, max: 3_000 }), { minLength: 2, maxLength: 6 }),
          eventChunkBytes: fc.integer({ min: 64, max: 24 * 1024 }),
          sizes: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 7 }),
          ranges: fc.array(
            fc.record({
              from: fc.nat(3_000),
              span: fc.integer({ min: 8_200, max: 30_000 }),
              limit: fc.nat(30_000),
            }),
            { minLength: 1, maxLength: 4 },
          ),
        }),
        async ({ groups, eventChunkBytes, sizes, ranges }) => {
          const dir = tempDir()
          const count = await writeLog(
            dir,
            [9_000, ...groups],
            eventChunkBytes,
            (id) => sizes[id % sizes.length]!,
          )
          const store = await openLmdbStore(dir, { readOnly: true })
          try {
            const expected = envelopes(store)
            expect(expected.length).toBe(count)
            const worker = await bootedWorker(store)
            const before = worker.answeredJobs
            for (const { from, span, limit } of ranges) {
              const to = from + span
              const wanted = Math.max(limit, 8_200)
              const got = [...store.events({ from, to, limit: wanted })]
              const first = Math.max(1, from)
              const last = Math.min(count, to, first + wanted - 1)
              expect(got.map((r) => r.id)).toEqual(
                Array.from({ length: last - first + 1 }, (_, i) => first + i),
              )
              expect(got.filter((r) => !same(r.bytes, expected[r.id - 1])).map((r) => r.id)).toEqual([])
            }
            answered += worker.answeredJobs - before
            expect(worker.failures).toBe(0)
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: 8 },
    )
    // The worker path was taken (a scan whose jobs were all read inline would prove nothing).
    expect(answered).toBeGreaterThan(8)
  }, 240_000)

  it('chunks larger than a job (events of 600 KiB among small ones) are read by the scan itself', async () => {
    const dir = tempDir()
    const big = new Set([4_000, 9_000, 9_001, 15_000])
    const count = await writeLog(dir, [6_000, 6_000, 6_000], 16 * 1024, (id) =>
      big.has(id) ? 600 * 1024 : 90,
    )
    const store = await openLmdbStore(dir, { readOnly: true })
    try {
      const expected = envelopes(store)
      const worker = await bootedWorker(store)
      const before = worker.answeredJobs
      const got = [...store.events()]
      expect(got.length).toBe(count)
      expect(got.filter((r, i) => r.id !== i + 1 || !same(r.bytes, expected[i])).map((r) => r.id)).toEqual([])
      expect(got[8_999]!.bytes.length).toBeGreaterThan(600 * 1024)
      expect(worker.answeredJobs).toBeGreaterThan(before)
      expect(worker.failures).toBe(0)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('a flipped bit in an event is CORRUPTION naming it, after every event before it, as inline', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [6_000, 6_000, 6_000], 16 * 1024, () => 100)
    const victim = 15_000
    const intact = await openLmdbStore(dir, { readOnly: true, backgroundChecksums: false })
    const expected = envelopes(intact)
    await intact.close()
    // The byte after the marker: inside the event's envelope, so only its checksum catches it.
    const at = Buffer.from(marker(victim)).length
    expect(
      flipBit(join(dir, DATA_FILE), (data) => occurrences(data, Buffer.from(marker(victim))), at, 2),
    ).toBe(1)
    const outcomes = []
    for (const backgroundChecksums of [true, false]) {
      const store = await openLmdbStore(dir, { readOnly: true, backgroundChecksums })
      try {
        const worker = backgroundChecksums ? await bootedWorker(store) : undefined
        const answeredBefore = worker?.answeredJobs ?? 0
        let next = 1
        const error = thrown(() => {
          for (const r of store.events()) {
            if (r.id !== next || !same(r.bytes, expected[next - 1])) throw new Error(`event ${r.id} is wrong`)
            next++
          }
        })
        expect(next).toBe(victim)
        expect(isAzothError(error, 'CORRUPTION')).toBe(true)
        outcomes.push((error as { details: unknown }).details)
        if (worker !== undefined) expect(worker.answeredJobs).toBeGreaterThan(answeredBefore)
        // The damage is where it is: a scan that starts after it reads on.
        expect([...store.events({ from: victim + 1 })].length).toBe(count - victim)
      } finally {
        await store.close()
      }
    }
    expect(outcomes[0]).toMatchObject({ where: 'event', eventId: victim, reason: 'checksum mismatch' })
    expect(outcomes[0]).toEqual(outcomes[1])
  }, 60_000)

  it('two long scans interleaved step by step, and many abandoned early, share the worker and read right', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [15_000, 15_000], 4 * 1024, (id) => (id * 13) % 200)
    const store = await openLmdbStore(dir, { readOnly: true })
    try {
      const expected = envelopes(store)
      const worker = await bootedWorker(store)
      const before = worker.answeredJobs
      for (let round = 0; round < 20; round++) {
        const early = store.events({ from: round * 100 + 1 })
        for (let i = 0; i < 3_000; i++) early.next()
        early.return?.()
      }
      const a = store.events()
      const b = store.events({ from: 7_001 })
      let nextA = 1
      let nextB = 7_001
      let wrong = 0
      for (;;) {
        const ra = a.next()
        if (!ra.done) {
          if (ra.value.id !== nextA++ || !same(ra.value.bytes, expected[ra.value.id - 1])) wrong++
        }
        const rb = b.next()
        if (!rb.done) {
          if (rb.value.id !== nextB++ || !same(rb.value.bytes, expected[rb.value.id - 1])) wrong++
        }
        if (ra.done && rb.done) break
      }
      expect(wrong).toBe(0)
      expect([nextA, nextB]).toEqual([count + 1, count + 1])
      expect(worker.answeredJobs - before).toBeGreaterThan(8)
      expect(worker.failures).toBe(0)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('a worker terminated mid-scan: the scan completes inline, later scans too', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [10_000, 10_000, 10_000], 8 * 1024, (id) => (id * 7) % 300)
    const store = await openLmdbStore(dir, { readOnly: true })
    try {
      const expected = envelopes(store)
      const worker = await bootedWorker(store)
      const scan = store.events()
      let next = 1
      const take = (n: number) => {
        for (let i = 0; i < n; i++) {
          const r = scan.next()
          if (r.done === true) return
          if (r.value.id !== next || !same(r.value.bytes, expected[next - 1])) {
            throw new Error(`event ${r.value.id} is wrong`)
          }
          next++
        }
      }
      take(12_000)
      expect(worker.answeredJobs).toBeGreaterThan(0)
      await worker.terminate()
      const answered = worker.answeredJobs
      expect(worker.usable).toBe(false)
      take(count)
      expect(next).toBe(count + 1)
      expect(scan.next().done).toBe(true)
      // At most the jobs it had finished before it stopped were taken from it.
      expect(worker.answeredJobs - answered).toBeLessThanOrEqual(4)
      // Scans after it check inline: no job for it, no new worker for this store.
      const workers = liveReadAheadWorkers.size
      const settled = worker.answeredJobs
      expect([...store.events({ from: 5 })].length).toBe(count - 4)
      expect(liveReadAheadWorkers.size).toBe(workers)
      expect(worker.answeredJobs).toBe(settled)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('an iterator abandoned mid-scan, then close(): the worker ends, nothing hangs, the store reopens', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [12_000, 12_000], 16 * 1024, () => 120)
    const store = await openLmdbStore(dir)
    const worker = await bootedWorker(store)
    const scan = store.events()
    for (let i = 0; i < 3_000; i++) scan.next()
    // Jobs are in flight now: abandoned, the worker skips or finishes them.
    scan.return?.()
    const again = store.events({ from: 100 })
    again.next()
    await store.close()
    expect(worker.terminated).toBe(true)
    expect(liveReadAheadWorkers.has(worker)).toBe(false)
    // A step of an iterator of the closed store: CLOSED, not a wait on a worker that is gone.
    expect(await codeOf(() => again.next())).toBe('CLOSED')
    const reopened = await openLmdbStore(dir)
    try {
      expect([...reopened.events()].length).toBe(count)
      await reopened.commit((tx) => tx.appendEvent('after', 1))
      expect(reopened.head()).toBe(count + 1)
    } finally {
      await reopened.close()
    }
  }, 60_000)

  it('a process that leaves a scan and its store open exits by itself: the worker keeps nothing alive', async () => {
    const dir = tempDir()
    await writeLog(dir, [12_000], 16 * 1024, () => 100)
    const child = spawnTypeScript(new URL('./fixtures/scan-left-open.ts', import.meta.url), [dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve(false)
      }, 30_000)
      child.on('exit', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    expect(stdout).toMatch(/^worker true answered [1-9]/)
    expect(exited).toBe(true)
  }, 60_000)

  it('a worker that cannot read the store (its data file was replaced) is logged and counted; scans go on inline', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [10_000], 16 * 1024, () => 40)
    const warnings: string[] = []
    const logger: Logger = {
      ...silentLogger,
      warn: (_: unknown, message?: string) => void warnings.push(String(message)),
      child: () => logger,
    }
    const store = await openLmdbStore(dir, { readOnly: true, logger })
    try {
      // The worker checks the file it opens is the one the store opened: a copy put in its place is not.
      const file = join(dir, DATA_FILE)
      copyFileSync(file, `${file}.copy`)
      renameSync(`${file}.copy`, file)
      const before = new Set(liveReadAheadWorkers)
      expect([...store.events()].length).toBe(count)
      const worker = [...liveReadAheadWorkers].find((w) => !before.has(w))!
      for (let waited = 0; worker.usable; waited += 10) {
        expect(waited).toBeLessThan(20_000)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(worker.failures).toBe(1)
      expect(worker.answeredJobs).toBe(0)
      expect(warnings.some((w) => /read-ahead worker failed/.test(w))).toBe(true)
      expect([...store.events({ from: 2 })].length).toBe(count - 1)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('with every core busy (by the load average) scans check inline: no worker is started, no job sent', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [15_000, 15_000], 16 * 1024, () => 50)
    vi.spyOn(os, 'loadavg').mockReturnValue([os.availableParallelism(), 1, 1])
    const workers = liveReadAheadWorkers.size
    const store = await openLmdbStore(dir, { readOnly: true })
    try {
      expect([...store.events()].length).toBe(count)
      expect(liveReadAheadWorkers.size).toBe(workers)
      // A core free again: the next long scan starts the worker.
      vi.spyOn(os, 'loadavg').mockReturnValue([0, 0, 0])
      const worker = await bootedWorker(store)
      const before = worker.answeredJobs
      expect([...store.events()].length).toBe(count)
      expect(worker.answeredJobs).toBeGreaterThan(before)
      // Busy again: the worker stays, scans do not use it.
      vi.spyOn(os, 'loadavg').mockReturnValue([os.availableParallelism(), 1, 1])
      const after = worker.answeredJobs
      expect([...store.events()].length).toBe(count)
      expect(worker.answeredJobs).toBe(after)
    } finally {
      await store.close()
    }
  }, 60_000)

  it('backgroundChecksums: false starts no worker; a value that is not a boolean is CONFIG', async () => {
    const dir = tempDir()
    const count = await writeLog(dir, [10_000], 16 * 1024, () => 50)
    const workers = liveReadAheadWorkers.size
    const store = await openLmdbStore(dir, { backgroundChecksums: false })
    try {
      expect([...store.events()].length).toBe(count)
      expect(liveReadAheadWorkers.size).toBe(workers)
    } finally {
      await store.close()
    }
    await expect(openLmdbStore(dir, { backgroundChecksums: 'yes' as never })).rejects.toMatchObject({
      code: 'CONFIG',
      details: { field: 'backgroundChecksums' },
    })
  }, 60_000)
})
