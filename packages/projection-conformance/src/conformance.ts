import type { ProjectionTxControl } from '@azothdb/core'
import { projectorCases } from './projector-cases.js'
import { storeCases } from './store-cases.js'
import type { ConformanceRunner, ProjectionStoreSubject } from './subject.js'

/**
 * Registers the conformance tests of a projection store with the caller's test runner: the
 * store's transactions (rows, cursor and dead letters commit or roll back together; savepoints
 * undo only their own writes), its dead-letter table, and the store driven by `@azothdb/projector`
 * (exactly-once application, a savepoint and a dead letter per failing event, dead-letter retry,
 * two instances of one projector, rebuild). Every test uses a fresh database from the subject.
 *
 * @example
 * import { describe, it } from 'vitest'
 * projectionStoreConformance(
 *   {
 *     name: 'sqlite',
 *     async createDatabase() { ... },
 *     createTable: (tx) => tx.exec('CREATE TABLE conformance_balances (...)'),
 *     addToBalance: (tx, account, amount) => tx.run('INSERT ... ON CONFLICT ...', [account, amount]),
 *     clearTable: (tx) => tx.run('DELETE FROM conformance_balances'),
 *   },
 *   { describe, it },
 * )
 */
export function projectionStoreConformance<Tx extends ProjectionTxControl>(
  subject: ProjectionStoreSubject<Tx>,
  runner: ConformanceRunner,
): void {
  const timeout = subject.timeoutMs ?? 30_000
  runner.describe(`ProjectionStore conformance: ${subject.name}`, () => {
    storeCases(subject, runner, timeout)
    projectorCases(subject, runner, timeout)
  })
}
