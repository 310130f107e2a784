import { type AzothEvent, type EventHandler, isAzothError, ManualClock, systemClock } from '@azothdb/core'
import type { SqliteTx } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector, type RunStats } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Deposit } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'
import { settle, until } from './support/wait.js'

const TIMEOUT_MS = 1_000

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 30)
})
afterEach(async () => {
  await f.cleanup()
})

const UPSERT =
  'INSERT INTO balances (account, amount, events) VALUES (?, ?, 1) ' +
  'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount, events = events + 1'

/**
 * An async balances handler whose promise never settles on the events in `stuck` (a webhook without
 * a timeout) until `release()`; it writes before hanging, and once released writes again (the late
 * write) and records what that write raised.
 */
function stuckHandler(stuck: ReadonlySet<number>) {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const handler = {
    name: 'webhook',
    eventTypes: ['Deposited'] as const,
    callsFor: new Map<number, number>(),
    lateErrors: [] as unknown[],
    release: (): void => open(),
    async handle(event: AzothEvent, tx: SqliteTx): Promise<void> {
      handler.callsFor.set(event.id, (handler.callsFor.get(event.id) ?? 0) + 1)
      await Promise.resolve()
      const p = event.payload as Deposit
      tx.run(UPSERT, [p.account, p.amount])
      if (!stuck.has(event.id)) return
      await gate
      try {
        tx.run(UPSERT, ['late', event.id])
      } catch (e) {
        handler.lateErrors.push(e)
        throw e
      }
    },
    async reset(tx: SqliteTx): Promise<void> {
      tx.run('DELETE FROM balances')
    },
  }
  return handler
}

/** Runs once with a manual clock, advancing it by `step` whenever something sleeps, until the run settles. */
async function runWithClock(p: Projector, clock: ManualClock, step = TIMEOUT_MS): Promise<RunStats> {
  let settled = false
  const run = p.runOnce()
  const done = (): void => {
    settled = true
  }
  run.then(done, done)
  while (!settled) {
    await new Promise((r) => setImmediate(r))
    if (clock.pending > 0) clock.advance(step)
  }
  return run
}

function projector(
  handler: EventHandler<SqliteTx>,
  strategy: ErrorStrategy,
  clock: ManualClock | typeof systemClock = new ManualClock(),
  handlerTimeoutMs = TIMEOUT_MS,
): Projector {
  return Projector.builder(f.source, f.store)
    .withName('p')
    .withHandler(handler)
    .withErrorStrategy(strategy)
    .withBatch({ maxEvents: 10 })
    .withHandlerTimeout(handlerTimeoutMs)
    .withClock(clock)
    .build()
}

async function deadLetterRows(): Promise<Array<[number, number, string]>> {
  const rows = await f.store.deadLetters.list({ projector: 'p' })
  return rows.map((r) => [
    r.eventId,
    r.attempts,
    r.errorMessage.includes('did not settle within') ? 'TIMEOUT' : r.errorMessage,
  ])
}

