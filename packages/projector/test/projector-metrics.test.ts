// Metrics of a projector that stopped on a failure, and of one that keeps going past failures.
import { ManualClock } from '@azothdb/core'
import { ErrorStrategy } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { appendDeposits, type Fixture, makeFixture } from './support/fixture.js'
import { strategyProcessor } from './support/strategy-processor.js'
import { until } from './support/wait.js'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 30)
})
afterEach(async () => {
  await f.cleanup()
})

const processor = (strategy: ErrorStrategy, failing: Set<number>, clock: ManualClock) =>
  strategyProcessor(f, strategy, failing, { clock, batch: { maxEvents: 10, maxLatencyMs: 0 } })

describe('projector metrics', () => {
  it('a failFast stop in continuous mode: failed, lag = head - stored cursor, the last error, a throughput', async () => {
    const clock = new ManualClock(500)
    const p = processor(ErrorStrategy.failFast(), new Set([23]), clock)
    p.start()
    await until(() => p.metrics().state === 'failed')
    await p.stop()
    appendDeposits(f.source, 4) // the lag grows with the head while the projector stays stopped
    const m = p.metrics()
    const stored = await f.store.getCursor('p')
    expect(stored).toBe(22)
    expect(m).toMatchObject({ state: 'failed', cursor: stored, head: 34, errors: 1, skipped: 0 })
    expect(m.lag).toBe(m.head - stored)
    expect(m.eventsPerSecond).toBeGreaterThan(0)
    expect(m.lastError).toEqual({
      message: 'handler fails on event 23',
      code: undefined,
      eventId: 23,
      at: 500,
    })
  })

  it('errors count every failed attempt; lastError is the latest failure, not the first', async () => {
    const clock = new ManualClock(100)
    const p = processor(ErrorStrategy.deadLetter(), new Set([4, 17, 26]), clock)
    const run = p.runOnce()
    expect(await run).toMatchObject({ cursor: 30, deadLettered: 3 })
    const m = p.metrics()
    expect(m).toMatchObject({
      state: 'idle',
      cursor: 30,
      lag: 0,
      errors: 3,
      deadLettered: 3,
      eventsApplied: 30,
    })
    expect(m.eventsPerSecond).toBeGreaterThan(0)
    expect(m.lastError).toEqual({
      message: 'handler fails on event 26',
      code: undefined,
      eventId: 26,
      at: 100,
    })
  })

  // The events before the failing one were committed with their cursor (0 -> 12): they count as
  // applied, and their transactions as batches, also when the run then fails.
  it('after a failFast stop, eventsApplied counts the events committed before the failing one', async () => {
    const p = processor(ErrorStrategy.failFast(), new Set([13]), new ManualClock())
    await expect(p.runOnce()).rejects.toThrow()
    expect(await f.store.getCursor('p')).toBe(12)
    expect(p.metrics()).toMatchObject({ eventsApplied: 12, batches: 2, cursor: 12 })
  })
})
