import { type EventId, isAzothError, ManualClock } from '@azothdb/core'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'
import { settle, until } from './support/wait.js'

let f: Fixture
let clock: ManualClock
beforeEach(async () => {
  f = await makeFixture()
  clock = new ManualClock()
})
afterEach(async () => {
  await f.cleanup()
})

describe('continuous mode', () => {
  it('is woken by commit notifications, without polling', async () => {
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler()],
      batch: { maxLatencyMs: 0 },
      clock,
    })
    p.start()
    appendDeposits(f.source, 10)
    await until(() => p.position === 10)
    appendDeposits(f.source, 25)
    await until(() => p.position === 35)
    expect(p.metrics().state).toBe('running')
    await p.stop()
    expect(p.metrics().state).toBe('stopped')
    appendDeposits(f.source, 5)
    await settle()
    expect(p.position).toBe(35)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([36, 37, 38, 39, 40])))
  })

  it('waits up to maxLatencyMs on the clock to fill a batch, and not when the batch is full', async () => {
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler()],
      batch: { maxLatencyMs: 100, maxEvents: 10 },
      clock,
    })
    p.start()
    await until(() => clock.pending > 0) // idle: waiting for events
    appendDeposits(f.source, 3)
    await settle()
    expect(p.position).toBe(0)
    clock.advance(99)
    await settle()
    expect(p.position).toBe(0)
    clock.advance(1)
    await until(() => p.position === 3)
    appendDeposits(f.source, 10) // a full batch goes at once
    await until(() => p.position === 13)
    await p.stop()
  })

  it('falls back to polling when the source does not notify (another process writes)', async () => {
    const silent = Object.create(f.source) as typeof f.source
    silent.onCommit = () => () => undefined
    const p = new Projector({
      source: silent,
      store: f.store,
      handlers: [balancesHandler()],
      batch: { maxLatencyMs: 0 },
      pollIntervalMs: 500,
      clock,
    })
    p.start()
    await until(() => clock.pending > 0)
    appendDeposits(f.source, 4)
    await settle()
    expect(p.position).toBe(0)
    clock.advance(500)
    await until(() => p.position === 4)
    await p.stop()
  })

  it('run() rejects with PROJECTION_FAILED under failFast and the state says failed', async () => {
    appendDeposits(f.source, 10)
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(new Set([6]))],
      errorStrategy: ErrorStrategy.failFast(),
      clock,
    })
    await expect(p.run()).rejects.toSatisfy((e) => isAzothError(e, 'PROJECTION_FAILED'))
    expect(p.metrics()).toMatchObject({ state: 'failed', cursor: 5 })
  })

  it('stop() interrupts a retry wait', async () => {
    appendDeposits(f.source, 10)
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(new Set([6]))],
      errorStrategy: ErrorStrategy.retryWithBackoff({ maxRetries: 10, initialDelayMs: 60_000 }),
      clock,
    })
    p.start()
    await until(() => clock.pending > 0)
    await p.stop()
    expect(p.metrics()).toMatchObject({ state: 'stopped', cursor: 5 })
  })
})

describe('circuit breaker', () => {
  it('opens after consecutive failures, pauses, lets a trial through after the timeout, and closes', async () => {
    appendDeposits(f.source, 30)
    const down = new Set<number>()
    for (let i = 1; i <= 30; i++) down.add(i)
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(down)],
      errorStrategy: ErrorStrategy.retryWithBackoff({ maxRetries: 10, initialDelayMs: 10 }),
      circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 1_000, halfOpenMaxCalls: 2 },
      clock,
    })
    const first = p.runOnce()
    await until(() => clock.pending > 0)
    clock.advance(10)
    await until(() => clock.pending > 0)
    clock.advance(20)
    // Third failure of event 1 opens the circuit: the run returns, nothing dead-lettered or skipped.
    expect(await first).toMatchObject({ cursor: 0, stoppedBy: 'circuitOpen', retries: 2 })
    expect(p.metrics().circuit).toEqual({ state: 'open', opens: 1 })
    expect(await p.runOnce()).toMatchObject({ events: 0, stoppedBy: 'circuitOpen' })

    // Half-open, still down: one trial fails and the circuit opens again.
    clock.advance(1_000)
    expect(p.metrics().circuit?.state).toBe('halfOpen')
    expect(await p.runOnce()).toMatchObject({ events: 0, stoppedBy: 'circuitOpen' })
    expect(p.metrics().circuit).toEqual({ state: 'open', opens: 2 })

    // The dependency is back: two trial events pass, the circuit closes, the rest flows.
    down.clear()
    clock.advance(1_000)
    const resumed = await p.runOnce()
    expect(resumed.stoppedBy).toBe('caughtUp')
    expect(await p.runOnce()).toMatchObject({ cursor: 30 })
    expect(p.metrics().circuit).toEqual({ state: 'closed', opens: 2 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    expect(await f.store.deadLetters.count()).toBe(0)
  })

  it('in continuous mode a tripped projector resumes by itself after the reset timeout', async () => {
    appendDeposits(f.source, 10)
    const down = new Set<EventId>([4])
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(down)],
      errorStrategy: ErrorStrategy.deadLetter(),
      circuitBreaker: {
        failureThreshold: 1,
        resetTimeoutMs: 5_000,
        isFailure: (e) => e.message.includes('4'),
      },
      batch: { maxLatencyMs: 0 },
      clock,
    })
    p.start()
    await until(() => p.metrics().circuit?.state === 'open' && clock.pending > 0)
    expect(p.position).toBe(3)
    down.clear()
    clock.advance(5_000)
    await until(() => p.position === 10)
    await p.stop()
    expect(await f.store.deadLetters.count()).toBe(0)
  })
})
