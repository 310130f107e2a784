import { isAzothError, ManualClock } from '@azothdb/core'
import { ErrorStrategy, type FailureContext, Projector, type RunStats } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'
import { strategyProcessor } from './support/strategy-processor.js'
import { settle, until } from './support/wait.js'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 30)
})
afterEach(async () => {
  await f.cleanup()
})

const processor = (strategy: ErrorStrategy, failing: Set<number>, clock = new ManualClock(), name = 'p') =>
  strategyProcessor(f, strategy, failing, { clock, name })

/** Runs with a manual clock, advancing it whenever the projector sleeps, until the run settles. */
async function runWithClock(p: Projector, clock: ManualClock): Promise<RunStats> {
  let settled = false
  const run = p.runOnce()
  const done = (): void => {
    settled = true
  }
  run.then(done, done)
  while (!settled) {
    await new Promise((r) => setImmediate(r))
    if (clock.pending > 0) clock.advance(60_000)
  }
  return run
}

/** The ids after `last` up to the head: what a projection that stopped at `last` has not applied. */
function after(last: number): Set<number> {
  return new Set(Array.from({ length: f.source.head() - last }, (_, i) => last + 1 + i))
}

/** The dead letters of projector `name`, as [event id, type, attempts, status]. */
async function deadLetterRows(name = 'p'): Promise<Array<[number, string, number, string]>> {
  const rows = await f.store.deadLetters.list({ projector: name })
  return rows.map((r) => [r.eventId, r.eventType, r.attempts, r.status])
}

describe('a failing event meets its strategy after exactly one handler call per attempt', () => {
  // The whole-batch attempt is the failing event's first attempt: no extra call on top of the strategy's.
  it.each([
    ['deadLetter', ErrorStrategy.deadLetter(), 1, 30, [[8, 'Deposited', 1, 'pending']]],
    ['logAndSkip', ErrorStrategy.logAndSkip(), 1, 30, []],
    // The events before the failing one in its batch commit, with their cursor.
    ['failFast', ErrorStrategy.failFast(), 1, 7, []],
    [
      'retryWithBackoff(3)',
      ErrorStrategy.retryWithBackoff({ maxRetries: 3, initialDelayMs: 1 }),
      4,
      30,
      [[8, 'Deposited', 4, 'pending']],
    ],
  ] as const)('%s', async (_name, strategy, calls, cursor, deadLetters) => {
    const clock = new ManualClock()
    const handler = balancesHandler(new Set([8]))
    const p = new Projector({
      source: f.source,
      store: f.store,
      name: 'p',
      handlers: [handler],
      errorStrategy: strategy,
      batch: { maxEvents: 10 },
      clock,
    })
    await runWithClock(p, clock).catch(() => {})
    expect(handler.callsFor.get(8)).toBe(calls)
    expect(await f.store.getCursor('p')).toBe(cursor)
    expect(p.metrics().cursor).toBe(cursor)
    expect(await deadLetterRows()).toEqual(deadLetters)
    const lost = cursor === 30 ? new Set([8]) : after(cursor)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, lost))
  })

  it('an error that ended the whole store transaction fails the run; no strategy skips it', async () => {
    // RAISE(ROLLBACK) makes SQLite roll back the whole transaction, as SQLITE_FULL or IOERR do.
    await f.store.transaction((tx) =>
      tx.exec(`CREATE TABLE boom (x);
        CREATE TRIGGER boom_t BEFORE INSERT ON boom BEGIN SELECT RAISE(ROLLBACK, 'rolled back'); END;`),
    )
    const handler = balancesHandler()
    const p = new Projector({
      source: f.source,
      store: f.store,
      name: 'p',
      handlers: [
        {
          name: 'boom',
          eventTypes: ['Deposited'],
          handle(event, tx) {
            handler.handle(event, tx)
            if (event.id === 8) tx.run('INSERT INTO boom VALUES (1)')
          },
        },
      ],
      errorStrategy: ErrorStrategy.logAndSkip(),
      batch: { maxEvents: 10 },
    })
    const error = await p.runOnce().catch((e: unknown) => e)
    expect(isAzothError(error, 'PROJECTION_FAILED')).toBe(true)
    // The whole first batch (1..10) was rolled back: nothing of it, nor its cursor, committed.
    expect(await f.store.getCursor('p')).toBe(0)
    expect(await balances(f.store)).toEqual([])
    expect(await f.store.deadLetters.count()).toBe(0)
    expect(p.metrics().skipped).toBe(0)
  })

  it('also when the handler fails asynchronously', async () => {
    const sync = balancesHandler(new Set([8]))
    const p = new Projector({
      source: f.source,
      store: f.store,
      name: 'p',
      handlers: [
        {
          name: 'async balances',
          eventTypes: ['Deposited'],
          async handle(event, tx) {
            await Promise.resolve()
            sync.handle(event, tx)
          },
        },
      ],
      errorStrategy: ErrorStrategy.deadLetter(),
      batch: { maxEvents: 10 },
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 30, deadLettered: 1 })
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await deadLetterRows()).toEqual([[8, 'Deposited', 1, 'pending']])
    expect(sync.callsFor.get(8)).toBe(1)
    expect(sync.callsFor.get(7)).toBe(2) // before the failure in its batch: rolled back, applied again
    expect(sync.callsFor.get(9)).toBe(1) // after it: never reached by the batch attempt
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8])))
  })
})

