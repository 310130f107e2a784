import type { AzothEvent, EventHandler } from '@azothdb/core'
import { ManualClock } from '@azothdb/core'
import type { SqliteTx } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler, type Deposit } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'

let f: Fixture
let clock: ManualClock
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 20)
  clock = new ManualClock(0)
})
afterEach(async () => {
  await f.cleanup()
})

const dependencyDown = (e: Error) => e.message.startsWith('dependency')

/**
 * Balances, where event 2 needs an external dependency: while it is down event 2 fails with an
 * error the breaker counts; once it is up, event 2 turns out to be bad data (an error it does not count).
 */
function flakyDependencyHandler(state: { down: boolean }): EventHandler<SqliteTx> {
  return {
    name: 'balances',
    eventTypes: ['Deposited'],
    handle(event: AzothEvent, tx: SqliteTx) {
      if (event.id === 2) throw new Error(state.down ? 'dependency down' : 'event 2 is malformed')
      const p = event.payload as Deposit
      tx.run(
        'INSERT INTO balances (account, amount, events) VALUES (?, ?, 1) ' +
          'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount, events = events + 1',
        [p.account, p.amount],
      )
    },
  }
}

describe('circuit breaker', () => {
  it('a half-open trial that fails with an error it does not count hands the trial on to the next event', async () => {
    const state = { down: true }
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [flakyDependencyHandler(state)],
      errorStrategy: ErrorStrategy.deadLetter(),
      circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 1_000, isFailure: dependencyDown },
      clock,
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 1, stoppedBy: 'circuitOpen' })
    state.down = false
    clock.advance(1_000)
    expect(p.metrics().circuit?.state).toBe('halfOpen')
    // Event 2 is the trial and is dead-lettered for its own fault; event 3 is the next trial, it
    // passes and closes the circuit, and the rest flows.
    expect(await p.runOnce()).toMatchObject({ cursor: 20, stoppedBy: 'caughtUp', deadLettered: 1 })
    expect(p.metrics().circuit).toEqual({ state: 'closed', opens: 1 })
    expect((await f.store.deadLetters.list({})).map((r) => r.eventId)).toEqual([2])
    expect(await f.store.getCursor(p.name)).toBe(20)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([2])))
  })

  it('counts consecutive failures: events applied in between, in batches that did not fail, end a streak', async () => {
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(new Set([3, 15]))],
      errorStrategy: ErrorStrategy.deadLetter(),
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 1_000 },
      batch: { maxEvents: 1 }, // Every event in its own batch, as in a projector that keeps up.
      clock,
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 20, stoppedBy: 'caughtUp', deadLettered: 2 })
    expect(p.metrics().circuit).toEqual({ state: 'closed', opens: 0 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([3, 15])))
  })

  it('two failures in a row still open it when every event is its own batch', async () => {
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(new Set([3, 4]))],
      errorStrategy: ErrorStrategy.deadLetter(),
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 1_000 },
      batch: { maxEvents: 1 },
      clock,
    })
    // Event 3 is dead-lettered; event 4's failure opens the circuit before its strategy is asked.
    expect(await p.runOnce()).toMatchObject({ cursor: 3, stoppedBy: 'circuitOpen', deadLettered: 1 })
    expect(p.metrics().circuit).toEqual({ state: 'open', opens: 1 })
  })
})
