import { isAzothError, ManualClock } from '@azothdb/core'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'

// Replays of one dead letter that overlap: a second manual retry, the replayer's scan, a rebuild.
// Whichever runs second must find the row gone and apply nothing: exactly once, also here.

let f: Fixture
let clock: ManualClock
let failing: Set<number>
let handler: ReturnType<typeof balancesHandler>
beforeEach(async () => {
  f = await makeFixture()
  appendDeposits(f.source, 20)
  clock = new ManualClock(0)
  failing = new Set([3, 14])
  handler = balancesHandler(failing)
})
afterEach(async () => {
  await f.cleanup()
})

function processor() {
  return new Projector({
    source: f.source,
    store: f.store,
    name: 'p',
    handlers: [handler],
    errorStrategy: ErrorStrategy.deadLetter(),
    deadLetterQueue: { initialDelayMs: 100, autoReplay: false },
    clock,
  })
}

async function deadLetteredAndFixed(p: Projector): Promise<number> {
  await p.runOnce()
  const [row] = await p.deadLetters.list()
  expect(row?.eventId).toBe(3)
  failing.clear()
  return row!.id
}

describe('overlapping replays of one dead letter', () => {
  it('two concurrent retries: one applies the event, the other is refused with NOT_FOUND', async () => {
    const p = processor()
    const id = await deadLetteredAndFixed(p)
    const outcomes = await Promise.allSettled([p.deadLetters.retry(id), p.deadLetters.retry(id)])
    const applied = outcomes.filter((o) => o.status === 'fulfilled')
    const refused = outcomes.filter((o) => o.status === 'rejected')
    expect(applied).toEqual([{ status: 'fulfilled', value: { applied: true } }])
    expect(refused).toHaveLength(1)
    expect(isAzothError((refused[0] as PromiseRejectedResult).reason, 'NOT_FOUND')).toBe(true)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([14])))
    expect(p.metrics().replayer).toEqual({ replayed: 1, recovered: 1, gaveUp: 0 })
    expect(await p.deadLetters.count()).toBe(1)
  })

  it('a manual retry racing the replayer scan: the event is applied once', async () => {
    const p = processor()
    const id = await deadLetteredAndFixed(p)
    clock.advance(100)
    const [scan, retried] = await Promise.allSettled([p.deadLetters.replayDue(), p.deadLetters.retry(id)])
    expect(scan.status).toBe('fulfilled')
    const recoveredByScan = scan.status === 'fulfilled' ? scan.value.recovered : 0
    const recoveredByRetry = retried.status === 'fulfilled' && retried.value.applied ? 1 : 0
    // Event 14 is recovered by the scan in any order; event 3 by exactly one of the two.
    expect(recoveredByScan + recoveredByRetry).toBe(2)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    expect(await p.deadLetters.count()).toBe(0)
  })

  it('a retry racing a rebuild: the rebuilt tables count every event once', async () => {
    const p = processor()
    const id = await deadLetteredAndFixed(p)
    const [retried, rebuilt] = await Promise.allSettled([p.deadLetters.retry(id), p.rebuild()])
    expect(rebuilt).toMatchObject({ status: 'fulfilled', value: { cursor: 20 } })
    if (retried.status === 'rejected') expect(isAzothError(retried.reason, 'NOT_FOUND')).toBe(true)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    expect(await p.deadLetters.count()).toBe(0)
  })

  it('a retry of a row removed meanwhile applies nothing', async () => {
    const p = processor()
    const id = await deadLetteredAndFixed(p)
    const callsBefore = handler.calls
    const retried = p.deadLetters.retry(id)
    await f.store.deadLetters.remove(id)
    await expect(retried).rejects.toSatisfy((e) => isAzothError(e, 'NOT_FOUND'))
    expect(handler.calls).toBe(callsBefore)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source, new Set([3, 14])))
  })
})
