import { ManualClock } from '@azothdb/core'
import { type BatchPolicy, type ErrorStrategy, Projector } from '@azothdb/projector'
import { balancesHandler } from './balances.js'
import type { Fixture } from './fixture.js'

/** A projector of the balances handler over the fixture, failing on `failing`, with `strategy`. */
export function strategyProcessor(
  f: Fixture,
  strategy: ErrorStrategy,
  failing: Set<number>,
  { clock = new ManualClock(), name = 'p', batch = { maxEvents: 10 } as BatchPolicy } = {},
): Projector {
  return new Projector({
    source: f.source,
    store: f.store,
    name,
    handlers: [balancesHandler(failing)],
    errorStrategy: strategy,
    batch,
    clock,
  })
}