describe('a handler whose promise never settles times out and meets the error strategy', () => {
  it.each([
    ['deadLetter', ErrorStrategy.deadLetter(), 1, 30, [[8, 1, 'TIMEOUT']]],
    ['logAndSkip', ErrorStrategy.logAndSkip(), 1, 30, []],
    // The events before the stuck one commit with their cursor; the run fails.
    ['failFast', ErrorStrategy.failFast(), 1, 7, []],
    [
      'retryWithBackoff(2)',
      ErrorStrategy.retryWithBackoff({ maxRetries: 2, initialDelayMs: 10 }),
      3,
      30,
      [[8, 3, 'TIMEOUT']],
    ],
  ] as const)('%s', async (name, strategy, calls, cursor, deadLetters) => {
    const clock = new ManualClock()
    const handler = stuckHandler(new Set([8]))
    const p = projector(handler, strategy, clock)
    const outcome = await runWithClock(p, clock).then(
      (stats) => stats,
      (e: unknown) => e,
    )
    if (name === 'failFast') {
      expect(isAzothError(outcome, 'PROJECTION_FAILED')).toBe(true)
      const cause = (outcome as Error).cause
      expect(isAzothError(cause, 'TIMEOUT')).toBe(true)
      expect((cause as { details: unknown }).details).toEqual({
        projector: 'p',
        handler: 'webhook',
        eventId: 8,
        timeoutMs: TIMEOUT_MS,
      })
    } else {
      expect((outcome as RunStats).cursor).toBe(30)
    }
    // The batch attempt is the stuck event's first attempt: no extra call on top of the strategy's.
    expect(handler.callsFor.get(8)).toBe(calls)
    expect(await f.store.getCursor('p')).toBe(cursor)
    expect(await deadLetterRows()).toEqual(deadLetters)
    const m = p.metrics()
    expect(m.timeouts).toBe(calls)
    expect(m.errors).toBe(calls)
    expect(m.lastError?.code).toBe('TIMEOUT')
    const lost =
      cursor === 30 ? new Set([8]) : new Set(Array.from({ length: 30 - cursor }, (_, i) => cursor + 1 + i))
    // Nothing the stuck handler wrote before hanging was kept.
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, lost))

    // Released now, the abandoned calls write again: their transactions are over, so each write
    // raises CLOSED and lands nowhere.
    handler.release()
    await until(() => handler.lateErrors.length === calls)
    expect(handler.lateErrors.every((e) => isAzothError(e, 'CLOSED'))).toBe(true)
    await settle()
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, lost))
  })

  it('two stuck events in one batch: each is called once and keeps its decision when the other rolls the transaction back', async () => {
    const clock = new ManualClock()
    const handler = stuckHandler(new Set([8, 9]))
    const p = projector(handler, ErrorStrategy.deadLetter(), clock)
    expect((await runWithClock(p, clock)).cursor).toBe(30)
    expect(handler.callsFor.get(8)).toBe(1)
    expect(handler.callsFor.get(9)).toBe(1)
    expect(await deadLetterRows()).toEqual([
      [8, 1, 'TIMEOUT'],
      [9, 1, 'TIMEOUT'],
    ])
    expect(p.metrics().deadLettered).toBe(2)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8, 9])))
  })

  it('the limit is per call: a batch of slow calls each within it is not timed out', async () => {
    const clock = new ManualClock()
    const slow: EventHandler<SqliteTx> = {
      name: 'slow',
      eventTypes: ['Deposited'],
      async handle(event, tx) {
        await clock.sleep(TIMEOUT_MS * 0.6)
        const p = event.payload as Deposit
        tx.run(UPSERT, [p.account, p.amount])
      },
    }
    const p = projector(slow, ErrorStrategy.failFast(), clock)
    const stats = await runWithClock(p, clock, TIMEOUT_MS * 0.6)
    expect(stats.cursor).toBe(30)
    expect(p.metrics().timeouts).toBe(0)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
  })

  it('a stuck handleBatch is abandoned, and the event-by-event pass times out the event that hangs', async () => {
    const clock = new ManualClock()
    const handler = stuckHandler(new Set([8]))
    const batchOnly: EventHandler<SqliteTx> = {
      name: 'batch',
      eventTypes: ['Deposited'],
      handle: (event, tx) => handler.handle(event, tx),
      async handleBatch(events, tx) {
        for (const e of events) await handler.handle(e, tx)
      },
    }
    const p = projector(batchOnly, ErrorStrategy.deadLetter(), clock)
    expect((await runWithClock(p, clock)).cursor).toBe(30)
    expect(await deadLetterRows()).toEqual([[8, 1, 'TIMEOUT']])
    expect(p.metrics().timeouts).toBe(2)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8])))
  })
})

