import { isAzothError, ManualClock } from '@azoth/core'
import { ErrorStrategy, EventProcessor, type FailureContext, type RunStats } from '@azoth/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 30)
})
afterEach(async () => {
  await f.cleanup()
})

function processor(strategy: ErrorStrategy, failing: Set<number>, clock = new ManualClock(), name = 'p') {
  return new EventProcessor({
    source: f.source,
    store: f.store,
    name,
    handlers: [balancesHandler(failing)],
    errorStrategy: strategy,
    batch: { maxEvents: 10 },
    clock,
  })
}

/** Runs with a manual clock, advancing it whenever the projector sleeps, until the run settles. */
async function runWithClock(p: EventProcessor, clock: ManualClock): Promise<RunStats> {
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

describe('a failing event meets its strategy after exactly one handler call per attempt', () => {
  // The whole-batch attempt is the failing event's first attempt: no extra call on top of the strategy's.
  it.each([
    ['deadLetter', ErrorStrategy.deadLetter(), 1],
    ['logAndSkip', ErrorStrategy.logAndSkip(), 1],
    ['failFast', ErrorStrategy.failFast(), 1],
    ['retryWithBackoff(3)', ErrorStrategy.retryWithBackoff({ maxRetries: 3, initialDelayMs: 1 }), 4],
  ])('%s', async (_name, strategy, calls) => {
    const clock = new ManualClock()
    const handler = balancesHandler(new Set([8]))
    const p = new EventProcessor({
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
  })

  it('an error that ended the whole store transaction fails the run; no strategy skips it', async () => {
    // RAISE(ROLLBACK) makes SQLite roll back the whole transaction, as SQLITE_FULL or IOERR do.
    await f.store.transaction((tx) =>
      tx.exec(`CREATE TABLE boom (x);
        CREATE TRIGGER boom_t BEFORE INSERT ON boom BEGIN SELECT RAISE(ROLLBACK, 'rolled back'); END;`),
    )
    const handler = balancesHandler()
    const p = new EventProcessor({
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
    expect(await f.store.getCursor('p')).toBeLessThan(8)
    expect(p.metrics().skipped).toBe(0)
  })

  it('also when the handler fails asynchronously', async () => {
    const sync = balancesHandler(new Set([8]))
    const p = new EventProcessor({
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
    expect(sync.callsFor.get(8)).toBe(1)
    expect(sync.callsFor.get(7)).toBe(2) // before the failure in its batch: rolled back, applied again
    expect(sync.callsFor.get(9)).toBe(1) // after it: never reached by the batch attempt
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8])))
  })
})

describe('error strategies', () => {
  it('failFast: events before the failing one land, the cursor stops before it, PROJECTION_FAILED', async () => {
    const p = processor(ErrorStrategy.failFast(), new Set([13]))
    const error = await p.runOnce().catch((e: unknown) => e)
    expect(isAzothError(error, 'PROJECTION_FAILED')).toBe(true)
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(await f.store.getCursor('p')).toBe(12)
    expect(p.metrics()).toMatchObject({ state: 'failed', cursor: 12, errors: 1 })
    expect(p.metrics().lastError).toMatchObject({ eventId: 13, message: 'handler fails on event 13' })
    const cut = new Set(Array.from({ length: 18 }, (_, i) => 13 + i))
    f.source.sealedAt = 12
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, cut))
    f.source.sealedAt = undefined
    expect(await f.store.deadLetters.count()).toBe(0)
  })

  it('logAndSkip: the failing event is skipped, its neighbours in the batch land, the cursor passes it', async () => {
    const p = processor(ErrorStrategy.logAndSkip(), new Set([3, 17]))
    expect(await p.runOnce()).toMatchObject({ cursor: 30, skipped: 2, deadLettered: 0 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([3, 17])))
    expect(await f.store.deadLetters.count()).toBe(0)
    expect(p.metrics()).toMatchObject({ skipped: 2, errors: 2, slowBatches: 2 })
  })

  it('deadLetter: the row and the cursor advance commit together; the rest lands', async () => {
    const clock = new ManualClock(5_000)
    const p = processor(ErrorStrategy.deadLetter(), new Set([4, 25]), clock)
    expect(await p.runOnce()).toMatchObject({ cursor: 30, deadLettered: 2 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([4, 25])))
    const rows = await p.deadLetters.list()
    expect(rows.map((r) => [r.eventId, r.eventType, r.attempts, r.status])).toEqual([
      [4, 'Deposited', 1, 'pending'],
      [25, 'Deposited', 1, 'pending'],
    ])
    expect(rows[0]).toMatchObject({ firstFailedAt: 5_000, errorMessage: 'handler fails on event 4' })
    expect(rows[0]!.errorStack).toContain('handler fails on event 4')
  })

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
    expect((await p.deadLetters.list())[0]).toMatchObject({ eventId: 8, attempts: 4 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8])))
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
    const bad = processor(
      ErrorStrategy.custom(() => ({ action: 'explode' }) as never),
      new Set([1]),
      new ManualClock(),
      'bad',
    )
    await expect(bad.runOnce()).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
  })
})
