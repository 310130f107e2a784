import { isAzothError, type Key } from '@azothdb/core'
import { type StripeLease, StripeLockManager } from '@azothdb/core/internal'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expectAzothError, propertyTimeout, rejection, runs } from './helpers.js'

/** Lets every pending promise callback and timer-free continuation run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Tracks whether a promise has settled yet, without awaiting it. */
function track<T>(p: Promise<T>): { readonly done: boolean; readonly promise: Promise<T> } {
  const state = { done: false, promise: p }
  p.then(
    () => {
      state.done = true
    },
    () => {
      state.done = true
    },
  )
  return state
}

/** A `then` callback that records `name` in `order` and passes the lease on. */
function logged(order: string[], name: string): (lease: StripeLease) => StripeLease {
  return (lease) => {
    order.push(name)
    return lease
  }
}

/** Keys that land on pairwise distinct stripes, in ascending stripe order. */
function keysOnDistinctStripes(locks: StripeLockManager, n: number): string[] {
  const byStripe = new Map<number, string>()
  for (let i = 0; byStripe.size < n; i++) {
    const k = `key-${i}`
    if (!byStripe.has(locks.stripeOf(k))) byStripe.set(locks.stripeOf(k), k)
  }
  return [...byStripe.entries()].sort((a, b) => a[0] - b[0]).map(([, k]) => k)
}