describe('a stuck handler freezes nothing', () => {
  it('the store is free again once it times out: dead-letter counts and other transactions finish', async () => {
    const clock = new ManualClock()
    const handler = stuckHandler(new Set([8]))
    const p = projector(handler, ErrorStrategy.deadLetter(), clock)
    const run = p.runOnce()
    await until(() => handler.callsFor.get(8) === 1 && clock.pending > 0)
    // Both queue behind the stuck transaction...
    let counted: number | undefined
    const count = f.store.deadLetters.count({ projector: 'p' }).then((n) => {
      counted = n
    })
    const migrated = f.store
      .migrator([{ version: 1, name: 'extra', up: (tx) => tx.exec('CREATE TABLE extra (x)') }])
      .up()
    await settle()
    expect(counted).toBeUndefined()
    // ...and go on once the limit passes on the projector's clock.
    clock.advance(TIMEOUT_MS)
    await count
    await migrated
    expect(counted).toBe(0)
    expect((await run).cursor).toBe(30)
    expect(await f.store.deadLetters.count({ projector: 'p' })).toBe(1)
  })

  it('with real timers, stop() finishes and the store closes while the handler never settles', async () => {
    const handler = stuckHandler(new Set([8, 9]))
    const p = projector(handler, ErrorStrategy.deadLetter(), systemClock, 30)
    p.start()
    await until(() => handler.callsFor.get(8) === 1)
    await p.stop()
    expect(p.metrics().state).toBe('stopped')
    expect(p.metrics().timeouts).toBeGreaterThanOrEqual(1)
    // What the stopped run left, a run finishes: both stuck events dead-lettered once each.
    expect((await p.runOnce()).cursor).toBe(30)
    expect(await deadLetterRows()).toEqual([
      [8, 1, 'TIMEOUT'],
      [9, 1, 'TIMEOUT'],
    ])
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8, 9])))
    await f.store.close()
    await expect(f.store.transaction(() => undefined)).rejects.toSatisfy((e) => isAzothError(e, 'CLOSED'))
  })

  it('a dead-letter retry whose handler hangs times out, records the attempt and keeps the row', async () => {
    const clock = new ManualClock()
    const stuck = new Set([8])
    const handler = stuckHandler(stuck)
    const p = projector(handler, ErrorStrategy.deadLetter(), clock)
    await runWithClock(p, clock)
    const [row] = await f.store.deadLetters.list({ projector: 'p' })
    const retry = p.deadLetters.retry(row!.id)
    await until(() => handler.callsFor.get(8) === 2 && clock.pending > 0)
    clock.advance(TIMEOUT_MS)
    const result = await retry
    expect(result.applied).toBe(false)
    expect(isAzothError(result.error, 'TIMEOUT')).toBe(true)
    expect(await deadLetterRows()).toEqual([[8, 2, 'TIMEOUT']])
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([8])))
  })

  it('a rebuild whose reset hangs fails with TIMEOUT and changes nothing', async () => {
    const clock = new ManualClock()
    const handler = stuckHandler(new Set())
    const p = projector(handler, ErrorStrategy.failFast(), clock)
    await runWithClock(p, clock)
    handler.reset = () => new Promise<void>(() => undefined)
    const rebuild = p.rebuild()
    await until(() => clock.pending > 0)
    clock.advance(TIMEOUT_MS)
    await expect(rebuild).rejects.toSatisfy((e) => isAzothError(e, 'TIMEOUT'))
    expect(await f.store.getCursor('p')).toBe(30)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
  })

  it('handlerTimeoutMs is checked: CONFIG for anything but an integer in 1..2^31-1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31, '100']) {
      expect(() =>
        projector(stuckHandler(new Set()), ErrorStrategy.failFast(), new ManualClock(), bad as number),
      ).toThrow(
        expect.objectContaining({ code: 'CONFIG', details: { field: 'handlerTimeoutMs', value: bad } }),
      )
    }
  })
})
