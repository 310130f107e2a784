import { isAzothError, ManualClock } from '@azothdb/core'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'
import { until } from './support/wait.js'

let f: Fixture
let clock: ManualClock
let failing: Set<number>
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 20)
  clock = new ManualClock(0)
  failing = new Set([3, 14])
})
afterEach(async () => {
  await f.cleanup()
})

function processor(dlq = { initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, maxAttempts: 3 }) {
  return new Projector({
    source: f.source,
    store: f.store,
    name: 'p',
    handlers: [balancesHandler(failing)],
    errorStrategy: ErrorStrategy.deadLetter(),
    deadLetterQueue: { ...dlq, scanIntervalMs: 50 },
    batch: { maxLatencyMs: 0 },
    clock,
  })
}

describe('dead-letter queue', () => {
  it('retry after fixing the handler applies the event and removes the row', async () => {
    const p = processor()
    await p.runOnce()
    const [first, second] = await p.deadLetters.list()
    expect([first?.eventId, second?.eventId]).toEqual([3, 14])
    expect(await p.deadLetters.get(first!.id)).toMatchObject({
      eventId: 3,
      status: 'pending',
      nextRetryAt: 100,
    })

    // Still broken: the attempt is recorded, nothing applied.
    const again = await p.deadLetters.retry(first!.id)
    expect(again).toMatchObject({ applied: false, status: 'retrying' })
    expect(await p.deadLetters.get(first!.id)).toMatchObject({
      attempts: 2,
      status: 'retrying',
      nextRetryAt: 200,
    })

    failing.clear()
    expect(await p.deadLetters.retry(first!.id)).toEqual({ applied: true })
    expect(await p.deadLetters.get(first!.id)).toBeUndefined()
    expect(await p.deadLetters.count()).toBe(1)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([14])))
    await expect(p.deadLetters.retry(9_999)).rejects.toSatisfy((e) => isAzothError(e, 'NOT_FOUND'))
    expect(await p.deadLetters.remove(second!.id)).toBe(true)
    expect(await p.deadLetters.count()).toBe(0)
    expect(p.metrics().replayer).toEqual({ replayed: 2, recovered: 1, gaveUp: 0 })
  })

  it('the replayer backs off, gives up into permanent, and markRetry brings a row back', async () => {
    const p = processor()
    await p.runOnce()
    expect((await p.deadLetters.replayDue()).replayed).toBe(0) // not due before initialDelayMs
    clock.advance(100)
    expect(await p.deadLetters.replayDue()).toEqual({ replayed: 2, recovered: 0 })
    const rows = await p.deadLetters.list()
    expect(rows.map((r) => [r.attempts, r.status, r.nextRetryAt])).toEqual([
      [2, 'retrying', 100 + 200],
      [2, 'retrying', 100 + 200],
    ])
    clock.advance(199)
    expect((await p.deadLetters.replayDue()).replayed).toBe(0)
    clock.advance(1)
    await p.deadLetters.replayDue()
    expect((await p.deadLetters.list()).map((r) => [r.attempts, r.status])).toEqual([
      [3, 'permanent'],
      [3, 'permanent'],
    ])
    clock.advance(100_000)
    expect((await p.deadLetters.replayDue()).replayed).toBe(0)
    expect(p.metrics().replayer.gaveUp).toBe(2)

    failing.clear()
    const id = rows[0]!.id
    expect(await p.deadLetters.markRetry(id)).toBe(true)
    expect(await p.deadLetters.get(id)).toMatchObject({ status: 'pending', nextRetryAt: clock.now() })
    expect(await p.deadLetters.replayDue()).toEqual({ replayed: 1, recovered: 1 })
    expect(await p.deadLetters.count()).toBe(1)
    expect(await p.deadLetters.markRetry(id)).toBe(false)
  })

  it('in continuous mode the replayer runs on the clock and recovers rows once the handler works', async () => {
    const p = processor()
    p.start()
    await until(async () => p.position === 20 && (await p.deadLetters.count()) === 2)
    failing.clear()
    await until(async () => {
      if ((await p.deadLetters.count()) === 0) return true
      clock.advance(50)
      return false
    })
    await p.stop()
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    expect(p.metrics()).toMatchObject({ state: 'stopped', replayer: { recovered: 2 } })
  })
})