describe('error strategies', () => {
  it('failFast: events before the failing one land, the cursor stops before it, PROJECTION_FAILED', async () => {
    const p = processor(ErrorStrategy.failFast(), new Set([13]), new ManualClock(1_234))
    expect(p.metrics()).toMatchObject({ cursor: -1, head: 30, lag: 30, eventsPerSecond: 0, errors: 0 })
    expect(p.metrics().lastError).toBeUndefined()
    const error = await p.runOnce().catch((e: unknown) => e)
    expect(isAzothError(error, 'PROJECTION_FAILED')).toBe(true)
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(await f.store.getCursor('p')).toBe(12)
    const m = p.metrics()
    expect(m).toMatchObject({ state: 'failed', cursor: 12, head: 30, errors: 1, skipped: 0, deadLettered: 0 })
    expect(m.lag).toBe(m.head - 12)
    // The first batch (1..10) applied: the throughput is measured.
    expect(m.eventsPerSecond).toBeGreaterThan(0)
    expect(m.lastError).toEqual({
      message: 'handler fails on event 13',
      code: undefined,
      eventId: 13,
      at: 1_234,
    })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, after(12)))
    expect(await f.store.deadLetters.count()).toBe(0)
  })

  it('logAndSkip: the failing event is skipped, its neighbours in the batch land, the cursor passes it', async () => {
    const p = processor(ErrorStrategy.logAndSkip(), new Set([3, 17]))
    expect(await p.runOnce()).toMatchObject({ cursor: 30, skipped: 2, deadLettered: 0 })
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([3, 17])))
    expect(await f.store.deadLetters.count()).toBe(0)
    expect(p.metrics()).toMatchObject({ skipped: 2, errors: 2, slowBatches: 2 })
  })

  it('deadLetter: the row and the cursor advance commit together; the rest lands', async () => {
    const clock = new ManualClock(5_000)
    const p = processor(ErrorStrategy.deadLetter(), new Set([4, 25]), clock)
    expect(await p.runOnce()).toMatchObject({ cursor: 30, deadLettered: 2 })
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([4, 25])))
    const rows = await p.deadLetters.list()
    expect(rows.map((r) => [r.eventId, r.eventType, r.attempts, r.status])).toEqual([
      [4, 'Deposited', 1, 'pending'],
      [25, 'Deposited', 1, 'pending'],
    ])
    expect(rows[0]).toMatchObject({ firstFailedAt: 5_000, errorMessage: 'handler fails on event 4' })
    expect(rows[0]!.errorStack).toContain('handler fails on event 4')
  })

  it.each([
    ['logAndSkip', ErrorStrategy.logAndSkip(), []],
    ['deadLetter', ErrorStrategy.deadLetter(), [[31, 'Deposited', 1, 'pending']]],
    [
      'retryWithBackoff → deadLetter',
      ErrorStrategy.retryWithBackoff({ maxRetries: 1, initialDelayMs: 3 }),
      [[31, 'Deposited', 2, 'pending']],
    ],
  ] as const)(
    '%s of the last event of the run stores the cursor past it (a restart does not meet it again)',
    async (_name, strategy, deadLetters) => {
      appendDeposits(f.source, 1) // event 31 alone in the last batch
      const clock = new ManualClock()
      const p = processor(strategy, new Set([31]), clock)
      expect(await runWithClock(p, clock)).toMatchObject({ cursor: 31 })
      expect(await f.store.getCursor('p')).toBe(31)
      expect(await deadLetterRows()).toEqual(deadLetters)
      // A new instance (a restart) starts from the stored cursor: nothing to apply, nothing re-failed.
      const handler = balancesHandler(new Set([31]))
      const again = new Projector({
        source: f.source,
        store: f.store,
        name: 'p',
        handlers: [handler],
        errorStrategy: strategy,
        clock,
      })
      expect(await runWithClock(again, clock)).toMatchObject({ from: 31, events: 0 })
      expect(handler.calls).toBe(0)
      expect(await deadLetterRows()).toEqual(deadLetters)
      expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([31])))
    },
  )

  it('retryWithBackoff: really waits on the clock with growing delays, then dead-letters', async () => {
    const clock = new ManualClock()
    const p = processor(
      ErrorStrategy.retryWithBackoff({ maxRetries: 3, initialDelayMs: 100, maxDelayMs: 250, multiplier: 2 }),
      new Set([8]),
      clock,
    )
    const stats = await runWithClock(p, clock)
    expect(stats).toMatchObject({ cursor: 30, retries: 3, deadLettered: 1 })
    expect(clock.sleptMs).toBe(100 + 200 + 250)
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await deadLetterRows()).toEqual([[8, 'Deposited', 4, 'pending']])
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8])))
    expect(p.metrics()).toMatchObject({ errors: 4, retries: 3, deadLettered: 1, lag: 0 })
  })

  it('retryWithBackoff: succeeds when the dependency recovers during the retries', async () => {
    const clock = new ManualClock()
    const failing = new Set([8])
    const p = processor(ErrorStrategy.retryWithBackoff({ maxRetries: 5, initialDelayMs: 10 }), failing, clock)
    let settled = false
    const run = p.runOnce()
    const done = (): void => {
      settled = true
    }
    run.then(done, done)
    let wakes = 0
    while (!settled) {
      await new Promise((r) => setImmediate(r))
      if (clock.pending > 0) {
        if (++wakes === 2) failing.clear()
        clock.advance(1_000)
      }
    }
    expect(await run).toMatchObject({ cursor: 30, retries: 2, deadLettered: 0 })
    expect(clock.sleptMs).toBe(10 + 20)
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await f.store.deadLetters.count()).toBe(0)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
  })

  it("retryWithBackoff with onExhausted 'fail' stops at the event after the retries", async () => {
    const clock = new ManualClock()
    const p = processor(
      ErrorStrategy.retryWithBackoff({ maxRetries: 2, initialDelayMs: 5, onExhausted: 'fail' }),
      new Set([21]),
      clock,
    )
    await expect(runWithClock(p, clock)).rejects.toSatisfy((e) => isAzothError(e, 'PROJECTION_FAILED'))
    expect(clock.sleptMs).toBe(5 + 10)
    expect(await f.store.getCursor('p')).toBe(20)
    // Events 1..20 landed, 21 (three attempts) and the rest did not; nothing was dead-lettered.
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, after(20)))
    expect(await deadLetterRows()).toEqual([])
    const m = p.metrics()
    expect(m).toMatchObject({ state: 'failed', cursor: 20, lag: 10, errors: 3, retries: 2, deadLettered: 0 })
    expect(m.lastError).toMatchObject({ eventId: 21, message: 'handler fails on event 21' })
  })

  it('retryWithBackoff really waits: no retry before initialDelayMs on the clock, the retry right after', async () => {
    const clock = new ManualClock()
    const failing = new Set([8])
    const handler = balancesHandler(failing)
    const p = new Projector({
      source: f.source,
      store: f.store,
      name: 'p',
      handlers: [handler],
      errorStrategy: ErrorStrategy.retryWithBackoff({ maxRetries: 3, initialDelayMs: 100, multiplier: 2 }),
      batch: { maxEvents: 10 },
      clock,
    })
    const run = p.runOnce()
    await until(() => handler.callsFor.get(8) !== undefined && clock.pending > 0)
    await settle()
    // Asleep on the clock: one attempt so far, one sleeper, and the events before 8 committed.
    expect(handler.callsFor.get(8)).toBe(1)
    expect(clock.pending).toBe(1)
    expect(await f.store.getCursor('p')).toBe(7)
    clock.advance(99)
    await settle()
    expect(handler.callsFor.get(8)).toBe(1)
    clock.advance(1)
    await until(() => handler.callsFor.get(8) === 2)
    // The second wait is initialDelayMs × multiplier.
    await until(() => clock.pending > 0)
    clock.advance(199)
    await settle()
    expect(handler.callsFor.get(8)).toBe(2)
    failing.clear()
    clock.advance(1)
    expect(await run).toMatchObject({ cursor: 30, retries: 2, deadLettered: 0 })
    expect(handler.callsFor.get(8)).toBe(3)
    expect(clock.now()).toBe(300)
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await deadLetterRows()).toEqual([])
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
  })

  it('custom: decides per failure, with the decoded event and the attempt number', async () => {
    const seen: Array<[number, number]> = []
    const clock = new ManualClock()
    const strategy = ErrorStrategy.custom((ctx: FailureContext) => {
      seen.push([ctx.eventId, ctx.attempt])
      expect(ctx.event?.type).toBe('Deposited')
      if (ctx.eventId === 2) return { action: 'skip' }
      if (ctx.eventId === 6 && ctx.attempt < 2) return { action: 'retry', delayMs: 7 }
      return { action: 'deadLetter' }
    })
    const p = processor(strategy, new Set([2, 6]), clock)
    expect(await runWithClock(p, clock)).toMatchObject({
      cursor: 30,
      skipped: 1,
      deadLettered: 1,
      retries: 1,
    })
    expect(seen).toEqual([
      [2, 1],
      [6, 1],
      [6, 2],
    ])
    expect(clock.sleptMs).toBe(7)
    expect(await f.store.getCursor('p')).toBe(30)
    // 2 was skipped, 6 dead-lettered on its second attempt; every other event landed.
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([2, 6])))
    expect(await deadLetterRows()).toEqual([[6, 'Deposited', 2, 'pending']])
    const landed = await balances(f.store)
    const bad = processor(
      ErrorStrategy.custom(() => ({ action: 'explode' }) as never),
      new Set([1]),
      new ManualClock(),
      'bad',
    )
    await expect(bad.runOnce()).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
    // The invalid decision rolled back the transaction: no cursor, no dead letter, no write.
    expect(await f.store.getCursor('bad')).toBe(0)
    expect(await deadLetterRows('bad')).toEqual([])
    expect(await balances(f.store)).toEqual(landed)
  })
})