describe('StripeLockManager', () => {
  it('validates its options with CONFIG naming the field', () => {
    for (const [options, field] of [
      [{ stripes: 0 }, 'stripes'],
      [{ stripes: 1.5 }, 'stripes'],
      [{ stripes: 2 ** 21 }, 'stripes'],
      [{ timeoutMs: -1 }, 'lockTimeoutMs'],
      [{ timeoutMs: Number.NaN }, 'lockTimeoutMs'],
    ] as const) {
      const e = expectAzothError(() => new StripeLockManager(options), 'CONFIG')
      expect(e.details).toMatchObject({ field })
    }
    expect(new StripeLockManager().stripes).toBe(1024)
  })

  it('maps a string key and its UTF-8 bytes to the same stripe', () => {
    const locks = new StripeLockManager({ stripes: 64 })
    for (const k of ['a', 'alice', 'é', '😀 key']) {
      expect(locks.stripeOf(k)).toBe(locks.stripeOf(new TextEncoder().encode(k)))
      expect(locks.stripeOf(k)).toBeGreaterThanOrEqual(0)
      expect(locks.stripeOf(k)).toBeLessThan(64)
    }
  })

  it('grants non-conflicting key sets at the same time', async () => {
    const locks = new StripeLockManager({ stripes: 64 })
    const [a, b, c, d] = keysOnDistinctStripes(locks, 4)
    const first = await locks.acquire([a!, b!])
    // The second acquisition resolves while the first still holds its locks.
    const second = await locks.acquire([c!], [d!])
    expect(locks.stats().held).toBe(4)
    expect(locks.stats().waits).toBe(0)
    first.release()
    second.release()
    expect(locks.stats().held).toBe(0)
  })

  it('serializes conflicting exclusive acquisitions in arrival order', async () => {
    const locks = new StripeLockManager({ stripes: 64 })
    const [k, other] = keysOnDistinctStripes(locks, 2)
    const order: string[] = []
    const first = await locks.acquire([k!])
    const second = track(locks.acquire([other!, k!]).then(logged(order, 'second')))
    const third = track(locks.acquire([k!]).then(logged(order, 'third')))
    await settle()
    expect(second.done).toBe(false)
    expect(third.done).toBe(false)
    order.push('first released')
    first.release()
    const secondLease = await second.promise
    await settle()
    expect(third.done).toBe(false)
    order.push('second released')
    secondLease.release()
    ;(await third.promise).release()
    expect(order).toEqual(['first released', 'second', 'second released', 'third'])
    expect(locks.stats()).toMatchObject({ held: 0, waits: 2, timeouts: 0, acquisitions: 3 })
  })

  it('lets shared holders overlap and makes exclusive ones wait for them', async () => {
    const locks = new StripeLockManager({ stripes: 16 })
    const r1 = await locks.acquire([], ['k'])
    const r2 = await locks.acquire([], ['k'])
    const w = track(locks.acquire(['k']))
    await settle()
    expect(w.done).toBe(false)
    r1.release()
    await settle()
    expect(w.done).toBe(false)
    r2.release()
    const writer = await w.promise
    // And a reader waits for the writer.
    const r3 = track(locks.acquire([], ['k']))
    await settle()
    expect(r3.done).toBe(false)
    writer.release()
    ;(await r3.promise).release()
    expect(locks.stats().held).toBe(0)
  })

  it('is FIFO-fair: a queued writer is not overtaken by a later reader', async () => {
    const locks = new StripeLockManager({ stripes: 16 })
    const order: string[] = []
    const reader = await locks.acquire([], ['k'])
    const writer = track(locks.acquire(['k']).then(logged(order, 'writer')))
    const lateReader = track(locks.acquire([], ['k']).then(logged(order, 'late reader')))
    await settle()
    // The stripe is only shared-held, yet the late reader queues behind the writer.
    expect(writer.done).toBe(false)
    expect(lateReader.done).toBe(false)
    reader.release()
    const w = await writer.promise
    await settle()
    expect(lateReader.done).toBe(false)
    w.release()
    ;(await lateReader.promise).release()
    expect(order).toEqual(['writer', 'late reader'])
  })

  it('wakes every reader queued together once a writer leaves', async () => {
    const locks = new StripeLockManager({ stripes: 16 })
    const writer = await locks.acquire(['k'])
    const readers = [1, 2, 3].map(() => track(locks.acquire([], ['k'])))
    await settle()
    expect(readers.some((r) => r.done)).toBe(false)
    writer.release()
    const leases = await Promise.all(readers.map((r) => r.promise))
    expect(locks.stats().held).toBe(1)
    for (const l of leases) l.release()
    expect(locks.stats().held).toBe(0)
  })

  it('treats a key asked for both shared and exclusive as exclusive', async () => {
    const locks = new StripeLockManager({ stripes: 16 })
    const lease = await locks.acquire(['k'], ['k', 'k'])
    const reader = track(locks.acquire([], ['k']))
    await settle()
    expect(reader.done).toBe(false)
    lease.release()
    ;(await reader.promise).release()
  })

  it('takes many keys on one stripe without waiting on itself', async () => {
    const locks = new StripeLockManager({ stripes: 1 })
    const lease = await locks.acquire(['a', 'b', new Uint8Array([1])], ['c'])
    expect(locks.stats().held).toBe(1)
    lease.release()
    const empty = await locks.acquire([])
    empty.release()
    expect(locks.stats()).toMatchObject({ held: 0, waits: 0 })
  })

  it('release is idempotent', async () => {
    const locks = new StripeLockManager({ stripes: 16 })
    const r1 = await locks.acquire([], ['k'])
    const r2 = await locks.acquire([], ['k'])
    r1.release()
    r1.release()
    r1.release()
    // r2 still holds its shared lock: a writer must keep waiting.
    const w = track(locks.acquire(['k']))
    await settle()
    expect(w.done).toBe(false)
    expect(locks.stats().held).toBe(1)
    r2.release()
    const writer = await w.promise
    writer.release()
    writer.release()
    expect(locks.stats().held).toBe(0)
    // A released lease gives nothing back twice: the next writer and reader get in at once.
    ;(await locks.acquire(['k'])).release()
    ;(await locks.acquire([], ['k'])).release()
  })

  it('withLocks releases when the callback throws or rejects', async () => {
    const locks = new StripeLockManager({ stripes: 16 })
    await expect(
      locks.withLocks(['a'], ['b'], () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    await expect(locks.withLocks(['a'], [], async () => Promise.reject(new Error('later')))).rejects.toThrow(
      'later',
    )
    expect(locks.stats().held).toBe(0)
    expect(await locks.withLocks(['a'], [], () => 42)).toBe(42)
  })

  describe('timeouts', () => {
    it('rejects with LOCK_TIMEOUT and gives back the stripes it had taken', async () => {
      const locks = new StripeLockManager({ stripes: 64, timeoutMs: 10_000 })
      const [low, high] = keysOnDistinctStripes(locks, 2)
      const blocker = await locks.acquire([high!])
      // Takes `low`, then waits on `high`, then gives up.
      const e = await rejection(locks.acquire([low!, high!], [], 20))
      expect(isAzothError(e, 'LOCK_TIMEOUT')).toBe(true)
      expect(locks.stats()).toMatchObject({ held: 1, timeouts: 1 })
      // `low` is free again.
      ;(await locks.acquire([low!])).release()
      blocker.release()
      expect(locks.stats().held).toBe(0)
    })

    it('lets the waiters queued behind a timed-out acquisition proceed', async () => {
      const locks = new StripeLockManager({ stripes: 64, timeoutMs: 10_000 })
      const [low, high] = keysOnDistinctStripes(locks, 2)
      const blocker = await locks.acquire([high!])
      const doomed = track(locks.acquire([low!, high!], [], 20))
      await settle()
      // Queued behind the doomed acquisition on both of its stripes.
      const onLow = track(locks.acquire([low!]))
      const onHigh = track(locks.acquire([high!]))
      const e = await rejection(doomed.promise)
      expect(isAzothError(e, 'LOCK_TIMEOUT')).toBe(true)
      // `low` was released by the timeout, so its waiter gets it without anyone else releasing.
      const lowLease = await onLow.promise
      expect(onHigh.done).toBe(false)
      blocker.release()
      const highLease = await onHigh.promise
      lowLease.release()
      highLease.release()
      expect(locks.stats()).toMatchObject({ held: 0, timeouts: 1 })
    })

    it('a reader queued behind a timed-out writer joins the current readers', async () => {
      const locks = new StripeLockManager({ stripes: 16, timeoutMs: 10_000 })
      const reader = await locks.acquire([], ['k'])
      const writer = track(locks.acquire(['k'], [], 20))
      const lateReader = track(locks.acquire([], ['k']))
      expect(isAzothError(await rejection(writer.promise), 'LOCK_TIMEOUT')).toBe(true)
      // Nobody released anything, yet the late reader gets in once the writer is gone.
      ;(await lateReader.promise).release()
      reader.release()
      expect(locks.stats().held).toBe(0)
    })

    it('uses the default timeout of the manager', async () => {
      const locks = new StripeLockManager({ stripes: 16, timeoutMs: 15 })
      const holder = await locks.acquire(['k'])
      const e = await rejection(locks.acquire(['k']))
      expect(isAzothError(e, 'LOCK_TIMEOUT')).toBe(true)
      expect((e as { details: unknown }).details).toMatchObject({ timeoutMs: 15 })
      holder.release()
      expect(locks.stats().held).toBe(0)
    })

    it('a zero timeout fails only when the locks are busy', async () => {
      const locks = new StripeLockManager({ stripes: 16 })
      const free = await locks.acquire(['k'], [], 0)
      expect(isAzothError(await rejection(locks.acquire(['k'], [], 0)), 'LOCK_TIMEOUT')).toBe(true)
      free.release()
      expect(locks.stats().held).toBe(0)
    })

    it('a timeout beyond the timer range (or infinite) does not fire early', async () => {
      const locks = new StripeLockManager({ stripes: 16, timeoutMs: 10_000_000_000 })
      const holder = await locks.acquire(['k'])
      // Node fires timers longer than 2^31-1 ms after 1 ms: these must not.
      const byDefault = track(locks.acquire(['k']))
      const infinite = track(locks.acquire(['k'], [], Number.POSITIVE_INFINITY))
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(byDefault.done).toBe(false)
      expect(infinite.done).toBe(false)
      holder.release()
      ;(await byDefault.promise).release()
      ;(await infinite.promise).release()
      expect(locks.stats()).toMatchObject({ held: 0, timeouts: 0 })
    })
  })

  describe('under random concurrent load', propertyTimeout, () => {
    const keyPool = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? new Uint8Array([i, 7]) : `k${i}`))

    interface Task {
      readonly exclusive: Key[]
      readonly shared: Key[]
      readonly holdTicks: number
      readonly startDelay: number
    }
    const taskArb: fc.Arbitrary<Task> = fc.record({
      exclusive: fc.subarray(keyPool, { maxLength: 4 }).chain((ks) => fc.shuffledSubarray(ks)),
      shared: fc.shuffledSubarray(keyPool, { maxLength: 4 }),
      holdTicks: fc.nat(3),
      startDelay: fc.nat(2),
    })

    async function runScenario(tasks: Task[], stripes: number): Promise<void> {
      // A deadlock would show up as LOCK_TIMEOUT long before the test's own time limit.
      const locks = new StripeLockManager({ stripes, timeoutMs: 20_000 })
      // Per stripe: -1 exclusively held, n > 0 shared by n holders (the checker's own model).
      const model = new Map<number, number>()
      const violations: string[] = []
      let finished = 0

      const enter = (task: Task) => {
        const ex = new Set(task.exclusive.map((k) => locks.stripeOf(k)))
        const sh = new Set(task.shared.map((k) => locks.stripeOf(k)).filter((s) => !ex.has(s)))
        for (const s of ex) {
          if ((model.get(s) ?? 0) !== 0) violations.push(`stripe ${s} taken exclusively while held`)
          model.set(s, -1)
        }
        for (const s of sh) {
          const n = model.get(s) ?? 0
          if (n < 0) violations.push(`stripe ${s} shared while exclusively held`)
          model.set(s, Math.max(n, 0) + 1)
        }
        return () => {
          for (const s of ex) model.set(s, 0)
          for (const s of sh) model.set(s, model.get(s)! - 1)
        }
      }

      const pause = async (ticks: number) => {
        for (let i = 0; i < ticks; i++) {
          await (i % 2 === 0 ? settle() : new Promise((r) => setTimeout(r, 0)))
        }
      }

      await Promise.all(
        tasks.map(async (task) => {
          await pause(task.startDelay)
          const lease: StripeLease = await locks.acquire(task.exclusive, task.shared)
          const leave = enter(task)
          await pause(task.holdTicks)
          leave()
          lease.release()
          finished++
        }),
      )
      expect(violations).toEqual([])
      expect(finished).toBe(tasks.length)
      expect(locks.stats()).toMatchObject({ held: 0, timeouts: 0, acquisitions: tasks.length })
    }

    it('never deadlocks, all tasks finish, exclusive holders never overlap (200 tasks, 8 stripes)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(taskArb, { minLength: 200, maxLength: 200 }), (tasks) =>
          runScenario(tasks, 8),
        ),
        { numRuns: runs(8) },
      )
    })

    it('same with a single stripe and with many stripes', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(taskArb, { minLength: 1, maxLength: 120 }),
          fc.constantFrom(1, 3, 1024),
          runScenario,
        ),
        { numRuns: runs(10) },
      )
    })

    it('some acquisitions timing out midway leaves the rest running and nothing held', async () => {
      const locks = new StripeLockManager({ stripes: 8, timeoutMs: 20_000 })
      const tasks = fc.sample(fc.array(taskArb, { minLength: 150, maxLength: 150 }), {
        numRuns: 1,
        seed: 42,
      })[0]!
      let timedOut = 0
      let finished = 0
      const patientFailures: unknown[] = []
      await Promise.all(
        tasks.map(async (task, i) => {
          // Every fifth task is impatient; the others wait as long as it takes.
          const impatient = i % 5 === 0
          try {
            const lease = await locks.acquire(task.exclusive, task.shared, impatient ? 1 : 20_000)
            await new Promise((r) => setTimeout(r, task.holdTicks))
            lease.release()
            finished++
          } catch (e) {
            if (!impatient || !isAzothError(e, 'LOCK_TIMEOUT')) patientFailures.push(e)
            else timedOut++
          }
        }),
      )
      expect(patientFailures).toEqual([])
      expect(finished + timedOut).toBe(150)
      expect(finished).toBeGreaterThanOrEqual(120)
      expect(locks.stats()).toMatchObject({ held: 0, timeouts: timedOut })
    })
  })
})
