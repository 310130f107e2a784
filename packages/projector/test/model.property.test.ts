import { SqliteProjectionStore } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BALANCES_DDL, balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances } from './support/fixture.js'
import { MemoryEventSource } from './support/memory-event-source.js'

const RUNS = process.env['AZOTH_STRESS'] === '1' ? 500 : 100

describe('projector against a model', () => {
  it('whatever the batch size, failing set and appends between runs, the tables equal the model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 5 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 64 }),
        fc.constantFrom('deadLetter', 'logAndSkip') as fc.Arbitrary<'deadLetter' | 'logAndSkip'>,
        async (appends, failingIds, maxEvents, strategy) => {
          const source = new MemoryEventSource()
          const store = SqliteProjectionStore.open({ path: ':memory:' })
          try {
            await store.transaction((tx) => tx.exec(BALANCES_DDL))
            const failing = new Set(failingIds)
            const p = new Projector({
              source,
              store,
              handlers: [balancesHandler(failing)],
              errorStrategy:
                strategy === 'deadLetter' ? ErrorStrategy.deadLetter() : ErrorStrategy.logAndSkip(),
              batch: { maxEvents },
            })
            for (const n of appends) {
              appendDeposits(source, n)
              await p.runOnce()
            }
            const head = source.head()
            // Ids that were Deposited events (every 10th is of another type) and failed.
            const failed = new Set([...failing].filter((id) => id <= head && id % 10 !== 0))
            expect(await store.getCursor('default')).toBe(head)
            expect(await balances(store)).toEqual(expectedBalances(source, failed))
            const parked = (await p.deadLetters.list(1_000)).map((d) => d.eventId)
            expect(parked).toEqual(strategy === 'deadLetter' ? [...failed].sort((a, b) => a - b) : [])
            expect(p.metrics().errors).toBe(failed.size)
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})
